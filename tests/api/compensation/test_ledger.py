"""The ledger finance pays from, as worked examples with figures derived by hand.

Every sale below is the one ``tests.api.compensation.test_signals._sale`` makes unless it says
otherwise: 100 units bought for 100,000.00 at an estimated 60,000.00, a plan paying 10% of
margin above a 20% floor, so 4,000.00 is booked. Every entry is a change: a person's
BOOKED and ADJUSTED entries sum to what the sale pays them.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from models import CompensationSignal, Event
from tests.api.compensation.test_signals import _complete_with_actual_cost, _sale, _signals
from tests.support import hold_sales

STATEMENT = """query($p: ID!, $period: String!) {
  compensationStatement(salespersonId: $p, period: $period) {
    period openingBalance total closingBalance stillHeld closedAt
    lines { id kind amount supersedes reason period }
    holds { id kind amount }
    totals { kind amount }
  }
}"""


def _this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def _next_month() -> str:
    now = datetime.now(UTC)
    return f"{now.year + 1}-01" if now.month == 12 else f"{now.year}-{now.month + 1:02d}"


def _amounts(entries: list[dict[str, Any]], *kinds: str) -> list[str]:
    return [e["amount"] for e in entries if not kinds or e["kind"] in kinds]


def _owed(entries: list[dict[str, Any]], name: str) -> Decimal:
    return sum(
        (
            Decimal(e["amount"])
            for e in entries
            if e["salesperson"]["name"] == name and e["kind"] in ("BOOKED", "ADJUSTED")
        ),
        Decimal(0),
    )


async def _statement(client, person: str, period: str) -> dict[str, Any]:
    data = await client.data(STATEMENT, {"p": person, "period": period})
    statement: dict[str, Any] = data["compensationStatement"]
    return statement


async def _csv(client, period: str) -> str:
    response = await client.http.get("/exports/compensation.csv", params={"period": period})
    assert response.status_code == 200, response.text
    return response.text


async def _estimate(client, ids: dict[str, str], cost: str) -> None:
    payload = await client.mutate(
        "updatePurchase", {"id": ids["purchase"], "estimatedCost": cost}, "purchase { id }"
    )
    assert payload["userErrors"] == []


async def _close(client, period: str) -> dict[str, Any]:
    payload: dict[str, Any] = await client.mutate(
        "closeCompensationPeriod", {"period": period}, "compensationPeriod { period closedAt }"
    )
    return payload


async def test_a_month_with_corrections_a_new_split_and_a_person_removed_adds_up(client):
    ids = await _sale(client)
    await _estimate(client, ids, "70000")  # 3,000.00: -1,000.00
    await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [
                {"personId": ids["seller"], "splitPct": "0.5"},
                {"personId": ids["sponsor"], "splitPct": "0.5"},
            ],
        },
        "credits { splitPct }",
    )  # Sam 1,500.00 (-1,500.00), Ada 1,500.00
    await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [{"personId": ids["sponsor"], "splitPct": "1"}],
        },
        "credits { splitPct }",
    )  # Sam 0 (-1,500.00), Ada 3,000.00 (+1,500.00)
    month = _this_month()
    sam = await _statement(client, ids["seller"], month)
    ada = await _statement(client, ids["sponsor"], month)
    assert _amounts(sam["lines"]) == ["4000.00", "-1000.00", "-1500.00", "-1500.00"]
    assert _amounts(ada["lines"]) == ["1500.00", "1500.00"]
    assert (sam["total"], ada["total"]) == ("0.00", "3000.00")
    for statement in (sam, ada):
        assert Decimal(statement["total"]) == sum(Decimal(x) for x in _amounts(statement["lines"]))
        assert statement["openingBalance"] == "0.00"
        assert statement["closingBalance"] == statement["total"]
    # Each correction points at the entry it corrects.
    assert [line["supersedes"] for line in sam["lines"][1:]] == [
        line["id"] for line in sam["lines"][:-1]
    ]
    rows = list(csv.DictReader(io.StringIO(await _csv(client, month))))
    by_person: dict[str, Decimal] = {}
    for row in rows:
        by_person[row["salesperson_name"]] = by_person.get(
            row["salesperson_name"], Decimal(0)
        ) + Decimal(row["pay"])
    assert by_person == {"Sam Seller": Decimal("0.00"), "Ada Sponsor": Decimal("3000.00")}


async def test_a_sale_corrected_twice_and_completed_with_an_overrun_across_a_close(client):
    ids = await _sale(client)
    await _estimate(client, ids, "70000")  # -1,000.00
    month, later = _this_month(), _next_month()
    closed = await _close(client, month)
    assert closed["userErrors"] == []
    statement_before = await _statement(client, ids["seller"], month)
    csv_before = await _csv(client, month)

    await _estimate(client, ids, "65000")  # 3,500.00: +500.00, into the next open month
    # Delivered and accepted in full at 80,000.00: a 15,000.00 overrun on an item a
    # delivery expert signed off before signing is delivery's, and moves no pay.
    [adjusted] = await _complete_with_actual_cost(client, ids, "80000")
    assert adjusted["amount"] == "0.00"
    assert adjusted["attribution"] == [
        {"item": "build", "variance": "15000.0000", "attribution": "DELIVERY_OVERRUN"}
    ]

    # The closed month reads exactly as it did.
    assert await _statement(client, ids["seller"], month) == statement_before
    assert await _csv(client, month) == csv_before
    assert _amounts(statement_before["lines"]) == ["4000.00", "-1000.00"]
    assert statement_before["closedAt"] is not None
    after = await _statement(client, ids["seller"], later)
    assert [(line["kind"], line["amount"]) for line in after["lines"]] == [
        ("BOOKED", "500.00"),
        ("ADJUSTED", "0.00"),
    ]
    assert after["lines"][0]["supersedes"] == statement_before["lines"][-1]["id"]
    assert (after["openingBalance"], after["total"], after["closingBalance"]) == (
        "3000.00",
        "500.00",
        "3500.00",
    )
    again = await _close(client, month)
    assert again["userErrors"][0]["code"] == "CONFLICT"
    future = await _close(client, "2999-01")
    assert future["userErrors"][0]["field"] == ["input", "period"]


async def test_a_partial_delivery_realizes_only_the_accepted_share(client):
    ids = await _sale(client)
    await client.mutate(
        "createDeliverable",
        {
            "engagementId": ids["engagement"],
            "item": "build",
            "description": "Most of it",
            "quantity": "60",
            "status": "ACCEPTED",
            "acceptedById": ids["sponsor"],
            "acceptedAt": "2026-11-20T10:00:00+00:00",
            "actualCost": "36000",
        },
        "deliverable { id }",
    )
    # 60 of 100 accepted is not complete: nothing moves until the engagement closes.
    assert [s["kind"] for s in await _signals(client, ids["engagement"])] == ["BOOKED"]
    closed = await client.mutate(
        "updateEngagement", {"id": ids["engagement"], "status": "CLOSED"}, "engagement { id }"
    )
    assert closed["userErrors"] == []
    [adjusted] = [s for s in await _signals(client, ids["engagement"]) if s["kind"] == "ADJUSTED"]
    # Realized: 60,000.00 of revenue at 36,000.00 expected cost: 10% of 24,000.00 = 2,400.00.
    assert adjusted["amount"] == "-1600.00"
    assert adjusted["attribution"] == [
        {"item": "build", "variance": "40000.0000", "attribution": "UNDER_DELIVERY"}
    ]


async def test_a_sign_off_recorded_after_completion_moves_no_money(client):
    ids = await _sale(client, signed_off=False)
    [adjusted] = await _complete_with_actual_cost(client, ids, "75000")
    # Nobody signed the item off: the 15,000.00 overrun is the seller's (-1,500.00).
    assert adjusted["amount"] == "-1500.00"
    await client.mutate(
        "updatePromise",
        {
            "id": ids["promise"],
            "deliverySignoffById": ids["sponsor"],
            "deliverySignoffAt": "2026-11-01T09:00:00+00:00",  # backdated, even
        },
        "promise { id }",
    )
    signals = await _signals(client, ids["engagement"])
    assert [s["amount"] for s in signals if s["kind"] in ("BOOKED", "ADJUSTED")] == [
        "4000.00",
        "-1500.00",
    ]
    # The hold on the sign-off lifts all the same: what is still held is freed.
    holds = [(s["kind"], s["amount"]) for s in signals if s["kind"] in ("HELD", "RELEASED")]
    assert holds == [("HELD", "4000.00"), ("HELD", "-1500.00"), ("RELEASED", "2500.00")]


async def test_an_overrun_on_cost_a_change_order_bought_is_never_the_sellers(client):
    ids = await _sale(client, signed_off=False)
    change = await client.mutate(
        "createChangeOrder",
        {
            "engagementId": ids["engagement"],
            "item": "build",
            "description": "Ten more",
            "quantityDelta": "10",
            "amountDelta": "10000",
            "costDelta": "5000",
            "status": "APPROVED",
            "approvedById": ids["sponsor"],
            "approvedAt": "2026-11-10T10:00:00+00:00",
        },
        "changeOrder { id }",
    )
    assert change["userErrors"] == []
    # Booked on 110,000.00 at 65,000.00: 4,500.00, so +500.00.
    assert [
        s["amount"] for s in await _signals(client, ids["engagement"]) if s["kind"] == "BOOKED"
    ] == [
        "4000.00",
        "500.00",
    ]
    await client.mutate(
        "createDeliverable",
        {
            "engagementId": ids["engagement"],
            "item": "build",
            "description": "All of it",
            "quantity": "110",
            "status": "ACCEPTED",
            "acceptedById": ids["sponsor"],
            "acceptedAt": "2026-11-20T10:00:00+00:00",
            "actualCost": "75000",
        },
        "deliverable { id }",
    )
    [adjusted] = [s for s in await _signals(client, ids["engagement"]) if s["kind"] == "ADJUSTED"]
    assert adjusted["attribution"] == [
        {"item": "build", "variance": "10000.0000", "attribution": "DELIVERY_OVERRUN"}
    ]
    assert adjusted["amount"] == "0.00"


async def test_a_missing_actual_cost_holds_the_final_adjustment_back(client):
    ids = await _sale(client)
    made = await client.mutate(
        "createDeliverable",
        {
            "engagementId": ids["engagement"],
            "item": "build",
            "description": "All of it",
            "quantity": "100",
            "status": "ACCEPTED",
            "acceptedById": ids["sponsor"],
            "acceptedAt": "2026-11-20T10:00:00+00:00",
        },
        "deliverable { id } alertsOpened { ruleId }",
    )
    assert "actual-cost-missing" in [a["ruleId"] for a in made["alertsOpened"]]
    assert [s["kind"] for s in await _signals(client, ids["engagement"])] == ["BOOKED"]
    money = await client.data(
        "query($id: ID!) { engagement(id: $id) { financials { actualCost actualCostComplete } } }",
        {"id": ids["engagement"]},
    )
    assert money["engagement"]["financials"] == {"actualCost": "0.00", "actualCostComplete": False}
    costed = await client.mutate(
        "updateDeliverable",
        {"id": made["deliverable"]["id"], "actualCost": "60000"},
        "deliverable { id } alertsResolved { ruleId }",
    )
    assert [a["ruleId"] for a in costed["alertsResolved"]] == ["actual-cost-missing"]
    [adjusted] = [s for s in await _signals(client, ids["engagement"]) if s["kind"] == "ADJUSTED"]
    assert adjusted["amount"] == "0.00"


async def test_a_three_way_split_with_a_remainder_pays_the_whole_to_the_cent(client):
    ids = await _sale(client)
    person = await client.mutate(
        "createPerson",
        {"name": "Tia Third", "email": "tia@fourway.example", "organizationId": ids["firm"]},
        "person { id }",
    )
    tia = person["person"]["id"]
    await hold_sales(client, ids["engagement"], tia, accountable=False)
    # 100,000.10 of revenue: 10% of 40,000.10 of margin is 4,000.01.
    await client.mutate(
        "updatePurchase", {"id": ids["purchase"], "amount": "100000.10"}, "purchase { id }"
    )
    await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [
                {"personId": ids["seller"], "splitPct": "0.3333"},
                {"personId": ids["sponsor"], "splitPct": "0.3333"},
                {"personId": tia, "splitPct": "0.3334"},
            ],
        },
        "credits { splitPct }",
    )
    entries = await _signals(client, ids["engagement"])
    owed = {name: _owed(entries, name) for name in ("Sam Seller", "Ada Sponsor", "Tia Third")}
    # 1,333.20 + 1,333.20 + 1,333.60 is 4,000.00: the cent left goes to the largest
    # remainder (Tia's 0.003334 of a cent against 0.003333).
    assert owed == {
        "Sam Seller": Decimal("1333.20"),
        "Ada Sponsor": Decimal("1333.20"),
        "Tia Third": Decimal("1333.61"),
    }
    assert sum(owed.values()) == Decimal("4000.01")


async def test_a_plan_change_after_a_sale_leaves_it_until_it_is_repriced(client):
    ids = await _sale(client)
    plans = await client.data("{ commissionPlans { id } }")
    plan = plans["commissionPlans"][0]["id"]
    changed = await client.mutate(
        "updateCommissionPlan",
        {"id": plan, "rateOnMargin": "0.20"},
        "commissionPlan { rateOnMargin versions { version rateOnMargin effectiveFrom } }",
    )
    assert changed["userErrors"] == []
    versions = changed["commissionPlan"]["versions"]
    assert [(v["version"], v["rateOnMargin"]) for v in versions] == [(1, "0.10"), (2, "0.20")]
    await client.mutate("evaluateEngagement", {"id": ids["engagement"]}, "engagement { id }")
    assert _amounts(await _signals(client, ids["engagement"])) == ["4000.00"]
    backdated = await client.mutate(
        "updateCommissionPlan",
        {
            "id": plan,
            "rateOnMargin": "0.30",
            "effectiveFrom": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
        },
        "commissionPlan { id }",
    )
    assert backdated["userErrors"][0]["field"] == ["input", "effectiveFrom"]

    repriced = await client.mutate(
        "repriceEngagement",
        {"engagementId": ids["engagement"], "reason": "rates agreed with the sales team"},
        "signals { kind amount reason }",
    )
    assert repriced["userErrors"] == []
    [entry] = repriced["signals"]
    assert (entry["kind"], entry["amount"]) == ("BOOKED", "4000.00")  # 8,000.00 now
    assert entry["reason"].endswith("re-priced: rates agreed with the sales team")
    assert sum(Decimal(a) for a in _amounts(await _signals(client, ids["engagement"]))) == Decimal(
        "8000.00"
    )
    assert await CompensationSignal.filter(plan_version__version=2).count() == 1


async def test_closing_a_month_and_repricing_a_sale_are_announced(client):
    ids = await _sale(client)
    await _close(client, _this_month())
    await client.mutate(
        "repriceEngagement",
        {"engagementId": ids["engagement"], "reason": "checked"},
        "signals { id }",
    )
    closed = await Event.get(type="compensation.period_closed")
    assert json.loads(closed.body)["data"]["object"]["period"] == _this_month()
    assert closed.engagement_id is None
    repriced = await Event.get(type="compensation.repriced")
    body = json.loads(repriced.body)
    assert body["data"]["object"]["id"] == ids["engagement"]
    assert body["sequence"] is not None
