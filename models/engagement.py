from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, moment
from models.enums import DecisionModel, EngagementStatus

if TYPE_CHECKING:
    from models.organization import Organization


class Engagement(Timestamped):
    """Professional-services work sold to a client, with the four sides hanging off it."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    client: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "fourway.Organization", related_name="engagements", on_delete=fields.RESTRICT
    )
    client_id: int
    status = fields.CharEnumField(
        EngagementStatus, max_length=16, default=EngagementStatus.PROPOSED, db_index=True
    )
    in_house = fields.BooleanField(default=False)
    currency = fields.CharField(max_length=3)
    decision_model = fields.CharEnumField(
        DecisionModel, max_length=16, default=DecisionModel.AUTHORITY
    )
    # Overrides of the rules' thresholds for this engagement, by name; the rest are settings.
    thresholds: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    # Overrides of the table of functions an engagement needs, by function: needed or not.
    required_functions: fields.JSONField[dict[str, bool]] = fields.JSONField(default=dict)
    # The last evaluation by the rules; an error says why the alerts may be stale.
    evaluated_at = moment(null=True)
    evaluation_error = fields.TextField(null=True)

    class Meta:
        table = "engagement"
        indexes = (("client_id",),)
