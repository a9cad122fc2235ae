"""Compensation periods: the months of the ledger, and closing one.

A closed month never changes: no entry is ever written into it again, so its statements
and its CSV read the same forever. An entry belongs to the month it is written in, or, if
finance has closed that month already, to the first month after it that is open; a
correction to a sale booked in a closed month therefore lands in an open one, pointing at
the entry it corrects. Reopening a month is not offered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from models import CompensationPeriod
from services.core import audit, events
from services.core.errors import Conflict, FieldError, Invalid
from services.core.wire import format_datetime, to_global_id


def month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def parse_period(value: str, *, field: str = "period") -> str:
    """``value`` if it is a month written YYYY-MM; else the error says how to write one."""
    if (
        len(value) != 7
        or value[4] != "-"
        or not (value[:4] + value[5:]).isascii()
        or not (value[:4] + value[5:]).isdigit()
        or not 1 <= int(value[5:]) <= 12
    ):
        raise Invalid(
            [FieldError(field, f"'{value[:20]}' is not a period: write YYYY-MM, such as 2026-11")]
        )
    return value


def _next(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


async def first_open_period(now: datetime) -> str:
    """The month an entry written at ``now`` belongs to: this one, or the first after it
    that is not closed."""
    period = month_of(now)
    closed: set[str] = {
        str(p)
        for p in await CompensationPeriod.filter(period__gte=period).values_list(
            "period", flat=True
        )
    }
    while period in closed:
        period = _next(period)
    return period


def period_object(row: CompensationPeriod) -> dict[str, str]:
    """A closed month as the API shows it."""
    return {
        "__typename": "CompensationPeriod",
        "id": to_global_id("CompensationPeriod", row.pk),
        "period": row.period,
        "closedAt": format_datetime(row.closed_at),
    }


async def close_compensation_period(*, period: str) -> CompensationPeriod:
    """Close a month (this one or an earlier one): nothing is written into it from now on."""
    period = parse_period(period)
    now = datetime.now(UTC)
    if period > month_of(now):
        raise Invalid([FieldError("period", f"{period} has not begun: close a month once it has")])
    async with in_transaction():
        if await CompensationPeriod.filter(period=period).exists():
            raise Conflict("period", f"{period} is closed already; a closed month stays closed.")
        row = await CompensationPeriod.create(period=period, closed_at=now)
        await audit.record(
            "compensation_period.closed", row, before=None, after=period_object(row), at=now
        )
        await events.record(
            [events.Occurrence("compensation.period_closed", period_object(row), None)], at=now
        )
        return row
