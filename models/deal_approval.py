from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, moment
from models.enums import EngagementFunction

if TYPE_CHECKING:
    from models.engagement import Engagement
    from models.person import Person


class DealApproval(Timestamped):
    """One approval of an engagement deal, by a person in a function, or by an admin key
    with a reason, or by the system for sales made before approvals existed."""

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="deal_approvals", on_delete=fields.CASCADE
    )
    engagement_id: int
    # Null when an admin key tied to no person approved, or the system did.
    person: fields.ForeignKeyRelation["Person"] | None = fields.ForeignKeyField(
        "fourway.Person", related_name="deal_approvals", on_delete=fields.RESTRICT, null=True
    )
    person_id: int | None
    function = fields.CharEnumField(EngagementFunction, max_length=32, null=True)
    key_id = fields.IntField(null=True)
    note = fields.TextField(null=True)
    approved_at = moment()

    class Meta:
        table = "deal_approval"
        indexes = (("engagement_id",),)
