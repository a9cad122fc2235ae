"""Clients and providers."""

from typing import Any

from tortoise.transactions import in_transaction

from models import Engagement, Organization, Person
from models.enums import OrganizationKind
from services.core import audit
from services.core.errors import Conflict, NotFound
from services.core.fields import Choice, Text, clean, forget
from services.core.records import guard_integrity

SPEC = {"name": Text(max_length=200), "kind": Choice(enum=OrganizationKind)}


async def _refuse_taken_name(name: str | None, *, other_than: int | None = None) -> None:
    if name is not None and await Organization.filter(name=name).exclude(id=other_than).exists():
        raise Conflict("name", f"An organization named '{name}' already exists.")


async def create_organization(*, name: str, kind: OrganizationKind) -> Organization:
    """Add a client or provider organization."""
    values = await clean(SPEC, {"name": name, "kind": kind}, required=frozenset(SPEC))
    async with in_transaction():
        await _refuse_taken_name(values["name"])
        organization: Organization = await guard_integrity(
            lambda: Organization.create(**values), field="name", message="The name is taken."
        )
        await audit.created(organization)
        return organization


async def update_organization(*, id: int, **changes: Any) -> Organization:
    """Rename an organization or change its kind."""
    values = await clean(SPEC, changes)
    async with in_transaction():
        organization = await Organization.select_for_update().get_or_none(id=id)
        if organization is None:
            raise NotFound("id", "No organization with this id.")
        await _refuse_taken_name(values.get("name"), other_than=id)
        if (
            values.get("kind", OrganizationKind.CLIENT) != OrganizationKind.CLIENT
            and await Engagement.filter(client_id=id).exists()
        ):
            raise Conflict(
                "kind", "The organization is the client of engagements: it stays a CLIENT."
            )
        before = audit.snapshot(organization)
        organization.update_from_dict(values)
        await guard_integrity(
            lambda: organization.save(update_fields=[*values, "updated_at"]),
            field="name",
            message="The name is taken.",
        )
        await audit.updated(organization, before=before)
        return organization


async def delete_organization(*, id: int) -> Organization:
    """Delete an organization that no engagement or person refers to."""
    async with in_transaction():
        organization = await Organization.get_or_none(id=id)
        if organization is None:
            raise NotFound("id", "No organization with this id.")
        if (
            await Engagement.filter(client_id=id).exists()
            or await Person.filter(organization_id=id).exists()
        ):
            raise Conflict(
                "id", "The organization still has people or engagements: remove them first."
            )
        await guard_integrity(
            organization.delete, field="id", message="The organization is still referred to."
        )
        forget()
        await audit.deleted(organization)
        return organization
