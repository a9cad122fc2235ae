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


# URL, whether it is accepted by default, whether it is accepted with private networks allowed
URLS = [
    ("https://8.8.8.8/h", True, True),
    ("https://[2606:4700:4700::1111]/h", True, True),
    ("https://[::ffff:8.8.8.8]/h", True, True),
    ("https://[64:ff9b::8.8.8.8]/h", True, True),
    ("https://[2002:808:808::1]/h", True, True),
    ("http://127.0.0.1:8080/h", False, True),
    ("http://localhost/h", False, True),  # by its DNS answers
    ("http://2130706433/h", False, True),  # 127.0.0.1 written as one number
    ("http://[::127.0.0.1]/h", False, True),
    ("http://[::ffff:127.0.0.1]/h", False, True),
    ("http://[::ffff:0:127.0.0.1]/h", False, True),
    ("http://[64:ff9b::7f00:1]/h", False, True),
    ("http://[2002:7f00:1::]/h", False, True),
    ("http://[2002:a01:203::1]/h", False, True),
    ("http://[64:ff9b:1::a00:1]/h", False, True),
    ("http://169.254.169.254/latest/meta-data/", False, False),
    ("http://0xa9fea9fe/latest/meta-data/", False, False),  # 169.254.169.254 in hex
    ("http://[fe80::1]/h", False, False),
    ("http://[fd00:ec2::254]/latest/meta-data/", False, False),
    ("http://100.100.100.200/latest/meta-data/", False, False),
    ("http://[::169.254.169.254]/latest/meta-data/", False, False),
    ("http://[::ffff:169.254.169.254]/latest/meta-data/", False, False),
    ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", False, False),
    ("http://[64:ff9b:1::a9fe:a9fe]/latest/meta-data/", False, False),
    ("http://[2002:a9fe:a9fe::]/latest/meta-data/", False, False),
]


@pytest.mark.parametrize("allow_private_networks", [False, True])
@pytest.mark.parametrize(("url", "by_default", "when_private_allowed"), URLS)
async def test_an_endpoint_url_is_judged_by_every_address_it_stands_for(
    client, monkeypatch, allow_private_networks, url, by_default, when_private_allowed
):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", allow_private_networks)
    accepted = when_private_allowed if allow_private_networks else by_default
    created = await client.mutate(
        "createWebhookEndpoint", {"url": url, "eventTypes": ["alert.*"]}, CREATE
    )
    if accepted:
        assert created["userErrors"] == []
        assert created["webhookEndpoint"]["url"] == url
        return
    assert created["webhookEndpoint"] is None and created["secret"] is None
    [error] = created["userErrors"]
    assert (error["field"], error["code"]) == (["input", "url"], "VALIDATION")
    assert error["message"].startswith("url resolves to ")
    # The setting is offered only where it would help.
    assert ("FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS" in error["message"]) is when_private_allowed
    assert not await WebhookEndpoint.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://[::169.254.169.254]/latest/meta-data/",
        "http://[2002:a9fe:a9fe::]/latest/meta-data/",
        "http://[fe80::1]/h",
    ],
)
async def test_an_endpoint_cannot_be_moved_to_metadata_even_with_private_networks_allowed(
    client, loopback_allowed, url
):
    created = await client.mutate(
        "createWebhookEndpoint", {"url": "http://127.0.0.1:9/h", "eventTypes": ["alert.*"]}, CREATE
    )
    endpoint_id = created["webhookEndpoint"]["id"]
    moved = await client.mutate(
        "updateWebhookEndpoint", {"id": endpoint_id, "url": url}, "webhookEndpoint { url }"
    )
    assert moved["webhookEndpoint"] is None
    [error] = moved["userErrors"]
    assert error["field"] == ["input", "url"] and "never called" in error["message"]
    assert (await WebhookEndpoint.get()).url == "http://127.0.0.1:9/h"
