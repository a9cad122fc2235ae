"""Webhook endpoints: where subscribers receive events, and the secrets that sign them.

A secret is ``whsec_`` and the base64 of 32 random bytes (Standard Webhooks), shown once
when made. URLs that resolve to private or loopback addresses are refused unless
FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS allows them, and link-local and cloud metadata
addresses always are (services.webhooks.addresses decides): a subscriber must not be able to point
the service at the network it runs in.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from models import WebhookEndpoint
from services.core import audit, events, presenters
from services.core.errors import FieldError, Invalid, NotFound
from services.core.fields import Context, Flag, Problem, Rule, Text, clean
from services.webhooks.addresses import refusal
from settings import get_settings

EVENT_TYPES = (
    "alert.opened",
    "alert.updated",
    "alert.resolved",
    "alert.acknowledged",
    "alert.waived",
    "compensation.booked",
    "compensation.held",
    "compensation.released",
    "compensation.adjusted",
    "compensation.period_closed",
    "compensation.repriced",
    "engagement.created",
    "engagement.updated",
    "engagement.status_changed",
    "engagement.deal_approved",
    "engagement.deleted",
    "webhook.endpoint_disabled",
    "webhook.test",
)
ROTATION_GRACE = timedelta(hours=24)
"""How long the previous secret keeps signing after a rotation."""


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class EventTypes(Rule):
    """A non-empty list of event types, each exact (``alert.opened``) or a family
    (``alert.*``)."""

    def check(self, value: Any, ctx: Context) -> list[str]:
        names = sorted({str(v) for v in value})
        if not names:
            raise Problem("must name at least one event type, such as 'alert.*'")
        families = {t.split(".")[0] for t in EVENT_TYPES}
        for name in names:
            family, _, rest = name.partition(".")
            if name not in EVENT_TYPES and not (rest == "*" and family in families):
                raise Problem(
                    f"names an unknown event type '{name}': use one of {', '.join(EVENT_TYPES)} "
                    "or a family such as 'alert.*'"
                )
        return names


@dataclass(frozen=True)
class Url(Rule):
    def check(self, value: Any, ctx: Context) -> str:
        url = str(value).strip()
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 2000:
            raise Problem("must be an http(s) URL such as 'https://hooks.example.com/fourway'")
        return url


class Unreachable(Exception):
    """The service may not call a host; the message says why, after the host's name."""


async def callable_addresses(host: str) -> list[str]:
    """The addresses ``host`` resolves to, every one judged callable (services.webhooks.addresses);
    raises Unreachable when the host does not resolve or any answer may not be called
    (the one refused could be the one connected to). Even with private networks allowed,
    as link-local and metadata addresses never are."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Unreachable(f"has a host that does not resolve: {host}") from None
    allow_private_networks = get_settings().webhooks_allow_private_networks
    addresses: list[str] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        why = refusal(address, allow_private_networks=allow_private_networks)
        if why is not None:
            raise Unreachable(f"resolves to {why}")
        if str(address) not in addresses:
            addresses.append(str(address))
    return addresses


async def why_unreachable(url: str) -> str | None:
    """Why the service may not call ``url`` (see callable_addresses), or None when it may.

    Checked when an endpoint is saved, and again before each send: DNS can change. The
    dispatcher's connections then go only to the addresses judged when they are made.
    """
    try:
        await callable_addresses(urlsplit(url).hostname or "")
    except Unreachable as unreachable:
        return str(unreachable)
    return None


async def _refuse_private(url: str) -> None:
    reason = await why_unreachable(url)
    if reason is not None:
        raise Invalid([FieldError("url", reason)])


SPEC = {
    "url": Url(),
    "event_types": EventTypes(),
    "description": Text(nullable=True),
    "active": Flag(),
}


@dataclass(frozen=True)
class WithSecret:
    """An endpoint and its secret, which is shown this once."""

    endpoint: WebhookEndpoint
    secret: str


async def create_webhook_endpoint(
    *, url: str, event_types: list[str], **optional: Any
) -> WithSecret:
    """Subscribe a URL to event types; the answer carries the signing secret, once."""
    values = await clean(
        SPEC,
        {"url": url, "event_types": event_types, **optional},
        required=frozenset({"url", "event_types"}),
    )
    await _refuse_private(values["url"])
    secret = new_secret()
    async with in_transaction():
        endpoint = await WebhookEndpoint.create(secret=secret, **values)
        await audit.created(endpoint)
    return WithSecret(endpoint, secret)


async def update_webhook_endpoint(*, id: int, **changes: Any) -> WebhookEndpoint:
    """Change an endpoint; re-activating it clears why it was disabled."""
    values = await clean(SPEC, changes)
    if "url" in values:
        await _refuse_private(values["url"])
    async with in_transaction():
        endpoint = await WebhookEndpoint.select_for_update().get_or_none(id=id)
        if endpoint is None:
            raise NotFound("id", "No webhook endpoint with this id.")
        if values.get("active"):
            values["disabled_reason"] = None
        before = audit.snapshot(endpoint)
        if values:
            endpoint.update_from_dict(values)
            await endpoint.save(update_fields=[*values, "updated_at"])
        await audit.updated(endpoint, before=before)
        return endpoint


async def delete_webhook_endpoint(*, id: int) -> WebhookEndpoint:
    async with in_transaction():
        endpoint = await WebhookEndpoint.select_for_update().get_or_none(id=id)
        if endpoint is None:
            raise NotFound("id", "No webhook endpoint with this id.")
        await endpoint.delete()
        await audit.deleted(endpoint)
    return endpoint


async def rotate_webhook_secret(*, id: int) -> WithSecret:
    """A new secret; the previous one keeps signing for a day, so receivers can switch."""
    async with in_transaction():
        endpoint = await WebhookEndpoint.select_for_update().get_or_none(id=id)
        if endpoint is None:
            raise NotFound("id", "No webhook endpoint with this id.")
        secret = new_secret()
        before = audit.snapshot(endpoint)
        endpoint.update_from_dict(
            {
                "previous_secret": endpoint.secret,
                "previous_secret_expires_at": datetime.now(UTC) + ROTATION_GRACE,
                "secret": secret,
            }
        )
        await endpoint.save(
            update_fields=["previous_secret", "previous_secret_expires_at", "secret", "updated_at"]
        )
        await audit.updated(endpoint, before=before, verb="secret_rotated")
        return WithSecret(endpoint, secret)


async def disable_webhook_endpoint(*, id: int, reason: str) -> WebhookEndpoint | None:
    """Stop sending to an endpoint and say why, announcing ``webhook.endpoint_disabled`` to
    the other subscribers. Its pending deliveries wait: re-activating it sends them.

    Returns None when the endpoint is gone or already inactive (another dispatcher was first).
    """
    async with in_transaction():
        endpoint = await WebhookEndpoint.select_for_update().get_or_none(id=id)
        if endpoint is None or not endpoint.active:
            return None
        before = audit.snapshot(endpoint)
        endpoint.update_from_dict({"active": False, "disabled_reason": reason})
        await endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
        await events.record(
            [
                events.Occurrence(
                    "webhook.endpoint_disabled",
                    presenters.event_object(endpoint),
                    previous_attributes={"active": True},
                )
            ],
            at=endpoint.updated_at,
        )
        await audit.updated(endpoint, before=before, verb="disabled")
        return endpoint
