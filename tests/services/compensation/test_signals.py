"""The ledger as evaluations write it, driven through the use cases that change a sale:
what is booked, held, released and booked back, and that a change that fails books nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from models import Alert, CompensationSignal, Engagement, Purchase
from models.enums import AlertStatus, EngagementFunction, EngagementStatus, SignalKind
from services.compensation.commission_plans import set_engagement_credits
from services.compensation.periods import month_of
from services.compensation.signals import holding_pay, totals
from services.core.units import changing
from services.engagements.deals import approve_deal
from services.engagements.engagements import evaluate_engagement
from services.engagements.promises import create_promise, update_promise
from services.engagements.purchases import update_purchase
from tests.services.scenarios import SIGNED, Scene, give_role, sale, scene


async def _ledger(engagement_id: int) -> list[tuple[SignalKind, int, Decimal]]:
    return [
        (e.kind, e.salesperson_id, e.amount)
        for e in await CompensationSignal.filter(engagement_id=engagement_id).order_by("id")
    ]


async def _sold(s: Scene, **plan: str) -> None:
    await sale(s, **plan)
    await approve_deal(engagement_id=s.engagement, note="Approved by the test")


async def test_nothing_is_booked_while_the_deal_is_only_proposed(database_url):
    s = await scene()
    await sale(s)

    await evaluate_engagement(id=s.engagement)

    assert not await CompensationSignal.all().exists()


async def test_approving_the_deal_books_the_rate_on_the_projected_margin(database_url):
    s = await scene()
    await _sold(s)

    [entry] = await CompensationSignal.filter(engagement_id=s.engagement)
    assert (entry.kind, entry.salesperson_id) == (SignalKind.BOOKED, s.seller)
    assert (entry.revenue, entry.cost, entry.margin) == (
        Decimal(100000),
        Decimal(60000),
        Decimal(40000),
    )
    assert (entry.margin_pct, entry.rate, entry.split) == (
        Decimal("0.4"),
        Decimal("0.1"),
        Decimal(1),
    )
    assert entry.amount == Decimal(4000)
    assert entry.currency == "EUR"
    assert entry.period == month_of(datetime.now(UTC))
    assert entry.supersedes_id is None
    assert entry.idempotency_key == f"BOOKED:{s.engagement}:{s.seller}:0"


async def test_evaluating_an_unchanged_sale_again_writes_nothing(database_url):
    s = await scene()
    await _sold(s)
    before = await _ledger(s.engagement)

    await evaluate_engagement(id=s.engagement)
    await evaluate_engagement(id=s.engagement)

    assert await _ledger(s.engagement) == before


async def test_a_new_estimate_books_the_difference_pointing_at_what_it_corrects(database_url):
    s = await scene()
    await _sold(s)
    purchase_id = (await Purchase.get(engagement_id=s.engagement)).id
    first = await CompensationSignal.get(engagement_id=s.engagement)

    await update_purchase(id=purchase_id, estimated_cost=Decimal(50000))

    second = await CompensationSignal.filter(engagement_id=s.engagement).order_by("-id").first()
    assert second is not None
    assert (second.kind, second.amount, second.margin) == (
        SignalKind.BOOKED,
        Decimal(1000),
        Decimal(50000),
    )
    assert second.supersedes_id == first.id
    assert second.idempotency_key == f"BOOKED:{s.engagement}:{s.seller}:{first.id}"
    assert totals(list(await CompensationSignal.all())) == {SignalKind.BOOKED: Decimal(5000)}


async def test_a_margin_below_the_plans_floor_books_nothing_until_it_clears_it(database_url):
    s = await scene()
    await _sold(s, floor="0.50")
    purchase = await Purchase.get(engagement_id=s.engagement)

    # Every entry is a change: pay of nothing on a ledger of nothing writes no entry.
    assert await _ledger(s.engagement) == []

    await update_purchase(id=purchase.id, estimated_cost=Decimal(40000))
    assert await _ledger(s.engagement) == [(SignalKind.BOOKED, s.seller, Decimal(6000))]


async def test_a_split_shares_the_pay_and_someone_uncredited_is_booked_back(database_url):
    s = await scene()
    await _sold(s)
    await give_role(s.engagement, s.lead, EngagementFunction.SALES)

    await set_engagement_credits(
        engagement_id=s.engagement,
        credits=[
            {"person_id": s.seller, "split_pct": Decimal("0.7")},
            {"person_id": s.lead, "split_pct": Decimal("0.3")},
        ],
    )
    assert (await _ledger(s.engagement))[1:] == [
        (SignalKind.BOOKED, s.seller, Decimal(-1200)),
        (SignalKind.BOOKED, s.lead, Decimal(1200)),
    ]

    await set_engagement_credits(
        engagement_id=s.engagement, credits=[{"person_id": s.lead, "split_pct": Decimal(1)}]
    )
    ledger = await _ledger(s.engagement)
    owed: dict[int, Decimal] = {}
    for _, person, amount in ledger:
        owed[person] = owed.get(person, Decimal(0)) + amount
    assert owed == {s.seller: Decimal(0), s.lead: Decimal(4000)}
    back = await CompensationSignal.filter(salesperson_id=s.seller).order_by("-id").first()
    assert back is not None and "no longer credited with the sale" in back.reason


async def test_pay_is_held_while_a_named_alert_is_live_and_released_after(database_url):
    s = await scene()
    await _sold(s)
    await give_role(s.engagement, s.lead, EngagementFunction.DELIVERY)
    # A promise nobody from delivery signed off: a critical alert the plan holds pay for.
    promise = await create_promise(
        engagement_id=s.engagement,
        item="build",
        description="Build it",
        quantity=Decimal(100),
        quoted_amount=Decimal(100000),
        made_by_id=s.seller,
    )
    alert = await Alert.get(engagement_id=s.engagement, rule_id="promise-without-signoff")
    assert await holding_pay(alert) == frozenset({s.seller})
    held = await CompensationSignal.get(engagement_id=s.engagement, kind=SignalKind.HELD)
    assert (held.amount, held.evidence) == (Decimal(4000), [alert.id])

    await update_promise(
        id=promise.record.id, delivery_signoff_by_id=s.lead, delivery_signoff_at=SIGNED
    )

    assert (await Alert.get(id=alert.id)).status == AlertStatus.RESOLVED
    released = await CompensationSignal.get(engagement_id=s.engagement, kind=SignalKind.RELEASED)
    assert (released.amount, released.evidence) == (Decimal(4000), [alert.id])
    assert released.supersedes_id == held.id


async def test_an_alert_holds_no_pay_when_nobody_is_credited(database_url):
    s = await scene()
    await _sold(s)
    await set_engagement_credits(engagement_id=s.engagement, credits=[])
    alert = await Alert.filter(engagement_id=s.engagement, severity="CRITICAL").first()
    assert alert is not None

    assert await holding_pay(alert) == frozenset()


async def test_a_unit_that_fails_after_approving_books_nothing(database_url):
    s = await scene()
    await sale(s)

    with pytest.raises(RuntimeError, match="abandon"):
        async with changing(s.engagement):
            await approve_deal(engagement_id=s.engagement, note="Approved by the test")
            raise RuntimeError("abandon")

    assert not await CompensationSignal.all().exists()
    assert (await Engagement.get(id=s.engagement)).status == EngagementStatus.PROPOSED
