"""Compensation signals: the append-only ledger finance computes salespeople's pay from.

Emitted by the same evaluation that reconciles alerts, in the same transaction. For each
salesperson credited with a sale it keeps, per kind, the latest signal true to the facts:
an unchanged engagement emits nothing (the idempotency key says so), a change emits a new
signal that supersedes the last, never an edit.

- BOOKED once the engagement is sold: projected margin from estimated cost.
- HELD while an alert the salesperson's plan names is live, with the amount at risk;
  RELEASED when none is left.
- ADJUSTED once the engagement completes (every deliverable accepted, or CLOSED): realized
  margin from actual cost, the variance attributed per item; what the plan charges to sales
  moves pay, a clawback only within the plan's window.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from models import Alert, CommissionPlan, CompensationSignal, Credit, Engagement
from models.enums import SignalKind
from rules import Snapshot
from rules.compensation import (
    Attribution,
    Basis,
    Earned,
    ItemCost,
    Plan,
    attribute,
    earned,
    realized_basis,
)
from rules.money import financials, round_money
from services.commission_plans import plan_for
from services.currencies import MINOR_UNITS

_SOLD = ("SOLD", "DELIVERING", "SUPPORTING", "CLOSED")
ZERO = Decimal(0)


@dataclass(frozen=True)
class _Desired:
    kind: SignalKind
    earned: Earned
    amount: Decimal
    reason: str
    attribution: list[dict[str, str]]
    evidence: list[int]
    plan_id: int | None
    """The plan it is computed under, kept so that the plan cannot be deleted."""


def _plan(row: CommissionPlan) -> Plan:
    return Plan(
        rate_on_margin=row.rate_on_margin,
        margin_floor_pct=row.margin_floor_pct,
        reducing=frozenset(Attribution(a) for a in row.reducing_attributions),
    )


def _booked_basis(snapshot: Snapshot) -> Basis:
    money = financials(snapshot.purchases, snapshot.change_orders)
    return Basis(revenue=money.revenue, cost=money.estimated_cost)


def _completed(snapshot: Snapshot) -> bool:
    if snapshot.status == "CLOSED":
        return True
    return bool(snapshot.deliverables) and all(
        d.status == "ACCEPTED" for d in snapshot.deliverables
    )


def _item_costs(snapshot: Snapshot) -> list[ItemCost]:
    """Per item: estimate (purchases), actual (deliverables, the estimate where unrecorded),
    approved change cost, and whether sales had it signed off and sold it."""
    items = sorted(
        {p.item for p in snapshot.purchases}
        | {d.item for d in snapshot.deliverables}
        | {p.item for p in snapshot.promises}
    )
    costs = []
    for item in items:
        estimated = sum(
            (p.estimated_cost or ZERO for p in snapshot.purchases if p.item == item), ZERO
        )
        deliverables = [d for d in snapshot.deliverables if d.item == item]
        recorded = [d.actual_cost for d in deliverables if d.actual_cost is not None]
        actual = sum(recorded, ZERO) if recorded else estimated
        change = sum(
            (
                c.cost_delta
                for c in snapshot.change_orders
                if c.item == item and c.status == "APPROVED"
            ),
            ZERO,
        )
        promises = [p for p in snapshot.promises if p.item == item]
        bought = any(p.item == item for p in snapshot.purchases)
        signed_off = bought and all(p.delivery_signoff_by_id is not None for p in promises)
        costs.append(ItemCost(item, estimated, actual, change, signed_off))
    return costs


async def emit(
    engagement: Engagement, snapshot: Snapshot, *, now: datetime
) -> list[CompensationSignal]:
    """Append the signals the engagement's facts call for; return those appended."""
    if snapshot.status not in _SOLD:
        return []
    credits = await Credit.filter(engagement_id=engagement.id).order_by("id")
    minor = MINOR_UNITS.get(engagement.currency, 2)
    booked_basis = _booked_basis(snapshot)
    live = await Alert.filter(engagement_id=engagement.id, status__in=["OPEN", "ACKNOWLEDGED"])
    latest: dict[tuple[int, SignalKind], CompensationSignal] = {}
    for signal in await CompensationSignal.filter(engagement_id=engagement.id).order_by("id"):
        kind = SignalKind.HELD if signal.kind == SignalKind.RELEASED else signal.kind
        latest[(signal.salesperson_id, kind)] = signal
    appended = []
    for credit in credits:
        plan_row = await plan_for(credit.person_id)
        if plan_row is None:
            continue
        plan = _plan(plan_row)
        booked = earned(booked_basis, plan, split=credit.split_pct, minor_unit=minor)
        wanted = [
            _Desired(SignalKind.BOOKED, booked, booked.amount, booked.reason, [], [], plan_row.id)
        ]
        holds = sorted(
            a.id
            for a in live
            if a.rule_id in plan_row.hold_rules
            and (not plan_row.hold_severities or a.severity in plan_row.hold_severities)
        )
        held = latest.get((credit.person_id, SignalKind.HELD))
        if holds:
            wanted.append(
                _Desired(
                    SignalKind.HELD,
                    booked,
                    booked.amount,
                    "pay held while these alerts are open",
                    [],
                    holds,
                    plan_row.id,
                )
            )
        elif held is not None and held.kind == SignalKind.HELD:
            wanted.append(
                _Desired(
                    SignalKind.RELEASED,
                    booked,
                    booked.amount,
                    "the alerts that held pay are resolved",
                    [],
                    held.evidence,
                    plan_row.id,
                )
            )
        if _completed(snapshot):
            variances = attribute(_item_costs(snapshot))
            realized = earned(
                realized_basis(booked_basis, variances, plan),
                plan,
                split=credit.split_pct,
                minor_unit=minor,
            )
            delta = realized.amount - booked.amount
            first_booked = (
                await CompensationSignal.filter(
                    engagement_id=engagement.id,
                    salesperson_id=credit.person_id,
                    kind=SignalKind.BOOKED,
                )
                .order_by("id")
                .first()
            )
            window_ends = (first_booked.created_at if first_booked else now) + timedelta(
                days=plan_row.clawback_window_days
            )
            reason = f"realized {realized.reason}; booked {booked.amount}"
            if delta < 0 and now > window_ends:
                delta, reason = round_money(ZERO, minor), f"{reason}; past the clawback window"
            attribution = [
                {"item": v.item, "variance": str(v.amount), "attribution": v.attribution.value}
                for v in variances
            ]
            wanted.append(
                _Desired(SignalKind.ADJUSTED, realized, delta, reason, attribution, [], plan_row.id)
            )
        for desired in wanted:
            added = await _append(engagement, credit.person_id, desired, latest, now)
            if added is not None:
                appended.append(added)
    # Someone booked before but no longer credited: their booking is corrected to nothing.
    credited = {c.person_id for c in credits}
    for (person_id, slot), previous in list(latest.items()):
        if slot != SignalKind.BOOKED or person_id in credited or previous.amount == ZERO:
            continue
        nothing = Earned(booked_basis, previous.rate, ZERO, round_money(ZERO, minor), "")
        added = await _append(
            engagement,
            person_id,
            _Desired(
                SignalKind.BOOKED,
                nothing,
                nothing.amount,
                "no longer credited with the sale",
                [],
                [],
                previous.plan_id,
            ),
            latest,
            now,
        )
        if added is not None:
            appended.append(added)
    return appended


