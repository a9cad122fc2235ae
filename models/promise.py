from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, item_key, moment, money, quantity

if TYPE_CHECKING:
    from models.engagement import Engagement
    from models.person import Person


class Promise(Timestamped):
    """What sales promised for a scope item, and whether delivery signed off on it."""

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="promises", on_delete=fields.CASCADE
    )
    engagement_id: int
    item = item_key()
    description = fields.TextField()
    quantity = quantity()
    promised_date = fields.DateField(null=True)
    quoted_amount = money(null=True)
    made_by: fields.ForeignKeyRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person", related_name="promises_made", on_delete=fields.RESTRICT
    )
    made_by_id: int
    made_at = moment(null=True)
    delivery_signoff_by: fields.ForeignKeyNullableRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person", related_name="promises_signed_off", null=True, on_delete=fields.RESTRICT
    )
    delivery_signoff_by_id: int | None
    delivery_signoff_at = moment(null=True)

    class Meta:
        table = "promise"
        # By engagement, by item (engagements filter), by salesperson (salespersonId filter).
        indexes = (("engagement_id", "item"), ("item",), ("made_by_id",))
