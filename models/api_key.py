from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, moment
from models.enums import Role

if TYPE_CHECKING:
    from models.person import Person


class ApiKey(Timestamped):
    """A key that authenticates requests, with the role it acts in.

    Only a hash of the key is kept. The prefix is the visible start of the key, shown in lists
    so a key can be told apart and revoked without ever being shown again.
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    prefix = fields.CharField(max_length=16, unique=True)
    key_hash = fields.CharField(max_length=64)
    role = fields.CharEnumField(Role, max_length=16)
    person: fields.ForeignKeyNullableRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person", related_name="api_keys", null=True, on_delete=fields.RESTRICT
    )
    person_id: int | None
    expires_at = moment(null=True)
    revoked_at = moment(null=True)

    class Meta:
        table = "api_key"
