from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, item_key, moment
from models.enums import Priority

if TYPE_CHECKING:
    from models.engagement import Engagement
    from models.person import Person


class Need(Timestamped):
    """What the client really requires for a scope item."""

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="needs", on_delete=fields.CASCADE
    )
    engagement_id: int
    item = item_key()
    description = fields.TextField()
    priority = fields.CharEnumField(Priority, max_length=8)
    raised_by: fields.ForeignKeyNullableRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person", related_name="needs_raised", null=True, on_delete=fields.RESTRICT
    )
    raised_by_id: int | None
    validated_at = moment(null=True)

    class Meta:
        table = "need"
        # By engagement for its page, by item for the engagements filter.
        indexes = (("engagement_id", "item"), ("item",))
