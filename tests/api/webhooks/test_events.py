"""The outbox: every change of state writes one event, in the change's transaction, whose
data reads exactly like the object fetched over GraphQL right after."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest

from api.core.relay import from_global_id
from models import Alert, Engagement, Event, WebhookDelivery
from services.core import events
from services.core.events import subscribed
from services.core.wire import to_global_id
from services.webhooks.endpoints import EVENT_TYPES, create_webhook_endpoint
from settings import get_settings
from tests.api.compensation.test_signals import _complete_with_actual_cost, _sale
from tests.support import seed_engagement

# What a change to an engagement or its alerts announces: every type but the webhooks' own.
STATE_CHANGES = {t for t in EVENT_TYPES if not t.startswith("webhook.")}


def _selection(value: dict[str, Any]) -> str:
    """A GraphQL selection asking for exactly the fields an event object holds."""
    parts = []
    for key, inner in value.items():
        parts.append(f"{key} {{ id }}" if isinstance(inner, dict) and "id" in inner else key)
    return " ".join(parts)


class Outbox:
    """Reads the events written since it last looked, and checks each against GraphQL."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.seen = 0
        self.types: list[str] = []
        self.sequences: dict[int, int] = {}

    async def check_new(self) -> list[dict[str, Any]]:
        rows = await Event.filter(id__gt=self.seen).order_by("id")
        bodies = []
        deleted = {row.engagement_id for row in rows if row.type == "engagement.deleted"}
        for row in rows:
            body = json.loads(row.body)
            assert list(body) == ["id", "type", "occurred_at", "sequence", "data"]
            assert (body["id"], body["type"], body["sequence"]) == (row.uid, row.type, row.sequence)
            assert datetime.fromisoformat(body["occurred_at"]) == row.occurred_at
            # Each engagement's events are numbered 1, 2, 3... as they are written; an event
            # about no engagement (a month closed) has no number.
            if row.engagement_id is None:
                assert body["sequence"] is None, row.type
            else:
                expected = self.sequences.get(row.engagement_id, 0) + 1
                assert body["sequence"] == expected, (row.type, body["sequence"], expected)
                self.sequences[row.engagement_id] = expected
            obj = body["data"]["object"]
            query = (
                "query($id: ID!) { node(id: $id) { "
                f"... on {obj['__typename']} {{ {_selection(obj)} }} }} }}"
            )
            shown = await self.client.data(query, {"id": obj["id"]})
            # A deleted object is gone, and so is everything on a deleted engagement; what
            # the event holds is how it was.
            gone = row.type.endswith(".deleted") or row.engagement_id in deleted
            assert shown["node"] == (None if gone else obj), row.type
            bodies.append(body)
            self.types.append(row.type)
            self.seen = row.id
        return bodies


class Checking:
    """A GraphQL client that checks the outbox after every mutation, while each object
    the new events hold is still as they show it."""

    def __init__(self, client: Any, outbox: Outbox) -> None:
        self.client, self.outbox = client, outbox
        self.bodies: list[dict[str, Any]] = []

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return await self.client.data(query, variables)

    async def mutate(self, name: str, input: dict[str, Any], selection: str) -> Any:
        payload = await self.client.mutate(name, input, selection)
        self.bodies += await self.outbox.check_new()
        return payload


