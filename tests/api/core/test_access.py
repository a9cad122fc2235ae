"""Who may do what: one test per cell of the access table (every root field of the schema
times every role), and a salesperson kept to their own pay."""

from __future__ import annotations

import contextlib
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
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_abstract_type,
    parse,
)

from api.core.access import NARROWED, SUBSCRIPTIONS, TYPES, readers
from api.core.relay import from_global_id
from api.schema import build_schema
from models.enums import Role
from services.access.api_keys import create_api_key
from tests.api.compensation.test_signals import _sale
from tests.support import UNKNOWN, hold_sales, http_as

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
    "compensationPeriods": "AFS",
    "webhookEndpoints": "A",
    "webhookDeliveries": "A",
    "auditLog": "AF",
    # mutations
    **{f"{v}Organization": "AS" for v in ("create", "update", "delete")},
    **{f"{v}Person": "AS" for v in ("create", "update", "delete")},
    "createEngagement": "AS",
    "updateEngagement": "AS",
    "deleteEngagement": "A",
    "approveDeal": "AFSD",
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
    "closeCompensationPeriod": "AF",
    "repriceEngagement": "AF",
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
    [error] = refused.json()["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"}


# Below the root: every field, on any type a role reaches, that returns a type the role
# may not read (TYPES), found by walking the schema. Each must be refused or come back
# empty for that role, while an ADMIN sees what is there.

PUBLIC_ROOTS = {"query": SCHEMA.query_type, "subscription": SCHEMA.subscription_type}
ROOT_TABLES = {"query": EXPECTED, "subscription": {n: "AFSDV" for n in SUBSCRIPTIONS}}


def _targets(field: GraphQLField) -> set[str]:
    """The object types a field can return: every possible type of an interface or union."""
    named = get_named_type(field.type)
    if is_abstract_type(named):
        return {t.name for t in SCHEMA.get_possible_types(named)}  # type: ignore[arg-type]
    return {named.name} if isinstance(named, GraphQLObjectType) else set()


def _required_args(field: GraphQLField) -> set[str]:
    return {name for name, a in field.args.items() if isinstance(a.type, GraphQLNonNull)}


OBJECT_TYPES: dict[str, GraphQLObjectType] = {
    name: t
    for name, t in SCHEMA.type_map.items()
    if isinstance(t, GraphQLObjectType) and not name.startswith("__")
}


Step = tuple[str, str]  # (parent type, field)


def _paths(role: str, operation: str) -> dict[str, list[Step]]:
    """The shortest way a role's key reaches each type it may read, from one root: through
    root fields its row allows, fields with no required argument but an id, and types it
    may read, never through a narrowed field."""
    root = PUBLIC_ROOTS[operation]
    paths: dict[str, list[Step]] = {root.name: []}
    queue = [root]
    while queue:
        parent = queue.pop(0)
        for name, field in parent.fields.items():
            if parent is root and role not in ROOT_TABLES[operation].get(name, ""):
                continue
            if f"{parent.name}.{name}" in NARROWED or _required_args(field) - {"id"}:
                continue
            for target in sorted(_targets(field)):
                if target not in paths and ROLES[role] in {r.value for r in readers(target)}:
                    paths[target] = [*paths[parent.name], (parent.name, name)]
                    queue.append(OBJECT_TYPES[target])
    return paths


def _gateways(role: str, operation: str) -> list[tuple[list[Step], str, str]]:
    """Every (path to a type, field of it, restricted type) by which the role's key could
    reach a type it may not read. Root fields are the root table's (tested above), except
    those that reach any type (node, nodes)."""
    found = []
    for type_name, path in _paths(role, operation).items():
        for name, field in OBJECT_TYPES[type_name].fields.items():
            if not path and f"{type_name}.{name}" not in NARROWED:
                continue
            for target in sorted(_targets(field)):
                if ROLES[role] not in {r.value for r in readers(target)}:
                    found.append((path, name, target))
    return found


def test_every_object_type_is_public_or_in_the_table():
    """A type reached only through restricted types must be restricted itself, so a new
    field that returns it elsewhere is refused too."""
    public, queue = set(), [SCHEMA.query_type, SCHEMA.mutation_type, SCHEMA.subscription_type]
    while queue:
        parent = queue.pop()
        public.add(parent.name)
        for field in parent.fields.values():
            for target in _targets(field):
                if target not in public and readers(target) == frozenset(Role):
                    queue.append(OBJECT_TYPES[target])
    restricted = {name for name in OBJECT_TYPES if readers(name) != frozenset(Role)}
    assert set(OBJECT_TYPES) - public - restricted == set()
    assert set(TYPES) - {"ApiKey"} <= set(OBJECT_TYPES)


def test_only_the_narrowed_fields_reach_restricted_types_for_every_role():
    """A field returning an interface or union cannot be refused by its type: it must
    narrow itself, and be listed as doing so."""
    abstract_to_restricted, narrowed_reaching = set(), set()
    for type_name, kind in OBJECT_TYPES.items():
        for name, field in kind.fields.items():
            restricted = {t for t in _targets(field) if readers(t) != frozenset(Role)}
            if restricted and is_abstract_type(get_named_type(field.type)):
                abstract_to_restricted.add(f"{type_name}.{name}")
            if restricted and f"{type_name}.{name}" in NARROWED:
                narrowed_reaching.add(f"{type_name}.{name}")
    assert abstract_to_restricted <= NARROWED
    assert narrowed_reaching == NARROWED


