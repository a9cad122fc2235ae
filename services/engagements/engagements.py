"""Engagements: the unit everything else hangs off."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import (
    Alert,
    ChangeOrder,
    CompensationSignal,
    Deliverable,
    Engagement,
    Need,
    Organization,
    Promise,
    Purchase,
    RoleAssignment,
)
from models.enums import DecisionModel, EngagementFunction, EngagementStatus, OrganizationKind
from rules.facts import needed_functions, required_by_default
from services.alerts.evaluation import (
    DAY_THRESHOLDS,
    ENGAGEMENT_DELETED,
    FRACTION_THRESHOLDS,
    LIVE,
    Changed,
    resolve,
)
from services.core import audit, events, presenters
from services.core.errors import Conflict, FieldError, Invalid
from services.core.fields import (
    Choice,
    Currency,
    Flag,
    FunctionOverrides,
    Ref,
    Text,
    ThresholdOverrides,
    clean,
)
from services.core.units import changing, creating
from services.engagements import deals

SPEC = {
    "name": Text(max_length=200),
    "client_id": Ref(model=Organization, label="organization"),
    "currency": Currency(),
    "status": Choice(enum=EngagementStatus),
    "in_house": Flag(),
    "decision_model": Choice(enum=DecisionModel),
    "thresholds": ThresholdOverrides(
        nullable=True, days=DAY_THRESHOLDS, fractions=FRACTION_THRESHOLDS
    ),
    "required_functions": FunctionOverrides(
        nullable=True, functions=tuple(f.value for f in EngagementFunction)
    ),
}


def _overrides(stored: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """Overrides named in ``given`` replace the stored ones, a null one is dropped, and the
    rest stay; a null ``given`` drops them all."""
    if given is None:
        return {}
    merged = {**stored, **given}
    return {name: value for name, value in merged.items() if value is not None}


# An engagement only moves forward (steps may be skipped): reopening a closed sale would
# silently rewrite what finance was already told.
_ORDER = list(EngagementStatus)


def _check_transition(current: EngagementStatus, new: EngagementStatus) -> None:
    if _ORDER.index(new) < _ORDER.index(current):
        later = ", ".join(s.value for s in _ORDER[_ORDER.index(current) + 1 :]) or "none"
        raise Conflict(
            "status",
            f"The engagement is {current.value}; its status only moves forward (next: {later}).",
        )


async def _check_client(client_id: int | None) -> None:
    if client_id is None:
        return
    organization = await Organization.get_or_none(id=client_id)
    if organization is not None and organization.kind != OrganizationKind.CLIENT:
        raise Invalid([FieldError("client_id", "must name a CLIENT organization")])


async def _has_money(engagement_id: int) -> bool:
    for model in (Promise, Purchase, Deliverable, ChangeOrder):
        if await model.filter(engagement_id=engagement_id).exists():
            return True
    return False


async def create_engagement(
    *, name: str, client_id: int, currency: str, **optional: Any
) -> Changed[Engagement]:
    """Open an engagement for a client (PROPOSED unless a status is given)."""
    async with creating() as change:
        values = await clean(
            SPEC,
            {"name": name, "client_id": client_id, "currency": currency, **optional},
            required=frozenset({"name", "client_id", "currency"}),
        )
        await _check_client(values["client_id"])
        if values.get("status", EngagementStatus.PROPOSED) != EngagementStatus.PROPOSED:
            raise Conflict(
                "status",
                "A new engagement is PROPOSED: its deal is approved with approveDeal.",
            )
        for name in ("thresholds", "required_functions"):
            if name in values:
                values[name] = _overrides({}, values[name])
        engagement = await Engagement.create(**values)
        await audit.created(engagement)
        change.adopt(engagement)
    return Changed(engagement, change.reconciled)


async def update_engagement(*, id: int, **changes: Any) -> Changed[Engagement]:
    """Change an engagement; status moves forward only, currency only while no money is recorded."""
    async with changing(id, field="id") as change:
        engagement = change.engagement
        values = await clean(SPEC, changes)
        await _check_client(values.get("client_id"))
        if "status" in values:
            _check_transition(engagement.status, values["status"])
            await deals.check_sold(engagement, values["status"])
        if values.get("currency", engagement.currency) != engagement.currency and await _has_money(
            id
        ):
            raise Conflict(
                "currency",
                "The engagement already has amounts recorded in "
                f"{engagement.currency}; its currency can no longer change.",
            )
        if "thresholds" in values:
            given = changes["thresholds"]  # the cleaned value leaves out its nulls
            values["thresholds"] = _overrides(
                engagement.thresholds,
                None if given is None else {**dict.fromkeys(given), **values["thresholds"]},
            )
        if "required_functions" in values:
            values["required_functions"] = _overrides(
                engagement.required_functions, values["required_functions"]
            )
        before = audit.snapshot(engagement)
        if values:
            engagement.update_from_dict(values)
            await engagement.save(update_fields=[*values, "updated_at"])
        # A move of status is announced at the end of the unit, from the status it began with.
        entry = await audit.updated(engagement, before=before)
        change.note(changed=bool(entry.changed_fields))
    return Changed(engagement, change.reconciled)


@dataclass(frozen=True)
class FunctionNeed:
    """Whether an engagement needs someone to hold ``function``, and why."""

    function: EngagementFunction
    required: bool
    by_default: bool
    """What the table of functions by kind of engagement says."""
    overridden: bool


async def functions_needed(engagement: Engagement) -> list[FunctionNeed]:
    """Every function with whether ``engagement`` needs it: the table's answer for its kind
    (in house or not, with deliverables or not) and the engagement's own overrides."""
    has_deliverables = await Deliverable.filter(engagement_id=engagement.id).exists()
    table = required_by_default(engagement.in_house, has_deliverables)
    own = engagement.required_functions or {}
    needed = needed_functions(engagement.in_house, has_deliverables, own.items())
    return [
        FunctionNeed(
            function=function,
            required=function.value in needed,
            by_default=function.value in table,
            overridden=function.value in own,
        )
        for function in EngagementFunction
    ]


