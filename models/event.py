from tortoise import fields
from tortoise.models import Model

from models.base import moment


class Event(Model):
    """The outbox: one row per change of state, written in the transaction of the change.

    The body is the exact JSON that subscribers receive and that every signature covers,
    so a retry sends the same bytes. The engagement id is kept as a plain number: the
    event outlives the engagement it was about.
    """

    id = fields.IntField(primary_key=True)
    uid = fields.CharField(max_length=40, unique=True)
    type = fields.CharField(max_length=64, db_index=True)
    occurred_at = moment()
    engagement_id = fields.IntField(null=True, db_index=True)
    body = fields.TextField()

    class Meta:
        table = "event"