async def test_every_change_of_state_writes_one_event_that_reads_like_graphql(client):
    outbox = Outbox(client)
    checking = Checking(client, outbox)
    ids = await _sale(checking, signed_off=False)
    first = list(checking.bodies)
    assert {"alert.opened", "engagement.status_changed", "compensation.booked"} <= {
        b["type"] for b in first
    }
    [moved] = [b for b in first if b["type"] == "engagement.status_changed"]
    assert moved["data"]["previous_attributes"] == {"status": "PROPOSED"}
    assert moved["data"]["object"]["status"] == "SOLD"
    # The status change comes before the booking it causes.
    order = [b["type"] for b in first]
    assert order.index("engagement.status_changed") < order.index("compensation.booked")

    signed = await checking.mutate(
        "updatePromise",
        {"id": ids["promise"], "deliverySignoffById": ids["sponsor"]},
        "alertsResolved { id }",
    )
    assert signed["alertsResolved"]
    released = checking.bodies[len(first) :]
    assert {"alert.resolved", "compensation.released"} <= {b["type"] for b in released}

    live = await client.data(
        "query($id: ID!) { alerts(filter: {engagementId: $id, status: [OPEN]}) { nodes { id } } }",
        {"id": ids["engagement"]},
    )
    live_id = live["alerts"]["nodes"][0]["id"]
    seen = len(checking.bodies)
    await checking.mutate("acknowledgeAlert", {"id": live_id, "comment": "On it"}, "")
    await checking.mutate("waiveAlert", {"id": live_id, "reason": "Agreed with client"}, "")
    handled = checking.bodies[seen:]
    assert [b["type"] for b in handled] == ["alert.acknowledged", "alert.waived"]
    assert handled[0]["data"]["object"]["comment"] == "On it"

    await _complete_with_actual_cost(checking, ids, "75000")
    seen = len(checking.bodies)
    await checking.mutate(
        "repriceEngagement", {"engagementId": ids["engagement"], "reason": "audit"}, ""
    )
    await checking.mutate("closeCompensationPeriod", {"period": "2026-01"}, "")
    assert [b["type"] for b in checking.bodies[seen:]][-2:] == [
        "compensation.repriced",
        "compensation.period_closed",
    ]

    # A change that changes nothing announces nothing.
    seen = len(checking.bodies)
    await checking.mutate("evaluateEngagement", {"id": ids["engagement"]}, "engagement { id }")
    assert checking.bodies[seen:] == []

    seen = len(checking.bodies)
    spare = await checking.mutate(
        "createEngagement",
        {"name": "Spare", "clientId": ids["client"], "currency": "EUR"},
        "engagement { id }",
    )
    # A new engagement is announced as created, first, and only once.
    created = [b["type"] for b in checking.bodies[seen:] if b["type"].startswith("engagement.")]
    assert created == ["engagement.created"]
    assert checking.bodies[seen]["data"]["object"]["id"] == spare["engagement"]["id"]
    seen = len(checking.bodies)
    await checking.mutate("deleteEngagement", {"id": spare["engagement"]["id"]}, "deletedId")
    *resolved, gone = checking.bodies[seen:]
    assert resolved and {b["type"] for b in resolved} == {"alert.resolved"}
    assert gone["type"] == "engagement.deleted"
    assert gone["data"]["object"]["id"] == spare["engagement"]["id"]
    assert set(outbox.types) >= STATE_CHANGES


