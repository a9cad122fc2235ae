"""The Decimal, DateTime and Date scalars.

Input that cannot be read is not raised as a GraphQL error: it arrives in the resolver as
``BadScalar``, so that a mutation can answer with a VALIDATION userError naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from services.core.wire import format_datetime, format_decimal


@dataclass(frozen=True)
class BadScalar:
    """An input value its scalar could not read, with the reason."""

    raw: object
    message: str


MAX_DECIMAL_DIGITS = 40
"""The most digits a Decimal may have before its point, and the most after it. Far more
than any field keeps (each field's rule in ``services.core.fields`` says how many it does), and
few enough that no arithmetic on the number can overflow the decimal context, as
``1e1000000`` would: Python reads it exactly, and the first ``abs()`` raises."""

# What the scalar reads: ASCII digits, an optional sign, point and exponent. Decimal()
# alone also reads other scripts' digits ("١٢٣"), underscores, NaN and Infinity.
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def parse_decimal(value: object) -> Decimal | BadScalar:
    if isinstance(value, (bool, float)):
        return BadScalar(
            value, "must be a decimal written as a string, such as '12.50', not a float"
        )
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _DECIMAL.fullmatch(text):
            return BadScalar(
                value, f"'{value[:40]}' is not a decimal number written in the digits 0-9"
            )
        try:
            number = Decimal(text)
        except InvalidOperation:  # an exponent past what Decimal holds at all (~10**18)
            return BadScalar(value, f"'{value[:40]}' is too large or too small")
    else:
        return BadScalar(value, "must be a decimal written as a string, such as '12.50'")
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # the pattern admits no NaN or Infinity
    if len(digits) + exponent > MAX_DECIMAL_DIGITS or -exponent > MAX_DECIMAL_DIGITS:
        return BadScalar(
            value,
            f"must have at most {MAX_DECIMAL_DIGITS} digits before the decimal point "
            f"and {MAX_DECIMAL_DIGITS} after it",
        )
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
    try:
        # Kept and compared in UTC, which must exist too: 0001-01-01T00:00:00+14:00 is
        # a time of year 0, which neither Python nor the databases have.
        moment.astimezone(dt.UTC)
    except OverflowError:
        return BadScalar(value, "must fall between the years 1 and 9999 in UTC")
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
        if isinstance(node, StringValueNode):
            return parse(node.value)
        if isinstance(node, IntValueNode):
            try:
                return parse(int(node.value))
            except ValueError:  # more digits than int() reads (4,300)
                return BadScalar(node.value[:40], "has too many digits")
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
