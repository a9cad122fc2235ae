from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, item_key, moment, money, quantity

if TYPE_CHECKING:
    from models.engagement import Engagement


class Purchase(Timestamped):
    """A contract line: what the client bought for a scope item, and what it should cost us."""

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="purchases", on_delete=fields.CASCADE
    )
    engagement_id: int
    item = item_key()
    description = fields.TextField()
    quantity = quantity()
    amount = money()
    estimated_cost = money(null=True)
    due_date = fields.DateField(null=True)
    signed_at = moment(null=True)
    contract_ref = fields.CharField(max_length=100, null=True)

    class Meta:
        table = "purchase"
        # By engagement for its page, by item for the engagements filter.
        indexes = (("engagement_id", "item"), ("item",))
