"""Who holds which engagement function (RACI)."""

from models import Person, RoleAssignment
from models.enums import EngagementFunction, Raci
from services.alerts.evaluation import Changed
from services.core import audit
from services.core.errors import Conflict, NotFound
from services.core.fields import Choice, Ref, clean
from services.core.records import guard_integrity
from services.core.units import changing

SPEC = {
    "person_id": Ref(model=Person, label="person"),
    "function": Choice(enum=EngagementFunction),
    "raci": Choice(enum=Raci),
}


async def create_role_assignment(
    *, engagement_id: int, person_id: int, function: EngagementFunction, raci: Raci
) -> Changed[RoleAssignment]:
    """Give a person a function on an engagement."""
    async with changing(engagement_id) as change:
        values = await clean(
            SPEC,
            {"person_id": person_id, "function": function, "raci": raci},
            required=frozenset(SPEC),
        )
        taken = RoleAssignment.filter(
            engagement_id=engagement_id,
            person_id=values["person_id"],
            function=values["function"],
        )
        if await taken.exists():
            raise Conflict("function", "The person already holds this function on the engagement.")
        role: RoleAssignment = await guard_integrity(
            lambda: RoleAssignment.create(engagement_id=engagement_id, **values),
            field="function",
            message="The person already holds this function on the engagement.",
        )
        await audit.created(role)
        change.roles_changed()
        change.note()
    return Changed(role, change.reconciled)


async def delete_role_assignment(
    *,
    id: int | None = None,
    engagement_id: int | None = None,
    person_id: int | None = None,
    function: EngagementFunction | None = None,
    raci: Raci | None = None,
) -> Changed[RoleAssignment]:
    """Remove a role, named by its id or by engagement, person and function (and raci)."""
    if id is not None:
        query = RoleAssignment.filter(id=id)
    elif engagement_id is not None and person_id is not None and function is not None:
        query = RoleAssignment.filter(
            engagement_id=engagement_id, person_id=person_id, function=function
        )
        if raci is not None:
            query = query.filter(raci=raci)
    else:
        raise NotFound(None, "Name the role by id, or by engagementId, personId and function.")
    found = await query.first()
    if found is None:
        raise NotFound("id" if id is not None else None, "No such role assignment.")
    async with changing(found.engagement_id) as change:
        role = await RoleAssignment.get_or_none(id=found.id)
        if role is None:  # deleted while we waited for the lock
            raise NotFound("id" if id is not None else None, "No such role assignment.")
        await role.delete()
        await audit.deleted(role)
        change.roles_changed()
        change.note()
    return Changed(role, change.reconciled)


async def update_role_assignment(
    *, id: int, function: EngagementFunction | None = None, raci: Raci | None = None
) -> Changed[RoleAssignment]:
    """Change the function or RACI letter of a role."""
    found = await RoleAssignment.get_or_none(id=id)
    if found is None:
        raise NotFound("id", "No role assignment with this id.")
    async with changing(found.engagement_id, field="id") as change:
        role = await RoleAssignment.get_or_none(id=id)
        if role is None:  # deleted while we waited for the lock
            raise NotFound("id", "No role assignment with this id.")
        changes = {k: v for k, v in (("function", function), ("raci", raci)) if v is not None}
        values = await clean(SPEC, changes)
        if "function" in values and values["function"] != role.function:
            clash = RoleAssignment.filter(
                engagement_id=role.engagement_id,
                person_id=role.person_id,
                function=values["function"],
            )
            if await clash.exists():
                raise Conflict(
                    "function", "The person already holds this function on the engagement."
                )
        before = audit.snapshot(role)
        if values:
            role.update_from_dict(values)
            await role.save(update_fields=[*values, "updated_at"])
        entry = await audit.updated(role, before=before)
        change.roles_changed()
        change.note(changed=bool(entry.changed_fields))
    return Changed(role, change.reconciled)
