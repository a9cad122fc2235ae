"""Closing a compensation month, called directly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from models import AuditEntry, CompensationPeriod, Event
from services.compensation.periods import (
    close_compensation_period,
    first_open_period,
    month_of,
    parse_period,
)
from services.core.errors import Conflict, FieldError, Invalid
from tests.support import dump_database


def _after(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


async def test_closing_a_month_is_audited_and_announced_outside_any_engagement(database_url):
    closed = await close_compensation_period(period="2026-01")

    assert (closed.period, closed.closed_at is not None) == ("2026-01", True)
    entry = await AuditEntry.get(action="compensation_period.closed")
    assert entry.after is not None and entry.after["period"] == "2026-01"
    assert entry.engagement_id is None
    event = await Event.get(type="compensation.period_closed")
    assert (event.engagement_id, event.sequence) == (None, None)
    assert json.loads(event.body)["data"]["object"]["period"] == "2026-01"


async def test_a_closed_month_stays_closed_and_a_second_close_writes_nothing(database_url):
    await close_compensation_period(period="2026-01")
    before = await dump_database()

    with pytest.raises(Conflict) as refused:
        await close_compensation_period(period="2026-01")

    assert refused.value.errors[0].field == "period"
    assert refused.value.errors[0].message == (
        "2026-01 is closed already; a closed month stays closed."
    )
    assert await dump_database() == before


async def test_a_month_that_has_not_begun_cannot_be_closed(database_url):
    later = _after(month_of(datetime.now(UTC)))

    with pytest.raises(Invalid) as refused:
        await close_compensation_period(period=later)

    assert refused.value.errors == (
        FieldError("period", f"{later} has not begun: close a month once it has"),
    )
    assert not await CompensationPeriod.all().exists()


@pytest.mark.parametrize(
    "written", ["2026-13", "2026-1", "26-01-01", "2026/01", "\uff12\uff10\uff12\uff16-01"]
)
async def test_a_period_is_written_yyyy_mm(database_url, written):
    with pytest.raises(Invalid) as refused:
        await close_compensation_period(period=written)

    assert refused.value.errors == (
        FieldError("period", f"'{written}' is not a period: write YYYY-MM, such as 2026-11"),
    )
    assert parse_period("2026-12", field="month") == "2026-12"


async def test_entries_go_to_the_first_month_not_closed(database_url):
    moment = datetime(2026, 3, 15, tzinfo=UTC)
    assert await first_open_period(moment) == "2026-03"

    await close_compensation_period(period="2026-03")
    await close_compensation_period(period="2026-04")
    await close_compensation_period(period="2026-06")

    assert await first_open_period(moment) == "2026-05"
    assert await first_open_period(datetime(2026, 2, 1, tzinfo=UTC)) == "2026-02"
    assert await first_open_period(datetime(2026, 6, 30, tzinfo=UTC)) == "2026-07"
