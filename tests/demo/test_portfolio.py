"""The demo portfolio: what it loads, that its mismatches are there, and that it loads once."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

import demo.portfolio as portfolio
from demo.portfolio import LARGE_ENGAGEMENT, load_demo
from models import (
    Alert,
    ChangeOrder,
    CompensationSignal,
    DealApproval,
    Deliverable,
    Engagement,
    Need,
    Organization,
    Person,
    Promise,
    Purchase,
    RoleAssignment,
)
from models.enums import EngagementStatus, OrganizationKind
from services.core.errors import Conflict
from services.engagements.alignment import AlignmentRow, align, financials
from services.engagements.deals import state_of as deal_state_of
from services.engagements.engagements import evaluate_engagement
from tests.conftest import SharedRows
from tests.demo.evaluations import evaluations

SIDES = (Need, Promise, Purchase, Deliverable)


@pytest.fixture
async def demo(shared_rows: SharedRows) -> str:
    """The demo portfolio, loaded once for the tests here that only read it: its summary.
    The tests that load it themselves, or write, start from empty tables as ever."""
    summary: str = await shared_rows.get(load_demo)
    return summary


async def _counts() -> dict[str, int]:
    items: set[tuple[int, str]] = set()
    for model in (*SIDES, ChangeOrder):
        items.update(await model.all().values_list("engagement_id", "item"))
    return {
        "organizations": await Organization.all().count(),
        "clients": await Organization.filter(kind=OrganizationKind.CLIENT).count(),
        "provider": await Organization.filter(kind=OrganizationKind.PROVIDER).count(),
        "people": await Person.all().count(),
        "engagements": await Engagement.all().count(),
        "scope items": len(items),
        "needs": await Need.all().count(),
        "promises": await Promise.all().count(),
        "purchases": await Purchase.all().count(),
        "deliverables": await Deliverable.all().count(),
        "change orders": await ChangeOrder.all().count(),
        "role assignments": await RoleAssignment.all().count(),
    }


def _reported(summary: str, names: list[str]) -> dict[str, int]:
    found = {}
    for name in names:
        match = re.search(rf"(\d+) {name}\b", summary)
        assert match, f"the summary does not count {name}: {summary}"
        found[name] = int(match.group(1))
    return found


async def _alignment(name: str) -> dict[str, AlignmentRow]:
    engagement = await Engagement.get(name=name)
    rows = align(
        needs=await engagement.needs.all(),
        promises=await engagement.promises.all(),
        purchases=await engagement.purchases.all(),
        deliverables=await engagement.deliverables.all(),
        change_orders=await engagement.change_orders.all(),
    )
    return {row.item: row for row in rows}


async def test_demo_reports_the_counts_it_loaded(demo: str) -> None:
    counts = await _counts()
    assert _reported(demo, list(counts)) == counts
    assert counts["clients"] >= 4
    assert counts["provider"] == 1


async def test_demo_engagements_span_the_lifecycle_and_currencies(demo: str) -> None:
    statuses = set(await Engagement.all().values_list("status", flat=True))
    currencies = set(await Engagement.all().values_list("currency", flat=True))
    assert len(statuses) >= 4
    assert currencies == {"EUR", "USD", "GBP"}


async def test_large_engagement_has_fifty_items_on_each_side(demo: str) -> None:
    engagement = await Engagement.get(name=LARGE_ENGAGEMENT)
    per_side = []
    for model in SIDES:
        items = await model.filter(engagement_id=engagement.id).values_list("item", flat=True)
        assert len(items) == 50, model.__name__
        per_side.append(set(items))
    assert len(per_side[0]) == 50
    assert all(items == per_side[0] for items in per_side)
    assert await RoleAssignment.filter(engagement_id=engagement.id).exists()


async def test_demo_holds_the_deliberate_mismatches(demo: str) -> None:
    warehouse = await _alignment("Warehouse management system replacement")
    assert warehouse["hypercare"].promised and warehouse["hypercare"].bought is None
    assert warehouse["data-migration"].promised and warehouse["data-migration"].bought
    assert (
        warehouse["data-migration"].promised.quantity > warehouse["data-migration"].bought.quantity
    )
    assert await Deliverable.filter(item="staff-training", status="REJECTED").exists()

    claims = await _alignment("Claims portal modernisation")
    assert claims["fraud-scoring"].needed and claims["fraud-scoring"].promised is None
    sso = claims["sso-integration"]
    assert sso.promised and sso.bought and sso.promised.amount != sso.bought.amount
    assert await Promise.filter(item="document-upload", delivery_signoff_by_id=None).exists()

    field = await _alignment("Field service scheduling")
    mobile = field["mobile-app"]
    # The approved change order moved the baseline: promised and bought agree again.
    assert mobile.promised and mobile.bought and mobile.promised == mobile.bought
    assert field["executive-dashboard"].delivered and field["executive-dashboard"].bought is None

    meters = await _alignment("Smart meter data platform")
    assert meters["billing-interface"].bought and meters["billing-interface"].delivered is None
    engagement = await Engagement.get(name="Smart meter data platform")
    money = financials(
        purchases=await engagement.purchases.all(),
        deliverables=await engagement.deliverables.all(),
        change_orders=await engagement.change_orders.all(),
    )
    assert money.margin_pct is not None and money.margin_pct < Decimal("0.10")


async def test_loading_twice_raises_conflict_and_writes_nothing_more(database_url: str) -> None:
    await load_demo()
    before = await _counts()

    with pytest.raises(Conflict, match=r"^The demo portfolio is already loaded\.$"):
        await load_demo()

    assert await _counts() == before


async def test_a_load_that_fails_midway_leaves_nothing_behind(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(load: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(portfolio, "_nordic_rollout", broken)

    with pytest.raises(RuntimeError):
        await load_demo()

    assert set((await _counts()).values()) == {0}


async def test_demo_deals_are_approved_by_their_people_and_one_awaits_a_second(
    demo: str,
) -> None:
    for engagement in await Engagement.all():
        state = await deal_state_of(engagement.id, engagement.decision_model)
        approvals = await DealApproval.filter(engagement_id=engagement.id)
        if engagement.name == "Customs declaration automation":
            assert engagement.status is EngagementStatus.PROPOSED
            names = {p.name for p in await Person.filter(id__in=list(state.pending))}
            assert len(approvals) == 1 and len(names) == 1
        else:
            assert state.decided_at is not None, engagement.name
            # Approved by people holding the function, never by a key alone.
            assert approvals and all(a.person_id is not None for a in approvals)


async def test_demo_shows_outside_engagements_missing_legal_and_one_decided_by_one_person(
    demo: str,
) -> None:
    missing_legal = await Alert.filter(
        rule_id="function-unassigned", message__contains="Nobody holds LEGAL", status="OPEN"
    ).prefetch_related("engagement")
    assert missing_legal and all(not a.engagement.in_house for a in missing_legal)
    # Consensus with engagement management alone accountable: one person decides.
    [unfit] = await Alert.filter(rule_id="decision-model-unfit", status="OPEN").prefetch_related(
        "engagement"
    )
    assert unfit.engagement.name == "Smart meter data platform"


async def test_loading_the_demo_evaluates_each_engagement_once(database_url: str) -> None:
    before = evaluations()

    await load_demo()

    assert evaluations() - before == await Engagement.all().count()


async def test_each_engagement_is_evaluated_complete(database_url: str) -> None:
    await load_demo()

    for engagement in await Engagement.all():
        again = await evaluate_engagement(id=engagement.id)
        assert (again.alerts.opened, again.alerts.resolved, again.alerts.signals) == ((), (), ())


# What the demo left live when every row was evaluated as it was written (before units of
# work), with each alert's subjects named by kind and item rather than by id.
LIVE_BEFORE_UNITS = Path(__file__).with_name("demo_live_alerts.json")
# Rules that read today's date: what they find depends on the day the tests run.
CLOCK_RULES = frozenset(
    {"purchase-unplanned", "under-delivered", "deliverable-overdue", "acceptance-pending"}
)


async def _live_alerts() -> list[list[object]]:
    items = {}
    for model in (*SIDES, ChangeOrder):
        kind = model._meta.db_table
        for id_, item in await model.all().values_list("id", "item"):
            items[f"{kind}:{id_}"] = f"{kind}:{item}"
    names = dict(await Engagement.all().values_list("id", "name"))
    return sorted(
        [
            names[a.engagement_id],
            a.rule_id,
            [
                "engagement" if s.startswith("engagement:") else items.get(s, s)
                for s in a.fingerprint.split(":", 3)[3].split("+")
            ],
            a.severity.value,
            a.message,
        ]
        for a in await Alert.filter(status__in=["OPEN", "ACKNOWLEDGED"])
    )


async def test_evaluating_once_leaves_the_alerts_that_evaluating_every_row_left(
    demo: str,
) -> None:
    expected = json.loads(LIVE_BEFORE_UNITS.read_text())
    live = await _live_alerts()
    assert [a for a in live if a[1] not in CLOCK_RULES] == [
        a for a in expected if a[1] not in CLOCK_RULES
    ]
    # Nothing was opened only to be resolved by a later row, and no pay moved.
    assert not await Alert.exclude(status__in=["OPEN", "ACKNOWLEDGED"]).exists()
    assert not await CompensationSignal.all().exists()
