"""Who may decide what on an engagement: the one table of decisions, and its check.

The role table (``api.core.access``) says what a key's role may touch at all. This table narrows
it, never widens it: a decision on an engagement is taken by a person, and only a person who
holds the right function on that engagement (by RACI where it matters) may take it. A
person credited on the sale never decides on it: their pay hangs on those decisions
(``CONFLICT_OF_INTEREST``). Who decides is the person the request's key acts for; a person
a decision is recorded against (a promise's signer, a deliverable's acceptor, a change
order's approver) may not be one credited on the sale either.

A key tied to no person may decide only if it is an ADMIN key: the decision is taken
outside the engagement's structure, and the audit trail shows it as such. The service
itself (the sweep) and ``fourway`` commands are not checked, unless they act for a person
(the demo approves deals as its people do). Every use case
calls :func:`check` inside its transaction, before it writes anything. The README shows
the same table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from tortoise.models import Model

import rules
from models import (
    Alert,
    ChangeOrder,
    Credit,
    DecisionTaken,
    Deliverable,
    Engagement,
    Person,
    Promise,
    RoleAssignment,
)
from models.enums import (
    AlertStatus,
    ChangeOrderStatus,
    DeliverableStatus,
    EngagementFunction,
    EngagementStatus,
    Raci,
    Role,
)
from observability import metrics
from services.compensation.signals import holding_pay
from services.core import audit
from services.core.audit import ActorKind, current_actor
from services.core.errors import DomainError, ErrorCode, FieldError

F = EngagementFunction
ANY_RACI = frozenset(Raci)


class Decision(StrEnum):
    """The decisions on an engagement that someone's pay, or the client's money, hangs on."""

    APPROVE_DEAL = "approve-deal"
    SIGN_OFF_DELIVERY = "sign-off-delivery"
    ACCEPT_DELIVERABLE = "accept-deliverable"
    APPROVE_CHANGE_ORDER = "approve-change-order"
    WAIVE_HOLDING_ALERT = "waive-holding-alert"
    ACKNOWLEDGE_HOLDING_ALERT = "acknowledge-holding-alert"
    BE_CREDITED = "be-credited"


@dataclass(frozen=True)
class Who:
    """Who may take a decision.

    ``functions`` held with one of ``raci`` qualify anyone; ``client_functions`` qualify only
    a person of the engagement's client; ``client_side`` lets any person of the client take
    it. No functions at all: anyone the role table lets in. ``own_pay`` makes the conflict
    of interest narrower: only a person whose own pay the subject holds is refused.
    """

    what: str
    functions: frozenset[EngagementFunction] = frozenset()
    raci: frozenset[Raci] = ANY_RACI
    client_functions: frozenset[EngagementFunction] = frozenset()
    client_side: bool = False
    own_pay: bool = False

    @property
    def open_to_all(self) -> bool:
        return not (self.functions or self.client_functions or self.client_side)

    def holders(self) -> str:
        """Who qualifies, in words, for a refusal's message."""
        parts = [" or ".join(sorted(f.value for f in self.functions))] if self.functions else []
        if self.raci != ANY_RACI:
            parts[-1] += f" ({' or '.join(sorted(r.value for r in self.raci))})"
        parts += [f"{f.value} of the client organization" for f in sorted(self.client_functions)]
        if self.client_side:
            parts.append("a person of the client organization")
        return ", or ".join(parts)


TABLE: dict[Decision, Who] = {
    Decision.APPROVE_DEAL: Who(
        "approve the deal (move the engagement to SOLD)",
        functions=frozenset({F.ENGAGEMENT_MANAGEMENT, F.SPONSOR}),
        raci=frozenset({Raci.ACCOUNTABLE, Raci.RESPONSIBLE}),
    ),
    Decision.SIGN_OFF_DELIVERY: Who(
        "sign off delivery on a promise",
        functions=frozenset({F.DELIVERY, F.PROJECT_MANAGEMENT, F.FUNCTIONAL_MANAGEMENT}),
    ),
    Decision.ACCEPT_DELIVERABLE: Who(
        "accept or reject a deliverable",
        functions=frozenset({F.QUALITY}),
        client_side=True,
    ),
    Decision.APPROVE_CHANGE_ORDER: Who(
        "approve a change order",
        functions=frozenset({F.ENGAGEMENT_MANAGEMENT}),
        client_functions=frozenset({F.SPONSOR}),
    ),
    Decision.WAIVE_HOLDING_ALERT: Who(
        "waive an alert that holds pay",
        functions=frozenset({F.FINANCE, F.ENGAGEMENT_MANAGEMENT}),
        own_pay=True,
    ),
    Decision.ACKNOWLEDGE_HOLDING_ALERT: Who("acknowledge an alert that holds pay", own_pay=True),
    Decision.BE_CREDITED: Who("be credited with the sale", functions=frozenset({F.SALES})),
}


