from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped

if TYPE_CHECKING:
    from models.organization import Organization


class Person(Timestamped):
    """Someone at a client or provider: a salesperson, a sponsor, a delivery lead."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, unique=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "fourway.Organization", related_name="people", on_delete=fields.RESTRICT
    )
    organization_id: int

    class Meta:
        table = "person"
        indexes = (("organization_id",),)