async def evaluate_engagement(*, id: int) -> Changed[Engagement]:
    """Check the engagement against the rules now and bring its alerts in line."""
    async with changing(id, field="id") as change:
        engagement = change.engagement
        reconciled = await change.evaluate()
        await audit.record(
            "engagement.evaluated",
            engagement,
            before=None,
            after={
                "alertsOpened": [presenters.global_id(a) for a in reconciled.opened],
                "alertsResolved": [presenters.global_id(a) for a in reconciled.resolved],
            },
        )
    return Changed(engagement, reconciled)


async def delete_engagement(*, id: int) -> Engagement:
    """Delete an engagement with its roles and four sides; not once pay was computed from it.

    Its live alerts resolve first, each announced, so a subscriber that follows alerts
    never keeps one open for an engagement that is gone."""
    async with changing(id, field="id") as change:
        engagement = change.engagement
        if await CompensationSignal.filter(engagement_id=id).exists():
            raise Conflict(
                "id",
                "Compensation signals were emitted for this engagement, and the ledger keeps "
                "them: close the engagement instead of deleting it.",
            )
        now = datetime.now(UTC)
        resolved = await resolve(
            await Alert.filter(engagement_id=id, status__in=LIVE).order_by("id"),
            now=now,
            reason=ENGAGEMENT_DELETED,
        )
        await engagement.delete()
        await audit.deleted(engagement)
        await events.record(
            [
                *(events.alert_occurrence("resolved", alert) for alert in resolved),
                events.Occurrence(
                    "engagement.deleted", presenters.event_object(engagement), engagement.id
                ),
            ],
            at=now,
        )
        change.deleted()
    return engagement


@dataclass(frozen=True)
class EngagementCriteria:
    """Which engagements to list; every given condition must hold (None: any)."""

    status: tuple[EngagementStatus, ...] | None = None
    client_id: int | None = None
    salesperson_id: int | None = None
    """Engagements this person sells: holds SALES on it, or made a promise on it."""
    item: str | None = None
    """Engagements with any side naming this scope item."""
    search: str | None = None
    """Part of the name, in any case."""


_SIDES = (Need, Promise, Purchase, Deliverable, ChangeOrder)


def engagements_matching(criteria: EngagementCriteria) -> QuerySet[Engagement]:
    """The engagements ``criteria`` select, as a query to page through."""
    query = Engagement.all()
    c = criteria
    if c.status:
        query = query.filter(status__in=[s.value for s in c.status])
    if c.client_id is not None:
        query = query.filter(client_id=c.client_id)
    if c.salesperson_id is not None:
        selling = RoleAssignment.filter(
            person_id=c.salesperson_id, function=EngagementFunction.SALES
        )
        promising = Promise.filter(made_by_id=c.salesperson_id)
        query = query.filter(
            Q(id__in=Subquery(selling.values("engagement_id")))
            | Q(id__in=Subquery(promising.values("engagement_id")))
        )
    if c.item:
        query = query.filter(
            Q(
                *(
                    Q(id__in=Subquery(m.filter(item=c.item).values("engagement_id")))
                    for m in _SIDES
                ),
                join_type="OR",
            )
        )
    if c.search:
        query = query.filter(name__icontains=c.search)
    return query