@dataclass(frozen=True)
class Standing:
    """What the table needs to know about one person on one engagement."""

    person_id: int
    name: str
    of_client: bool
    holds: frozenset[tuple[EngagementFunction, Raci]]
    credited: bool
    paid_from_subject: bool = False


def qualifying_function(who: Who, standing: Standing) -> EngagementFunction | None:
    """The function ``standing`` may take the decision in, or None when none qualifies. A
    decision open to all is taken in the first function the person holds, if any."""
    if who.open_to_all:
        return min((function for function, _ in standing.holds), default=None)
    for function, raci in sorted(standing.holds):
        if function in who.functions and raci in who.raci:
            return function
        if function in who.client_functions and standing.of_client:
            return function
    return None


def refusal(decision: Decision, standing: Standing) -> tuple[ErrorCode, str] | None:
    """Why the person may not take ``decision``, or None when they may. Pure: the table alone."""
    who = TABLE[decision]
    conflicted = standing.paid_from_subject if who.own_pay else standing.credited
    if conflicted and decision is not Decision.BE_CREDITED:
        whose = "whose pay this alert holds" if who.own_pay else "credited on this sale"
        return (
            ErrorCode.CONFLICT_OF_INTEREST,
            f"{standing.name} is {whose} and may not {who.what} "
            f"(decision rule {decision.value}: conflict of interest).",
        )
    if who.open_to_all or qualifying_function(who, standing) is not None:
        return None
    if who.client_side and standing.of_client:
        return None
    return (
        ErrorCode.FORBIDDEN,
        f"{standing.name} may not {who.what} on this engagement: that takes "
        f"{who.holders()} (decision rule {decision.value}).",
    )


class Refused(DomainError):
    """A decision the table does not let this person take; nothing was written. Each is
    counted in ``/metrics`` by code and decision."""

    def __init__(
        self, decision: Decision, field: str | None, code: ErrorCode, message: str
    ) -> None:
        super().__init__([FieldError(field, message, code)])
        metrics.DECISIONS_REFUSED.labels(code.value, decision.value).inc()


@dataclass(frozen=True)
class Decided:
    """Who took a decision, and in which function; ``outside`` when a key acting for no
    person took it (outside the engagement's structure)."""

    decision: Decision
    person_id: int | None
    function: EngagementFunction | None
    outside: bool
    key_id: int | None = None
    key_prefix: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def audited(self) -> audit.Decided:
        """The decision and its function as ``services.core.audit`` records them."""
        return {
            "decision": self.decision.value,
            "function": self.function.value if self.function else None,
        }


async def standing(
    engagement: Engagement, person_id: int, *, subject_pays: Iterable[int] = ()
) -> Standing:
    """Load what the table needs to know about ``person_id`` on ``engagement``."""
    person = await Person.get(id=person_id)
    holds = await RoleAssignment.filter(
        engagement_id=engagement.id, person_id=person_id
    ).values_list("function", "raci")
    credited = await Credit.filter(engagement_id=engagement.id, person_id=person_id).exists()
    return Standing(
        person_id=person_id,
        name=person.name,
        of_client=person.organization_id == engagement.client_id,
        holds=frozenset((F(f), Raci(r)) for f, r in holds),
        credited=credited,
        paid_from_subject=person_id in set(subject_pays),
    )


async def check(
    decision: Decision,
    *,
    engagement: Engagement,
    field: str | None = None,
    named_person_id: int | None = None,
    named_field: str | None = None,
    subject_pays: Iterable[int] = (),
) -> Decided:
    """Raise Refused unless the current actor may take ``decision`` on ``engagement``.

    ``named_person_id`` is the person the decision is recorded against (a signer, an
    acceptor, an approver), who may not be one the decision pays; ``subject_pays`` are the
    people whose pay the decision's subject holds (for the alert decisions)."""
    pays = frozenset(subject_pays)
    if named_person_id is not None:
        named = await standing(engagement, named_person_id, subject_pays=pays)
        why = refusal(decision, named)
        if why is not None and why[0] is ErrorCode.CONFLICT_OF_INTEREST:
            raise Refused(decision, named_field or field, *why)
    actor = current_actor()
    if actor.kind is not ActorKind.API_KEY and actor.person_id is None:
        return Decided(decision, named_person_id, None, outside=False)
    if actor.person_id is None:
        if actor.role == Role.ADMIN.value:
            return Decided(
                decision, None, None, outside=True, key_id=actor.key_id, key_prefix=actor.key_prefix
            )
        raise Refused(
            decision,
            field,
            ErrorCode.FORBIDDEN,
            f"This key acts for no person, and only a person may {TABLE[decision].what} "
            f"(decision rule {decision.value}); use a key tied to a person.",
        )
    deciding = await standing(engagement, actor.person_id, subject_pays=pays)
    why = refusal(decision, deciding)
    if why is not None:
        raise Refused(decision, field, *why)
    return Decided(
        decision,
        actor.person_id,
        qualifying_function(TABLE[decision], deciding),
        outside=False,
        key_id=actor.key_id,
        key_prefix=actor.key_prefix,
    )


