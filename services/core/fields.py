"""Field rules shared by every use case: each cleans one input value or says what is wrong.

A spec maps field names to rules; ``clean`` checks a whole input at once so that the
caller hears about every bad field in one answer, not one per attempt.

Inside a unit of work (``services.core.units``) a row a ``Ref`` names is looked up once per unit,
not once per field of every row. The change that looked it up either writes a reference to
it, after which the row stays until the unit ends (PostgreSQL's foreign key check holds a
key-share lock on it; SQLite has one writer), or fails, and the unit with it. Only the
unit's own deletes can take it away; they call ``forget``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tortoise.models import Model

from models.base import (
    ITEM_MAX_LENGTH,
    ITEM_PATTERN,
    MAX_ID,
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    QUANTITY_DECIMAL_PLACES,
    QUANTITY_MAX_DIGITS,
)
from rules.thresholds import BY_NAME as THRESHOLDS_BY_NAME
from services.compensation.currencies import MINOR_UNITS
from services.core.errors import ErrorCode, FieldError, Invalid

_ITEM = re.compile(ITEM_PATTERN)
# Deliberately loose: one "@", something on each side, a dot in the domain. Mail servers
# are the real judge; this only catches typing slips.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Problem(Exception):
    """Raised by a rule for the one value it checks; ``clean`` turns it into a FieldError."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.VALIDATION) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Context:
    """What a rule may need besides the value: the engagement's currency for money."""

    currency: str | None = None


@dataclass(frozen=True)
class Rule:
    nullable: bool = False

    def check(self, value: Any, ctx: Context) -> Any:
        return value


MAX_TEXT_LENGTH = 10_000
"""The longest text any field keeps."""


@dataclass(frozen=True)
class Text(Rule):
    max_length: int = MAX_TEXT_LENGTH

    def check(self, value: Any, ctx: Context) -> str:
        text = str(value).strip()
        if not text:
            raise Problem("must not be blank")
        if len(text) > self.max_length:
            raise Problem(f"must be at most {self.max_length} characters")
        return text


@dataclass(frozen=True)
class Item(Rule):
    def check(self, value: Any, ctx: Context) -> str:
        text = str(value)
        if len(text) > ITEM_MAX_LENGTH or not _ITEM.fullmatch(text):
            raise Problem(
                f"must be a slug of lower-case letters and digits joined by single hyphens, "
                f"at most {ITEM_MAX_LENGTH} characters (for example 'data-migration')"
            )
        return text


@dataclass(frozen=True)
class Email(Rule):
    def check(self, value: Any, ctx: Context) -> str:
        text = str(value).strip().lower()
        if len(text) > 254 or not _EMAIL.fullmatch(text):
            raise Problem("must be an email address such as 'ada@example.com'")
        return text


@dataclass(frozen=True)
class Currency(Rule):
    def check(self, value: Any, ctx: Context) -> str:
        code = str(value).strip().upper()
        if code not in MINOR_UNITS:
            raise Problem("must be an ISO 4217 currency code such as 'EUR' or 'USD'")
        return code


def _decimal(value: Any, *, max_digits: int, places: int, signed: bool) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise Problem("must be a finite decimal number written as a string, such as '12.50'")
    if not signed and value.is_signed():  # "-0" too: a quantity or an amount has no sign
        raise Problem("must not be negative" if value else "must be written without a minus sign")
    # A signed field keeps "-0" as 0, so that it never shows as "-0.00".
    number: Decimal = value.copy_abs() if value.is_zero() else value
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite decimals have an integer exponent
    if -exponent > places:
        raise Problem(f"must have at most {places} digits after the decimal point")
    if abs(number) >= Decimal(10) ** (max_digits - places):
        raise Problem(f"must be less than {Decimal(10) ** (max_digits - places)} in magnitude")
    return number


