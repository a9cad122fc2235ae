"""Input no field can take, whatever the field: decimals past any range, times that do not
exist in UTC, text a database cannot store, lists longer than a statement's parameters,
search text longer than SQLite matches. A mutation answers a VALIDATION userError naming
the field, a query a BAD_USER_INPUT error naming the argument; neither writes anything,
and neither is ever an unexpected error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from api.core.errors import MASKED_MESSAGE
from api.core.inputs import MAX_LIST_LENGTH
from tests.support import dump_database, seed_engagement

TOO_MANY = 40_000  # past the 32,767 parameters asyncpg sends with one statement
NUL = "data\x00migration"
LONE_SURROGATE = "data\ud800migration"  # "\ud800" in JSON: a half of a pair, alone


async def _post(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """POST as JSON with every non-ASCII character escaped, as a client may send a lone
    surrogate (httpx's own ``json=`` cannot encode one)."""
    response = await http.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def ids(client) -> dict[str, str]:
    return await seed_engagement(client)


def _side(ids: dict[str, str], **fields: Any) -> dict[str, Any]:
    """A valid createPurchase input, with ``fields`` changed."""
    valid = {
        "engagementId": ids["engagement"],
        "item": "data-migration",
        "description": "Migrate the data",
        "quantity": "10",
        "amount": "1000.00",
    }
    return {**valid, **fields}


# (mutation, input given the seeded ids, the field the userError names)
MUTATIONS: dict[str, tuple[str, Any, str]] = {
    "a decimal with a huge exponent": (
        "createPurchase",
        lambda ids: _side(ids, quantity="1e1000000"),
        "quantity",
    ),
    "a decimal with a huge negative exponent": (
        "createPurchase",
        lambda ids: _side(ids, amount="-1e-1000000"),
        "amount",
    ),
    "a decimal with an exponent past what Decimal holds": (
        "createPurchase",
        lambda ids: _side(ids, amount="1e999999999999999999999"),
        "amount",
    ),
    "an integer of 4,000 digits": (
        "createPurchase",
        lambda ids: _side(ids, quantity=10**4000),
        "quantity",
    ),
    "a decimal in other digits than 0-9": (
        "createPurchase",
        lambda ids: _side(ids, quantity="١٢٣"),
        "quantity",
    ),
    "a decimal in full-width digits": (
        "createPurchase",
        lambda ids: _side(ids, amount="\uff11\uff12"),
        "amount",
    ),
    "minus zero as a quantity": (
        "createPurchase",
        lambda ids: _side(ids, quantity="-0"),
        "quantity",
    ),
    "minus zero as an amount": (
        "createPurchase",
        lambda ids: _side(ids, amount="-0.00"),
        "amount",
    ),
    "the first instant with an offset east of UTC": (
        "createPurchase",
        lambda ids: _side(ids, signedAt="0001-01-01T00:00:00+14:00"),
        "signedAt",
    ),
    "the last instant with an offset west of UTC": (
        "createPurchase",
        lambda ids: _side(ids, signedAt="9999-12-31T23:59:59-14:00"),
        "signedAt",
    ),
    "a NUL character in a description": (
        "createPurchase",
        lambda ids: _side(ids, description=NUL),
        "description",
    ),
    "a lone surrogate in a description": (
        "createPurchase",
        lambda ids: _side(ids, description=LONE_SURROGATE),
        "description",
    ),
    "a NUL character in a name": (
        "createOrganization",
        lambda ids: {"name": NUL, "kind": "CLIENT"},
        "name",
    ),
    "a lone surrogate in an email": (
        "createPerson",
        lambda ids: {
            "name": "P",
            "email": f"{LONE_SURROGATE}@x.example",
            "organizationId": ids["firm"],
        },
        "email",
    ),
    "a NUL character in a URL": (
        "createWebhookEndpoint",
        lambda ids: {"url": "http://8.8.8.8/\x00", "eventTypes": ["alert.*"]},
        "url",
    ),
    "a lone surrogate in a list of names": (
        "createWebhookEndpoint",
        lambda ids: {"url": "http://8.8.8.8/", "eventTypes": ["alert.*", "\udfff"]},
        "eventTypes",
    ),
    "a list of names past the parameter limit": (
        "createWebhookEndpoint",
        lambda ids: {"url": "http://8.8.8.8/", "eventTypes": ["alert.opened"] * TOO_MANY},
        "eventTypes",
    ),
    "a list of enum values past the parameter limit": (
        "createCommissionPlan",
        lambda ids: {
            "name": "Plan",
            "rateOnMargin": "0.10",
            "marginFloorPct": "0.20",
            "holdSeverities": ["CRITICAL"] * TOO_MANY,
        },
        "holdSeverities",
    ),
    "a list of inputs past the limit": (  # (as many as the parameter limit is over 1 MiB)
        "setEngagementCredits",
        lambda ids: {
            "engagementId": ids["engagement"],
            "credits": [{"personId": ids["seller"], "splitPct": "0"}] * (MAX_LIST_LENGTH + 1),
        },
        "credits",
    ),
    "minus zero as a fraction": (
        "createCommissionPlan",
        lambda ids: {"name": "Plan", "rateOnMargin": "-0", "marginFloorPct": "0.20"},
        "rateOnMargin",
    ),
}


@pytest.mark.parametrize("case", MUTATIONS.values(), ids=MUTATIONS.keys())
async def test_input_no_field_takes_is_a_validation_error_naming_it_and_writes_nothing(
    client, ids, case
):
    name, make_input, field = case
    before = await dump_database()
    query = (
        f"mutation($input: {name[0].upper()}{name[1:]}Input!) "
        f"{{ {name}(input: $input) {{ userErrors {{ field message code }} }} }}"
    )
    body = await _post(client.http, query, {"input": make_input(ids)})
    assert "errors" not in body, body["errors"]
    errors = body["data"][name]["userErrors"]
    assert [e["code"] for e in errors if e["field"] == ["input", field]] == ["VALIDATION"], errors
    assert await dump_database() == before


# (query, variables given the seeded ids, the argument the error names)
QUERIES: dict[str, tuple[str, Any, str]] = {
    "a NUL character in a search": (
        "query($v: String) { engagements(filter: {search: $v}) { totalCount } }",
        lambda ids: {"v": NUL},
        "filter: search",
    ),
    "a lone surrogate in a search": (
        "query($v: String) { people(search: $v) { totalCount } }",
        lambda ids: {"v": LONE_SURROGATE},
        "search",
    ),
    "a NUL character in an item": (
        "query($v: String) { alerts(filter: {item: $v}) { totalCount } }",
        lambda ids: {"v": NUL},
        "filter: item",
    ),
    "a lone surrogate in an event id": (
        "query($v: String) { webhookDeliveries(filter: {eventId: $v}) { totalCount } }",
        lambda ids: {"v": LONE_SURROGATE},
        "filter: eventId",
    ),
    "a search longer than SQLite matches": (
        "query($v: String) { engagements(filter: {search: $v}) { totalCount } }",
        lambda ids: {"v": "%" * 60_000},
        "filter: search",
    ),
    "a people search longer than SQLite matches": (
        "query($v: String) { people(search: $v) { totalCount } }",
        lambda ids: {"v": "a" * 60_000},
        "search",
    ),
    "the first instant with an offset east of UTC": (
        "query($v: DateTime) { alerts(filter: {openedAfter: $v}) { totalCount } }",
        lambda ids: {"v": "0001-01-01T00:00:00+14:00"},
        "filter: openedAfter",
    ),
    "the last instant with an offset west of UTC": (
        "query($v: DateTime) { auditLog(filter: {until: $v}) { totalCount } }",
        lambda ids: {"v": "9999-12-31T23:59:59-14:00"},
        "filter: until",
    ),
    "enum values past the parameter limit": (
        "query($v: [AlertStatus!]) { alerts(filter: {status: $v}) { totalCount } }",
        lambda ids: {"v": ["OPEN"] * TOO_MANY},
        "filter: status",
    ),
    "engagement statuses past the parameter limit": (
        "query($v: [EngagementStatus!]) { engagements(filter: {status: $v}) { totalCount } }",
        lambda ids: {"v": ["SOLD"] * TOO_MANY},
        "filter: status",
    ),
    "signal kinds past the parameter limit": (
        "query($v: [SignalKind!]) { compensationSignals(filter: {kind: $v}) { totalCount } }",
        lambda ids: {"v": ["BOOKED"] * TOO_MANY},
        "filter: kind",
    ),
    "actions past the parameter limit": (
        "query($v: [String!]) { auditLog(filter: {action: $v}) { totalCount } }",
        lambda ids: {"v": [f"promise.updated{i}" for i in range(TOO_MANY)]},
        "filter: action",
    ),
    "event types past the parameter limit": (
        "query($v: [String!]) { webhookDeliveries(filter: {eventType: $v}) { totalCount } }",
        lambda ids: {"v": ["alert.opened"] * TOO_MANY},
        "filter: eventType",
    ),
    "ids past the parameter limit": (
        "query($v: [ID!]!) { nodes(ids: $v) { id } }",
        lambda ids: {"v": [ids["engagement"]] * TOO_MANY},
        "ids",
    ),
}


@pytest.mark.parametrize("case", QUERIES.values(), ids=QUERIES.keys())
async def test_an_argument_no_field_takes_is_bad_user_input_naming_it(client, ids, case):
    query, make_variables, argument = case
    before = await dump_database()
    body = await _post(client.http, query, make_variables(ids))
    [error] = body["errors"]
    assert error["message"] != MASKED_MESSAGE
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}, error
    assert error["message"].startswith(f"{argument} "), error["message"]
    assert await dump_database() == before


