from tortoise import fields

from models.base import Timestamped, moment


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

    class Meta:
        table = "webhook_endpoint"
