"""Bad input for every mutation: a userError naming the field, and nothing written."""

from typing import Any

import pytest

from tests.support import UNKNOWN, dump_database, seed_engagement

NAIVE = "2026-11-26T09:00:00"
AWARE = "2026-11-26T09:00:00+00:00"
MALFORMED_ID = "not-an-id"
# Engagement:99999999999, past the 32-bit keys every database uses.
HUGE_ENGAGEMENT_ID = "RW5nYWdlbWVudDo5OTk5OTk5OTk5OQ=="


@pytest.fixture
async def world(client) -> dict[str, str]:
    """One of everything, so that every mutation has something to act on."""
    ids = await seed_engagement(client)
    e = ids["engagement"]
    for name, field, input in (
        ("createNeed", "need", {"item": "data-migration", "description": "d", "priority": "MUST"}),
        (
            "createPromise",
            "promise",
            {
                "item": "data-migration",
                "description": "d",
                "quantity": "10",
                "madeById": ids["seller"],
            },
        ),
        (
            "createPurchase",
            "purchase",
            {"item": "data-migration", "description": "d", "quantity": "10", "amount": "100"},
        ),
        (
            "createDeliverable",
            "deliverable",
            {"item": "data-migration", "description": "d", "quantity": "10"},
        ),
        ("createChangeOrder", "changeOrder", {"item": "data-migration", "description": "d"}),
        (
            "createRoleAssignment",
            "roleAssignment",
            {"personId": ids["seller"], "function": "SALES", "raci": "ACCOUNTABLE"},
        ),
    ):
        payload = await client.mutate(name, {"engagementId": e, **input}, f"{field} {{ id }}")
        assert payload["userErrors"] == [], payload
        ids[field] = payload[field]["id"]
    alerts = await client.data(
        # Live ones: the role assignment above resolved the alert that nobody held SALES.
        "query($id: ID!) { engagement(id: $id) { alerts(first: 2, status: [OPEN]) { nodes { id } "
        "} } }",
        {"id": e},
    )
    ids["alert"], ids["other_alert"] = (a["id"] for a in alerts["engagement"]["alerts"]["nodes"])
    waived = await client.mutate("waiveAlert", {"id": ids["other_alert"], "reason": "known"}, "")
    assert waived["userErrors"] == []
    plan = await client.mutate(
        "createCommissionPlan",
        {"name": "Standard", "rateOnMargin": "0.10", "marginFloorPct": "0.20"},
        "commissionPlan { id }",
    )
    ids["plan"] = plan["commissionPlan"]["id"]
    assigned = await client.mutate(
        "createCommissionPlan",
        {"name": "Senior", "rateOnMargin": "0.12", "marginFloorPct": "0.20"},
        "commissionPlan { id }",
    )
    ids["assigned_plan"] = assigned["commissionPlan"]["id"]
    endpoint = await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://8.8.8.8/hooks", "eventTypes": ["alert.*"]},
        "webhookEndpoint { id }",
    )
    ids["endpoint"] = endpoint["webhookEndpoint"]["id"]
    paused = await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://8.8.4.4/hooks", "eventTypes": ["alert.*"], "active": False},
        "webhookEndpoint { id }",
    )
    ids["paused_endpoint"] = paused["webhookEndpoint"]["id"]
    test = await client.mutate("sendTestEvent", {"endpointId": ids["endpoint"]}, "delivery { id }")
    ids["delivery"] = test["delivery"]["id"]
    paused_delivery = await client.mutate(
        "sendTestEvent", {"endpointId": ids["paused_endpoint"]}, "delivery { id }"
    )
    assert paused_delivery["userErrors"][0]["code"] == "CONFLICT"
    await client.mutate(
        "assignCommissionPlan", {"personId": ids["seller"], "planId": ids["assigned_plan"]}, ""
    )
    return ids


