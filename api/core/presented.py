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
from functools import lru_cache
from typing import Any, Generic, TypeVar

import strawberry
from tortoise.models import Model

from services.core.presenters import columns
from services.core.wire import to_global_id

M = TypeVar("M", bound=Model)
T = TypeVar("T")

Reader = Callable[[Any], Any]


def _builder(cls: type[T], model: type[Model], extra: dict[str, Reader]) -> Callable[[Any], T]:
    """``cls``'s object for a row of ``model``: every field read as the module says.

    The fields shown as stored (and ``pk`` and ``<relation>_pk``) are read all at once by
    one ``attrgetter``, in C; only ``id``, ``extra`` and the presented columns call a
    function each. A fifty-item page builds about two hundred such objects per request.
    """
    shown = {c.name: c for c in columns(model) if not c.trail_only}
    relations = model._meta.fk_fields | model._meta.o2o_fields
    stored: list[tuple[str, str]] = []  # (field, attribute) read as they are
    readers: list[tuple[str, Reader]] = []
    with_id = False
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = field.name
        if not field.init:
            continue
        if name in extra:
            readers.append((name, extra[name]))
        elif name == "id":
            with_id = True
        elif name == "pk":
            stored.append((name, "pk"))
        elif name.endswith("_pk") and name[:-3] in relations:
            stored.append((name, f"{name[:-3]}_id"))
        elif name in shown:
            column = shown[name]
            if column.as_stored:
                stored.append((name, column.attribute))
            else:
                readers.append((name, column.value))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise TypeError(
                f"{cls.__name__}.{name}: {model.__name__}'s presenter shows no such field; "
                "give it in extra= or show it in services.core.presenters"
            )
    names = tuple(name for name, _ in stored)
    # attrgetter of one attribute gives the value, of several a tuple: read one as a tuple.
    attributes = [attribute for _, attribute in stored] or ["pk"]
    read_stored = operator.attrgetter(*attributes, *(["pk"] if len(attributes) == 1 else []))

    def build(row: Any) -> T:
        values = dict(zip(names, read_stored(row), strict=False))
        if with_id:
            values["id"] = strawberry.ID(_global_id(type(row).__name__, row.pk))
        for name, read in readers:
            values[name] = read(row)
        return cls(**values)

    return build


_global_id = lru_cache(maxsize=65536)(to_global_id)
"""A row's global id, remembered: the same rows are read request after request, and each
id is a base64 encoding."""


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
            made: Callable[[M], T] | None = None

            def build(row: M) -> T:
                nonlocal made
                if made is None:
                    made = self.built[cls] = _builder(cls, self.model, self.extra)
                return made(row)

            self.built[cls] = build
        return build

    def __get__(self, instance: object, owner: type[T]) -> Callable[[M], T]:
        return self.builder(owner)
