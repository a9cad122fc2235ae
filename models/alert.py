from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import Timestamped, moment
from models.enums import AlertStatus, Severity

if TYPE_CHECKING:
    from models.engagement import Engagement
    from models.person import Person


class Alert(Timestamped):
    """A finding of the rules, kept open while its facts hold.

    The fingerprint (rule, engagement, subjects) is unique among live alerts: the service
    that reconciles them holds the engagement row lock.
    """

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="alerts", on_delete=fields.CASCADE
    )
    engagement_id: int
    rule_id = fields.CharField(max_length=64)
    severity = fields.CharEnumField(Severity, max_length=16)
    item = fields.CharField(max_length=64, null=True)
    message = fields.TextField()
    facts: fields.JSONField[dict[str, Any]] = fields.JSONField()
    fingerprint = fields.CharField(max_length=255)
    facts_hash = fields.CharField(max_length=64)
    status = fields.CharEnumField(AlertStatus, max_length=16, default=AlertStatus.OPEN)
    opened_at = moment()
    acknowledged_at = moment(null=True)
    acknowledged_by: fields.ForeignKeyNullableRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person", related_name="alerts_acknowledged", null=True, on_delete=fields.SET_NULL
    )
    acknowledged_by_id: int | None
    comment = fields.TextField(null=True)
    resolved_at = moment(null=True)
    resolution = fields.TextField(null=True)
    waived_at = moment(null=True)
    waived_by: fields.ForeignKeyNullableRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person", related_name="alerts_waived", null=True, on_delete=fields.SET_NULL
    )
    waived_by_id: int | None
    waiver_reason = fields.TextField(null=True)

    class Meta:
        table = "alert"
        # Live alerts of an engagement, an alert by fingerprint, the alerts list by time.
        indexes = (("engagement_id", "status"), ("fingerprint",), ("status", "opened_at"))