SIDE_CREATES: dict[str, dict[str, Any]] = {
    "createNeed": {"item": "x", "description": "d", "priority": "MUST"},
    "createPromise": {"item": "x", "description": "d", "quantity": "1", "madeById": "$seller"},
    "createPurchase": {"item": "x", "description": "d", "quantity": "1", "amount": "1"},
    "createDeliverable": {"item": "x", "description": "d", "quantity": "1"},
    "createChangeOrder": {"item": "x", "description": "d"},
}

# (mutation, input, field the userError names, code). "$name" stands for world[name].
CASES: list[tuple[str, dict[str, Any], str | None, str]] = [
    # organizations and people
    ("createOrganization", {"name": "  ", "kind": "CLIENT"}, "name", "VALIDATION"),
    ("createOrganization", {"name": "Acme", "kind": "CLIENT"}, "name", "CONFLICT"),
    ("updateOrganization", {"id": "$client", "name": "Fourway Consulting"}, "name", "CONFLICT"),
    ("updateOrganization", {"id": UNKNOWN["Organization"], "name": "X"}, "id", "NOT_FOUND"),
    ("updateOrganization", {"id": "$client", "kind": "PROVIDER"}, "kind", "CONFLICT"),
    ("updateOrganization", {"id": MALFORMED_ID, "name": "X"}, "id", "VALIDATION"),
    ("deleteOrganization", {"id": "$client"}, "id", "CONFLICT"),
    ("deleteOrganization", {"id": "$seller"}, "id", "NOT_FOUND"),
    (
        "createPerson",
        {"name": "P", "email": "no-at-sign", "organizationId": "$firm"},
        "email",
        "VALIDATION",
    ),
    (
        "createPerson",
        {"name": "P", "email": "sam@fourway.example", "organizationId": "$firm"},
        "email",
        "CONFLICT",
    ),
    (
        "createPerson",
        {"name": "P", "email": "p@x.example", "organizationId": UNKNOWN["Organization"]},
        "organizationId",
        "NOT_FOUND",
    ),
    (
        "createPerson",
        {"name": "P", "email": "p@x.example", "organizationId": MALFORMED_ID},
        "organizationId",
        "VALIDATION",
    ),
    ("updatePerson", {"id": "$seller", "email": "ada@acme.example"}, "email", "CONFLICT"),
    ("updatePerson", {"id": "$seller", "name": None}, "name", "VALIDATION"),
    ("deletePerson", {"id": "$seller"}, "id", "CONFLICT"),
    ("deletePerson", {"id": UNKNOWN["Person"]}, "id", "NOT_FOUND"),
    # engagements
    (
        "createEngagement",
        {"name": "E", "clientId": "$client", "currency": "EURO"},
        "currency",
        "VALIDATION",
    ),
    (
        "createEngagement",
        {"name": "E", "clientId": UNKNOWN["Organization"], "currency": "EUR"},
        "clientId",
        "NOT_FOUND",
    ),
    (
        "createEngagement",
        {"name": "E", "clientId": "$seller", "currency": "EUR"},
        "clientId",
        "NOT_FOUND",
    ),
    (
        "createEngagement",
        {"name": "", "clientId": "$client", "currency": "EUR"},
        "name",
        "VALIDATION",
    ),
    ("updateEngagement", {"id": "$engagement", "status": None}, "status", "VALIDATION"),
    (
        "updateEngagement",
        {"id": "$engagement", "thresholds": {"graceDays": -1}},
        "thresholds",
        "VALIDATION",
    ),
    (
        "updateEngagement",
        {"id": "$engagement", "thresholds": {"marginFloorPct": "1.5"}},
        "thresholds",
        "VALIDATION",
    ),
    (
        "createEngagement",
        {
            "name": "E",
            "clientId": "$client",
            "currency": "EUR",
            "thresholds": {"quoteTolerancePct": "abc"},
        },
        "thresholds",
        "VALIDATION",
    ),
    ("updateEngagement", {"id": UNKNOWN["Engagement"], "name": "X"}, "id", "NOT_FOUND"),
    ("deleteEngagement", {"id": MALFORMED_ID}, "id", "VALIDATION"),
    ("deleteEngagement", {"id": "$need"}, "id", "NOT_FOUND"),
    # roles
    (
        "createRoleAssignment",
        {
            "engagementId": "$engagement",
            "personId": "$seller",
            "function": "SALES",
            "raci": "RESPONSIBLE",
        },
        "function",
        "CONFLICT",
    ),
    (
        "createRoleAssignment",
        {
            "engagementId": "$engagement",
            "personId": UNKNOWN["Person"],
            "function": "DELIVERY",
            "raci": "RESPONSIBLE",
        },
        "personId",
        "NOT_FOUND",
    ),
    (
        "createRoleAssignment",
        {
            "engagementId": UNKNOWN["Engagement"],
            "personId": "$seller",
            "function": "DELIVERY",
            "raci": "RESPONSIBLE",
        },
        "engagementId",
        "NOT_FOUND",
    ),
    ("updateRoleAssignment", {"id": "$need", "raci": "INFORMED"}, "id", "NOT_FOUND"),
    (
        "deleteRoleAssignment",
        {"engagementId": "$engagement", "personId": "$sponsor", "function": "SALES"},
        None,
        "NOT_FOUND",
    ),
    ("deleteRoleAssignment", {"id": MALFORMED_ID}, "id", "VALIDATION"),
    # commission plans and credits
    (
        "createCommissionPlan",
        {"name": "P", "rateOnMargin": "1.5", "marginFloorPct": "0.2"},
        "rateOnMargin",
        "VALIDATION",
    ),
    (
        "createCommissionPlan",
        {"name": "P", "rateOnMargin": "0.1", "marginFloorPct": 0.2},
        "marginFloorPct",
        "VALIDATION",
    ),
    (
        "createCommissionPlan",
        {
            "name": "P",
            "rateOnMargin": "0.1",
            "marginFloorPct": "0.2",
            "holdRules": ["no-such-rule"],
        },
        "holdRules",
        "VALIDATION",
    ),
    (
        "createCommissionPlan",
        {"name": "Standard", "rateOnMargin": "0.1", "marginFloorPct": "0.2"},
        "name",
        "CONFLICT",
    ),
    (
        "createCommissionPlan",
        {"name": "P", "rateOnMargin": "0.1", "marginFloorPct": "0.2", "clawbackWindowDays": -1},
        "clawbackWindowDays",
        "VALIDATION",
    ),
    ("updateCommissionPlan", {"id": "$need", "name": "X"}, "id", "NOT_FOUND"),
    ("updateCommissionPlan", {"id": "$plan", "rateOnMargin": None}, "rateOnMargin", "VALIDATION"),
    ("assignCommissionPlan", {"personId": "$seller", "planId": "$need"}, "planId", "NOT_FOUND"),
    ("deleteCommissionPlan", {"id": "$need"}, "id", "NOT_FOUND"),
    ("deleteCommissionPlan", {"id": "$assigned_plan"}, "id", "CONFLICT"),
    (
        "assignCommissionPlan",
        {"personId": MALFORMED_ID, "planId": "$plan"},
        "personId",
        "VALIDATION",
    ),
    (
        "setEngagementCredits",
        {"engagementId": "$engagement", "credits": [{"personId": "$seller", "splitPct": "0.5"}]},
        "credits",
        "VALIDATION",
    ),
    (
        "setEngagementCredits",
        {
            "engagementId": UNKNOWN["Engagement"],
            "credits": [{"personId": "$seller", "splitPct": "1"}],
        },
        "engagementId",
        "NOT_FOUND",
    ),
    # the ledger
    ("closeCompensationPeriod", {"period": "2026-13"}, "period", "VALIDATION"),
    ("closeCompensationPeriod", {"period": "2999-01"}, "period", "VALIDATION"),
    (
        "repriceEngagement",
        {"engagementId": UNKNOWN["Engagement"], "reason": "rates"},
        "engagementId",
        "NOT_FOUND",
    ),
    ("repriceEngagement", {"engagementId": "$engagement", "reason": "  "}, "reason", "VALIDATION"),
    (
        "repriceEngagement",
        {"engagementId": "$engagement", "reason": "not sold yet"},
        "engagementId",
        "VALIDATION",
    ),
    # webhook endpoints
    (
        "createWebhookEndpoint",
        {"url": "ftp://hooks.example/x", "eventTypes": ["alert.*"]},
        "url",
        "VALIDATION",
    ),
    (
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1/x", "eventTypes": ["alert.*"]},
        "url",
        "VALIDATION",
    ),
    (
        "createWebhookEndpoint",
        {"url": "http://8.8.8.8/x", "eventTypes": ["alert.exploded"]},
        "eventTypes",
        "VALIDATION",
    ),
    (
        "createWebhookEndpoint",
        {"url": "http://8.8.8.8/x", "eventTypes": []},
        "eventTypes",
        "VALIDATION",
    ),
    ("updateWebhookEndpoint", {"id": "$need", "active": False}, "id", "NOT_FOUND"),
    (
        "updateWebhookEndpoint",
        {"id": "$endpoint", "url": "http://192.168.0.1/"},
        "url",
        "VALIDATION",
    ),
    ("deleteWebhookEndpoint", {"id": MALFORMED_ID}, "id", "VALIDATION"),
    ("rotateWebhookSecret", {"id": "$need"}, "id", "NOT_FOUND"),
    ("redeliver", {"deliveryId": MALFORMED_ID}, "deliveryId", "VALIDATION"),
    ("redeliver", {"deliveryId": "$endpoint"}, "deliveryId", "NOT_FOUND"),
    ("redeliver", {"deliveryId": UNKNOWN["WebhookDelivery"]}, "deliveryId", "NOT_FOUND"),
    ("sendTestEvent", {"endpointId": MALFORMED_ID}, "endpointId", "VALIDATION"),
    ("sendTestEvent", {"endpointId": "$delivery"}, "endpointId", "NOT_FOUND"),
    ("sendTestEvent", {"endpointId": "$paused_endpoint"}, "endpointId", "CONFLICT"),
    # alerts and evaluation
    ("acknowledgeAlert", {"id": MALFORMED_ID, "comment": "On it"}, "id", "VALIDATION"),
    ("acknowledgeAlert", {"id": "$need", "comment": "On it"}, "id", "NOT_FOUND"),
    ("acknowledgeAlert", {"id": "$alert", "comment": "  "}, "comment", "VALIDATION"),
    ("acknowledgeAlert", {"id": "$other_alert", "comment": "On it"}, "id", "CONFLICT"),
    ("waiveAlert", {"id": "$alert", "reason": ""}, "reason", "VALIDATION"),
    ("waiveAlert", {"id": "$other_alert", "reason": "Again"}, "id", "CONFLICT"),
    ("waiveAlert", {"id": UNKNOWN["Engagement"], "reason": "x"}, "id", "NOT_FOUND"),
    ("evaluateEngagement", {"id": UNKNOWN["Engagement"]}, "id", "NOT_FOUND"),
    ("approveDeal", {"engagementId": UNKNOWN["Engagement"]}, "engagementId", "NOT_FOUND"),
    ("approveDeal", {"engagementId": MALFORMED_ID}, "engagementId", "VALIDATION"),
    # An ADMIN key tied to no person approves only with a reason.
    ("approveDeal", {"engagementId": "$engagement"}, "note", "VALIDATION"),
    ("evaluateEngagement", {"id": MALFORMED_ID}, "id", "VALIDATION"),
    # update and delete of each side
    ("updateNeed", {"id": "$need", "item": "Data Migration"}, "item", "VALIDATION"),
    ("updateNeed", {"id": "$need", "validatedAt": NAIVE}, "validatedAt", "VALIDATION"),
    ("updateNeed", {"id": "$need", "raisedById": UNKNOWN["Person"]}, "raisedById", "NOT_FOUND"),
    ("deleteNeed", {"id": "$promise"}, "id", "NOT_FOUND"),
    ("updatePromise", {"id": "$promise", "quantity": "-1"}, "quantity", "VALIDATION"),
    ("updatePromise", {"id": "$promise", "quotedAmount": "ten"}, "quotedAmount", "VALIDATION"),
    ("updatePromise", {"id": "$promise", "madeById": None}, "madeById", "VALIDATION"),
    (
        "updatePromise",
        {"id": "$promise", "deliverySignoffAt": AWARE},
        "deliverySignoffById",
        "VALIDATION",
    ),
    ("deletePromise", {"id": UNKNOWN["Engagement"]}, "id", "NOT_FOUND"),
    ("updatePurchase", {"id": "$purchase", "amount": 12.5}, "amount", "VALIDATION"),
    ("updatePurchase", {"id": "$purchase", "amount": "12.505"}, "amount", "VALIDATION"),
    ("updatePurchase", {"id": "$purchase", "signedAt": "yesterday"}, "signedAt", "VALIDATION"),
    ("updatePurchase", {"id": "$purchase", "dueDate": "2026-02-30"}, "dueDate", "VALIDATION"),
    ("deletePurchase", {"id": MALFORMED_ID}, "id", "VALIDATION"),
    (
        "updateDeliverable",
        {"id": "$deliverable", "status": "REJECTED"},
        "rejectionReason",
        "VALIDATION",
    ),
    ("updateDeliverable", {"id": "$deliverable", "acceptedAt": AWARE}, "status", "VALIDATION"),
    ("updateDeliverable", {"id": "$deliverable", "actualCost": "-5"}, "actualCost", "VALIDATION"),
    ("deleteDeliverable", {"id": "$need"}, "id", "NOT_FOUND"),
    (
        "updateChangeOrder",
        {"id": "$changeOrder", "status": "APPROVED"},
        "approvedById",
        "VALIDATION",
    ),
    ("updateChangeOrder", {"id": "$changeOrder", "costDelta": "1e400"}, "costDelta", "VALIDATION"),
    ("deleteChangeOrder", {"id": UNKNOWN["Person"]}, "id", "NOT_FOUND"),
]

