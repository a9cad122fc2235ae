"""The object as the API shows it, declared once per type and read by the GraphQL types
(``api.core.presented``), the outbox's events (``services.core.events``) and the audit trail
(``services.core.audit``) alike.

A row is shown column by column under its field's name: a relation as a reference to the
related object (``{"id": <global id>}`` on the wire), every other column as its value. A
type declares only where it differs from that (its :class:`Shape`): columns the API never
shows, columns shown in other terms (an alert's facts name objects by global id), and
columns the trail keeps although the API shows them otherwise or not at all. The wire
form (:func:`as_json`) is camelCase with decimals and times as the GraphQL scalars write
them, so an event or a trail entry reads exactly like the object fetched over GraphQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from tortoise.models import Model

from models.enums import Severity
from services.core.wire import (
    camel,
    format_datetime,
    format_decimal,
    present_facts,
    present_idempotency_key,
    to_global_id,
)


@dataclass(frozen=True)
class Ref:
    """A related object by its type and primary key."""

    type_name: str
    pk: int


@dataclass(frozen=True)
class Shape:
    """Where a type is shown otherwise than column by column."""

    hidden: frozenset[str] = frozenset()
    """Columns nobody is shown: not the API, not subscribers, not the trail."""
    presented: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    """Columns shown in other terms: the function takes the stored value (a relation's
    primary key) and gives the shown one."""
    trail_only: frozenset[str] = frozenset()
    """Columns the trail records as stored, though the object as the API shows it leaves
    them out (its own type shows them worked out, or they are the service's bookkeeping)."""


# Secrets and the hashes of secrets, and an alert's identity for the engine: in no type.
_NEVER_SHOWN = frozenset({"secret", "previous_secret", "key_hash", "fingerprint", "facts_hash"})


_BOOKKEEPING = ("created_at", "updated_at")


def _global_ids(type_name: str) -> Callable[[Any], Any]:
    def present(stored: Any) -> Any:
        if stored is None:
            return None
        if isinstance(stored, list):
            return [to_global_id(type_name, pk) for pk in stored]
        return to_global_id(type_name, stored)

    return present


def _severities(stored: list[str]) -> list[Severity]:
    return [Severity(name) for name in stored]


# Types whose rows' bookkeeping times the API does not show.
_UNTIMED = Shape(hidden=frozenset(_BOOKKEEPING))

SHAPES: dict[str, Shape] = {
    "Alert": Shape(
        # An alert shows when it opened and changed state, not when its row did.
        hidden=frozenset(_BOOKKEEPING),
        presented={"facts": present_facts},
        trail_only=frozenset({"acknowledged_by", "waived_by"}),
    ),
    "CommissionPlan": Shape(
        hidden=frozenset(_BOOKKEEPING), presented={"hold_severities": _severities}
    ),
    "CommissionPlanVersion": Shape(presented={"hold_severities": _severities}),
    "CompensationSignal": Shape(
        # The terms an entry was paid under are shown by the plan's versions, not per
        # entry; an entry is never changed, so it has no time of change to show.
        hidden=frozenset({"plan", "plan_version", "updated_at"}),
        presented={
            "evidence": _global_ids("Alert"),
            "supersedes": _global_ids("CompensationSignal"),
            "idempotency_key": present_idempotency_key,
        },
    ),
    # Overrides and answers as stored; Engagement.thresholds and .requiredFunctions show
    # them merged with the defaults.
    "Engagement": Shape(trail_only=frozenset({"thresholds", "required_functions"})),
    "CompensationPeriod": _UNTIMED,
    "Organization": _UNTIMED,
    "Person": _UNTIMED,
    "RoleAssignment": _UNTIMED,
    # Shown with its event's id, type and body; the dispatcher's claim on it is its own.
    "WebhookDelivery": Shape(hidden=frozenset({"event", "locked_until", "updated_at"})),
    # The dispatcher's bookkeeping of a failing endpoint and of a secret's rotation.
    "WebhookEndpoint": Shape(
        hidden=frozenset({"updated_at"}),
        trail_only=frozenset({"failing_since", "previous_secret_expires_at"}),
    ),
}


@dataclass(frozen=True)
class Column:
    """One shown field of a type: its name, the attribute it is read from, and how."""

    name: str
    attribute: str
    related: str | None = None
    """The related type, for a relation (the attribute holds its primary key)."""
    present: Callable[[Any], Any] | None = None
    trail_only: bool = False
    camel: str = ""

    @property
    def as_stored(self) -> bool:
        """Whether the shown value is the stored one, as :meth:`value` reads it."""
        return self.present is None and self.related is None

    def value(self, row: Model) -> Any:
        stored = getattr(row, self.attribute)
        if self.present is not None:
            return self.present(stored)
        if self.related is not None:
            return None if stored is None else Ref(self.related, stored)
        return stored


@cache
def columns(model: type[Model]) -> tuple[Column, ...]:
    """The fields ``model``'s rows are shown with, in the model's order, times of the row's
    own last (its primary key, shown as ``id``, left out)."""
    meta = model._meta
    shape = SHAPES.get(model.__name__, Shape())
    related = meta.fk_fields | meta.o2o_fields
    sources = {f"{name}_id" for name in related}
    shown = []
    for name, column in meta.fields_map.items():
        if name in _NEVER_SHOWN or name in shape.hidden or name in sources:
            continue
        if name == meta.pk_attr:
            continue
        if name in related:
            attribute = f"{name}_id"
            target = column.related_model.__name__  # type: ignore[attr-defined]
        elif name in meta.db_fields:
            attribute, target = name, None
        else:  # reverse relations and other fields that are not columns
            continue
        present, trail_only = shape.presented.get(name), name in shape.trail_only
        shown.append(Column(name, attribute, target, present, trail_only, camel(name)))
    # Every row's bookkeeping times (from the base model, so first) read best last.
    return tuple(sorted(shown, key=lambda c: c.name in _BOOKKEEPING))


def global_id(row: Model) -> str:
    return to_global_id(type(row).__name__, row.pk)


def _same(value: Any) -> Any:
    return value


def _reference(value: Ref) -> dict[str, str]:
    return {"id": to_global_id(value.type_name, value.pk)}


# The wire form of a value by its exact type: most values are of one of these, found with one
# look-up; any other (an enum, a subclass, a list) takes the checks below.
_WIRE_BY_TYPE: dict[type, Callable[[Any], Any]] = {
    type(None): _same,
    str: _same,
    bool: _same,
    int: _same,
    Ref: _reference,
    Decimal: format_decimal,
    dt.datetime: format_datetime,
    dt.date: dt.date.isoformat,
}


def wire(value: Any) -> Any:
    """A shown value as JSON: what the GraphQL scalars would write."""
    exact = _WIRE_BY_TYPE.get(type(value))
    if exact is not None:
        return exact(value)
    if isinstance(value, Enum):  # before str: a StrEnum is a str too
        return value.value
    if isinstance(value, list):
        return [wire(item) for item in value]
    for kind, write in _WIRE_BY_TYPE.items():  # subclasses (datetime before date)
        if isinstance(value, kind):
            return write(value)
    return value


def as_json(
    row: Model, *, trail: bool = False, leave_out: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The row in the wire's terms, ``id`` first: as the API shows it, or with ``trail``
    as the audit trail records it (its own columns included); ``leave_out`` names fields
    a use has no place for."""
    presented: dict[str, Any] = {"id": global_id(row)}
    for column in _presented(type(row), trail, leave_out):
        presented[column.camel] = wire(column.value(row))
    return presented


@cache
def _presented(model: type[Model], trail: bool, leave_out: frozenset[str]) -> tuple[Column, ...]:
    """The columns :func:`as_json` writes of ``model``'s rows, worked out once per use."""
    return tuple(
        column
        for column in columns(model)
        if not (column.trail_only and not trail) and column.name not in leave_out
    )


def event_object(row: Model) -> dict[str, Any]:
    """The object an event about ``row`` holds: as the API shows it, with its type."""
    return {"__typename": type(row).__name__, **as_json(row)}
