"""The audit trail called directly: who an entry is recorded against, what it shows of the
object, and that it lives and dies with the change's transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from models import AuditEntry, Organization, Promise, WebhookEndpoint
from models.enums import OrganizationKind
from services.core import audit
from services.core.audit import COMMAND, SYSTEM, Actor, ActorKind, acting_as, current_actor
from services.core.wire import to_global_id
from services.engagements.promises import create_promise
from services.parties.organizations import create_organization, update_organization
from tests.services.scenarios import as_person, scene


def test_the_actor_is_the_service_itself_unless_someone_acts():
    assert current_actor() == SYSTEM
    with acting_as(COMMAND):
        assert current_actor() == COMMAND
        with as_person(5):
            assert current_actor().person_id == 5
        assert current_actor() == COMMAND
    assert current_actor() == SYSTEM


def test_changed_fields_are_those_whose_values_differ_never_the_id():
    assert audit.changed_fields(None, {"id": "x", "name": "A"}) == ["name"]
    assert audit.changed_fields({"id": "x", "a": 1, "b": 2}, {"id": "y", "a": 1, "b": 3}) == ["b"]
    # An absent object reads as all nulls: a null that disappears is no change.
    assert audit.changed_fields({"a": 1, "z": None}, None) == ["a"]


def test_a_model_is_named_in_snake_case():
    assert audit.label(WebhookEndpoint) == "webhook_endpoint"
    assert audit.label(Organization) == "organization"


async def test_an_entry_records_the_key_and_person_that_acted(database_url):
    s = await scene()

    with as_person(s.lead, key_id=42):
        await update_organization(id=s.client, name="Acme Corp")

    entry = await AuditEntry.get(action="organization.updated")
    assert (entry.actor_kind, entry.actor_key_id, entry.actor_key_prefix) == (
        "API_KEY",
        42,
        "fw_test",
    )
    assert entry.actor_person_id == s.lead
    assert (entry.target_type, entry.target_id, entry.engagement_id) == (
        "Organization",
        s.client,
        None,
    )
    assert entry.before is not None and entry.after is not None
    assert (entry.before["name"], entry.after["name"]) == ("Acme", "Acme Corp")
    assert entry.changed_fields == ["name"]


async def test_commands_and_the_service_are_recorded_as_such(database_url):
    with acting_as(Actor(ActorKind.COMMAND)):
        await create_organization(name="Acme", kind=OrganizationKind.CLIENT)
    await create_organization(name="Initech", kind=OrganizationKind.CLIENT)

    kinds = [e.actor_kind for e in await AuditEntry.all().order_by("id")]
    assert kinds == ["COMMAND", "SYSTEM"]
    assert not await AuditEntry.filter(actor_person_id__not_isnull=True).exists()


async def test_an_object_is_recorded_as_the_api_shows_it(database_url):
    s = await scene()
    made = await create_promise(
        engagement_id=s.engagement,
        item="build",
        description="Build it",
        quantity=Decimal("2.5"),
        quoted_amount=Decimal("1000.50"),
        made_by_id=s.seller,
    )

    recorded = audit.snapshot(await Promise.get(id=made.record.id))

    assert recorded["id"] == to_global_id("Promise", made.record.id)
    assert recorded["madeBy"] == {"id": to_global_id("Person", s.seller)}
    assert recorded["engagement"] == {"id": to_global_id("Engagement", s.engagement)}
    assert recorded["deliverySignoffBy"] is None
    assert (recorded["quantity"], recorded["quotedAmount"]) == ("2.50", "1000.50")
    assert "createdAt" not in recorded and "madeById" not in recorded
    entry = await AuditEntry.get(action="promise.created")
    assert entry.engagement_id == s.engagement
    assert entry.after == recorded


async def test_an_entry_written_in_a_transaction_that_rolls_back_is_gone(database_url):
    s = await scene()
    before = await AuditEntry.all().count()

    with pytest.raises(RuntimeError, match="undo"):
        async with in_transaction():
            organization = await Organization.get(id=s.client)
            await audit.record("organization.poked", organization, before=None, after={"a": 1})
            assert await AuditEntry.all().count() == before + 1
            raise RuntimeError("undo")

    assert await AuditEntry.all().count() == before
    assert not await AuditEntry.filter(action="organization.poked").exists()


async def test_a_refused_change_writes_no_entry(database_url):
    s = await scene()
    before = await AuditEntry.all().count()

    with pytest.raises(Exception, match="already exists"):
        await update_organization(id=s.client, name="Northbeam")

    assert await AuditEntry.all().count() == before
