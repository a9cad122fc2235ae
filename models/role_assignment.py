from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped
from models.enums import EngagementFunction, Raci

if TYPE_CHECKING:
    from models.engagement import Engagement
    from models.person import Person


class RoleAssignment(Timestamped):
    """Who holds which engagement function, and how (RACI)."""

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="roles", on_delete=fields.CASCADE
    )
    engagement_id: int
    person: fields.ForeignKeyRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person", related_name="roles", on_delete=fields.RESTRICT
    )
    person_id: int
    function = fields.CharEnumField(EngagementFunction, max_length=32)
    raci = fields.CharEnumField(Raci, max_length=16)

    class Meta:
        table = "role_assignment"
        unique_together = (("engagement", "person", "function"),)
        indexes = (("person_id", "function"),)
