from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped
from models.enums import OrganizationKind

if TYPE_CHECKING:
    from models.engagement import Engagement
    from models.person import Person


class Organization(Timestamped):
    """A client that buys engagements or a provider that delivers them."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    kind = fields.CharEnumField(OrganizationKind, max_length=16, db_index=True)
    engagements: fields.ReverseRelation["Engagement"]
    people: fields.ReverseRelation["Person"]

    class Meta:
        table = "organization"