async def test_events_are_owed_to_the_endpoints_subscribed_to_them(client, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    alerts = await create_webhook_endpoint(url="http://127.0.0.1:9/a", event_types=["alert.*"])
    booked = await create_webhook_endpoint(
        url="http://127.0.0.1:9/b", event_types=["compensation.booked"]
    )
    paused = await create_webhook_endpoint(
        url="http://127.0.0.1:9/c", event_types=["alert.*"], active=False
    )
    await _sale(client)
    owed: dict[int, set[str]] = {}
    for delivery in await WebhookDelivery.all().prefetch_related("event"):
        owed.setdefault(delivery.endpoint_id, set()).add(delivery.event.type)
    assert owed[alerts.endpoint.id] == {"alert.opened", "alert.updated", "alert.resolved"}
    assert owed[booked.endpoint.id] == {"compensation.booked"}
    assert paused.endpoint.id not in owed
    every_alert_event = await Event.filter(type__startswith="alert.").count()
    assert await WebhookDelivery.filter(endpoint_id=alerts.endpoint.id).count() == (
        every_alert_event
    )


@pytest.mark.parametrize(
    ("types", "type", "expected"),
    [
        (["alert.*"], "alert.opened", True),
        (["alert.opened"], "alert.opened", True),
        (["alert.opened"], "alert.resolved", False),
        (["compensation.*"], "alert.opened", False),
        (["alert"], "alert.opened", False),
    ],
)
def test_an_endpoint_subscribes_to_exact_types_or_families(types, type, expected):
    assert subscribed(types, type) is expected


async def test_a_rolled_back_change_leaves_no_event_and_no_delivery(client, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    await create_webhook_endpoint(url="http://127.0.0.1:9/a", event_types=["engagement.*"])
    ids = await _sale(client)
    before = (await Event.all().count(), await WebhookDelivery.all().count())
    real_record = events.record

    async def record_then_fail(*args: Any, **kwargs: Any) -> Any:
        written = await real_record(*args, **kwargs)
        if written:
            raise RuntimeError("the database went away after the events were written")
        return written

    monkeypatch.setattr(events, "record", record_then_fail)
    response = await client.execute(
        "mutation($input: UpdateEngagementInput!) { updateEngagement(input: $input) "
        "{ engagement { status } } }",
        {"input": {"id": ids["engagement"], "status": "DELIVERING"}},
    )
    assert response["data"] is None
    assert response["errors"][0]["message"] == "Unexpected error."
    assert (await Event.all().count(), await WebhookDelivery.all().count()) == before
    assert (await Engagement.get()).status.value == "SOLD"


ALERT = "query($id: ID!) { node(id: $id) { ... on Alert { severity message facts status } } }"


async def _bodies(**filters: Any) -> list[dict[str, Any]]:
    return [json.loads(e.body) for e in await Event.filter(**filters).order_by("id")]


async def test_an_alert_that_changes_severity_in_place_is_announced_as_updated(client):
    ids = await seed_engagement(client)  # nobody holds legal, and no PM: CRITICAL
    [alert] = [
        json.loads(e.body)["data"]["object"]
        for e in await Event.filter(type="alert.opened").order_by("id")
        if "Nobody holds LEGAL" in e.body
    ]
    assert alert["severity"] == "CRITICAL"
    role = await client.mutate(
        "createRoleAssignment",
        {
            "engagementId": ids["engagement"],
            "personId": ids["seller"],
            "function": "PROJECT_MANAGEMENT",
            "raci": "ACCOUNTABLE",
        },
        "roleAssignment { id }",
    )
    calmer = (await client.data(ALERT, {"id": alert["id"]}))["node"]
    assert calmer["severity"] == "WARNING"
    seen = await Event.all().count()
    await client.mutate("deleteRoleAssignment", {"id": role["roleAssignment"]["id"]}, "")

    # The PM is gone: the same alert escalates, and says so in one event.
    updates = [b for b in (await _bodies(id__gt=seen)) if b["data"]["object"]["id"] == alert["id"]]
    [update] = updates
    assert update["type"] == "alert.updated"
    now = update["data"]["object"]
    assert now == {**now, "severity": "CRITICAL", "status": "OPEN"}
    shown = (await client.data(ALERT, {"id": alert["id"]}))["node"]
    assert now == {**now, **shown}  # the event reads like GraphQL right after
    # Only what changed, as the API showed it before.
    assert update["data"]["previous_attributes"] == {
        name: value for name, value in calmer.items() if now[name] != value
    }
    assert {"severity", "message"} <= set(update["data"]["previous_attributes"])


async def test_creating_an_engagement_is_announced_as_created(client, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    made = await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/created", "eventTypes": ["engagement.created"]},
        "webhookEndpoint { eventTypes }",
    )
    assert made["userErrors"] == []
    ids = await seed_engagement(client)
    [created] = await _bodies(type__startswith="engagement.")
    assert created["type"] == "engagement.created"
    assert created["data"]["object"]["id"] == ids["engagement"]
    assert created["sequence"] == 1
    [owed] = await WebhookDelivery.all().prefetch_related("event")
    assert owed.event.type == "engagement.created"


async def test_deleting_an_engagement_resolves_its_live_alerts_before_announcing_it(client):
    ids = await seed_engagement(client)
    live = await client.data(
        "query($id: ID!) { alerts(filter: {engagementId: $id, status: [OPEN]}) { nodes { id } } }",
        {"id": ids["engagement"]},
    )
    live_ids = [a["id"] for a in live["alerts"]["nodes"]]
    assert live_ids
    seen = await Event.all().count()
    deleted = await client.mutate("deleteEngagement", {"id": ids["engagement"]}, "deletedId")
    assert deleted["userErrors"] == []
    *resolved, gone = await _bodies(id__gt=seen)
    assert [b["type"] for b in resolved] == ["alert.resolved"] * len(live_ids)
    assert sorted(b["data"]["object"]["id"] for b in resolved) == sorted(live_ids)
    for body in resolved:
        alert = body["data"]["object"]
        assert alert["status"] == "RESOLVED"
        assert alert["resolution"] == "The engagement was deleted."
        assert alert["resolvedAt"] == body["occurred_at"]
    assert gone["type"] == "engagement.deleted"
    # One engagement's events, numbered on from where they were.
    sequences = [b["sequence"] for b in (*resolved, gone)]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    assert sequences[0] == seen + 1  # every event so far was about this engagement


async def test_events_about_no_engagement_have_no_sequence(client, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    made = await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/test", "eventTypes": ["alert.*"]},
        "webhookEndpoint { id }",
    )
    sent = await client.mutate(
        "sendTestEvent", {"endpointId": made["webhookEndpoint"]["id"]}, "delivery { id }"
    )
    assert sent["userErrors"] == []
    [test] = await _bodies()
    assert test["type"] == "webhook.test"
    assert test["sequence"] is None


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for inner in value.values() for leaf in _leaves(inner)]
    if isinstance(value, list):
        return [leaf for inner in value for leaf in _leaves(inner)]
    return [value]


def _speaks_the_api_language(facts: dict[str, Any]) -> None:
    for leaf in _leaves(facts):
        assert not isinstance(leaf, float), leaf  # decimals are strings
        assert not (isinstance(leaf, int) and not isinstance(leaf, bool) and leaf > 1000), leaf
        assert not (isinstance(leaf, str) and re.fullmatch(r"[a-z_]+:\d+", leaf)), leaf


async def test_alert_facts_read_in_global_ids_dates_and_decimals_everywhere(client):
    ids = await seed_engagement(client)
    made = await client.mutate(
        "createPromise",
        {
            "engagementId": ids["engagement"],
            "item": "build",
            "description": "d",
            "quantity": "10",
            "promisedDate": "2026-12-01",
            "madeById": ids["seller"],
        },
        "promise { id } alertsOpened { id facts }",
    )
    opened = made["alertsOpened"]
    assert opened
    for alert in opened:
        _speaks_the_api_language(alert["facts"])
    promise_facts = [a["facts"]["promise"] for a in opened if "promise" in a["facts"]]
    assert promise_facts
    for fact in promise_facts:
        assert fact["id"] == made["promise"]["id"]
        assert fact["madeBy"] == {"id": ids["seller"]}
        assert fact["promisedDay"] == "2026-12-01"
    # The events and the audit trail say the same as GraphQL.
    shown = {a["id"]: a["facts"] for a in opened}
    for body in await _bodies(type="alert.opened"):
        alert = body["data"]["object"]
        _speaks_the_api_language(alert["facts"])
        if alert["id"] in shown:
            assert alert["facts"] == shown[alert["id"]]
    first = opened[0]["id"]
    await client.mutate("acknowledgeAlert", {"id": first, "comment": "seen"}, "")
    trail = await client.data(
        "query($id: ID!) { auditLog(filter: {targetId: $id}) { nodes { before after } } }",
        {"id": first},
    )
    [entry] = trail["auditLog"]["nodes"]
    assert entry["after"]["facts"] == entry["before"]["facts"] == shown[first]
    assert "fingerprint" not in entry["after"]


async def test_signal_idempotency_keys_name_objects_by_global_id(client):
    ids = await _sale(client)
    data = await client.data(
        "query($id: ID!) { engagement(id: $id) { compensationSignals { nodes { "
        "id kind idempotencyKey supersedes } } } }",
        {"id": ids["engagement"]},
    )
    signals = data["engagement"]["compensationSignals"]["nodes"]
    assert signals
    for signal in signals:
        kind, engagement, person, follows = signal["idempotencyKey"].split(":")
        assert (kind, engagement, person) == (signal["kind"], ids["engagement"], ids["seller"])
        assert follows == (signal["supersedes"] or "none")
    sent = {
        b["data"]["object"]["id"]: b["data"]["object"]["idempotencyKey"]
        for b in await _bodies(type__startswith="compensation.")
    }
    assert sent == {s["id"]: s["idempotencyKey"] for s in signals}


async def test_alerts_keep_the_engines_facts_and_stay_matched_to_their_findings(client):
    """Facts are translated when shown, not when stored: an alert written before the
    translation existed reads the same, and evaluating again neither reopens nor updates it."""
    ids = await seed_engagement(client)
    made = await client.mutate(
        "createPromise",
        {
            "engagementId": ids["engagement"],
            "item": "build",
            "description": "d",
            "quantity": "10",
            "madeById": ids["seller"],
        },
        "promise { id } alertsOpened { id facts }",
    )
    stored = next(a for a in await Alert.all().order_by("id") if "promise" in a.facts)
    promise_pk = from_global_id(made["promise"]["id"])[1]
    assert stored.facts["promise"]["id"] == f"promise:{promise_pk}"  # as the engine wrote it
    assert stored.facts["promise"]["made_by_id"] == from_global_id(ids["seller"])[1]
    shown = (await client.data(ALERT, {"id": to_global_id("Alert", stored.id)}))["node"]
    assert shown["facts"]["promise"]["id"] == made["promise"]["id"]
    before = await Alert.all().order_by("id").values_list("id", "status", "fingerprint")
    seen = await Event.all().count()
    evaluated = await client.mutate(
        "evaluateEngagement", {"id": ids["engagement"]}, "alertsOpened { id } alertsResolved { id }"
    )
    assert (evaluated["alertsOpened"], evaluated["alertsResolved"]) == ([], [])
    assert await Alert.all().order_by("id").values_list("id", "status", "fingerprint") == before
    assert await Event.all().count() == seen
