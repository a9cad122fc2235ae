"""Compensation signals through GraphQL and CSV, with worked examples and exact figures."""

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from tests.support import approve_deal_input, hold_sales, seed_engagement

SIGNALS = (
    "query($id: ID!) { engagement(id: $id) { compensationSignals(first: 100) { nodes { "
    "id kind amount revenue cost margin marginPct rate split reason evidence supersedes "
    "attribution period salesperson { name } } } } }"
)


async def _sale(
    client, *, signed_off: bool = True, split: dict | None = None, plan: dict | None = None
) -> dict:
    """EUR engagement: 100,000 bought at an estimated 60,000, plan 10% of margin, sold."""
    ids = await seed_engagement(client)
    plan = await client.mutate(
        "createCommissionPlan",
        {
            "name": "Standard",
            "rateOnMargin": "0.10",
            "marginFloorPct": "0.20",
            "isDefault": True,
            **(plan or {}),
        },
        "commissionPlan { id }",
    )
    assert plan["userErrors"] == []
    credits = split or {ids["seller"]: "1"}
    # Later steps credit the sponsor too: both hold SALES.
    await hold_sales(
        client, ids["engagement"], *dict.fromkeys([ids["seller"], ids["sponsor"], *credits])
    )
    payload = await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [{"personId": p, "splitPct": s} for p, s in credits.items()],
        },
        "credits { splitPct }",
    )
    assert payload["userErrors"] == []
    e = ids["engagement"]
    promise = await client.mutate(
        "createPromise",
        {
            "engagementId": e,
            "item": "build",
            "description": "Build it",
            "quantity": "100",
            "quotedAmount": "100000",
            "madeById": ids["seller"],
            # Signed off by a delivery expert before the contract line was signed.
            **(
                {
                    "deliverySignoffById": ids["sponsor"],
                    "deliverySignoffAt": "2026-11-01T09:00:00+00:00",
                }
                if signed_off
                else {}
            ),
        },
        "promise { id }",
    )
    ids["promise"] = promise["promise"]["id"]
    purchase = await client.mutate(
        "createPurchase",
        {
            "engagementId": e,
            "item": "build",
            "description": "Build it",
            "quantity": "100",
            "amount": "100000",
            "estimatedCost": "60000",
            "signedAt": "2026-11-02T10:00:00+00:00",
        },
        "purchase { id }",
    )
    ids["purchase"] = purchase["purchase"]["id"]
    await client.mutate(
        "createNeed",
        {
            "engagementId": e,
            "item": "build",
            "description": "Needs it",
            "priority": "MUST",
            "validatedAt": "2026-11-01T10:00:00+00:00",
        },
        "need { id }",
    )
    for function, person in (
        ("SPONSOR", "sponsor"),
        ("CUSTOMER_SERVICE", "sponsor"),
        ("ENGAGEMENT_MANAGEMENT", "seller"),
        ("SALES", "seller"),
    ):
        await client.mutate(
            "createRoleAssignment",
            {
                "engagementId": e,
                "personId": ids[person],
                "function": function,
                "raci": "ACCOUNTABLE",
            },
            "roleAssignment { id }",
        )
    sold = await client.mutate("approveDeal", approve_deal_input(e), "engagement { id }")
    assert sold["userErrors"] == []
    return ids


async def _signals(client, engagement: str) -> list[dict]:
    data = await client.data(SIGNALS, {"id": engagement})
    return data["engagement"]["compensationSignals"]["nodes"]


async def test_a_sale_of_100000_at_an_estimated_60000_books_4000_once(client):
    ids = await _sale(client)
    [booked] = await _signals(client, ids["engagement"])
    assert booked["kind"] == "BOOKED"
    assert (booked["revenue"], booked["cost"], booked["margin"]) == (
        "100000.00",
        "60000.00",
        "40000.00",
    )
    assert (booked["marginPct"], booked["rate"], booked["amount"]) == ("0.40", "0.10", "4000.00")
    assert booked["period"] == datetime.now(UTC).strftime("%Y-%m")
    again = await client.mutate(
        "evaluateEngagement", {"id": ids["engagement"]}, "engagement { id }"
    )
    assert again["userErrors"] == []
    assert len(await _signals(client, ids["engagement"])) == 1


async def test_split_credits_book_each_salesperson_their_share(client):
    ids = await _sale(client)
    await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [
                {"personId": ids["seller"], "splitPct": "0.6"},
                {"personId": ids["sponsor"], "splitPct": "0.4"},
            ],
        },
        "credits { splitPct }",
    )
    entries = [
        (s["salesperson"]["name"], s["amount"])
        for s in await _signals(client, ids["engagement"])
        if s["kind"] == "BOOKED"
    ]
    # Sam was booked the whole sale, then the difference as the split moved.
    assert entries == [
        ("Sam Seller", "4000.00"),
        ("Sam Seller", "-1600.00"),
        ("Ada Sponsor", "1600.00"),
    ]


async def test_a_correction_is_the_difference_and_points_at_the_booking_it_corrects(client):
    ids = await _sale(client)
    await client.mutate(
        "updatePurchase", {"id": ids["purchase"], "estimatedCost": "70000"}, "purchase { id }"
    )
    first, second = await _signals(client, ids["engagement"])
    assert (first["amount"], second["amount"]) == ("4000.00", "-1000.00")
    assert second["supersedes"] == first["id"]


