from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import moment
from models.enums import EngagementFunction

if TYPE_CHECKING:
    from models.engagement import Engagement


class DecisionTaken(Model):
    """One decision taken on an engagement (a deal approval, a delivery sign-off, an
    acceptance, a change order approval, a waiver or acknowledgement of an alert that holds
    pay): on what, by whom and in which function, or by a key acting for no person.

    The subject is kept as its type and id, since an alert or a promise may go while what
    was decided about it stays on record. The latest decision on a subject is the one that
    stands.
    """

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="decisions_taken", on_delete=fields.CASCADE
    )
    engagement_id: int
    decision = fields.CharField(max_length=40)
    subject_type = fields.CharField(max_length=40)
    subject_id = fields.IntField()
    # Null when a key tied to no person decided (outside the engagement), or the service did.
    person_id = fields.IntField(null=True)
    function = fields.CharEnumField(EngagementFunction, max_length=32, null=True)
    key_id = fields.IntField(null=True)
    key_prefix = fields.CharField(max_length=16, null=True)
    outside = fields.BooleanField(default=False)
    taken_at = moment()

    class Meta:
        table = "decision_taken"
        indexes = (("engagement_id", "subject_type", "subject_id"),)