def _same(previous: CompensationSignal, desired: _Desired) -> bool:
    basis = desired.earned.basis
    return (
        previous.kind == desired.kind
        and previous.revenue == basis.revenue
        and previous.cost == basis.cost
        and previous.rate == desired.earned.rate
        and previous.split == desired.earned.split
        and previous.amount == desired.amount
        and list(previous.evidence) == desired.evidence
    )


async def _append(
    engagement: Engagement,
    person_id: int,
    desired: _Desired,
    latest: dict[tuple[int, SignalKind], CompensationSignal],
    now: datetime,
) -> CompensationSignal | None:
    """Append ``desired`` unless the latest signal of its kind already says the same."""
    basis = desired.earned.basis
    slot = SignalKind.HELD if desired.kind == SignalKind.RELEASED else desired.kind
    previous = latest.get((person_id, slot))
    if previous is not None and _same(previous, desired):
        return None
    # The key names what this signal follows, so a retried evaluation cannot append twice.
    key = (
        f"{desired.kind.value}:{engagement.id}:{person_id}:"
        f"{previous.id if previous is not None else 0}"
    )
    signal = await CompensationSignal.create(
        kind=desired.kind,
        engagement_id=engagement.id,
        salesperson_id=person_id,
        period=now.strftime("%Y-%m"),
        currency=engagement.currency,
        revenue=basis.revenue,
        cost=basis.cost,
        margin=basis.margin,
        margin_pct=basis.margin_pct,
        rate=desired.earned.rate,
        split=desired.earned.split,
        amount=desired.amount,
        reason=desired.reason,
        attribution=desired.attribution,
        evidence=desired.evidence,
        supersedes_id=previous.id if previous is not None else None,
        plan_id=desired.plan_id,
        idempotency_key=key,
    )
    latest[(person_id, slot)] = signal
    return signal


def totals(signals: list[CompensationSignal]) -> dict[SignalKind, Decimal]:
    """The sum of amounts per kind."""
    sums: dict[SignalKind, Decimal] = defaultdict(lambda: ZERO)
    for s in signals:
        sums[s.kind] += s.amount
    return dict(sums)