async def test_pay_is_held_while_a_promise_lacks_signoff_and_released_when_it_gets_it(client):
    ids = await _sale(client, signed_off=False)
    kinds = [(s["kind"], s["amount"]) for s in await _signals(client, ids["engagement"])]
    assert kinds == [("BOOKED", "4000.00"), ("HELD", "4000.00")]
    held = (await _signals(client, ids["engagement"]))[1]
    assert len(held["evidence"]) == 1
    await client.mutate(
        "updatePromise",
        {"id": ids["promise"], "deliverySignoffById": ids["sponsor"]},
        "promise { id }",
    )
    signals = await _signals(client, ids["engagement"])
    assert [(s["kind"], s["amount"]) for s in signals] == [
        ("BOOKED", "4000.00"),
        ("HELD", "4000.00"),
        ("RELEASED", "4000.00"),
    ]
    assert signals[2]["supersedes"] == signals[1]["id"]
    assert signals[2]["evidence"] == held["evidence"]


async def _complete_with_actual_cost(client, ids: dict, actual: str) -> list[dict]:
    await client.mutate(
        "createDeliverable",
        {
            "engagementId": ids["engagement"],
            "item": "build",
            "description": "Built",
            "quantity": "100",
            "status": "ACCEPTED",
            "acceptedById": ids["sponsor"],
            "acceptedAt": "2026-11-20T10:00:00+00:00",
            "actualCost": actual,
        },
        "deliverable { id }",
    )
    return [s for s in await _signals(client, ids["engagement"]) if s["kind"] == "ADJUSTED"]


async def test_a_delivery_overrun_on_signed_off_items_leaves_pay_unchanged(client):
    ids = await _sale(client)
    [adjusted] = await _complete_with_actual_cost(client, ids, "75000")
    assert adjusted["amount"] == "0.00"
    assert adjusted["attribution"] == [
        {"item": "build", "variance": "15000.0000", "attribution": "DELIVERY_OVERRUN"}
    ]


async def test_the_same_overrun_on_items_promised_without_signoff_claws_back_1500(client):
    ids = await _sale(client, signed_off=False)
    [adjusted] = await _complete_with_actual_cost(client, ids, "75000")
    assert adjusted["amount"] == "-1500.00"
    assert adjusted["attribution"][0]["attribution"] == "SALES_UNDERESTIMATE"


async def test_the_csv_export_adds_up_to_the_statement(client):
    ids = await _sale(client, signed_off=False)
    await _complete_with_actual_cost(client, ids, "75000")
    period = datetime.now(UTC).strftime("%Y-%m")
    statement = await client.data(
        "query($p: ID!, $period: String!) { compensationStatement(salespersonId: $p, "
        "period: $period) { total stillHeld totals { kind amount } lines { id kind amount } "
        "holds { id kind amount } } }",
        {"p": ids["seller"], "period": period},
    )
    statement = statement["compensationStatement"]
    response = await client.http.get("/exports/compensation.csv", params={"period": period})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    entries = sorted(statement["lines"] + statement["holds"], key=lambda e: e["id"])
    assert sorted(r["signal_id"] for r in rows) == [e["id"] for e in entries]
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row["kind"]] += Decimal(row["amount"])
    assert {t["kind"]: Decimal(t["amount"]) for t in statement["totals"]} == {
        kind: sums[kind] for kind in ("BOOKED", "HELD", "RELEASED", "ADJUSTED")
    }
    # 4000 booked, 1500 taken back at completion; 4000 held, then released.
    total = Decimal(statement["total"])
    assert total == sum(Decimal(line["amount"]) for line in statement["lines"])
    assert total == sum(Decimal(r["pay"]) for r in rows) == Decimal("2500.00")
    assert Decimal(statement["stillHeld"]) == sum(Decimal(r["held"]) for r in rows)


async def test_a_bad_period_is_refused_clearly(client):
    response = await client.http.get("/exports/compensation.csv", params={"period": "2026-13"})
    assert response.status_code == 400
    # The same shape as every other error the service answers.
    [error] = response.json()["errors"]
    assert "YYYY-MM" in error["message"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}


async def test_a_salesperson_no_longer_credited_has_the_booking_corrected_to_nothing(client):
    ids = await _sale(client)
    await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [{"personId": ids["sponsor"], "splitPct": "1"}],
        },
        "credits { splitPct }",
    )
    signals = await _signals(client, ids["engagement"])
    lines = [(s["salesperson"]["name"], s["amount"], s["reason"]) for s in signals]
    assert lines[0][:2] == ("Sam Seller", "4000.00")
    assert ("Ada Sponsor", "4000.00") in [line[:2] for line in lines]
    assert ("Sam Seller", "-4000.00", "no longer credited with the sale") in lines
    corrected = next(s for s in signals if s["reason"] == "no longer credited with the sale")
    assert corrected["supersedes"] == signals[0]["id"]


async def test_a_clawback_past_the_plans_window_is_not_taken(client):
    ids = await _sale(client, signed_off=False, plan={"clawbackWindowDays": 0})
    [adjusted] = await _complete_with_actual_cost(client, ids, "75000")
    assert adjusted["amount"] == "0.00"
    assert "past the clawback window" in adjusted["reason"]
