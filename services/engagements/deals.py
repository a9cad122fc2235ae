"""Deal approval: an engagement is SOLD only once the people its decision model names approve.

Who may approve is the decision table's (``services.engagements.decisions``:
ENGAGEMENT_MANAGEMENT or SPONSOR, ACCOUNTABLE or RESPONSIBLE; never a person credited on
the sale). Whose approval
counts follows the engagement's decision model, over the ACCOUNTABLE people of those two
functions (or, when there are none, the RESPONSIBLE ones): AUTHORITY needs one of them,
CONSENSUS every one, MAJORITY more than half; people credited on the sale are left out.
An ADMIN key tied to no person approves the deal alone, with a reason. The approval that
completes the decision moves the engagement to SOLD in the same transaction and announces
``engagement.deal_approved``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from models import Credit, DealApproval, Engagement, Person, RoleAssignment
from models.enums import DecisionModel, EngagementFunction, EngagementStatus, Raci
from services.alerts.evaluation import Changed
from services.core import audit
from services.core.errors import Conflict, FieldError, Invalid
from services.core.fields import Text, clean
from services.core.units import changing
from services.core.wire import format_datetime, to_global_id
from services.engagements import decisions
from services.engagements.decisions import Decision

DECIDING = frozenset({EngagementFunction.ENGAGEMENT_MANAGEMENT, EngagementFunction.SPONSOR})
_SOLD_OR_LATER = list(EngagementStatus)[list(EngagementStatus).index(EngagementStatus.SOLD) :]


@dataclass(frozen=True)
class DealState:
    """Where an engagement's deal approval stands."""

    model: DecisionModel
    required: tuple[int, ...]
    needed: int
    approvals: tuple[DealApproval, ...]
    pending: tuple[int, ...]
    decided_at: datetime | None


def deal_state(
    model: DecisionModel,
    holders: list[tuple[int, EngagementFunction, Raci]],
    approvals: list[DealApproval],
    credited: frozenset[int] = frozenset(),
) -> DealState:
    """Work out, from who holds which function and who approved, whose approval is still
    missing and when the deal was decided (None while it is not). People credited on the
    sale may not approve it, so the model does not wait for them."""
    deciders = [(p, r) for p, f, r in holders if f in DECIDING and p not in credited]
    accountable = sorted({p for p, r in deciders if r == Raci.ACCOUNTABLE})
    required = accountable or sorted({p for p, r in deciders if r == Raci.RESPONSIBLE})
    needed = {
        DecisionModel.AUTHORITY: min(1, len(required)),
        DecisionModel.CONSENSUS: len(required),
        DecisionModel.MAJORITY: len(required) // 2 + 1 if required else 0,
    }[model]
    decided_at, counted = None, set()
    for approval in approvals:
        if approval.person_id is None:  # an admin's reason, or a sale from before approvals
            decided_at = approval.approved_at
            break
        if approval.person_id in required:
            counted.add(approval.person_id)
        if needed and len(counted) >= needed:
            decided_at = approval.approved_at
            break
    pending = () if decided_at else tuple(p for p in required if p not in counted)
    return DealState(model, tuple(required), needed, tuple(approvals), pending, decided_at)


async def state_of(engagement_id: int, model: DecisionModel) -> DealState:
    """Where the deal of the engagement ``engagement_id`` (under ``model``) stands now."""
    holders = await RoleAssignment.filter(
        engagement_id=engagement_id, function__in=list(DECIDING)
    ).values_list("person_id", "function", "raci")
    approvals = await DealApproval.filter(engagement_id=engagement_id).order_by("id")
    credited = [c.person_id for c in await Credit.filter(engagement_id=engagement_id)]
    return deal_state(
        model,
        [(p, EngagementFunction(f), Raci(r)) for p, f, r in holders],
        list(approvals),
        frozenset(credited),
    )


async def _names(people: tuple[int, ...]) -> str:
    named = dict(await Person.filter(id__in=people).values_list("id", "name"))
    return ", ".join(str(named[p]) for p in people)


async def check_sold(engagement: Engagement, status: EngagementStatus) -> None:
    """Refuse moving a PROPOSED engagement to SOLD or beyond while its deal is not approved,
    saying who must approve."""
    if engagement.status not in _SOLD_OR_LATER and status in _SOLD_OR_LATER:
        state = await state_of(engagement.id, engagement.decision_model)
        if state.decided_at is not None:
            return
        if not state.required:
            who = (
                "nobody holds ENGAGEMENT_MANAGEMENT or SPONSOR (ACCOUNTABLE or RESPONSIBLE): "
                "assign one, or approve with an ADMIN key and a reason"
            )
        else:
            who = (
                f"it needs approveDeal by {await _names(state.pending)} "
                f"({state.model.value}: {state.needed} of {len(state.required)})"
            )
        raise Conflict("status", f"The deal is not approved: {who}.")


def _approval_trail(approval: DealApproval) -> dict[str, object]:
    return {
        "person": None
        if approval.person_id is None
        else {"id": to_global_id("Person", approval.person_id)},
        "function": approval.function.value if approval.function else None,
        "note": approval.note,
        "approvedAt": format_datetime(approval.approved_at),
    }


async def approve_deal(*, engagement_id: int, note: str | None = None) -> Changed[Engagement]:
    """Approve the engagement's deal as the person the key acts for; the approval that
    completes the decision model moves it to SOLD."""
    values = await clean({"note": Text(nullable=True)}, {"note": note})
    async with changing(engagement_id) as change:
        engagement = change.engagement
        if engagement.status != EngagementStatus.PROPOSED:
            raise Conflict(
                "engagement_id",
                f"The engagement is {engagement.status.value}: its deal was decided already.",
            )
        decided = await decisions.check(
            Decision.APPROVE_DEAL, engagement=engagement, field="engagement_id"
        )
        if decided.outside and not values.get("note"):
            raise Invalid(
                [FieldError("note", "is required when a key tied to no person approves a deal")]
            )
        if (
            decided.person_id is not None
            and await DealApproval.filter(
                engagement_id=engagement.id, person_id=decided.person_id
            ).exists()
        ):
            raise Conflict("engagement_id", "This person has approved the deal already.")
        now = datetime.now(UTC)
        approval = await DealApproval.create(
            engagement_id=engagement.id,
            person_id=decided.person_id,
            function=decided.function,
            key_id=audit.current_actor().key_id,
            note=values.get("note"),
            approved_at=now,
        )
        state = await state_of(engagement.id, engagement.decision_model)
        before = audit.snapshot(engagement)
        if state.decided_at is not None:
            engagement.status = EngagementStatus.SOLD
            await engagement.save(update_fields=["status", "updated_at"])
        await decisions.taken(decided, engagement, engagement_id=engagement.id)
        await audit.record(
            "engagement.deal_approved",
            engagement,
            before=before,
            after={**audit.snapshot(engagement), "approval": _approval_trail(approval)},
            **decided.audited,
        )
        # The move to SOLD is announced with the evaluation the unit ends with; that the
        # deal was approved follows it.
        change.note(changed=False)
        if state.decided_at is not None:
            change.then("engagement.deal_approved", at=now)
    return Changed(engagement, change.reconciled)
