"""Which terms a salesperson's sale is paid under: their plan, and its version in force at a
moment. Read only, and importing nothing of the use cases, so the ledger
(``services.compensation.signals``) can ask without reaching the use cases that write plans
(``services.compensation.commission_plans``)."""

from __future__ import annotations

from datetime import datetime

from models import CommissionPlan, CommissionPlanVersion, PlanAssignment


async def version_for(person_id: int, at: datetime) -> CommissionPlanVersion | None:
    """The terms a sale priced at ``at`` pays the person under: their plan's version in
    force then (its first, for a sale older than the plan); None without a plan."""
    plan = await plan_for(person_id)
    if plan is None:
        return None
    versions = CommissionPlanVersion.filter(plan_id=plan.id)
    in_force = (
        await versions.filter(effective_from__lte=at)
        .order_by("-effective_from", "-version")
        .first()
    )
    return in_force or await versions.order_by("effective_from", "version").first()


async def plan_for(person_id: int) -> CommissionPlan | None:
    """The person's plan: their own, else the default (None when there is neither)."""
    assignment = await PlanAssignment.get_or_none(person_id=person_id)
    if assignment is not None:
        return await CommissionPlan.get(id=assignment.plan_id)
    return await CommissionPlan.get_or_none(is_default=True)
