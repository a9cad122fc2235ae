"""Webhook endpoints: subscribed, changed, rotated and refused through GraphQL."""

import base64

import pytest

from models import WebhookEndpoint
from settings import get_settings

CREATE = "webhookEndpoint { id url eventTypes active description } secret"


@pytest.fixture
def loopback_allowed(monkeypatch):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)


async def test_an_endpoint_gets_a_standard_webhooks_secret_shown_once(client, loopback_allowed):
    created = await client.mutate(
        "createWebhookEndpoint",
        {
            "url": "http://127.0.0.1:9/hooks",
            "eventTypes": ["alert.*", "compensation.booked"],
            "description": "Ops channel",
        },
        CREATE,
    )
    assert created["userErrors"] == []
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    assert created["webhookEndpoint"]["eventTypes"] == ["alert.*", "compensation.booked"]
    assert created["webhookEndpoint"]["active"] is True
    listed = await client.data("{ webhookEndpoints { id url } }")
    assert listed["webhookEndpoints"] == [
        {"id": created["webhookEndpoint"]["id"], "url": "http://127.0.0.1:9/hooks"}
    ]
    assert "secret" not in str(
        await client.data('{ __type(name: "WebhookEndpoint") { fields { name } } }')
    )
    stored = await WebhookEndpoint.get()
    assert stored.secret == secret


async def test_rotating_keeps_the_previous_secret_signing_for_a_while(client, loopback_allowed):
    created = await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/h", "eventTypes": ["alert.*"]},
        CREATE,
    )
    rotated = await client.mutate(
        "rotateWebhookSecret", {"id": created["webhookEndpoint"]["id"]}, "secret"
    )
    assert rotated["userErrors"] == []
    assert rotated["secret"] != created["secret"]
    stored = await WebhookEndpoint.get()
    assert (stored.secret, stored.previous_secret) == (rotated["secret"], created["secret"])
    assert stored.previous_secret_expires_at is not None


async def test_a_url_on_a_private_network_is_refused_unless_allowed(client):
    for url in (
        "http://127.0.0.1:8080/h",
        "http://localhost/h",
        "http://10.1.2.3/h",
        "http://169.254.169.254/latest",
        "http://[::1]/h",
    ):
        refused = await client.mutate(
            "createWebhookEndpoint", {"url": url, "eventTypes": ["alert.*"]}, CREATE
        )
        assert refused["webhookEndpoint"] is None and refused["secret"] is None
        assert refused["userErrors"][0]["field"] == ["input", "url"]
        assert "FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS" in refused["userErrors"][0]["message"]
    assert not await WebhookEndpoint.exists()


async def test_updating_an_endpoint_and_deleting_it(client, loopback_allowed):
    created = await client.mutate(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/h", "eventTypes": ["alert.*"]},
        CREATE,
    )
    endpoint_id = created["webhookEndpoint"]["id"]
    changed = await client.mutate(
        "updateWebhookEndpoint",
        {"id": endpoint_id, "active": False, "eventTypes": ["webhook.test"]},
        "webhookEndpoint { active eventTypes url }",
    )
    assert changed["webhookEndpoint"] == {
        "active": False,
        "eventTypes": ["webhook.test"],
        "url": "http://127.0.0.1:9/h",
    }
    deleted = await client.mutate("deleteWebhookEndpoint", {"id": endpoint_id}, "deletedId")
    assert deleted["deletedId"] == endpoint_id
    assert not await WebhookEndpoint.exists()
