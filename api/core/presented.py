"""GraphQL objects built from rows by the type's presenter (``services.core.presenters``), so a
type says what it shows and never again how each field is read.

``from_model = FromRow(AlertModel)`` on a strawberry type gives ``Alert.from_model(row)``.
Each of the type's dataclass fields is filled from the row as the presenter shows it:
``id`` with the row's global id, ``pk`` with its primary key, ``<relation>_pk`` with the
related object's primary key (private: the type resolves the object itself, through a
loader, and may show it under another name or not at all), any other field with the
shown value of that name. A field none of those fills is given by
``extra`` (a function of the row) or keeps its default; otherwise building the first
object says which field the presenter lacks.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry
from tortoise.models import Model

from services.core.presenters import columns, global_id

M = TypeVar("M", bound=Model)
T = TypeVar("T")

Reader = Callable[[Any], Any]


def _readers(cls: type, model: type[Model], extra: dict[str, Reader]) -> list[tuple[str, Reader]]:
    shown = {c.name: c for c in columns(model) if not c.trail_only}
    relations = model._meta.fk_fields | model._meta.o2o_fields
    readers: list[tuple[str, Reader]] = []
    for field in dataclasses.fields(cls):
        name = field.name
        if not field.init:
            continue
        if name in extra:
            readers.append((name, extra[name]))
        elif name == "id":
            readers.append((name, lambda row: strawberry.ID(global_id(row))))
        elif name == "pk":
            readers.append((name, lambda row: row.pk))
        elif name.endswith("_pk") and name[:-3] in relations:
            readers.append((name, operator.attrgetter(f"{name[:-3]}_id")))
        elif name in shown:
            readers.append((name, shown[name].value))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise TypeError(
                f"{cls.__name__}.{name}: {model.__name__}'s presenter shows no such field; "
                "give it in extra= or show it in services.core.presenters"
            )
    return readers


class FromRow(Generic[M]):
    """A type's ``from_model``: its object for a row of ``model`` (see the module)."""

    def __init__(self, model: type[M], **extra: Callable[[M], Any]) -> None:
        self.model = model
        self.extra: dict[str, Reader] = dict(extra)
        self.built: dict[type, Callable[[M], Any]] = {}

    def builder(self, cls: type[T]) -> Callable[[M], T]:
        build = self.built.get(cls)
        if build is None:
            # Read the models' fields at the first row, not at import: Tortoise knows the
            # related models only once it is initialised.
            readers: list[tuple[str, Reader]] | None = None

            def build(row: M) -> T:
                nonlocal readers
                if readers is None:
                    readers = _readers(cls, self.model, self.extra)
                return cls(**{name: read(row) for name, read in readers})

            self.built[cls] = build
        return build

    def __get__(self, instance: object, owner: type[T]) -> Callable[[M], T]:
        return self.builder(owner)
