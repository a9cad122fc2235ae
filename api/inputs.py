"""Turn a strawberry input into a service call's keyword arguments.

Fields left out stay out (so an update keeps them); global ids become primary keys of
the expected type; unreadable scalars become VALIDATION errors naming their field.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

import strawberry
from strawberry.utils.str_converters import to_snake_case

from api.relay import from_global_id
from api.scalars import BadScalar
from services.errors import ErrorCode, FieldError, Invalid

# Which node type each id field of an input names. One table, so a new input field
# named like these needs no code of its own.
ID_FIELD_TYPES = {
    "engagement_id": "Engagement",
    "client_id": "Organization",
    "organization_id": "Organization",
    "person_id": "Person",
    "made_by_id": "Person",
    "raised_by_id": "Person",
    "delivery_signoff_by_id": "Person",
    "accepted_by_id": "Person",
    "approved_by_id": "Person",
    "plan_id": "CommissionPlan",
    "delivery_id": "WebhookDelivery",
    "endpoint_id": "WebhookEndpoint",
}


def decode_id(value: str, *, expected: str, field: str) -> int:
    """The primary key behind a global id of type ``expected``, or an Invalid naming ``field``."""
    try:
        type_name, pk = from_global_id(value)
    except ValueError as exc:
        raise Invalid([FieldError(field, str(exc))]) from None
    if type_name != expected:
        raise Invalid([FieldError(field, f"No {expected} with this id.", ErrorCode.NOT_FOUND)])
    return pk


def _nested(value: object, name: str) -> dict[str, Any]:
    """A nested input object as a dict of the fields it was given (null included)."""
    nested: dict[str, Any] = {}
    for f in dataclasses.fields(value):  # type: ignore[arg-type]
        inner = getattr(value, f.name)
        if inner is strawberry.UNSET:
            continue
        if isinstance(inner, BadScalar):
            raise Invalid([FieldError(name, f"{to_snake_case(f.name)} {inner.message}")])
        nested[to_snake_case(f.name)] = inner
    return nested


def to_values(input: object, *, id_type: str | None = None) -> dict[str, Any]:
    """The input's given fields in snake case, ids decoded; ``id`` must name an ``id_type``."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for f in dataclasses.fields(input):  # type: ignore[arg-type]
        value = getattr(input, f.name)
        if value is strawberry.UNSET:
            continue
        name = to_snake_case(f.name)
        expected = id_type if name == "id" else ID_FIELD_TYPES.get(name)
        try:
            if isinstance(value, BadScalar):
                raise Invalid([FieldError(name, value.message)])
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                value = _nested(value, name)
            if expected is not None and value is not None:
                value = decode_id(str(value), expected=expected, field=name)
        except Invalid as exc:
            errors.extend(exc.errors)
            continue
        values[name] = value.value if isinstance(value, Enum) else value
    if errors:
        raise Invalid(errors)
    return values
