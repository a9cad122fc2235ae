from tortoise import fields

from models.base import Timestamped
from models.enums import OrganizationKind


class Organization(Timestamped):
    """A client that buys engagements or a provider that delivers them."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    kind = fields.CharEnumField(OrganizationKind, max_length=16, db_index=True)
    # Its engagements and people are found from their side (Engagement.client, Person.
    # organization): a model refers only to the models it points at.

    class Meta:
        table = "organization"
