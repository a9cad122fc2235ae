"""Who may do what: one test per cell of the access table (every root field of the schema
times every role), and a salesperson kept to their own pay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

from api.access import SUBSCRIPTIONS
from api.relay import from_global_id
from api.schema import build_schema
from services.api_keys import create_api_key
from tests.api.test_signals import _sale
from tests.support import UNKNOWN, http_as

# The access table, written out here on its own so that the code's table is checked
# against it: A admin, F finance, S sales, D delivery, V viewer.
EXPECTED: dict[str, str] = {
    # queries
    "engagements": "AFSDV",
    "engagement": "AFSDV",
    "organizations": "AFSDV",
    "people": "AFSDV",
    "alerts": "AFSDV",
    "rules": "AFSDV",
    "node": "AFSDV",
    "nodes": "AFSDV",
    "commissionPlans": "AF",
    "compensationSignals": "AFS",
    "compensationStatement": "AFS",
    "webhookEndpoints": "A",
    "webhookDeliveries": "A",
    "auditLog": "AF",
    # mutations
    **{f"{v}Organization": "AS" for v in ("create", "update", "delete")},
    **{f"{v}Person": "AS" for v in ("create", "update", "delete")},
    "createEngagement": "AS",
    "updateEngagement": "AS",
    "deleteEngagement": "A",
    **{f"{v}RoleAssignment": "AS" for v in ("create", "update", "delete")},
    **{f"{v}Need": "AS" for v in ("create", "update", "delete")},
    **{f"{v}Promise": "AS" for v in ("create", "update", "delete")},
    **{f"{v}Purchase": "AFS" for v in ("create", "update", "delete")},
    **{f"{v}Deliverable": "AD" for v in ("create", "update", "delete")},
    **{f"{v}ChangeOrder": "ASD" for v in ("create", "update", "delete")},
    "acknowledgeAlert": "ASD",
    "waiveAlert": "ASD",
    "evaluateEngagement": "ASD",
    **{f"{v}CommissionPlan": "AF" for v in ("create", "update", "delete")},
    "assignCommissionPlan": "AF",
    "setEngagementCredits": "AF",
    **{f"{v}WebhookEndpoint": "A" for v in ("create", "update", "delete")},
    "rotateWebhookSecret": "A",
    "redeliver": "A",
    "sendTestEvent": "A",
}
ROLES = {"A": "ADMIN", "F": "FINANCE", "S": "SALES", "D": "DELIVERY", "V": "VIEWER"}
SCHEMA = build_schema()._schema
ROOTS = {
    **{name: ("query", f) for name, f in SCHEMA.query_type.fields.items()},
    **{name: ("mutation", f) for name, f in SCHEMA.mutation_type.fields.items()},
}


def _pk(global_id: str) -> int:
    return from_global_id(global_id)[1]


def test_the_table_names_every_root_field_of_the_schema():
    assert set(EXPECTED) == set(ROOTS)


def test_every_role_may_subscribe_to_what_it_may_query():
    """Subscriptions carry alerts and engagements, which every role reads."""
    assert set(SUBSCRIPTIONS) == set(SCHEMA.subscription_type.fields)
    assert {name: _letters(roles) for name, roles in SUBSCRIPTIONS.items()} == {
        "alertEvents": "AFSDV",
        "engagementChanged": "AFSDV",
    }


def _letters(roles: frozenset[Any]) -> str:
    return "".join(letter for letter, role in ROLES.items() if role in roles)


def _dummy(kind: GraphQLInputType, person: str) -> Any:
    """A value of ``kind`` that passes GraphQL validation and names nothing real."""
    if isinstance(kind, GraphQLNonNull):
        return _dummy(kind.of_type, person)
    if isinstance(kind, GraphQLList):
        return []
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: _dummy(f.type, person)
            for name, f in kind.fields.items()
            if isinstance(f.type, GraphQLNonNull)
        }
    assert isinstance(kind, GraphQLScalarType)
    return {
        "ID": UNKNOWN["Engagement"],
        "String": "2026-11",
        "Int": 1,
        "Boolean": False,
        "Decimal": "1",
        "DateTime": "2026-11-26T09:00:00+00:00",
        "Date": "2026-11-26",
    }[kind.name]


def _request(name: str, person: str) -> tuple[str, dict[str, Any]]:
    operation, field = ROOTS[name]
    assert isinstance(field, GraphQLField)
    required = {arg: a for arg, a in field.args.items() if isinstance(a.type, GraphQLNonNull)}
    variables = {arg: _dummy(a.type, person) for arg, a in required.items()}
    if "salespersonId" in variables:
        variables["salespersonId"] = person  # a salesperson may ask for their own
    declared = ", ".join(f"${arg}: {a.type}" for arg, a in required.items())
    passed = ", ".join(f"{arg}: ${arg}" for arg in required)
    head = f"{operation}({declared})" if declared else operation
    call = f"{name}({passed})" if passed else name
    return f"{head} {{ {call} {{ __typename }} }}", variables


async def _as(settings, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with http_as(settings, key) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _forbidden(body: dict[str, Any]) -> bool:
    return any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in body.get("errors", []))


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_each_role_may_use_exactly_what_its_row_allows(client, settings, name, role):
    ids = await client.data(
        'mutation { createOrganization(input: {name: "Us", kind: PROVIDER}) '
        "{ organization { id } } }"
    )
    organization = ids["createOrganization"]["organization"]["id"]
    person = await client.mutate(
        "createPerson",
        {"name": "Sam", "email": "sam@us.example", "organizationId": organization},
        "person { id }",
    )
    person_id = person["person"]["id"]
    key = await create_api_key(name="cell", role=ROLES[role], person_id=_pk(person_id))
    query, variables = _request(name, person_id)
    body = await _as(settings, key.key, query, variables)
    if role in EXPECTED[name]:
        assert not _forbidden(body), body
    else:
        assert _forbidden(body), body
        assert body["data"] is None
        assert body["errors"][0]["message"] == f"A {ROLES[role]} key may not use `{name}`."


async def test_fragments_cannot_smuggle_a_forbidden_field(client, settings):
    viewer = await create_api_key(name="viewer", role="VIEWER")
    for query in (
        "query { ...F } fragment F on Query { webhookEndpoints { id } }",
        "query { ... on Query { ... on Query { webhookDeliveries { totalCount } } } }",
        "query { rules { id } hooks: webhookEndpoints { id } }",
    ):
        body = await _as(settings, viewer.key, query, {})
        assert _forbidden(body), query


async def test_a_key_reads_by_id_only_what_its_role_may_read(client, settings, monkeypatch):
    from settings import get_settings

    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    made = await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/h", "eventTypes": ["alert.*"]},
        "webhookEndpoint { id }",
    )
    endpoint = made["webhookEndpoint"]["id"]
    query = "query($id: ID!) { node(id: $id) { id } }"
    viewer = await create_api_key(name="viewer", role="VIEWER")
    assert (await _as(settings, viewer.key, query, {"id": endpoint}))["data"] == {"node": None}
    admin = await create_api_key(name="admin", role="ADMIN")
    assert (await _as(settings, admin.key, query, {"id": endpoint}))["data"] == {
        "node": {"id": endpoint}
    }


SIGNALS = "{ compensationSignals { nodes { id salesperson { id } } } }"


async def test_a_salesperson_sees_their_own_pay_and_nobody_elses(client, settings):
    ids = await _sale(client, split=None)
    other = await client.mutate(
        "createPerson",
        {"name": "Olga Other", "email": "olga@fourway.example", "organizationId": ids["firm"]},
        "person { id }",
    )
    other_id = other["person"]["id"]
    seller = await create_api_key(name="sam", role="SALES", person_id=_pk(ids["seller"]))
    olga = await create_api_key(name="olga", role="SALES", person_id=_pk(other_id))
    nobody = await create_api_key(name="no person", role="SALES")
    finance = await create_api_key(name="finance", role="FINANCE")

    mine = await _as(settings, seller.key, SIGNALS, {})
    [booked] = mine["data"]["compensationSignals"]["nodes"]
    assert booked["salesperson"]["id"] == ids["seller"]
    assert (await _as(settings, olga.key, SIGNALS, {}))["data"]["compensationSignals"] == {
        "nodes": []
    }
    assert (await _as(settings, nobody.key, SIGNALS, {}))["data"]["compensationSignals"] == {
        "nodes": []
    }
    everything = await _as(settings, finance.key, SIGNALS, {})
    assert len(everything["data"]["compensationSignals"]["nodes"]) == 1

    snooping = await _as(
        settings,
        olga.key,
        'query($p: ID!) { compensationStatement(salespersonId: $p, period: "2026-11") { total } }',
        {"p": ids["seller"]},
    )
    assert _forbidden(snooping)
    by_id = await _as(
        settings, olga.key, "query($id: ID!) { node(id: $id) { id } }", {"id": booked["id"]}
    )
    assert by_id["data"] == {"node": None}
    nested = "query($id: ID!) { engagement(id: $id) { compensationSignals { totalCount } } }"
    viewer = await create_api_key(name="viewer", role="VIEWER")
    for key, count in ((seller, 1), (olga, 0), (viewer, 0), (finance, 1)):
        body = await _as(settings, key.key, nested, {"id": ids["engagement"]})
        assert body["data"]["engagement"]["compensationSignals"]["totalCount"] == count


async def test_the_csv_export_keeps_to_the_same_rules(client, settings):
    ids = await _sale(client)
    period = datetime.now(UTC).strftime("%Y-%m")
    rows: dict[str, int] = {}
    for role, person in (("FINANCE", None), ("SALES", ids["seller"]), ("SALES", ids["sponsor"])):
        key = await create_api_key(name=role, role=role, person_id=_pk(person) if person else None)
        async with http_as(settings, key.key) as http:
            response = await http.get("/exports/compensation.csv", params={"period": period})
        assert response.status_code == 200
        rows[f"{role}:{person}"] = len(response.text.strip().splitlines()) - 1
    assert rows == {
        "FINANCE:None": 1,
        f"SALES:{ids['seller']}": 1,
        f"SALES:{ids['sponsor']}": 0,
    }
    viewer = await create_api_key(name="viewer", role="VIEWER")
    async with http_as(settings, viewer.key) as http:
        refused = await http.get("/exports/compensation.csv", params={"period": "2026-11"})
    assert refused.status_code == 403
