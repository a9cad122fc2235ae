"""Deal approval: who must approve an engagement's deal, who did, and approveDeal."""

from __future__ import annotations

import datetime as dt

import strawberry

import api.engagements.roles  # noqa: F401  (registers EngagementFunction as a GraphQL enum first)
from api.core.context import Info
from api.core.presented import FromRow
from api.core.relay import EngagementId
from api.parties.people import Person, person_or_none
from models import DealApproval as DealApprovalModel
from models.enums import EngagementFunction
from services.engagements import deals as service


async def _people(info: Info, pks: tuple[int, ...]) -> list[Person]:
    return [p for p in [await person_or_none(info, pk) for pk in pks] if p is not None]


@strawberry.type(description="One approval of an engagement's deal.")
class DealApprover:
    person_pk: strawberry.Private[int | None]
    function: EngagementFunction | None = strawberry.field(
        description="The function the person approved in; null for a key tied to no person."
    )
    note: str | None = strawberry.field(description="What the approver said (an admin's reason).")
    approved_at: dt.datetime

    from_model = FromRow(DealApprovalModel)

    @strawberry.field(
        description="Who approved; null for an ADMIN key tied to no person, or the system "
        "(sales made before approvals existed)."
    )
    async def person(self, info: Info) -> Person | None:
        return await person_or_none(info, self.person_pk)


@strawberry.type(
    description="Where the deal's approval stands, under the engagement's decision model."
)
class DealApproval:
    required_pks: strawberry.Private[tuple[int, ...]]
    pending_pks: strawberry.Private[tuple[int, ...]]
    approved_by: list[DealApprover] = strawberry.field(description="Approvals, oldest first.")
    decided_at: dt.datetime | None = strawberry.field(
        description="When the deal was approved; null while approvals are missing."
    )

    @classmethod
    def from_state(cls, state: service.DealState) -> DealApproval:
        return cls(
            required_pks=state.required,
            pending_pks=state.pending,
            approved_by=[DealApprover.from_model(a) for a in state.approvals],
            decided_at=state.decided_at,
        )

    @strawberry.field(
        description="The people whose approvals the decision model counts: the ACCOUNTABLE "
        "holders of ENGAGEMENT_MANAGEMENT and SPONSOR (the RESPONSIBLE ones when none is)."
    )
    async def required(self, info: Info) -> list[Person]:
        return await _people(info, self.required_pks)

    @strawberry.field(description="Those whose approval is still missing; empty once decided.")
    async def pending(self, info: Info) -> list[Person]:
        return await _people(info, self.pending_pks)


@strawberry.input(description="Approve an engagement's deal as the person the key acts for.")
class ApproveDealInput:
    engagement_id: EngagementId
    note: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Why; required when an ADMIN key tied to no person approves.",
    )
