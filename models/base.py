"""Shared column shapes, so every side stores money, quantities and item keys alike."""

from __future__ import annotations

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

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True
