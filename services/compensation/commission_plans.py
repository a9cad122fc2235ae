"""Commission plans, which plan each salesperson is on, and who is credited with a sale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from models import (
    CommissionPlan,
    CommissionPlanVersion,
    CompensationSignal,
    Credit,
    Engagement,
    Person,
    PlanAssignment,
)
from models.enums import Severity
from rules.catalogue import BY_ID
from rules.compensation import Attribution
from services.core import audit
from services.core.errors import Conflict, FieldError, Invalid, NotFound
from services.core.fields import (
    Flag,
    Fraction,
    Moment,
    Names,
    Ref,
    Text,
    WholeNumber,
    clean,
    forget,
)
from services.core.records import guard_integrity
from services.core.units import changing
from services.core.wire import format_decimal, to_global_id
from services.engagements import decisions

# Pay is held, by default, while a critical mismatch the sale is answerable for is open.
DEFAULT_HOLD_RULES = (
    "free-work",
    "promised-need-not-bought",
    "price-mismatch",
    "promise-without-signoff",
    "margin-below-floor",
)

# The terms a sale is paid under; changing any of them makes a new version of the plan.
TERMS = (
    "rate_on_margin",
    "margin_floor_pct",
    "hold_rules",
    "hold_severities",
    "reducing_attributions",
    "clawback_window_days",
)

SPEC = {
    "name": Text(max_length=200),
    "rate_on_margin": Fraction(),
    "margin_floor_pct": Fraction(),
    "hold_rules": Names(allowed=frozenset(BY_ID)),
    "hold_severities": Names(allowed=frozenset(Severity)),
    "reducing_attributions": Names(allowed=frozenset(Attribution)),
    "clawback_window_days": WholeNumber(),
    "is_default": Flag(),
    "effective_from": Moment(),
}


async def _refuse_taken_name(name: str | None, other_than: int | None = None) -> None:
    if name and await CommissionPlan.filter(name=name).exclude(id=other_than).exists():
        raise Conflict("name", f"A commission plan named '{name}' already exists.")


async def _only_default(plan: CommissionPlan) -> None:
    if plan.is_default:
        await CommissionPlan.filter(is_default=True).exclude(id=plan.id).update(is_default=False)


async def create_commission_plan(
    *, name: str, rate_on_margin: Decimal, margin_floor_pct: Decimal, **optional: Any
) -> CommissionPlan:
    """Add a plan; holds, attributions and clawback window take the defaults when left out."""
    values = await clean(
        SPEC,
        {
            "name": name,
            "rate_on_margin": rate_on_margin,
            "margin_floor_pct": margin_floor_pct,
            **optional,
        },
        required=frozenset({"name", "rate_on_margin", "margin_floor_pct"}),
    )
    values.setdefault("hold_rules", sorted(DEFAULT_HOLD_RULES))
    values.setdefault("hold_severities", [Severity.CRITICAL.value])
    values.setdefault("reducing_attributions", [Attribution.SALES_UNDERESTIMATE.value])
    async with in_transaction():
        await _refuse_taken_name(values["name"])
        effective_from = _effective_from(values.pop("effective_from", None))
        plan: CommissionPlan = await guard_integrity(
            lambda: CommissionPlan.create(**values), field="name", message="The name is taken."
        )
        await _new_version(plan, effective_from)
        await _only_default(plan)
        await audit.created(plan)
        return plan


async def update_commission_plan(*, id: int, **changes: Any) -> CommissionPlan:
    """Change a plan; making it the default makes no other plan the default. The default
    is replaced that way, never unset."""
    values = await clean(SPEC, changes)
    async with in_transaction():
        plan = await CommissionPlan.select_for_update().get_or_none(id=id)
        if plan is None:
            raise NotFound("id", "No commission plan with this id.")
        await _refuse_taken_name(values.get("name"), other_than=id)
        if plan.is_default and values.get("is_default") is False:
            # With no default, everyone without a plan of their own would stop being paid,
            # and nothing would say so.
            raise Conflict(
                "is_default",
                "A default plan is needed, for everyone without a plan of their own: make "
                "another plan the default instead (isDefault: true on it), which unsets this one.",
            )
        before = audit.snapshot(plan)
        effective_from = _effective_from(values.pop("effective_from", None))
        terms_changed = any(
            name in values and values[name] != getattr(plan, name) for name in TERMS
        )
        if values:
            plan.update_from_dict(values)
            await plan.save(update_fields=[*values, "updated_at"])
        if terms_changed:
            await _new_version(plan, effective_from)
        await _only_default(plan)
        await audit.updated(plan, before=before)
        return plan


async def assign_commission_plan(*, person_id: int, plan_id: int) -> PlanAssignment:
    """Put a salesperson on a plan (instead of the default)."""
    values = await clean(
        {
            "person_id": Ref(model=Person, label="person"),
            "plan_id": Ref(model=CommissionPlan, label="commission plan"),
        },
        {"person_id": person_id, "plan_id": plan_id},
        required=frozenset({"person_id", "plan_id"}),
    )
    async with in_transaction():
        assignment = await PlanAssignment.select_for_update().get_or_none(
            person_id=values["person_id"]
        )
        before = None if assignment is None else _plan_of(assignment)
        if assignment is None:
            assignment = await PlanAssignment.create(**values)
        else:
            assignment.plan_id = values["plan_id"]
            await assignment.save(update_fields=["plan_id", "updated_at"])
        await audit.record(
            "person.commission_plan_assigned",
            await Person.get(id=assignment.person_id),
            before=before,
            after=_plan_of(assignment),
        )
        return assignment


def _plan_of(assignment: PlanAssignment) -> dict[str, Any]:
    return {"commissionPlan": {"id": to_global_id("CommissionPlan", assignment.plan_id)}}


def _trail(credits: Sequence[Credit]) -> dict[str, Any]:
    """An engagement's credits as the audit trail records them."""
    return {
        "credits": [
            {
                "person": {"id": to_global_id("Person", c.person_id)},
                "splitPct": format_decimal(c.split_pct),
            }
            for c in credits
        ]
    }