# Every create of a side refuses the same kinds of bad input.
for _name, _valid in SIDE_CREATES.items():
    _base = {"engagementId": "$engagement", **_valid}
    CASES += [
        (_name, {**_base, "engagementId": UNKNOWN["Engagement"]}, "engagementId", "NOT_FOUND"),
        (_name, {**_base, "engagementId": MALFORMED_ID}, "engagementId", "VALIDATION"),
        (_name, {**_base, "engagementId": "$seller"}, "engagementId", "NOT_FOUND"),
        (_name, {**_base, "item": "Data Migration"}, "item", "VALIDATION"),
        (_name, {**_base, "item": "data--migration"}, "item", "VALIDATION"),
        (_name, {**_base, "item": "x" * 65}, "item", "VALIDATION"),
        (_name, {**_base, "item": "data-migration\n"}, "item", "VALIDATION"),
        (_name, {**_base, "engagementId": HUGE_ENGAGEMENT_ID}, "engagementId", "VALIDATION"),
        (_name, {**_base, "description": " "}, "description", "VALIDATION"),
    ]
    if "quantity" in _valid:
        CASES += [
            (_name, {**_base, "quantity": "-1"}, "quantity", "VALIDATION"),
            (_name, {**_base, "quantity": "1,5"}, "quantity", "VALIDATION"),
            (_name, {**_base, "quantity": 1.5}, "quantity", "VALIDATION"),
            (_name, {**_base, "quantity": "NaN"}, "quantity", "VALIDATION"),
            (_name, {**_base, "quantity": "0.00001"}, "quantity", "VALIDATION"),
        ]
