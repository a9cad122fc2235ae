"""The outbox called directly: what an event's body says, how one engagement's events are
numbered, who is owed each, and that a change rolled back leaves none."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from models import Alert, Event, WebhookDelivery
from services.alerts.alerts import acknowledge_alert
from services.core import events, presenters
from services.engagements.engagements import create_engagement
from services.engagements.promises import create_promise
from services.webhooks.endpoints import create_webhook_endpoint, update_webhook_endpoint
from tests.services.scenarios import Scene, scene

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
URL = "http://127.0.0.1:9/hook"


def _occurrence(engagement_id: int | None, type: str = "engagement.updated") -> events.Occurrence:
    return events.Occurrence(type, {"__typename": "Test", "n": 1}, engagement_id)


async def scene_engagement(s: Scene) -> int:
    """A second engagement for the scene's client."""
    made = await create_engagement(name="CRM", client_id=s.client, currency="EUR")
    return made.record.id


def test_an_endpoint_takes_its_exact_types_and_families():
    assert events.subscribed(["alert.opened"], "alert.opened")
    assert events.subscribed(["alert.*"], "alert.resolved")
    assert not events.subscribed(["alert.opened"], "alert.resolved")
    assert not events.subscribed(["alert.*"], "engagement.updated")
    assert not events.subscribed(["*"], "alert.opened")


def test_a_body_is_the_compact_envelope_subscribers_verify():
    written = events.body("evt_1", "alert.opened", AT, 4, {"object": {"amount": "1.50"}})

    assert written == (
        '{"id":"evt_1","type":"alert.opened","occurred_at":"2026-11-26T09:30:00+00:00",'
        '"sequence":4,"data":{"object":{"amount":"1.50"}}}'
    )
    assert events.new_event_id().startswith("evt_") and len(events.new_event_id()) == 36


async def test_one_engagements_events_are_numbered_without_gaps(database_url):
    s = await scene()
    other = await scene_engagement(s)
    start = await Event.filter(engagement_id=s.engagement).count()

    await events.record([_occurrence(s.engagement), _occurrence(other)], at=AT)
    await events.record([_occurrence(s.engagement), _occurrence(None, "webhook.test")], at=AT)

    mine = await Event.filter(engagement_id=s.engagement).order_by("id")
    assert [e.sequence for e in mine] == list(range(1, start + 3))
    theirs = await Event.filter(engagement_id=other).order_by("id")
    assert [e.sequence for e in theirs][-1] == len(theirs)
    loose = await Event.get(type="webhook.test")
    assert loose.sequence is None
    envelope = json.loads(mine[-1].body)
    assert (envelope["id"], envelope["type"], envelope["sequence"]) == (
        mine[-1].uid,
        "engagement.updated",
        start + 2,
    )
    assert envelope["occurred_at"] == "2026-11-26T09:30:00+00:00"
    assert "previous_attributes" not in envelope["data"]


async def test_an_event_is_owed_to_every_active_endpoint_subscribed_to_it(database_url, loopback):
    s = await scene()
    alerts = await create_webhook_endpoint(url=URL, event_types=["alert.*"])
    updates = await create_webhook_endpoint(url=URL, event_types=["engagement.updated"])
    paused = await create_webhook_endpoint(url=URL, event_types=["engagement.*"])
    await update_webhook_endpoint(id=paused.endpoint.id, active=False)

    [(event, owed)] = await events.record([_occurrence(s.engagement)], at=AT)

    assert [d.endpoint_id for d in owed] == [updates.endpoint.id]
    stored = await WebhookDelivery.filter(event_id=event.id).values_list("endpoint_id", flat=True)
    assert stored == [updates.endpoint.id]
    assert alerts.endpoint.id not in stored


async def test_a_test_event_goes_to_the_one_endpoint_named(database_url, loopback):
    alerts = await create_webhook_endpoint(url=URL, event_types=["alert.*"])
    await create_webhook_endpoint(url=URL, event_types=["webhook.*"])

    [(event, owed)] = await events.record(
        [_occurrence(None, events.TEST_EVENT)], at=AT, only=alerts.endpoint
    )

    assert [d.endpoint_id for d in owed] == [alerts.endpoint.id]
    assert await WebhookDelivery.filter(event_id=event.id).count() == 1


async def test_a_rolled_back_change_leaves_neither_event_nor_delivery(database_url, loopback):
    s = await scene()
    await create_webhook_endpoint(url=URL, event_types=["engagement.*"])
    before = await Event.all().count()

    with pytest.raises(RuntimeError, match="rolled back"):
        async with in_transaction():
            await events.record([_occurrence(s.engagement)], at=AT)
            assert await Event.all().count() == before + 1
            raise RuntimeError("rolled back")

    assert await Event.all().count() == before
    assert not await WebhookDelivery.all().exists()


async def test_an_alert_update_names_only_what_changed(database_url):
    s = await scene()
    await create_promise(
        engagement_id=s.engagement,
        item="build",
        description="Promised",
        quantity=Decimal(1),
        made_by_id=s.seller,
    )
    alert = await Alert.get(rule_id="overselling")
    before = presenters.event_object(alert)
    assert events.alert_update(alert, before=before) is None

    await acknowledge_alert(id=alert.id, comment="Looking")
    changed = events.alert_update(await Alert.get(id=alert.id), before=before)

    assert changed is not None
    assert changed.type == "alert.updated"
    assert changed.previous_attributes == {
        "status": "OPEN",
        "acknowledgedAt": None,
        "comment": None,
    }
    assert changed.object["status"] == "ACKNOWLEDGED"
    assert changed.engagement_id == s.engagement
