"""A salesperson's monthly statement as sums over the ledger, and which entries criteria
select, called directly on a sale the services booked."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from models import CompensationSignal, Purchase
from models.enums import EngagementFunction, SignalKind
from services.compensation.periods import close_compensation_period, month_of
from services.compensation.statements import EntryCriteria, entries_matching, held_change, statement
from services.engagements.deals import approve_deal
from services.engagements.promises import create_promise
from services.engagements.purchases import update_purchase
from tests.services.scenarios import Scene, give_role, sale, scene

ZERO = Decimal(0)


def _after(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


async def _sold(s: Scene) -> str:
    """Book 4,000 for the seller; return the month it was booked in."""
    await sale(s)
    await approve_deal(engagement_id=s.engagement, note="Approved by the test")
    return (await CompensationSignal.get(engagement_id=s.engagement)).period


async def test_a_month_with_one_booking_totals_it_and_holds_nothing(database_url):
    s = await scene()
    period = await _sold(s)
    assert period == month_of(datetime.now(UTC))

    month = await statement(salesperson_id=s.seller, period=period)

    assert (month.opening_balance, month.total, month.closing_balance) == (
        ZERO,
        Decimal(4000),
        Decimal(4000),
    )
    assert [line.kind for line in month.lines] == [SignalKind.BOOKED]
    assert (month.holds, month.still_held, month.closed_at) == ((), ZERO, None)
    assert month.totals()[SignalKind.BOOKED] == Decimal(4000)
    assert month.totals()[SignalKind.HELD] == ZERO


async def test_someone_with_no_entries_has_an_empty_statement(database_url):
    s = await scene()
    await _sold(s)

    month = await statement(salesperson_id=s.lead, period="2026-01")

    assert (month.opening_balance, month.total, month.lines, month.still_held) == (
        ZERO,
        ZERO,
        (),
        ZERO,
    )


async def test_a_closed_month_keeps_its_statement_and_the_correction_opens_the_next(
    database_url,
):
    s = await scene()
    period = await _sold(s)
    before = await statement(salesperson_id=s.seller, period=period)
    closed = await close_compensation_period(period=period)
    purchase = await Purchase.get(engagement_id=s.engagement)

    await update_purchase(id=purchase.id, estimated_cost=Decimal(50000))

    same = await statement(salesperson_id=s.seller, period=period)
    assert [line.id for line in same.lines] == [line.id for line in before.lines]
    assert same.total == before.total == Decimal(4000)
    assert same.closed_at == closed.closed_at
    following = await statement(salesperson_id=s.seller, period=_after(period))
    assert (following.opening_balance, following.total, following.closing_balance) == (
        Decimal(4000),
        Decimal(1000),
        Decimal(5000),
    )
    [correction] = following.lines
    assert correction.supersedes_id == before.lines[0].id
    assert following.closed_at is None


async def test_what_is_held_is_listed_apart_from_what_is_owed(database_url):
    s = await scene()
    period = await _sold(s)
    await give_role(s.engagement, s.lead, EngagementFunction.DELIVERY)
    # A promise nobody from delivery signed off holds the seller's pay.
    await create_promise(
        engagement_id=s.engagement,
        item="build",
        description="Build it",
        quantity=Decimal(100),
        quoted_amount=Decimal(100000),
        made_by_id=s.seller,
    )

    month = await statement(salesperson_id=s.seller, period=period)

    assert [h.kind for h in month.holds] == [SignalKind.HELD]
    assert held_change(month.holds[0]) == Decimal(4000)
    assert held_change(month.lines[0]) == ZERO
    assert month.still_held == Decimal(4000)
    assert month.total == Decimal(4000)  # holding pay does not change what is owed


async def test_criteria_select_entries_by_person_engagement_month_and_kind(database_url):
    s = await scene()
    period = await _sold(s)
    await give_role(s.engagement, s.lead, EngagementFunction.DELIVERY)
    await create_promise(
        engagement_id=s.engagement,
        item="build",
        description="Build it",
        quantity=Decimal(100),
        quoted_amount=Decimal(100000),
        made_by_id=s.seller,
    )

    async def kinds(**criteria: object) -> list[SignalKind]:
        query = entries_matching(EntryCriteria(**criteria))  # type: ignore[arg-type]
        return [e.kind for e in await query.order_by("id")]

    assert await kinds() == [SignalKind.BOOKED, SignalKind.HELD]
    assert await kinds(salesperson_id=s.seller, engagement_id=s.engagement, period=period) == [
        SignalKind.BOOKED,
        SignalKind.HELD,
    ]
    assert await kinds(kinds=(SignalKind.HELD, SignalKind.RELEASED)) == [SignalKind.HELD]
    assert await kinds(salesperson_id=s.lead) == []
    assert await kinds(engagement_id=s.engagement + 1) == []
    assert await kinds(period=_after(period)) == []