@dataclass(frozen=True)
class Quantity(Rule):
    signed: bool = False

    def check(self, value: Any, ctx: Context) -> Decimal:
        return _decimal(
            value,
            max_digits=QUANTITY_MAX_DIGITS,
            places=QUANTITY_DECIMAL_PLACES,
            signed=self.signed,
        )


@dataclass(frozen=True)
class Money(Rule):
    """An amount in the engagement's currency, no finer than its minor unit."""

    signed: bool = False

    def check(self, value: Any, ctx: Context) -> Decimal:
        amount = _decimal(
            value, max_digits=MONEY_MAX_DIGITS, places=MONEY_DECIMAL_PLACES, signed=self.signed
        )
        minor = MINOR_UNITS.get(ctx.currency or "", 2)
        exponent = amount.as_tuple().exponent
        assert isinstance(exponent, int)
        if -exponent > minor and amount != amount.quantize(Decimal(1).scaleb(-minor)):
            raise Problem(
                f"must have at most {minor} digits after the decimal point in {ctx.currency}"
            )
        return amount


@dataclass(frozen=True)
class Choice(Rule):
    enum: type[StrEnum] = StrEnum

    def check(self, value: Any, ctx: Context) -> StrEnum:
        try:
            return self.enum(value)
        except ValueError:
            raise Problem(f"must be one of {', '.join(self.enum)}") from None


@dataclass(frozen=True)
class Flag(Rule):
    def check(self, value: Any, ctx: Context) -> bool:
        if not isinstance(value, bool):
            raise Problem("must be true or false")
        return value


@dataclass(frozen=True)
class Moment(Rule):
    """A point in time with its offset; stored in UTC."""

    def check(self, value: Any, ctx: Context) -> datetime:
        if not isinstance(value, datetime):
            raise Problem("must be an ISO 8601 date and time with an offset")
        if value.tzinfo is None or value.utcoffset() is None:
            raise Problem("must carry a UTC offset, such as '2026-11-26T09:00:00+00:00'")
        return value.astimezone(UTC)


@dataclass(frozen=True)
class Day(Rule):
    def check(self, value: Any, ctx: Context) -> date:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise Problem("must be a calendar date such as '2026-11-26'")
        return value


@dataclass(frozen=True)
class Fraction(Rule):
    """A decimal fraction from 0 to 1 ("0.10" is 10%)."""

    def check(self, value: Any, ctx: Context) -> Decimal:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise Problem("must be a decimal fraction written as a string, such as '0.10'")
        if not Decimal(0) <= value <= Decimal(1) or value.is_signed():
            raise Problem("must be a fraction from 0 to 1, such as '0.10' for 10%")
        if -value.normalize().as_tuple().exponent > 4:  # type: ignore[operator]
            raise Problem("must have at most 4 digits after the decimal point")
        return value


@dataclass(frozen=True)
class WholeNumber(Rule):
    low: int = 0
    high: int = 3650

    def check(self, value: Any, ctx: Context) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Problem("must be a whole number")
        if not self.low <= value <= self.high:
            raise Problem(f"must be from {self.low} to {self.high}")
        return value


@dataclass(frozen=True)
class Names(Rule):
    """A list of distinct names, each one of ``allowed``."""

    allowed: frozenset[str] = frozenset()

    def check(self, value: Any, ctx: Context) -> list[str]:
        names = [str(v.value if isinstance(v, StrEnum) else v) for v in value]
        unknown = sorted(set(names) - self.allowed)
        if unknown:
            raise Problem(
                f"names unknown {'entries' if len(unknown) > 1 else 'entry'}: {', '.join(unknown)}"
            )
        return sorted(set(names))


