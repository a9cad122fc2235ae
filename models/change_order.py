from decimal import Decimal
from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, item_key, moment, money, quantity
from models.enums import ChangeOrderStatus

if TYPE_CHECKING:
    from models.engagement import Engagement
    from models.person import Person


class ChangeOrder(Timestamped):
    """A change to the bought quantity, amount or cost of an item.

    Once approved it moves the baseline.
    """

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="change_orders", on_delete=fields.CASCADE
    )
    engagement_id: int
    item = item_key()
    description = fields.TextField()
    quantity_delta = quantity(default=Decimal(0))
    amount_delta = money(default=Decimal(0))
    cost_delta = money(default=Decimal(0))
    status = fields.CharEnumField(
        ChangeOrderStatus, max_length=16, default=ChangeOrderStatus.PROPOSED
    )
    approved_by: fields.ForeignKeyNullableRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person",
        related_name="change_orders_approved",
        null=True,
        on_delete=fields.RESTRICT,
    )
    approved_by_id: int | None
    approved_at = moment(null=True)

    class Meta:
        table = "change_order"
        # By engagement for its page, by item for the engagements filter.
        indexes = (("engagement_id", "item"), ("item",))