def _selection(kind: GraphQLObjectType, depth: int, seen: frozenset[str] = frozenset()) -> str:
    """Every field of ``kind`` that needs no argument, objects ``depth`` levels down."""
    parts = []
    for name, field in kind.fields.items():
        if _required_args(field):
            continue
        named = get_named_type(field.type)
        if is_abstract_type(named):
            parts.append(f"{name} {{ __typename }}")
        elif isinstance(named, GraphQLObjectType):
            if depth > 0 and named.name not in seen:
                inner = _selection(named, depth - 1, seen | {kind.name})
                parts.append(f"{name} {{ {inner} }}")
        else:
            parts.append(name)
    return " ".join(parts or ["__typename"])


def _type_after(operation: str, path: list[Step]) -> str:
    """The type a path ends on."""
    if not path:
        return PUBLIC_ROOTS[operation].name
    parent, name = path[-1]
    return min(_targets(OBJECT_TYPES[parent].fields[name]))


def _arguments(field: GraphQLField) -> str:
    if "id" in _required_args(field):
        return "(id: $id)"
    if "ids" in _required_args(field):
        return "(ids: [$id])"
    return ""


def _document(operation: str, path: list[Step], name: str, target: str) -> str:
    """A document that follows ``path`` and selects ``name`` with every field of
    ``target``; ``$id`` names the object that an ``id`` argument asks for."""
    field = OBJECT_TYPES[_type_after(operation, path)].fields[name]
    inner = _selection(OBJECT_TYPES[target], 2)
    if is_abstract_type(get_named_type(field.type)):
        inner = f"... on {target} {{ {inner} }}"
    text = f"{name}{_arguments(field)} {{ {inner} }}"
    for parent, step in reversed(path):
        text = f"{step}{_arguments(OBJECT_TYPES[parent].fields[step])} {{ {text} }}"
    return f"{operation}($id: ID!) {{ {text} }}" if "$id" in text else f"{operation} {{ {text} }}"


def _found(data: Any, keys: list[str]) -> list[Any]:
    """The values at ``keys`` below ``data``, lists along the way flattened."""
    values = [data]
    for key in keys:
        values = [v[key] for v in values if v is not None]
        values = [x for v in values for x in (v if isinstance(v, list) else [v])]
    return values


def _exposes(value: Any) -> bool:
    """Whether a field's value shows anything: an object, a list's items, a count."""
    if value is None:
        return False
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, dict) and {"totalCount", "nodes", "edges"} & set(value):
        return bool(value.get("totalCount") or value.get("nodes") or value.get("edges"))
    return True


async def _restricted_data(client: Any) -> dict[str, str]:
    """A sold engagement with credits and signals, a closed month, a webhook endpoint with
    a delivery, and audit entries: the id of one object of each type a case may ask for by id (the
    endpoint's URL is on loopback)."""
    await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/h", "eventTypes": ["engagement.*"]},
        "webhookEndpoint { id }",
    )
    ids = await _sale(client, split=None)
    closed = await client.mutate(
        "closeCompensationPeriod", {"period": "2026-01"}, "compensationPeriod { id }"
    )
    first = await client.data(
        "{ commissionPlans { id } compensationSignals(first: 1) { nodes { id } } "
        "webhookEndpoints { id } webhookDeliveries(first: 1) { nodes { id } } "
        "auditLog(first: 1) { nodes { id } } }"
    )
    return {
        "Engagement": ids["engagement"],
        "seller": ids["seller"],
        "sponsor": ids["sponsor"],
        "CommissionPlan": first["commissionPlans"][0]["id"],
        "CompensationSignal": first["compensationSignals"]["nodes"][0]["id"],
        "WebhookEndpoint": first["webhookEndpoints"][0]["id"],
        "WebhookDelivery": first["webhookDeliveries"]["nodes"][0]["id"],
        "AuditEntry": first["auditLog"]["nodes"][0]["id"],
        "CompensationPeriod": closed["compensationPeriod"]["id"],
    }


def _id_for(path: list[Step], name: str, target: str, ids: dict[str, str]) -> str:
    """What ``$id`` names: the restricted object itself when the field takes the id, else
    the object a step of the path takes it for."""
    if not path:
        return ids[target]
    [taking] = [
        n for n, (parent, step) in enumerate(path) if _arguments(OBJECT_TYPES[parent].fields[step])
    ]
    return ids[_type_after("query", path[: taking + 1])]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "A"])
