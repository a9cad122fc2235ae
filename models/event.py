from tortoise import fields
from tortoise.models import Model

from models.base import moment


class Event(Model):
    """The outbox: one row per change of state, written in the transaction of the change.

    The body is the exact JSON that subscribers receive and that every signature covers,
    so a retry sends the same bytes. The engagement id is kept as a plain number: the
    event outlives the engagement it was about. The sequence numbers the events of one engagement
    1, 2, 3... in the order they were written (null for events about no engagement).
    """

    id = fields.IntField(primary_key=True)
    uid = fields.CharField(max_length=40, unique=True)
    type = fields.CharField(max_length=64, db_index=True)
    occurred_at = moment()
    engagement_id = fields.IntField(null=True, db_index=True)
    sequence = fields.IntField(null=True)
    body = fields.TextField()

    class Meta:
        table = "event"
        # Two writers can never give one engagement's events the same number.
        unique_together = (("engagement_id", "sequence"),)