@dataclass(frozen=True)
class Credits:
    engagement: Engagement
    credits: tuple[Credit, ...]


async def set_engagement_credits(
    *, engagement_id: int, credits: Sequence[dict[str, Any]]
) -> Credits:
    """Replace who is credited with the sale; the splits must sum to exactly one."""
    errors: list[FieldError] = []
    cleaned = []
    for n, credit in enumerate(credits):
        try:
            cleaned.append(
                await clean(
                    {"person_id": Ref(model=Person, label="person"), "split_pct": Fraction()},
                    credit,
                    required=frozenset({"person_id", "split_pct"}),
                )
            )
        except Invalid as invalid:
            errors += [
                FieldError(f"credits.{n}.{e.field}", e.message, e.code) for e in invalid.errors
            ]
    if errors:
        raise Invalid(errors)
    people = [c["person_id"] for c in cleaned]
    if len(set(people)) != len(people):
        raise Invalid([FieldError("credits", "name each salesperson once")])
    if any(c["split_pct"] <= 0 for c in cleaned):
        raise Invalid([FieldError("credits", "every split must be more than 0")])
    total = sum((c["split_pct"] for c in cleaned), Decimal(0))
    if cleaned and total != 1:
        raise Invalid([FieldError("credits", f"splits must sum to 1 (100%); they sum to {total}")])
    async with changing(engagement_id) as change:
        engagement = change.engagement
        await decisions.check_credited(engagement, people)
        before = _trail(await Credit.filter(engagement_id=engagement.id).order_by("id"))
        await Credit.filter(engagement_id=engagement.id).delete()
        made = [await Credit.create(engagement_id=engagement.id, **c) for c in cleaned]
        await audit.record(
            "engagement.credits_set",
            engagement,
            before=before,
            after=_trail(made),
        )
        change.roles_changed()
        # Who is credited decides whose signals the sale emits: evaluate now.
        change.note()
    return Credits(engagement, tuple(made))


def _effective_from(given: datetime | None) -> datetime:
    """When new terms take effect: now unless later. Not earlier: sales already signed
    keep their terms, and re-pricing one under new terms is done on purpose
    (``repriceEngagement``)."""
    now = datetime.now(UTC)
    if given is None:
        return now
    if given < now - timedelta(minutes=1):
        raise Invalid(
            [
                FieldError(
                    "effective_from",
                    "new terms take effect now or later, not in the past: sales already "
                    "signed keep the terms they were signed under (re-price one on purpose "
                    "with repriceEngagement)",
                )
            ]
        )
    return given


async def _new_version(plan: CommissionPlan, effective_from: datetime) -> CommissionPlanVersion:
    """Record the plan's terms as they now are as its next version."""
    latest = await CommissionPlanVersion.filter(plan_id=plan.id).order_by("-version").first()
    return await CommissionPlanVersion.create(
        plan_id=plan.id,
        version=1 if latest is None else latest.version + 1,
        effective_from=effective_from,
        **{name: getattr(plan, name) for name in TERMS},
    )


async def _refuse_deleting_in_use(plan: CommissionPlan) -> None:
    """A plan the ledger follows or followed stays: deleting it would silently stop pay for
    everyone it covers, or leave entries computed under a plan nobody can look up."""
    if plan.is_default:
        raise Conflict(
            "id",
            "This is the default plan, which pays everyone without a plan of their own: make "
            "another plan the default first (isDefault: true on it), then delete this one.",
        )
    if await PlanAssignment.filter(plan_id=plan.id).exists():
        raise Conflict(
            "id",
            "Salespeople are on this plan: move them to another first (assignCommissionPlan).",
        )
    if await CompensationSignal.filter(plan_id=plan.id).exists():
        raise Conflict(
            "id",
            "Compensation signals were computed under this plan, and the ledger keeps what it "
            "paid under: leave the plan in place (nobody is on it, so it pays no one).",
        )


async def delete_commission_plan(*, id: int) -> CommissionPlan:
    """Delete a plan that is not the default, that nobody is on and that no pay was
    computed under."""
    async with in_transaction():
        plan = await CommissionPlan.select_for_update().get_or_none(id=id)
        if plan is None:
            raise NotFound("id", "No commission plan with this id.")
        await _refuse_deleting_in_use(plan)
        # Someone put on it, or paid under it, since the checks: the foreign keys refuse.
        await guard_integrity(
            plan.delete, field="id", message="The plan was put to use meanwhile: try again."
        )
        forget()
        await audit.deleted(plan)
        return plan