@dataclass(frozen=True)
class ThresholdOverrides(Rule):
    """Per-engagement overrides of the rules' thresholds, each checked against its
    declaration (rules.thresholds: kind and range), kept as text. ``days`` and ``fractions``
    narrow which are accepted; every declared one is when both are left out."""

    days: tuple[str, ...] | None = None
    fractions: tuple[str, ...] | None = None

    def check(self, value: Any, ctx: Context) -> dict[str, str]:
        if not isinstance(value, Mapping):
            raise Problem("must be an object of thresholds")
        cleaned: dict[str, str] = {}
        for name, setting in value.items():
            if setting is None:
                continue  # null: back to the setting's default
            threshold = THRESHOLDS_BY_NAME.get(name)
            narrowed = self.days is not None or self.fractions is not None
            if threshold is None or (
                narrowed and name not in (*(self.days or ()), *(self.fractions or ()))
            ):
                raise Problem(f"has no threshold named {name}")
            try:
                cleaned[name] = str(threshold.check(setting))
            except ValueError as problem:
                raise Problem(str(problem)) from None
        return cleaned


@dataclass(frozen=True)
class FunctionOverrides(Rule):
    """An engagement's own answers to whether it needs a function, by function name in any
    case: true (needed), false (not needed) or None (back to the table's answer)."""

    functions: tuple[str, ...] = ()

    def check(self, value: Any, ctx: Context) -> dict[str, bool | None]:
        if not isinstance(value, Mapping):
            raise Problem("must be an object of functions")
        cleaned: dict[str, bool | None] = {}
        for name, needed in value.items():
            function = str(name).upper()
            if function not in self.functions:
                raise Problem(f"has no function named {name}")
            if needed is not None and not isinstance(needed, bool):
                raise Problem(f"{name} must be true, false or null")
            cleaned[function] = needed
        return cleaned


@dataclass(frozen=True)
class Ref(Rule):
    """The id of a row that must exist (a person, an organization)."""

    model: type[Model] = Model
    label: str = "record"

    def check(self, value: Any, ctx: Context) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
            raise Problem(f"No {self.label} with this id.", ErrorCode.NOT_FOUND)
        return value


Spec = Mapping[str, Rule]

_known: ContextVar[set[tuple[type[Model], int]] | None] = ContextVar(
    "fourway_known_refs", default=None
)


@contextmanager
def remembering() -> Iterator[None]:
    """Look each row a ``Ref`` names up once inside the block (a unit of work's)."""
    if _known.get() is not None:
        yield
        return
    token = _known.set(set())
    try:
        yield
    finally:
        _known.reset(token)


def forget() -> None:
    """A row a ``Ref`` may name was deleted: look them up anew."""
    known = _known.get()
    if known is not None:
        known.clear()


async def clean(
    spec: Spec,
    values: Mapping[str, Any],
    *,
    required: frozenset[str] = frozenset(),
    ctx: Context = Context(),
) -> dict[str, Any]:
    """Check ``values`` against ``spec``; return them cleaned or raise Invalid with every problem.

    ``required`` names the fields that must be present and not null (on create).
    """
    unknown = values.keys() - spec.keys()
    if unknown:
        # A programming error, not a user's: api/ only passes fields it declared.
        raise TypeError(f"unknown fields {sorted(unknown)}")
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    for name in sorted(required.difference(values)):
        errors.append(FieldError(name, "is required"))
    for name, value in values.items():
        rule = spec[name]
        if value is None:
            if rule.nullable and name not in required:
                cleaned[name] = None
            else:
                errors.append(FieldError(name, "must not be null"))
            continue
        try:
            cleaned[name] = rule.check(value, ctx)
        except Problem as problem:
            errors.append(FieldError(name, problem.message, problem.code))
    known = _known.get()
    for name, rule in spec.items():
        if not isinstance(rule, Ref):
            continue
        pk = cleaned.get(name)
        if pk is None or (known is not None and (rule.model, pk) in known):
            continue
        if not await rule.model.exists(pk=pk):
            errors.append(FieldError(name, f"No {rule.label} with this id.", ErrorCode.NOT_FOUND))
        elif known is not None:
            known.add((rule.model, pk))
    if errors:
        raise Invalid(errors)
    return cleaned
