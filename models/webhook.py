from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import Timestamped, moment
from models.enums import DeliveryStatus

if TYPE_CHECKING:
    from models.event import Event


class WebhookEndpoint(Timestamped):
    """Where a subscriber receives signed events, and which ones.

    The secret signs deliveries. During a rotation the previous secret keeps signing too,
    until it expires, so a receiver can switch over without losing events.
    """

    id = fields.IntField(primary_key=True)
    url = fields.CharField(max_length=2000)
    event_types: fields.JSONField[list[str]] = fields.JSONField(default=list)
    description = fields.TextField(null=True)
    active = fields.BooleanField(default=True)
    secret = fields.CharField(max_length=200)
    previous_secret = fields.CharField(max_length=200, null=True)
    previous_secret_expires_at = moment(null=True)
    disabled_reason = fields.TextField(null=True)
    # Since when every attempt has failed (null after a success): past a limit the
    # dispatcher disables the endpoint.
    failing_since = moment(null=True)

    class Meta:
        table = "webhook_endpoint"


class WebhookDelivery(Timestamped):
    """One event owed to one endpoint, until it is delivered or its retries run out.

    A dispatcher claims a due delivery by pushing locked_until ahead, so no other
    dispatcher sends it meanwhile, and one that dies mid-send loses only its claim.
    """

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation["Event"] = fields.ForeignKeyField(
        "fourway.Event", related_name="deliveries", on_delete=fields.CASCADE
    )
    event_id: int
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "fourway.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    endpoint_id: int
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    next_attempt_at = moment(null=True)
    locked_until = moment(null=True)
    attempt_count = fields.IntField(default=0)
    delivered_at = moment(null=True)
    redelivery = fields.BooleanField(default=False)

    class Meta:
        table = "webhook_delivery"
        # The dispatcher's claim (due, in retry order), and the lists per endpoint and event.
        indexes = (("status", "next_attempt_at"), ("endpoint_id",), ("event_id",))


class DeliveryAttempt(Model):
    """One POST of a delivery and what came of it."""

    id = fields.IntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[WebhookDelivery] = fields.ForeignKeyField(
        "fourway.WebhookDelivery", related_name="attempts", on_delete=fields.CASCADE
    )
    delivery_id: int
    at = moment()
    status_code = fields.IntField(null=True)
    duration_ms = fields.IntField()
    response_excerpt = fields.TextField(null=True)
    error = fields.TextField(null=True)
    # When the next attempt was scheduled for, if this one failed and retries remain.
    retry_at = moment(null=True)

    class Meta:
        table = "delivery_attempt"
        indexes = (("delivery_id",),)
