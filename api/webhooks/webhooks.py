"""Webhooks: endpoints (subscribe, change, rotate the secret, unsubscribe), and the
deliveries of events to them with every attempt (list, redeliver, send a test event)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.core.context import Info
from api.core.enums import DeliveryStatus
from api.core.errors import UserError
from api.core.inputs import check_filter
from api.core.mutations import mutation, mutation_type, payload_type, update_input
from api.core.presented import FromRow
from api.core.relay import (
    Connection,
    Node,
    WebhookDeliveryId,
    WebhookEndpointId,
    filter_id,
    page_of_query,
    window,
)
from models import DeliveryAttempt as DeliveryAttemptModel
from models import Event as EventModel
from models import WebhookDelivery as WebhookDeliveryModel
from models import WebhookEndpoint as WebhookEndpointModel
from services.webhooks import deliveries as webhook_deliveries
from services.webhooks import endpoints as service


@strawberry.type(
    description="Where a subscriber receives signed events. Its secret is never shown "
    "again after creation or rotation."
)
class WebhookEndpoint(Node):
    model = WebhookEndpointModel  # the rows node(id:) loads (api.core.relay.Node)
    url: str
    event_types: list[str] = strawberry.field(
        description="Exact types ('alert.opened') or families ('alert.*')."
    )
    active: bool
    description: str | None
    disabled_reason: str | None = strawberry.field(
        description="Why deliveries stopped, when the service disabled it."
    )
    created_at: dt.datetime

    from_model = FromRow(WebhookEndpointModel)


@strawberry.type(description="One POST of a delivery and what came of it.")
class DeliveryAttempt:
    at: dt.datetime
    status_code: int | None = strawberry.field(description="Null when no answer came.")
    duration_ms: int
    response_excerpt: str | None = strawberry.field(
        description="The first kilobyte of the receiver's answer."
    )
    error: str | None = strawberry.field(description="Why it failed; null when delivered.")
    retry_at: dt.datetime | None = strawberry.field(
        description="When the next attempt was scheduled, if this one failed and retries remain."
    )

    from_model = FromRow(DeliveryAttemptModel)


@strawberry.type(
    description="An event owed to an endpoint: retried with backoff for about three days "
    "until the receiver answers 2xx. Every attempt is kept."
)
class WebhookDelivery(Node):
    model = WebhookDeliveryModel  # the rows node(id:) loads (api.core.relay.Node)
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: dt.datetime | None = strawberry.field(
        description="When the next attempt is due; null once delivered or failed."
    )
    delivered_at: dt.datetime | None
    redelivery: bool = strawberry.field(description="Whether someone asked to send it again.")
    created_at: dt.datetime
    event_pk: strawberry.Private[int]
    endpoint_pk: strawberry.Private[int]
    pk: strawberry.Private[int]

    async def _event(self, info: Info) -> EventModel:
        event = await info.context.loaders.event.load(self.event_pk)
        assert event is not None  # the foreign key guarantees it
        return event

    @strawberry.field(description="The event's id: the webhook-id header, the same on retries.")
    async def event_id(self, info: Info) -> str:
        return (await self._event(info)).uid

    @strawberry.field
    async def event_type(self, info: Info) -> str:
        return (await self._event(info)).type

    @strawberry.field
    async def occurred_at(self, info: Info) -> dt.datetime:
        occurred: dt.datetime = (await self._event(info)).occurred_at
        return occurred

    @strawberry.field(description="The body sent: {id, type, occurred_at, data}.")
    async def payload(self, info: Info) -> JSON:
        return JSON(json.loads((await self._event(info)).body))

    @strawberry.field
    async def endpoint(self, info: Info) -> WebhookEndpoint:
        row = await info.context.loaders.webhook_endpoint.load(self.endpoint_pk)
        assert row is not None  # the foreign key guarantees it
        return WebhookEndpoint.from_model(row)

    @strawberry.field(description="Every attempt, oldest first.")
    async def attempts(self, info: Info) -> list[DeliveryAttempt]:
        rows = await info.context.loaders.attempts_of.load(self.pk)
        return [DeliveryAttempt.from_model(r) for r in rows]

    from_model = FromRow(WebhookDeliveryModel)


@strawberry.input(description="Which deliveries to list; every given condition must hold.")
class WebhookDeliveryFilter:
    endpoint_id: strawberry.ID | None = None
    event_id: str | None = strawberry.field(
        default=None, description="An event's id (evt_...), as in the webhook-id header."
    )
    event_type: list[str] | None = None
    status: list[DeliveryStatus] | None = None


def _deliveries(f: WebhookDeliveryFilter | None) -> Any:
    query = WebhookDeliveryModel.all()
    check_filter(f)
    if f is None:
        return query
    if f.endpoint_id is not None:
        query = query.filter(endpoint_id=filter_id(f.endpoint_id, "WebhookEndpoint", "endpointId"))
    if f.event_id is not None:
        query = query.filter(event__uid=f.event_id)
    if f.event_type:
        query = query.filter(event__type__in=f.event_type)
    if f.status:
        query = query.filter(status__in=[s.value for s in f.status])
    return query


@strawberry.input(description="The delivery to send again.")
class RedeliverInput:
    delivery_id: WebhookDeliveryId


@strawberry.input(description="The endpoint to send a webhook.test event to.")
class SendTestEventInput:
    endpoint_id: WebhookEndpointId


@strawberry.input(description="A URL to send events to, and which events.")
class CreateWebhookEndpointInput:
    url: str
    event_types: list[str]
    description: str | None = strawberry.UNSET
    active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="true when left out."
    )


@strawberry.input(description="The endpoint whose secret to replace.")
class RotateWebhookSecretInput:
    id: WebhookEndpointId


@strawberry.input(description="The endpoint to delete.")
class DeleteWebhookEndpointInput:
    id: WebhookEndpointId


@strawberry.type
class CreateWebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret (whsec_...): shown this once."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RotateWebhookSecretPayload:
    webhook_endpoint: WebhookEndpoint | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The new secret, shown this once; the previous one signs for a day more.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Every webhook endpoint, in order of creation.")
    async def webhook_endpoints(self) -> list[WebhookEndpoint]:
        rows = await WebhookEndpointModel.all().order_by("id")
        return [WebhookEndpoint.from_model(r) for r in rows]

    @strawberry.field(
        description="Deliveries, oldest first (`last` for the newest), with their attempts."
    )
    async def webhook_deliveries(
        self,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: WebhookDeliveryFilter | None = None,
    ) -> Connection[WebhookDelivery]:
        return await page_of_query(
            _deliveries(filter), window(first, after, last, before), WebhookDelivery.from_model
        )


async def _endpoint_and_secret(made: service.WithSecret) -> dict[str, Any]:
    """What a call that made a secret answers: the endpoint, and the secret this once."""
    return {"webhook_endpoint": WebhookEndpoint.from_model(made.endpoint), "secret": made.secret}


WebhookMutation = mutation_type(
    "WebhookMutation",
    {
        "create_webhook_endpoint": mutation(
            input_type=CreateWebhookEndpointInput,
            payload=CreateWebhookEndpointPayload,
            service=service.create_webhook_endpoint,
            answer=_endpoint_and_secret,
            description="Subscribe a URL to events; the payload shows its secret once.",
        ),
        "rotate_webhook_secret": mutation(
            input_type=RotateWebhookSecretInput,
            payload=RotateWebhookSecretPayload,
            service=service.rotate_webhook_secret,
            answer=_endpoint_and_secret,
            description="Replace an endpoint's secret; the payload shows it once.",
        ),
        "update_webhook_endpoint": mutation(
            input_type=update_input(
                "UpdateWebhookEndpoint",
                CreateWebhookEndpointInput,
                id_of="WebhookEndpoint",
                description="Changes to a webhook endpoint.",
            ),
            payload=payload_type("UpdateWebhookEndpoint", "webhook_endpoint", WebhookEndpoint),
            field="webhook_endpoint",
            service=service.update_webhook_endpoint,
            build=WebhookEndpoint.from_model,
            description="Change a webhook endpoint; activating it clears why it was disabled.",
        ),
        "delete_webhook_endpoint": mutation(
            input_type=DeleteWebhookEndpointInput,
            payload=payload_type(
                "DeleteWebhookEndpoint", "webhook_endpoint", WebhookEndpoint, deleted=True
            ),
            field="webhook_endpoint",
            service=service.delete_webhook_endpoint,
            build=WebhookEndpoint.from_model,
            deleted=True,
            description="Unsubscribe: delete a webhook endpoint and its deliveries.",
        ),
        "redeliver": mutation(
            input_type=RedeliverInput,
            payload=payload_type("Redeliver", "delivery", WebhookDelivery),
            field="delivery",
            service=webhook_deliveries.redeliver,
            build=WebhookDelivery.from_model,
            description="Send a delivery's event to its endpoint again, now, as a new delivery "
            "with the same webhook-id.",
        ),
        "send_test_event": mutation(
            input_type=SendTestEventInput,
            payload=payload_type("SendTestEvent", "delivery", WebhookDelivery),
            field="delivery",
            service=webhook_deliveries.send_test_event,
            build=WebhookDelivery.from_model,
            description="Send a webhook.test event to an endpoint, whatever it subscribes to.",
        ),
    },
)
