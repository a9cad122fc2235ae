"""The audit trail: every mutation that commits records who made it, when, what, and the
object before and after; nothing else does; admins and finance read it over GraphQL."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest

from api.schema import build_schema
from models import AuditEntry
from services.access.api_keys import create_api_key
from services.core import audit
from settings import get_settings
from tests.processes import run_fourway
from tests.support import GraphQLClient, approve_deal_input, http_as, seed_engagement

ENTRY = (
    "id at action targetType targetId engagementId before after changedFields "
    "actor { kind apiKeyPrefix personId person { id } }"
)
LOG = "query($f: AuditLogFilter, $last: Int) { auditLog(filter: $f, last: $last) { totalCount nodes { %s } } }"  # noqa: E501


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _expected_action(mutation: str) -> str:
    """The action each mutation records; a new mutation must be added here (or below)."""
    special = {
        "acknowledgeAlert": "alert.acknowledged",
        "waiveAlert": "alert.waived",
        "evaluateEngagement": "engagement.evaluated",
        "assignCommissionPlan": "person.commission_plan_assigned",
        "setEngagementCredits": "engagement.credits_set",
        "rotateWebhookSecret": "webhook_endpoint.secret_rotated",
        "redeliver": "webhook_delivery.redelivered",
        "sendTestEvent": "webhook_endpoint.test_event_sent",
        "closeCompensationPeriod": "compensation_period.closed",
        "repriceEngagement": "engagement.repriced",
        "approveDeal": "engagement.deal_approved",
    }
    if mutation in special:
        return special[mutation]
    verb, noun = re.fullmatch(r"(create|update|delete)(\w+)", mutation).groups()  # type: ignore[union-attr]
    return f"{_snake(noun)}.{verb}d"


class Trail:
    """Runs mutations and collects the audit entries each one wrote."""

    def __init__(self, client: GraphQLClient) -> None:
        self.client = client
        self.seen = 0
        self.actions: dict[str, list[str]] = {}
        self.runs: dict[str, int] = {}

    async def start(self) -> None:
        self.seen = max([e.id for e in await AuditEntry.all()], default=0)

    async def mutate(self, name: str, input: dict[str, Any], selection: str = "") -> Any:
        payload = await self.client.mutate(name, input, selection)
        assert payload["userErrors"] == [], (name, payload["userErrors"])
        new = await AuditEntry.filter(id__gt=self.seen).order_by("id")
        self.actions.setdefault(name, []).extend(e.action for e in new)
        self.runs[name] = self.runs.get(name, 0) + 1
        self.seen = max([self.seen, *(e.id for e in new)])
        return payload


async def test_every_mutation_records_one_entry_naming_what_it_did(client, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    trail = Trail(client)
    await trail.start()
    m = trail.mutate

    org = await m("createOrganization", {"name": "Acme", "kind": "CLIENT"}, "organization { id }")
    acme = org["organization"]["id"]
    await m("updateOrganization", {"id": acme, "name": "Acme Ltd"})
    spare = await m(
        "createOrganization", {"name": "Spare", "kind": "PROVIDER"}, "organization { id }"
    )
    person = await m(
        "createPerson",
        {"name": "Sam", "email": "sam@acme.example", "organizationId": acme},
        "person { id }",
    )
    sam = person["person"]["id"]
    await m("updatePerson", {"id": sam, "name": "Sam Seller"})
    gone = await m(
        "createPerson",
        {"name": "Gone", "email": "gone@acme.example", "organizationId": acme},
        "person { id }",
    )
    await m("deletePerson", {"id": gone["person"]["id"]})
    await m("deleteOrganization", {"id": spare["organization"]["id"]})
    engagement = await m(
        "createEngagement",
        {"name": "ERP", "clientId": acme, "currency": "EUR"},
        "engagement { id }",
    )
    e = engagement["engagement"]["id"]
    await m("updateEngagement", {"id": e, "name": "ERP rollout"})
    role = await m(
        "createRoleAssignment",
        {"engagementId": e, "personId": sam, "function": "SALES", "raci": "ACCOUNTABLE"},
        "roleAssignment { id }",
    )
    role_id = role["roleAssignment"]["id"]
    await m("updateRoleAssignment", {"id": role_id, "raci": "RESPONSIBLE"})
    await m("deleteRoleAssignment", {"id": role_id})
    sides = {
        "Need": ("need", {"item": "build", "description": "d", "priority": "MUST"}),
        "Promise": (
            "promise",
            {"item": "build", "description": "d", "quantity": "10", "madeById": sam},
        ),
        "Purchase": (
            "purchase",
            {"item": "build", "description": "d", "quantity": "10", "amount": "1000"},
        ),
        "Deliverable": ("deliverable", {"item": "build", "description": "d", "quantity": "10"}),
        "ChangeOrder": ("changeOrder", {"item": "build", "description": "d"}),
    }
    for noun, (field, values) in sides.items():
        made = await m(f"create{noun}", {"engagementId": e, **values}, f"{field} {{ id }}")
        await m(f"update{noun}", {"id": made[field]["id"], "description": "changed"})
        await m(f"delete{noun}", {"id": made[field]["id"]})
    await m(
        "createPromise",
        {"engagementId": e, "item": "run", "description": "d", "quantity": "1", "madeById": sam},
    )
    await m("evaluateEngagement", {"id": e})
    alerts = await client.data(
        "query($id: ID!) { engagement(id: $id) { alerts(first: 2) { nodes { id } } } }", {"id": e}
    )
    first, second = (a["id"] for a in alerts["engagement"]["alerts"]["nodes"])
    await m("acknowledgeAlert", {"id": first, "comment": "seen"})
    await m("waiveAlert", {"id": second, "reason": "agreed"})
    plan = await m(
        "createCommissionPlan",
        {"name": "Standard", "rateOnMargin": "0.10", "marginFloorPct": "0.20"},
        "commissionPlan { id }",
    )
    plan_id = plan["commissionPlan"]["id"]
    await m("updateCommissionPlan", {"id": plan_id, "rateOnMargin": "0.12"})
    await m("assignCommissionPlan", {"personId": sam, "planId": plan_id})
    spare_plan = await m(
        "createCommissionPlan",
        {"name": "Spare", "rateOnMargin": "0.05", "marginFloorPct": "0.10"},
        "commissionPlan { id }",
    )
    await m("deleteCommissionPlan", {"id": spare_plan["commissionPlan"]["id"]})
    # Only a person holding SALES may be credited.
    await m(
        "createRoleAssignment",
        {"engagementId": e, "personId": sam, "function": "SALES", "raci": "ACCOUNTABLE"},
    )
    await m(
        "setEngagementCredits", {"engagementId": e, "credits": [{"personId": sam, "splitPct": "1"}]}
    )
    credited = await AuditEntry.filter(action="engagement.credits_set").order_by("-id").first()
    assert credited is not None
    assert (credited.before, credited.after) == (
        {"credits": []},
        {"credits": [{"person": {"id": sam}, "splitPct": "1.00"}]},
    )
    endpoint = await m(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/hooks", "eventTypes": ["alert.*"]},
        "webhookEndpoint { id }",
    )
    hook = endpoint["webhookEndpoint"]["id"]
    await m("updateWebhookEndpoint", {"id": hook, "description": "ops"})
    await m("rotateWebhookSecret", {"id": hook})
    await m("sendTestEvent", {"endpointId": hook})
    deliveries = await client.data("{ webhookDeliveries(last: 1) { nodes { id } } }")
    await m("redeliver", {"deliveryId": deliveries["webhookDeliveries"]["nodes"][0]["id"]})
    await m("deleteWebhookEndpoint", {"id": hook})
    await m("deleteEngagement", {"id": e})
    sold = await m(
        "createEngagement",
        {"name": "Sold", "clientId": acme, "currency": "EUR"},
        "engagement { id }",
    )
    await m("approveDeal", approve_deal_input(sold["engagement"]["id"]))
    await m("repriceEngagement", {"engagementId": sold["engagement"]["id"], "reason": "rates"})
    await m("closeCompensationPeriod", {"period": "2026-01"})

    every = set(build_schema()._schema.mutation_type.fields)
    assert set(trail.actions) == every, "run every mutation once above"
    for name, actions in trail.actions.items():
        # Each run of the mutation wrote exactly its own entry.
        assert actions == [_expected_action(name)] * trail.runs[name], name


async def _entries(client: GraphQLClient, f: dict[str, Any] | None = None) -> list[dict]:
    data = await client.data(LOG % ENTRY, {"f": f, "last": 100})
    return list(data["auditLog"]["nodes"])


async def test_an_update_shows_who_made_it_and_the_object_before_and_after(client, settings):
    ids = await seed_engagement(client)
    sales = await create_api_key(name="sam", role="SALES", person_id=int(_pk(ids["seller"])))
    promise = await client.mutate(
        "createPromise",
        {
            "engagementId": ids["engagement"],
            "item": "build",
            "description": "Build it",
            "quantity": "10",
            "quotedAmount": "1000",
            "madeById": ids["seller"],
        },
        "promise { id }",
    )
    promise_id = promise["promise"]["id"]
    async with http_as(settings, sales.key) as http:
        payload = await GraphQLClient(http).mutate(
            "updatePromise", {"id": promise_id, "quantity": "12.5"}, "promise { id }"
        )
    assert payload["userErrors"] == []

    [entry] = await _entries(client, {"targetId": promise_id, "action": ["promise.updated"]})
    assert entry["targetType"] == "Promise"
    assert entry["targetId"] == promise_id
    assert entry["engagementId"] == ids["engagement"]
    assert entry["actor"] == {
        "kind": "API_KEY",
        "apiKeyPrefix": sales.api_key.prefix,
        "personId": ids["seller"],
        "person": {"id": ids["seller"]},
    }
    assert entry["changedFields"] == ["quantity"]
    assert entry["before"]["quantity"] == "10.00"
    assert entry["after"]["quantity"] == "12.50"
    assert entry["after"]["quotedAmount"] == "1000.00"
    assert entry["after"]["madeBy"] == {"id": ids["seller"]}
    # The object as recorded reads like the object over GraphQL.
    shown = await client.data(
        "query($id: ID!) { node(id: $id) { ... on Promise { id quantity quotedAmount "
        "madeBy { id } description item } } }",
        {"id": promise_id},
    )
    assert {k: entry["after"][k] for k in shown["node"]} == shown["node"]

    # The creation was the admin's, with nothing before it.
    [made] = await _entries(client, {"targetId": promise_id, "action": ["promise.created"]})
    assert made["before"] is None and made["after"]["quantity"] == "10.00"
    assert made["actor"]["kind"] == "API_KEY" and made["actor"]["personId"] is None


def _pk(global_id: str) -> int:
    from api.core.relay import from_global_id

    return from_global_id(global_id)[1]


async def test_a_refused_or_rolled_back_mutation_records_nothing(client, monkeypatch):
    ids = await seed_engagement(client)
    before = await AuditEntry.all().count()
    refused = await client.mutate(
        "updateEngagement", {"id": ids["engagement"], "currency": "nope"}, "engagement { id }"
    )
    assert refused["userErrors"]
    assert await AuditEntry.all().count() == before

    # The entry is written, then the transaction fails after it: the entry goes too.
    alert = await _an_alert(client, ids)
    before = await AuditEntry.all().count()
    written = audit.record

    async def record_then_fail(*args: Any, **kwargs: Any) -> Any:
        await written(*args, **kwargs)
        assert await AuditEntry.all().count() == before + 1
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit, "record", record_then_fail)
    acknowledge = (
        'mutation($id: ID!) { acknowledgeAlert(input: {id: $id, comment: "x"}) { alert { id } } }'
    )
    failed = await client.execute(acknowledge, {"id": alert})
    assert failed["errors"][0]["message"] == "Unexpected error."
    assert await AuditEntry.all().count() == before


async def _an_alert(client: GraphQLClient, ids: dict[str, str]) -> str:
    await client.mutate(
        "createPromise",
        {
            "engagementId": ids["engagement"],
            "item": "build",
            "description": "Build it",
            "quantity": "10",
            "madeById": ids["seller"],
        },
        "promise { id }",
    )
    alerts = await client.data(
        "query($id: ID!) { engagement(id: $id) { alerts(first: 1) { nodes { id } } } }",
        {"id": ids["engagement"]},
    )
    return str(alerts["engagement"]["alerts"]["nodes"][0]["id"])


async def test_secrets_and_keys_are_never_recorded(client, monkeypatch, database_url):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    made = await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/hooks", "eventTypes": ["alert.*"]},
        "webhookEndpoint { id } secret",
    )
    rotated = await client.mutate(
        "rotateWebhookSecret", {"id": made["webhookEndpoint"]["id"]}, "secret"
    )
    key = await create_api_key(name="finance", role="FINANCE")
    trail = json.dumps([(e.before, e.after) for e in await AuditEntry.all()])
    for secret in (made["secret"], rotated["secret"], key.key):
        assert secret not in trail
    assert "whsec_" not in trail
    [rotation] = await _entries(
        client,
        {"targetId": made["webhookEndpoint"]["id"], "action": ["webhook_endpoint.secret_rotated"]},
    )
    # That the secret changed shows only as when the previous one stops signing.
    assert rotation["changedFields"] == ["previousSecretExpiresAt"]


async def test_a_key_made_or_revoked_by_command_is_recorded_as_the_command(database_url):
    made = run_fourway(
        "apikey", "create", "--role", "VIEWER", "--name", "cli", database_url=database_url
    )
    assert made.returncode == 0, made.stderr
    prefix = made.stdout.strip().splitlines()[-1][: len("fw_12345678")]
    revoked = run_fourway("apikey", "revoke", prefix, database_url=database_url)
    assert revoked.returncode == 0, revoked.stderr
    entries = await AuditEntry.filter(target_type="ApiKey").order_by("id")
    mine = [e for e in entries if (e.after or e.before or {}).get("prefix") == prefix]
    assert [(e.action, e.actor_kind) for e in mine] == [
        ("api_key.created", "COMMAND"),
        ("api_key.revoked", "COMMAND"),
    ]
    assert mine[1].changed_fields == ["revokedAt"]
    assert "keyHash" not in (mine[1].after or {})


async def test_changes_are_made_as_the_service_outside_requests(database_url):
    with audit.acting_as(audit.COMMAND):
        await create_api_key(name="inner", role="VIEWER")
    await create_api_key(name="outer", role="VIEWER")
    outer, inner = await AuditEntry.filter(target_type="ApiKey").order_by("-id").limit(2)
    assert (outer.actor_kind, inner.actor_kind) == ("SYSTEM", "COMMAND")


@pytest.mark.parametrize("role", ["FINANCE", "ADMIN"])
async def test_finance_reads_the_trail_without_what_only_admins_may_read(
    client, settings, monkeypatch, role
):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    ids = await seed_engagement(client)
    endpoint = await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/hooks", "eventTypes": ["alert.*"]},
        "webhookEndpoint { id }",
    )
    reader = await create_api_key(name="reader", role=role)
    async with http_as(settings, reader.key) as http:
        as_reader = GraphQLClient(http)
        types = {e["targetType"] for e in await _entries(as_reader)}
        hook_entry = await AuditEntry.get(target_type="WebhookEndpoint")
        node = await as_reader.data(
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": _global("AuditEntry", hook_entry.id)},
        )
    assert {"Organization", "Person", "Engagement"} <= types
    if role == "FINANCE":
        assert types.isdisjoint({"WebhookEndpoint", "ApiKey"})
        assert node == {"node": None}
    else:
        assert {"WebhookEndpoint", "ApiKey"} <= types
        assert node == {"node": {"id": _global("AuditEntry", hook_entry.id)}}
    assert endpoint["webhookEndpoint"]["id"] and ids


def _global(type_name: str, pk: int) -> str:
    from services.core.wire import to_global_id

    return to_global_id(type_name, pk)


async def test_the_trail_outlives_what_it_names_and_filters_by_engagement_actor_and_time(
    client, settings
):
    ids = await seed_engagement(client)
    other = await client.mutate(
        "createEngagement",
        {"name": "Other", "clientId": ids["client"], "currency": "EUR"},
        "engagement { id }",
    )
    sales = await create_api_key(name="sam", role="SALES", person_id=_pk(ids["seller"]))
    async with http_as(settings, sales.key) as http:
        promise = await GraphQLClient(http).mutate(
            "createPromise",
            {
                "engagementId": ids["engagement"],
                "item": "build",
                "description": "d",
                "quantity": "1",
                "madeById": ids["seller"],
            },
            "promise { id }",
        )
    deleted = await client.mutate("deleteEngagement", {"id": ids["engagement"]}, "deletedId")
    assert deleted["userErrors"] == []

    on_it = await _entries(client, {"engagementId": ids["engagement"]})
    assert [e["action"] for e in on_it] == [
        "engagement.created",
        "promise.created",
        "engagement.deleted",
    ]
    assert on_it[-1]["after"] is None and on_it[-1]["before"]["name"] == "ERP rollout"
    assert [e["targetId"] for e in await _entries(client, {"personId": ids["seller"]})] == [
        promise["promise"]["id"]
    ]
    by_key = await _entries(client, {"apiKeyPrefix": sales.api_key.prefix})
    assert [e["action"] for e in by_key] == ["promise.created"]
    everything = await _entries(client)
    middle = everything[len(everything) // 2]["at"]
    later = await _entries(client, {"since": middle})
    earlier = await _entries(client, {"until": middle})
    assert len(later) + len(earlier) == len(everything)
    at = datetime.fromisoformat
    assert all(at(e["at"]) >= at(middle) for e in later)
    assert all(at(e["at"]) < at(middle) for e in earlier)
    assert other["engagement"]["id"] not in {e["targetId"] for e in on_it}

    wrong = await client.execute(LOG % "id", {"f": {"engagementId": ids["seller"]}})
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
