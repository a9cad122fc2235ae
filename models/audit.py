from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.base import moment


class AuditEntry(Model):
    """One change made through the service, with who made it and the object before and after.

    Written in the transaction of the change, so a change that rolls back leaves no entry.
    The target, engagement, key and person are kept as plain numbers: the trail outlives
    everything it names. Secrets are never part of the object as recorded.
    """

    id = fields.IntField(primary_key=True)
    at = moment(db_index=True)
    action = fields.CharField(max_length=64, db_index=True)
    target_type = fields.CharField(max_length=40)
    target_id = fields.IntField()
    engagement_id = fields.IntField(null=True, db_index=True)
    actor_kind = fields.CharField(max_length=16)
    actor_key_id = fields.IntField(null=True, db_index=True)
    actor_key_prefix = fields.CharField(max_length=16, null=True)
    actor_person_id = fields.IntField(null=True, db_index=True)
    # A decision the change took (services.engagements.decisions) and the function its
    # person took it in.
    decision = fields.CharField(max_length=40, null=True)
    actor_function = fields.CharField(max_length=32, null=True)
    before: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    changed_fields: fields.JSONField[list[str]] = fields.JSONField(default=list)

    class Meta:
        table = "audit_entry"
        indexes = (("target_type", "target_id"),)
