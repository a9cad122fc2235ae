"""Webhook endpoints called directly: subscribing, the secret shown once and rotated, where
the service refuses to send, and disabling an endpoint as an event of its own."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from models import AuditEntry, Event, WebhookEndpoint
from services.core.errors import ErrorCode, FieldError, Invalid, NotFound
from services.webhooks.endpoints import (
    ROTATION_GRACE,
    create_webhook_endpoint,
    delete_webhook_endpoint,
    disable_webhook_endpoint,
    rotate_webhook_secret,
    update_webhook_endpoint,
    why_unreachable,
)
from tests.support import dump_database

URL = "http://127.0.0.1:9/hook"


async def test_a_new_endpoint_gets_a_standard_secret_that_the_trail_never_shows(
    database_url, loopback
):
    made = await create_webhook_endpoint(
        url=f"  {URL} ", event_types=["alert.opened", "alert.*", "alert.opened"]
    )

    assert made.secret.startswith("whsec_")
    assert len(base64.b64decode(made.secret.removeprefix("whsec_"))) == 32
    stored = await WebhookEndpoint.get(id=made.endpoint.id)
    assert (stored.url, stored.event_types, stored.active) == (
        URL,
        ["alert.*", "alert.opened"],
        True,
    )
    assert stored.secret == made.secret
    entry = await AuditEntry.get(action="webhook_endpoint.created")
    assert entry.after is not None
    assert made.secret not in json.dumps(entry.after)
    assert "secret" not in entry.after and "previousSecret" not in entry.after


async def test_an_endpoint_names_its_bad_url_and_event_types(database_url, loopback):
    with pytest.raises(Invalid) as refused:
        await create_webhook_endpoint(url="ftp://example.com/x", event_types=["alerts.opened"])
    with pytest.raises(Invalid) as empty:
        await create_webhook_endpoint(url=URL, event_types=[])

    problems = {e.field: e.message for e in refused.value.errors}
    assert problems["url"] == "must be an http(s) URL such as 'https://hooks.example.com/fourway'"
    assert problems["event_types"].startswith("names an unknown event type 'alerts.opened'")
    assert empty.value.errors == (
        FieldError("event_types", "must name at least one event type, such as 'alert.*'"),
    )
    assert not await WebhookEndpoint.all().exists()


async def test_private_addresses_are_refused_unless_allowed_and_metadata_always(database_url):
    before = await dump_database()

    with pytest.raises(Invalid) as private:
        await create_webhook_endpoint(url="http://10.1.2.3/hook", event_types=["alert.*"])

    [error] = private.value.errors
    assert error.field == "url" and error.message.startswith("resolves to")
    assert await why_unreachable(URL) is not None
    assert await dump_database() == before


async def test_metadata_addresses_are_refused_even_where_private_ones_are_allowed(
    database_url, loopback
):
    assert await why_unreachable(URL) is None
    with pytest.raises(Invalid) as refused:
        await create_webhook_endpoint(url="http://169.254.169.254/latest", event_types=["alert.*"])

    assert refused.value.errors[0].field == "url"
    assert not await WebhookEndpoint.all().exists()


async def test_rotating_keeps_the_previous_secret_for_a_day(database_url, loopback):
    made = await create_webhook_endpoint(url=URL, event_types=["alert.*"])
    before = datetime.now(UTC)

    rotated = await rotate_webhook_secret(id=made.endpoint.id)

    stored = await WebhookEndpoint.get(id=made.endpoint.id)
    assert rotated.secret != made.secret and rotated.secret.startswith("whsec_")
    assert (stored.secret, stored.previous_secret) == (rotated.secret, made.secret)
    assert stored.previous_secret_expires_at is not None
    assert stored.previous_secret_expires_at >= before + ROTATION_GRACE
    assert stored.previous_secret_expires_at <= datetime.now(UTC) + ROTATION_GRACE
    entry = await AuditEntry.get(action="webhook_endpoint.secret_rotated")
    assert entry.changed_fields == ["previousSecretExpiresAt"]


async def test_disabling_says_why_announces_it_and_reactivating_clears_it(database_url, loopback):
    made = await create_webhook_endpoint(url=URL, event_types=["alert.*"])
    listener = await create_webhook_endpoint(url=URL, event_types=["webhook.*"])

    disabled = await disable_webhook_endpoint(id=made.endpoint.id, reason="410 Gone")
    again = await disable_webhook_endpoint(id=made.endpoint.id, reason="410 Gone")

    assert disabled is not None and (disabled.active, disabled.disabled_reason) == (
        False,
        "410 Gone",
    )
    assert again is None  # already inactive: another dispatcher was first
    [event] = await Event.filter(type="webhook.endpoint_disabled")
    body = json.loads(event.body)["data"]
    assert body["object"]["disabledReason"] == "410 Gone"
    assert body["previous_attributes"] == {"active": True}
    assert [d.endpoint_id for d in await event.deliveries.all()] == [listener.endpoint.id]

    back = await update_webhook_endpoint(id=made.endpoint.id, active=True)
    assert (back.active, back.disabled_reason) == (True, None)


async def test_a_missing_endpoint_is_not_found_for_every_change(database_url, loopback):
    for change in (
        update_webhook_endpoint(id=99999, description="x"),
        rotate_webhook_secret(id=99999),
        delete_webhook_endpoint(id=99999),
    ):
        with pytest.raises(NotFound) as refused:
            await change
        assert refused.value.errors == (
            FieldError("id", "No webhook endpoint with this id.", ErrorCode.NOT_FOUND),
        )
    assert await disable_webhook_endpoint(id=99999, reason="gone") is None


async def test_deleting_an_endpoint_is_audited(database_url, loopback):
    made = await create_webhook_endpoint(url=URL, event_types=["alert.*"], description="Ops")

    await delete_webhook_endpoint(id=made.endpoint.id)

    assert not await WebhookEndpoint.all().exists()
    entry = await AuditEntry.get(action="webhook_endpoint.deleted")
    assert entry.before is not None and entry.before["description"] == "Ops"
    assert entry.after is None
    assert entry.target_id == made.endpoint.id
