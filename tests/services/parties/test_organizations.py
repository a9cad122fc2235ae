"""Organizations called directly: unique names, a client stays a client, and no deleting
one that still has people or engagements."""

from __future__ import annotations

import pytest

from models import AuditEntry, Organization
from models.enums import OrganizationKind
from services.core.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from services.parties.organizations import (
    create_organization,
    delete_organization,
    update_organization,
)
from tests.services.scenarios import scene
from tests.support import dump_database


async def test_an_organization_is_added_on_record(database_url):
    made = await create_organization(name=" Acme ", kind=OrganizationKind.CLIENT)

    assert (made.name, made.kind) == ("Acme", OrganizationKind.CLIENT)
    entry = await AuditEntry.get(action="organization.created")
    assert entry.after is not None and entry.after["kind"] == "CLIENT"


async def test_a_name_is_taken_once_and_bad_input_is_named(database_url):
    await create_organization(name="Acme", kind=OrganizationKind.CLIENT)

    with pytest.raises(Conflict) as taken:
        await create_organization(name="Acme", kind=OrganizationKind.PROVIDER)
    with pytest.raises(Invalid) as bad:
        await create_organization(name=" ", kind="PARTNER")  # type: ignore[arg-type]

    assert taken.value.errors == (
        FieldError("name", "An organization named 'Acme' already exists.", ErrorCode.CONFLICT),
    )
    assert {e.field for e in bad.value.errors} == {"name", "kind"}
    assert await Organization.all().count() == 1


async def test_a_client_of_engagements_stays_a_client(database_url):
    s = await scene()
    before = await dump_database()

    with pytest.raises(Conflict) as refused:
        await update_organization(id=s.client, kind=OrganizationKind.PROVIDER)

    assert refused.value.errors == (
        FieldError(
            "kind",
            "The organization is the client of engagements: it stays a CLIENT.",
            ErrorCode.CONFLICT,
        ),
    )
    assert await dump_database() == before
    # A provider with no engagements may become a client.
    changed = await update_organization(id=s.provider, kind=OrganizationKind.CLIENT)
    assert changed.kind == OrganizationKind.CLIENT


async def test_renaming_to_a_taken_name_or_a_missing_organization_is_refused(database_url):
    s = await scene()

    with pytest.raises(Conflict) as taken:
        await update_organization(id=s.client, name="Northbeam")
    with pytest.raises(NotFound) as missing:
        await update_organization(id=99999, name="Ghost")

    assert taken.value.errors[0].field == "name"
    assert missing.value.errors == (
        FieldError("id", "No organization with this id.", ErrorCode.NOT_FOUND),
    )
    assert (await Organization.get(id=s.client)).name == "Acme"


async def test_an_organization_with_people_or_engagements_is_not_deleted(database_url):
    s = await scene()
    empty = await create_organization(name="Initech", kind=OrganizationKind.CLIENT)
    before = await dump_database()

    for busy in (s.client, s.provider):
        with pytest.raises(Conflict) as refused:
            await delete_organization(id=busy)
        assert refused.value.errors[0].field == "id"
    assert await dump_database() == before

    await delete_organization(id=empty.id)
    assert not await Organization.filter(id=empty.id).exists()
    assert await AuditEntry.filter(action="organization.deleted", target_id=empty.id).exists()
    with pytest.raises(NotFound):
        await delete_organization(id=empty.id)
