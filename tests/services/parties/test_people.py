"""People called directly: one email per person, and no deleting someone still named."""

from __future__ import annotations

import pytest

from models import AuditEntry, Person
from models.enums import EngagementFunction
from services.core.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from services.parties.people import create_person, delete_person, update_person
from tests.services.scenarios import give_role, scene
from tests.support import dump_database


async def test_a_person_is_added_with_the_email_cleaned(database_url):
    s = await scene()

    ada = await create_person(name=" Ada ", email=" Ada@Acme.Example ", organization_id=s.client)

    stored = await Person.get(id=ada.id)
    assert (stored.name, stored.email, stored.organization_id) == (
        "Ada",
        "ada@acme.example",
        s.client,
    )
    entry = await AuditEntry.get(action="person.created", target_id=ada.id)
    assert entry.after is not None and entry.after["email"] == "ada@acme.example"


async def test_an_email_belongs_to_one_person_whatever_its_case(database_url):
    s = await scene()
    before = await dump_database()

    with pytest.raises(Conflict) as refused:
        await create_person(name="Sam Two", email="SAM@northbeam.example", organization_id=s.client)

    assert refused.value.errors == (
        FieldError(
            "email",
            "A person with the email 'sam@northbeam.example' already exists.",
            ErrorCode.CONFLICT,
        ),
    )
    assert await dump_database() == before


async def test_a_person_names_every_bad_field(database_url):
    with pytest.raises(Invalid) as refused:
        await create_person(name="", email="not-an-email", organization_id=99999)

    assert set(refused.value.errors) == {
        FieldError("name", "must not be blank"),
        FieldError("email", "must be an email address such as 'ada@example.com'"),
        FieldError("organization_id", "No organization with this id.", ErrorCode.NOT_FOUND),
    }
    assert not await Person.all().exists()


async def test_a_person_moves_and_keeps_their_own_email(database_url):
    s = await scene()

    moved = await update_person(id=s.lead, organization_id=s.client, email="dee@northbeam.example")
    with pytest.raises(Conflict) as taken:
        await update_person(id=s.lead, email="sam@northbeam.example")
    with pytest.raises(NotFound) as missing:
        await update_person(id=99999, name="Ghost")

    assert moved.organization_id == s.client
    assert taken.value.errors[0].field == "email"
    assert missing.value.errors == (
        FieldError("id", "No person with this id.", ErrorCode.NOT_FOUND),
    )
    entry = await AuditEntry.filter(action="person.updated").order_by("-id").first()
    assert entry is not None and entry.changed_fields == ["organization"]


async def test_someone_who_holds_a_role_is_not_deleted(database_url):
    s = await scene()
    await give_role(s.engagement, s.lead, EngagementFunction.DELIVERY)
    before = await dump_database()

    with pytest.raises(Conflict) as refused:
        await delete_person(id=s.lead)

    assert refused.value.errors[0].field == "id"
    assert refused.value.errors[0].message.startswith("The person still holds roles")
    assert await dump_database() == before


async def test_someone_named_nowhere_is_deleted_on_record(database_url):
    s = await scene()

    gone = await delete_person(id=s.client_person)

    assert gone.name == "Cleo Client"
    assert not await Person.filter(id=s.client_person).exists()
    entry = await AuditEntry.get(action="person.deleted")
    assert (entry.target_id, entry.after) == (s.client_person, None)
    with pytest.raises(NotFound):
        await delete_person(id=s.client_person)
