"""Role assignments: who holds which engagement function, and how (RACI)."""

from __future__ import annotations

import strawberry

from api.core.context import Info
from api.core.mutations import mutation, mutation_type, payload_type
from api.core.presented import FromRow
from api.core.relay import EngagementId, Node, PersonId, RoleAssignmentId
from api.engagements.on_engagement import OnEngagement
from api.parties.people import Person, person_of
from models import RoleAssignment as RoleAssignmentModel
from models.enums import EngagementFunction, Raci
from services.engagements import roles as service

strawberry.enum(EngagementFunction, description="A function someone must own on every engagement.")
strawberry.enum(Raci, description="Responsible, accountable, consulted or informed.")


@strawberry.type(description="A person's function on an engagement.")
class RoleAssignment(Node, OnEngagement):
    model = RoleAssignmentModel  # the rows node(id:) loads (api.core.relay.Node)
    function: EngagementFunction
    raci: Raci
    person_pk: strawberry.Private[int]

    from_model = FromRow(RoleAssignmentModel)

    @strawberry.field
    def person(self, info: Info) -> Person:
        return person_of(info, self.person_pk)


@strawberry.input(description="Give a person a function on an engagement.")
class CreateRoleAssignmentInput:
    engagement_id: EngagementId
    person_id: PersonId
    function: EngagementFunction
    raci: Raci


@strawberry.input(description="Change a role's function or RACI letter.")
class UpdateRoleAssignmentInput:
    id: RoleAssignmentId
    function: EngagementFunction | None = strawberry.UNSET
    raci: Raci | None = strawberry.UNSET


@strawberry.input(
    description="The role to remove: by `id`, or by `engagementId`, `personId` and `function` "
    "(and `raci`, which must then match)."
)
class DeleteRoleAssignmentInput:
    id: RoleAssignmentId | None = strawberry.UNSET
    engagement_id: EngagementId | None = strawberry.UNSET
    person_id: PersonId | None = strawberry.UNSET
    function: EngagementFunction | None = strawberry.UNSET
    raci: Raci | None = strawberry.UNSET


_fields = {
    "create_role_assignment": mutation(
        input_type=CreateRoleAssignmentInput,
        payload=payload_type(
            "CreateRoleAssignment", "role_assignment", RoleAssignment, evaluates=True
        ),
        field="role_assignment",
        service=service.create_role_assignment,
        build=RoleAssignment.from_model,
        description="Give a person a function on an engagement.",
    ),
    "update_role_assignment": mutation(
        input_type=UpdateRoleAssignmentInput,
        payload=payload_type(
            "UpdateRoleAssignment", "role_assignment", RoleAssignment, evaluates=True
        ),
        field="role_assignment",
        service=service.update_role_assignment,
        build=RoleAssignment.from_model,
        description="Change a role's function or RACI letter.",
    ),
    "delete_role_assignment": mutation(
        input_type=DeleteRoleAssignmentInput,
        payload=payload_type(
            "DeleteRoleAssignment", "role_assignment", RoleAssignment, deleted=True, evaluates=True
        ),
        field="role_assignment",
        service=service.delete_role_assignment,
        build=RoleAssignment.from_model,
        deleted=True,
        description="Remove a person's function from an engagement.",
    ),
}
RoleAssignmentMutation = mutation_type("RoleAssignmentMutation", _fields)
