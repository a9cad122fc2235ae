"""Role assignments called directly: who holds which function, and the alerts that follow."""

from __future__ import annotations

import pytest

from models import Alert, AuditEntry, RoleAssignment
from models.enums import AlertStatus, EngagementFunction, Raci
from services.core.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from services.engagements.roles import (
    create_role_assignment,
    delete_role_assignment,
    update_role_assignment,
)
from tests.services.scenarios import give_role, scene
from tests.support import dump_database

F = EngagementFunction


async def _unassigned(engagement_id: int) -> set[str]:
    """The functions the engagement needs that a live alert says nobody holds."""
    alerts = await Alert.filter(
        engagement_id=engagement_id,
        rule_id="function-unassigned",
        status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED],
    )
    return {a.facts["function"]["function"] for a in alerts}


async def test_giving_someone_a_needed_function_resolves_its_alert(database_url):
    s = await scene()
    assert "DELIVERY" in await _unassigned(s.engagement)

    made = await create_role_assignment(
        engagement_id=s.engagement, person_id=s.lead, function=F.DELIVERY, raci=Raci.ACCOUNTABLE
    )

    assert (made.record.function, made.record.raci) == (F.DELIVERY, Raci.ACCOUNTABLE)
    assert "DELIVERY" not in await _unassigned(s.engagement)
    assert [a.rule_id for a in made.alerts.resolved] == ["function-unassigned"]
    entry = await AuditEntry.get(action="role_assignment.created")
    assert entry.engagement_id == s.engagement


async def test_a_person_holds_a_function_once_and_nothing_more_is_written(database_url):
    s = await scene()
    await give_role(s.engagement, s.lead, F.DELIVERY)
    before = await dump_database()

    with pytest.raises(Conflict) as refused:
        await give_role(s.engagement, s.lead, F.DELIVERY, Raci.ACCOUNTABLE)

    assert refused.value.errors == (
        FieldError(
            "function",
            "The person already holds this function on the engagement.",
            ErrorCode.CONFLICT,
        ),
    )
    assert await dump_database() == before


async def test_a_role_names_its_missing_engagement_and_person(database_url):
    s = await scene()

    with pytest.raises(NotFound) as no_engagement:
        await give_role(99999, s.lead, F.DELIVERY)
    with pytest.raises(Invalid) as no_person:
        await create_role_assignment(
            engagement_id=s.engagement, person_id=99999, function=F.DELIVERY, raci="SOMETIMES"
        )

    assert no_engagement.value.errors[0].field == "engagement_id"
    assert set(no_person.value.errors) == {
        FieldError("person_id", "No person with this id.", ErrorCode.NOT_FOUND),
        FieldError("raci", "must be one of RESPONSIBLE, ACCOUNTABLE, CONSULTED, INFORMED"),
    }
    assert not await RoleAssignment.all().exists()


async def test_a_role_changes_function_unless_the_person_holds_that_one_too(database_url):
    s = await scene()
    delivery = await give_role(s.engagement, s.lead, F.DELIVERY)
    quality = await give_role(s.engagement, s.lead, F.QUALITY)

    with pytest.raises(Conflict) as clash:
        await update_role_assignment(id=quality, function=F.DELIVERY)
    changed = await update_role_assignment(id=delivery, raci=Raci.CONSULTED)
    moved = await update_role_assignment(id=quality, function=F.LEGAL)

    assert clash.value.errors[0].field == "function"
    assert changed.record.raci == Raci.CONSULTED
    assert moved.record.function == F.LEGAL
    entries = await AuditEntry.filter(action="role_assignment.updated").order_by("id")
    assert [e.changed_fields for e in entries] == [["raci"], ["function"]]


async def test_a_role_is_removed_by_id_or_by_what_it_is(database_url):
    s = await scene()
    first = await give_role(s.engagement, s.lead, F.DELIVERY)
    await give_role(s.engagement, s.lead, F.QUALITY, Raci.INFORMED)

    await delete_role_assignment(id=first)
    with pytest.raises(NotFound):
        await delete_role_assignment(
            engagement_id=s.engagement, person_id=s.lead, function=F.QUALITY, raci=Raci.ACCOUNTABLE
        )
    removed = await delete_role_assignment(
        engagement_id=s.engagement, person_id=s.lead, function=F.QUALITY
    )

    assert removed.record.function == F.QUALITY
    assert not await RoleAssignment.all().exists()
    assert await AuditEntry.filter(action="role_assignment.deleted").count() == 2
    assert "DELIVERY" in await _unassigned(s.engagement)


async def test_a_role_to_remove_must_be_named_well_enough(database_url):
    s = await scene()

    with pytest.raises(NotFound) as vague:
        await delete_role_assignment(engagement_id=s.engagement, person_id=s.lead)
    with pytest.raises(NotFound) as unknown:
        await delete_role_assignment(id=99999)
    with pytest.raises(NotFound) as unknown_update:
        await update_role_assignment(id=99999, raci=Raci.INFORMED)

    assert vague.value.errors[0].field is None
    assert vague.value.errors[0].message.startswith("Name the role by id")
    assert unknown.value.errors == (
        FieldError("id", "No such role assignment.", ErrorCode.NOT_FOUND),
    )
    assert unknown_update.value.errors[0].field == "id"