CASES += [
    (
        "createNeed",
        {**SIDE_CREATES["createNeed"], "engagementId": "$engagement", "validatedAt": NAIVE},
        "validatedAt",
        "VALIDATION",
    ),
    (
        "createNeed",
        {**SIDE_CREATES["createNeed"], "engagementId": "$engagement", "raisedById": MALFORMED_ID},
        "raisedById",
        "VALIDATION",
    ),
    (
        "createPromise",
        {
            **SIDE_CREATES["createPromise"],
            "engagementId": "$engagement",
            "madeById": UNKNOWN["Person"],
        },
        "madeById",
        "NOT_FOUND",
    ),
    (
        "createPromise",
        {**SIDE_CREATES["createPromise"], "engagementId": "$engagement", "madeAt": NAIVE},
        "madeAt",
        "VALIDATION",
    ),
    (
        "createPromise",
        {**SIDE_CREATES["createPromise"], "engagementId": "$engagement", "quotedAmount": "10.001"},
        "quotedAmount",
        "VALIDATION",
    ),
    (
        "createPromise",
        {
            **SIDE_CREATES["createPromise"],
            "engagementId": "$engagement",
            "promisedDate": "26/11/2026",
        },
        "promisedDate",
        "VALIDATION",
    ),
    (
        "createPurchase",
        {**SIDE_CREATES["createPurchase"], "engagementId": "$engagement", "amount": "-100"},
        "amount",
        "VALIDATION",
    ),
    (
        "createPurchase",
        {
            **SIDE_CREATES["createPurchase"],
            "engagementId": "$engagement",
            "estimatedCost": "Infinity",
        },
        "estimatedCost",
        "VALIDATION",
    ),
    (
        "createPurchase",
        {**SIDE_CREATES["createPurchase"], "engagementId": "$engagement", "signedAt": NAIVE},
        "signedAt",
        "VALIDATION",
    ),
    (
        "createDeliverable",
        {**SIDE_CREATES["createDeliverable"], "engagementId": "$engagement", "deliveredAt": NAIVE},
        "deliveredAt",
        "VALIDATION",
    ),
    (
        "createDeliverable",
        {
            **SIDE_CREATES["createDeliverable"],
            "engagementId": "$engagement",
            "acceptedById": UNKNOWN["Person"],
            "status": "ACCEPTED",
        },
        "acceptedById",
        "NOT_FOUND",
    ),
    (
        "createChangeOrder",
        {**SIDE_CREATES["createChangeOrder"], "engagementId": "$engagement", "approvedAt": NAIVE},
        "approvedAt",
        "VALIDATION",
    ),
    (
        "createChangeOrder",
        {
            **SIDE_CREATES["createChangeOrder"],
            "engagementId": "$engagement",
            "amountDelta": "12.345",
        },
        "amountDelta",
        "VALIDATION",
    ),
]


def _fill(value: Any, world: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return world[value[1:]]
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


def _case_id(case: tuple[str, dict[str, Any], str | None, str]) -> str:
    name, input, field, code = case
    shown = {k: v for k, v in input.items() if k in (field, "id")} if field else input
    return f"{name}-{field}-{code}-{shown}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
async def test_bad_input_is_a_user_error_and_writes_nothing(client, world, case):
    name, input, field, code = case
    before = await dump_database()
    payload = await client.mutate(name, {k: _fill(v, world) for k, v in input.items()}, "")
    errors = payload["userErrors"]
    assert errors, f"{name} accepted {input}"
    assert any(
        e["code"] == code and e["field"] == (["input", field] if field else None) for e in errors
    ), errors
    assert all(e["message"] for e in errors)
    assert await dump_database() == before


def test_every_mutation_has_a_bad_input_case():
    from api.schema import build_schema

    mutation_type = build_schema()._schema.mutation_type
    assert mutation_type is not None
    assert set(mutation_type.fields) - {name for name, *_ in CASES} == set()
