"""What people do with deliveries: send one again, or send a test event to an endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from models import WebhookDelivery, WebhookEndpoint
from services.core import audit, events, presenters
from services.core.errors import Conflict, NotFound


def _refuse_inactive(endpoint: WebhookEndpoint, field: str) -> None:
    if not endpoint.active:
        reason = f" ({endpoint.disabled_reason})" if endpoint.disabled_reason else ""
        raise Conflict(
            field,
            f"The endpoint is inactive{reason}: activate it with updateWebhookEndpoint first.",
        )


async def redeliver(*, delivery_id: int) -> WebhookDelivery:
    """Send a delivery's event to its endpoint again, now, as a new delivery with the
    same ``webhook-id``; the original keeps its history."""
    async with in_transaction():
        original = await WebhookDelivery.get_or_none(id=delivery_id).prefetch_related("endpoint")
        if original is None:
            raise NotFound("delivery_id", "No webhook delivery with this id.")
        _refuse_inactive(original.endpoint, "delivery_id")
        delivery = await WebhookDelivery.create(
            event_id=original.event_id,
            endpoint_id=original.endpoint_id,
            next_attempt_at=datetime.now(UTC),
            redelivery=True,
        )
        await audit.record(
            "webhook_delivery.redelivered", delivery, before=None, after=audit.snapshot(delivery)
        )
        return delivery


async def send_test_event(*, endpoint_id: int) -> WebhookDelivery:
    """Send a ``webhook.test`` event to one endpoint, whatever it subscribes to."""
    async with in_transaction():
        endpoint = await WebhookEndpoint.get_or_none(id=endpoint_id)
        if endpoint is None:
            raise NotFound("endpoint_id", "No webhook endpoint with this id.")
        _refuse_inactive(endpoint, "endpoint_id")
        [(_, [delivery])] = await events.record(
            [events.Occurrence(events.TEST_EVENT, presenters.event_object(endpoint))],
            at=datetime.now(UTC),
            only=endpoint,
        )
        await audit.record(
            "webhook_endpoint.test_event_sent",
            endpoint,
            before=None,
            after={"delivery": {"id": presenters.global_id(delivery)}},
        )
        return delivery
