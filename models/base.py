"""Shared column shapes, so every side stores money, quantities and item keys alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise import fields
from tortoise.models import Model
from tortoise.validators import RegexValidator

# An item key lines the four sides up: lower-case words joined by single hyphens.
ITEM_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z"
ITEM_MAX_LENGTH = 64

# Primary keys are 32-bit integers on every database.
MAX_ID = 2**31 - 1

# Four decimal places hold every currency's minor unit (at most three) exactly;
# the service refuses amounts finer than the engagement's currency allows.
MONEY_MAX_DIGITS = 18
MONEY_DECIMAL_PLACES = 4
QUANTITY_MAX_DIGITS = 14
QUANTITY_DECIMAL_PLACES = 4


class Moment(fields.DatetimeField[datetime]):
    """A UTC-aware datetime column read with the standard library's ISO parser, and taken
    as it is when the driver already gives a UTC datetime.

    SQLite hands datetimes back as ISO strings, which Tortoise parses with the iso8601
    package: on a page of 200 rows that parsing was most of the ORM's time. Python's
    own ``fromisoformat`` reads the same strings several times faster.
    """

    def to_python_value(self, value: Any) -> datetime | None:
        if isinstance(value, datetime) and value.tzinfo is UTC:
            # asyncpg's own: already what this column holds. A fifty-item page reads
            # hundreds of these; Tortoise's general path converted each one again.
            return value
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        result: datetime | None = super().to_python_value(value)
        return result


def moment(**kwargs: Any) -> Any:
    return Moment(**kwargs)


def money(**kwargs: Any) -> Any:
    return fields.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs
    )


def quantity(**kwargs: Any) -> Any:
    return fields.DecimalField(
        max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES, **kwargs
    )


def item_key() -> Any:
    return fields.CharField(
        max_length=ITEM_MAX_LENGTH, validators=[RegexValidator(ITEM_PATTERN, 0)]
    )


# Model docstrings become table comments, and the SQLite migration runner splits its
# script on semicolons: a model docstring must hold neither ";" nor a quote.
class Timestamped(Model):
    """Every row knows when it was made and last changed (UTC)."""

    created_at = moment(auto_now_add=True)
    updated_at = moment(auto_now=True)

    class Meta:
        abstract = True
