"""The Decimal, DateTime and Date scalars.

Input that cannot be read is not raised as a GraphQL error: it arrives in the resolver as
``BadScalar``, so that a mutation can answer with a VALIDATION userError naming the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from services.wire import format_datetime, format_decimal


@dataclass(frozen=True)
class BadScalar:
    """An input value its scalar could not read, with the reason."""

    raw: object
    message: str


def parse_decimal(value: object) -> Decimal | BadScalar:
    if isinstance(value, (bool, float)):
        return BadScalar(
            value, "must be a decimal written as a string, such as '12.50', not a float"
        )
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str):
        return BadScalar(value, "must be a decimal written as a string, such as '12.50'")
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return BadScalar(value, f"'{value[:40]}' is not a decimal number")
    if not number.is_finite():
        return BadScalar(value, "must be a finite decimal number")
    return number


def parse_datetime(value: object) -> dt.datetime | BadScalar:
    if not isinstance(value, str):
        return BadScalar(value, "must be an ISO 8601 date and time string")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return BadScalar(value, f"'{value[:40]}' is not an ISO 8601 date and time")
    if moment.tzinfo is None or moment.utcoffset() is None:
        return BadScalar(value, "must carry a UTC offset, such as '2026-11-26T09:00:00+00:00'")
    return moment


def parse_date(value: object) -> dt.date | BadScalar:
    if not isinstance(value, str):
        return BadScalar(value, "must be a date string such as '2026-11-26'")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return BadScalar(value, f"'{value[:40]}' is not a date such as '2026-11-26'")


def _literal(parse: Any) -> Any:
    def parse_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> Any:
        if isinstance(node, (StringValueNode, IntValueNode)):
            return parse(node.value if isinstance(node, StringValueNode) else int(node.value))
        if isinstance(node, FloatValueNode):
            return parse(float(node.value))
        return BadScalar(node, "has the wrong kind of value")

    return parse_literal


DecimalScalar = ScalarDefinition(
    name="Decimal",
    description='An exact decimal number as a string, such as "1234.50"; never a float.',
    specified_by_url=None,
    serialize=lambda v: format_decimal(Decimal(v)),
    parse_value=parse_decimal,
    parse_literal=_literal(parse_decimal),
)
DateTimeScalar = ScalarDefinition(
    name="DateTime",
    description="An ISO 8601 date and time with its offset, such as "
    '"2026-11-26T09:00:00+00:00"; a time without an offset is refused.',
    specified_by_url=None,
    serialize=format_datetime,
    parse_value=parse_datetime,
    parse_literal=_literal(parse_datetime),
)
DateScalar = ScalarDefinition(
    name="Date",
    description='A calendar date, such as "2026-11-26".',
    specified_by_url=None,
    serialize=lambda v: v.isoformat(),
    parse_value=parse_date,
    parse_literal=_literal(parse_date),
)

SCALAR_OVERRIDES: dict[object, Any] = {
    Decimal: DecimalScalar,
    dt.datetime: DateTimeScalar,
    dt.date: DateScalar,
}

JSON = strawberry.scalars.JSON
