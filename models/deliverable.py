from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, item_key, moment, money, quantity
from models.enums import DeliverableStatus

if TYPE_CHECKING:
    from models.engagement import Engagement
    from models.person import Person


class Deliverable(Timestamped):
    """What delivery planned, handed over, and the client accepted or rejected."""

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="deliverables", on_delete=fields.CASCADE
    )
    engagement_id: int
    item = item_key()
    description = fields.TextField()
    quantity = quantity()
    due_date = fields.DateField(null=True)
    status = fields.CharEnumField(
        DeliverableStatus, max_length=16, default=DeliverableStatus.PLANNED
    )
    delivered_at = moment(null=True)
    accepted_by: fields.ForeignKeyNullableRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person",
        related_name="deliverables_accepted",
        null=True,
        on_delete=fields.RESTRICT,
    )
    accepted_by_id: int | None
    accepted_at = moment(null=True)
    rejection_reason = fields.TextField(null=True)
    estimated_cost = money(null=True)
    actual_cost = money(null=True)

    class Meta:
        table = "deliverable"
        # By engagement for its page, by item for the engagements filter.
        indexes = (("engagement_id", "item"), ("item",))
