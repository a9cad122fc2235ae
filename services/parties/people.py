"""People at clients and providers."""

from typing import Any

from tortoise.transactions import in_transaction

from models import Organization, Person
from services.core import audit
from services.core.errors import Conflict, NotFound
from services.core.fields import Email, Ref, Text, clean, forget
from services.core.records import guard_integrity

SPEC = {
    "name": Text(max_length=200),
    "email": Email(),
    "organization_id": Ref(model=Organization, label="organization"),
}


async def _refuse_taken_email(email: str | None, *, other_than: int | None = None) -> None:
    if email is not None and await Person.filter(email=email).exclude(id=other_than).exists():
        raise Conflict("email", f"A person with the email '{email}' already exists.")


async def create_person(*, name: str, email: str, organization_id: int) -> Person:
    """Add a person to an organization."""
    async with in_transaction():
        values = await clean(
            SPEC,
            {"name": name, "email": email, "organization_id": organization_id},
            required=frozenset(SPEC),
        )
        await _refuse_taken_email(values["email"])
        person: Person = await guard_integrity(
            lambda: Person.create(**values), field="email", message="The email is taken."
        )
        await audit.created(person)
        return person


async def update_person(*, id: int, **changes: Any) -> Person:
    """Change a person's name, email or organization."""
    async with in_transaction():
        person = await Person.select_for_update().get_or_none(id=id)
        if person is None:
            raise NotFound("id", "No person with this id.")
        values = await clean(SPEC, changes)
        await _refuse_taken_email(values.get("email"), other_than=id)
        before = audit.snapshot(person)
        person.update_from_dict(values)
        await guard_integrity(
            lambda: person.save(update_fields=[*values, "updated_at"]),
            field="email",
            message="The email is taken.",
        )
        await audit.updated(person, before=before)
        return person


async def delete_person(*, id: int) -> Person:
    """Delete a person that no engagement record refers to."""
    async with in_transaction():
        person = await Person.get_or_none(id=id)
        if person is None:
            raise NotFound("id", "No person with this id.")
        await guard_integrity(
            person.delete,
            field="id",
            message="The person still holds roles or is named on engagement records: "
            "reassign those first.",
        )
        forget()
        await audit.deleted(person)
        return person