_held: ContextVar[list[DecisionTaken] | None] = ContextVar("fourway_taken_held", default=None)


@asynccontextmanager
async def holding() -> AsyncIterator[None]:
    """Hold the decisions taken inside the block (a unit of work's) and write them, in
    order, with one INSERT when they are next read (``outside_decisions``, which the
    evaluation reads) or when the block ends; an error leaving the block drops them with
    the rest of its transaction."""
    if _held.get() is not None:
        yield
        return
    token = _held.set([])
    try:
        yield
        await _write_held()
    finally:
        _held.reset(token)


async def _write_held() -> None:
    held = _held.get()
    if held:
        await DecisionTaken.bulk_create(held)
        held.clear()


async def taken(decided: Decided, subject: Model, *, engagement_id: int) -> DecisionTaken:
    """Put ``decided`` on record against ``subject``, in the transaction that carries it out
    (inside ``holding``: returned unsaved, written with the block's others)."""
    row = DecisionTaken(
        engagement_id=engagement_id,
        decision=decided.decision.value,
        subject_type=type(subject).__name__,
        subject_id=subject.pk,
        person_id=decided.person_id,
        function=decided.function,
        key_id=decided.key_id,
        key_prefix=decided.key_prefix,
        outside=decided.outside,
        taken_at=decided.at,
    )
    held = _held.get()
    if held is None:
        await row.save(force_create=True)
    else:
        held.append(row)
    return row


async def _stands(taken: DecisionTaken, engagement: Engagement) -> bool:
    """Whether the subject of ``taken`` is still as the decision left it."""
    subject = taken.subject_id
    match Decision(taken.decision):
        case Decision.APPROVE_DEAL:
            return engagement.status != EngagementStatus.PROPOSED
        case Decision.SIGN_OFF_DELIVERY:
            return await Promise.filter(id=subject, delivery_signoff_by_id__isnull=False).exists()
        case Decision.ACCEPT_DELIVERABLE:
            return await Deliverable.filter(
                id=subject, status__in=(DeliverableStatus.ACCEPTED, DeliverableStatus.REJECTED)
            ).exists()
        case Decision.APPROVE_CHANGE_ORDER:
            return await ChangeOrder.filter(id=subject, status=ChangeOrderStatus.APPROVED).exists()
        case Decision.WAIVE_HOLDING_ALERT:
            return await Alert.filter(id=subject, status=AlertStatus.WAIVED).exists()
        case Decision.ACKNOWLEDGE_HOLDING_ALERT:
            return await Alert.filter(id=subject, status=AlertStatus.ACKNOWLEDGED).exists()
        case _:
            return False


async def outside_decisions(engagement: Engagement) -> tuple[rules.OutsideDecision, ...]:
    """The decisions on ``engagement`` that a key acting for no person took and that still
    stand: each the latest of its kind on its subject, the subject still as it left it. One
    query, and one more per such decision (there are few: each raises an alert)."""
    await _write_held()
    latest: dict[tuple[str, str, int], DecisionTaken] = {}
    for row in await DecisionTaken.filter(engagement_id=engagement.id).order_by("id"):
        latest[(row.decision, row.subject_type, row.subject_id)] = row
    standing = []
    for row in latest.values():
        if row.outside and await _stands(row, engagement):
            standing.append(
                rules.OutsideDecision(
                    decision=row.decision,
                    what=TABLE[Decision(row.decision)].what,
                    subject=f"{audit.label(_SUBJECTS[row.subject_type])}:{row.subject_id}",
                    key_prefix=row.key_prefix,
                    taken_at=row.taken_at,
                )
            )
    return tuple(standing)


_SUBJECTS: dict[str, type[Model]] = {
    model.__name__: model for model in (Engagement, Promise, Deliverable, ChangeOrder, Alert)
}


async def check_credited(engagement: Engagement, people: Iterable[int]) -> None:
    """Raise Refused unless every one of ``people`` holds SALES on the engagement."""
    for n, person_id in enumerate(people):
        why = refusal(Decision.BE_CREDITED, await standing(engagement, person_id))
        if why is not None:
            raise Refused(Decision.BE_CREDITED, f"credits.{n}.person_id", *why)


async def paid_by_holding(alert: Alert) -> frozenset[int]:
    """The credited people whose pay ``alert`` holds (their plan names its rule): the
    ledger decides what holds pay."""
    return await holding_pay(alert)