async def test_lists_and_texts_within_the_limits_are_read(client, ids):
    body = await _post(
        client.http,
        "query($s: [EngagementStatus!], $q: String, $ids: [ID!]!) { "
        "engagements(filter: {status: $s, search: $q}) { totalCount } nodes(ids: $ids) { id } }",
        {
            "s": ["PROPOSED"] * MAX_LIST_LENGTH,
            "q": "ERP",
            "ids": [ids["engagement"]] * MAX_LIST_LENGTH,
        },
    )
    assert "errors" not in body, body["errors"]
    assert body["data"]["engagements"]["totalCount"] == 1
    assert len(body["data"]["nodes"]) == MAX_LIST_LENGTH


async def test_a_decimal_literal_longer_than_python_reads_is_a_validation_error(client, ids):
    body = await _post(
        client.http,
        'mutation($e: ID!) { createPurchase(input: {engagementId: $e, item: "x", '
        f'description: "d", quantity: {"9" * 5000}, amount: "1"}}) '
        "{ userErrors { field code } } }",
        {"e": ids["engagement"]},
    )
    assert "errors" not in body, body["errors"]
    assert body["data"]["createPurchase"]["userErrors"] == [
        {"field": ["input", "quantity"], "code": "VALIDATION"}
    ]


async def test_minus_zero_in_a_signed_field_is_kept_as_zero(client, ids):
    body = await _post(
        client.http,
        "mutation($input: CreateChangeOrderInput!) { createChangeOrder(input: $input) "
        "{ changeOrder { quantityDelta } userErrors { field code } } }",
        {
            "input": {
                "engagementId": ids["engagement"],
                "item": "data-migration",
                "description": "Nothing after all",
                "quantityDelta": "-0",
            }
        },
    )
    payload = body["data"]["createChangeOrder"]
    assert payload["userErrors"] == []
    assert payload["changeOrder"]["quantityDelta"] == "0.00"
