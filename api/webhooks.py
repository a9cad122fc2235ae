"""Webhook endpoints: subscribe, change, rotate the secret, unsubscribe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable

import strawberry

from api.errors import UserError, user_errors
from api.inputs import to_values
from api.mutations import mutation, mutation_type, payload_type, update_input
from api.relay import Node, to_global_id
from models import WebhookEndpoint as WebhookEndpointModel
from services import webhook_endpoints as service
from services.errors import DomainError


@strawberry.type(
    description="Where a subscriber receives signed events. Its secret is never shown "
    "again after creation or rotation."
)
class WebhookEndpoint(Node):
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

    @classmethod
    def from_model(cls, row: WebhookEndpointModel) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(to_global_id("WebhookEndpoint", row.pk)),
            url=row.url,
            event_types=list(row.event_types),
            active=row.active,
            description=row.description,
            disabled_reason=row.disabled_reason,
            created_at=row.created_at,
        )


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
    id: strawberry.ID


@strawberry.input(description="The endpoint to delete.")
class DeleteWebhookEndpointInput:
    id: strawberry.ID


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


async def _with_secret(
    call: Awaitable[service.WithSecret],
) -> tuple[WebhookEndpoint | None, str | None, list[UserError]]:
    """What a call that made a secret answers: the endpoint, and the secret this once."""
    try:
        result = await call
    except DomainError as error:
        return None, None, user_errors(error)
    return WebhookEndpoint.from_model(result.endpoint), result.secret, []


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Every webhook endpoint, in order of creation.")
    async def webhook_endpoints(self) -> list[WebhookEndpoint]:
        rows = await WebhookEndpointModel.all().order_by("id")
        return [WebhookEndpoint.from_model(r) for r in rows]


@strawberry.type
class SecretMutation:
    @strawberry.mutation(
        description="Subscribe a URL to events; the payload shows its secret once."
    )
    async def create_webhook_endpoint(
        self, input: CreateWebhookEndpointInput
    ) -> CreateWebhookEndpointPayload:
        try:
            values = to_values(input)
        except DomainError as error:
            return CreateWebhookEndpointPayload(user_errors=user_errors(error))
        endpoint, secret, errors = await _with_secret(service.create_webhook_endpoint(**values))
        return CreateWebhookEndpointPayload(
            webhook_endpoint=endpoint, secret=secret, user_errors=errors
        )

    @strawberry.mutation(description="Replace an endpoint's secret; the payload shows it once.")
    async def rotate_webhook_secret(
        self, input: RotateWebhookSecretInput
    ) -> RotateWebhookSecretPayload:
        try:
            values = to_values(input, id_type="WebhookEndpoint")
        except DomainError as error:
            return RotateWebhookSecretPayload(user_errors=user_errors(error))
        endpoint, secret, errors = await _with_secret(service.rotate_webhook_secret(**values))
        return RotateWebhookSecretPayload(
            webhook_endpoint=endpoint, secret=secret, user_errors=errors
        )


WebhookMutation = mutation_type(
    "WebhookMutation",
    {
        "update_webhook_endpoint": mutation(
            input_type=update_input(
                "UpdateWebhookEndpoint",
                CreateWebhookEndpointInput,
                description="Changes to a webhook endpoint.",
            ),
            payload=payload_type("UpdateWebhookEndpoint", "webhook_endpoint", WebhookEndpoint),
            field="webhook_endpoint",
            service=service.update_webhook_endpoint,
            build=WebhookEndpoint.from_model,
            id_type="WebhookEndpoint",
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
            id_type="WebhookEndpoint",
            deleted=True,
            description="Unsubscribe: delete a webhook endpoint.",
        ),
    },
)