async def test_no_role_reads_a_restricted_type_through_a_nested_field(
    client, settings, loopback, role
):
    cases = _gateways(role, "query")
    assert cases, "every role but ADMIN has restricted types within reach"
    ids = await _restricted_data(client)
    # A SALES key of someone who sold nothing: its own pay is none.
    person = _pk(ids["sponsor"]) if role == "S" else None
    key = await create_api_key(name="nested", role=ROLES[role], person_id=person)
    admin = await create_api_key(name="admin", role="ADMIN")
    leaks, unproven = [], []
    for path, name, target in cases:
        document = _document("query", path, name, target)
        variables = {"id": _id_for(path, name, target, ids)} if "$id" in document else {}
        keys = [step for _, step in path] + [name]
        body = await _as(settings, key.key, document, variables)
        if not _forbidden(body) and any(_exposes(v) for v in _found(body["data"], keys)):
            leaks.append(document)
        shown = await _as(settings, admin.key, document, variables)
        assert "errors" not in shown, (document, shown["errors"])
        if not any(_exposes(v) for v in _found(shown["data"], keys)):
            unproven.append(document)
    assert leaks == []
    assert unproven == []  # the data is there: an ADMIN key sees it through the same path


async def test_no_role_reads_a_restricted_type_in_a_subscriptions_messages(
    client, settings, loopback
):
    """The same walk from the subscription root: each role's messages, over a websocket."""
    from tests.api.live.test_subscriptions import Listening, _subscribed, serving

    ids = await _restricted_data(client)
    cases = [(r, *case) for r in ROLES for case in _gateways(r, "subscription")]
    assert {r for r, *_ in cases} == {"D", "V"}
    keys = {r: (await create_api_key(name=r, role=ROLES[r])).key for r in ROLES}
    async with serving(settings) as (url, feed), contextlib.AsyncExitStack() as stack:
        listening = []
        for role, path, name, target in cases:
            document = _document("subscription", path, name, target)
            variables = {"id": _id_for(path, name, target, ids)}
            steps = [step for _, step in path] + [name]
            for as_role in (role, "A"):
                heard = Listening(url, keys[as_role], document, variables)
                listening.append((as_role, document, steps, await stack.enter_async_context(heard)))
        await _subscribed(feed, len(listening))
        await client.mutate("updateEngagement", {"id": ids["Engagement"], "name": "Heard"}, "")
        leaks, unproven = [], []
        for as_role, document, steps, heard in listening:
            [message] = await heard.until(1)
            exposed = any(_exposes(v) for v in _found(message, steps))
            if as_role == "A" and not exposed:
                unproven.append(document)
            elif as_role != "A" and exposed:
                leaks.append((as_role, document))
    assert leaks == []
    assert unproven == []


async def test_a_salesperson_sees_their_own_credit_and_nobody_elses(client, settings):
    ids = await _sale(client, split=None)
    other = await client.mutate(
        "createPerson",
        {"name": "Olga Other", "email": "olga@fourway.example", "organizationId": ids["firm"]},
        "person { id }",
    )
    olga_id = other["person"]["id"]
    await hold_sales(client, ids["engagement"], olga_id, accountable=False)
    await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [
                {"personId": ids["seller"], "splitPct": "0.7"},
                {"personId": olga_id, "splitPct": "0.3"},
            ],
        },
        "credits { splitPct }",
    )
    query = "query($id: ID!) { engagement(id: $id) { credits { splitPct salesperson { id } } } }"
    seen = {}
    for name, role, person in (
        ("sam", "SALES", ids["seller"]),
        ("olga", "SALES", olga_id),
        ("nobody", "SALES", None),
        ("finance", "FINANCE", None),
        ("viewer", "VIEWER", None),
        ("delivery", "DELIVERY", None),
    ):
        key = await create_api_key(name=name, role=role, person_id=_pk(person) if person else None)
        body = await _as(settings, key.key, query, {"id": ids["engagement"]})
        credits = body["data"]["engagement"]["credits"]
        seen[name] = sorted((c["salesperson"]["id"], c["splitPct"]) for c in credits)
    assert seen == {
        "sam": [(ids["seller"], "0.70")],
        "olga": [(olga_id, "0.30")],
        "nobody": [],
        "finance": sorted([(ids["seller"], "0.70"), (olga_id, "0.30")]),
        "viewer": [],
        "delivery": [],
    }


def test_a_field_that_returns_a_type_the_role_may_not_read_is_refused_wherever_it_is():
    """No field outside NARROWED reaches a restricted type today, so the walk is shown on
    one with its narrowing taken away: the refusal names the field, even in a fragment."""
    import api.core.access as access
    from api.core.principal import Principal

    document = parse(
        "query($id: ID!) { engagement(id: $id) { ...Pay } } "
        "fragment Pay on Engagement { credits { splitPct } }"
    )
    viewer = Principal(key_id=1, prefix="fw_x", role=Role.VIEWER, person_id=None)
    finance = Principal(key_id=2, prefix="fw_y", role=Role.FINANCE, person_id=None)
    assert access.refusal(document, None, viewer, SCHEMA) is None  # narrowed: empty instead
    narrowed = access.NARROWED
    try:
        access.NARROWED = narrowed - {"Engagement.credits"}
        assert (
            access.refusal(document, None, viewer, SCHEMA)
            == "A VIEWER key may not read `Engagement.credits`."
        )
        assert access.refusal(document, None, finance, SCHEMA) is None
    finally:
        access.NARROWED = narrowed
