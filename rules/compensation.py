"""Compensation arithmetic: what a sale earns its salespeople, from margin, exactly.

Pure: a snapshot and Decimals in, Decimals out. Margin, the floor comparison, rounding
and splitting are ``rules.money``'s.

A sale is paid twice over its life: on its projected margin once it is sold, and on its
realized margin once it completes. It completes when every item bought (contract lines
and approved change orders) has been delivered and accepted in full, or when the
engagement is CLOSED; and then only once every accepted deliverable has its actual cost.
Realized revenue is the accepted share of what was bought, and the cost pay is computed
on is the estimate for that share plus the cost variances the plan charges to sales:

- ``APPROVED_CHANGE``: an item whose cost an approved change order moved came in within
  its estimate. Nobody's doing.
- ``DELIVERY_OVERRUN``: delivery spent more than estimated on an item a delivery expert
  had signed off before it was sold, or whose cost a change order had approved.
- ``SALES_UNDERESTIMATE``: more was spent on an item promised without such a sign-off,
  or given away unbought.
- ``UNDER_DELIVERY``: less was accepted than bought. The revenue of the share not
  accepted is never realized, so under-delivery never raises pay; it is shown as the
  revenue forgone, not charged again as cost.

A sign-off counts as collaborative selling only when it was given by someone other than
a salesperson credited with the sale, no later than the item was signed for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from rules.money import Financials, allocate, financials, round_money, total
from rules.snapshot import Snapshot

ZERO = Decimal(0)
ONE = Decimal(1)
CLOSED = "CLOSED"
ACCEPTED = "ACCEPTED"


class Attribution(StrEnum):
    """Who a variance on an item is down to."""

    APPROVED_CHANGE = "APPROVED_CHANGE"
    DELIVERY_OVERRUN = "DELIVERY_OVERRUN"
    SALES_UNDERESTIMATE = "SALES_UNDERESTIMATE"
    UNDER_DELIVERY = "UNDER_DELIVERY"


COST_ATTRIBUTIONS = frozenset(
    {Attribution.APPROVED_CHANGE, Attribution.DELIVERY_OVERRUN, Attribution.SALES_UNDERESTIMATE}
)


@dataclass(frozen=True)
class Plan:
    rate_on_margin: Decimal
    """The share of margin paid, as a fraction ("0.10" is 10%)."""
    margin_floor_pct: Decimal
    """Below this margin, as a fraction of revenue, the sale earns nothing."""
    reducing: frozenset[Attribution] = frozenset({Attribution.SALES_UNDERESTIMATE})
    """The cost attributions whose variance the pay is computed on."""


@dataclass(frozen=True)
class Basis:
    """Revenue and the cost pay is computed on: estimated when booked, realized when the
    sale completes."""

    revenue: Decimal
    cost: Decimal

    @property
    def financials(self) -> Financials:
        return Financials(revenue=self.revenue, estimated_cost=self.cost)

    @property
    def margin(self) -> Decimal:
        return self.financials.margin

    @property
    def margin_pct(self) -> Decimal | None:
        return self.financials.margin_pct


@dataclass(frozen=True)
class Earned:
    """What a basis earns under a plan (the whole sale, before splits), and why."""

    basis: Basis
    rate: Decimal
    amount: Decimal
    reason: str


def earned(basis: Basis, plan: Plan, *, minor_unit: int) -> Earned:
    """Margin times rate, rounded once; nothing below the plan's floor (compared exactly,
    as the margin rule compares it)."""
    pct = basis.margin_pct
    if pct is None or basis.financials.below(plan.margin_floor_pct):
        shown = (
            "no revenue" if pct is None else f"margin {pct} below the floor {plan.margin_floor_pct}"
        )
        return Earned(basis, plan.rate_on_margin, round_money(ZERO, minor_unit), shown)
    return Earned(
        basis,
        plan.rate_on_margin,
        round_money(basis.margin * plan.rate_on_margin, minor_unit),
        f"margin {basis.margin} at {pct} times rate {plan.rate_on_margin}",
    )


def shares(amount: Decimal, splits: list[Decimal], minor_unit: int) -> list[Decimal]:
    """Each salesperson's part of what the whole sale earns, by their splits, to the cent
    and summing to the whole."""
    return allocate(amount, splits, minor_unit)


def booked_basis(snapshot: Snapshot) -> Basis:
    """Projected: what was bought, at its estimated cost."""
    money = financials(snapshot.purchases, snapshot.change_orders)
    return Basis(revenue=money.revenue, cost=money.estimated_cost)


@dataclass(frozen=True)
class Variance:
    item: str
    amount: Decimal
    attribution: Attribution


@dataclass(frozen=True)
class Completion:
    """A sale's figures once it completed, fixed from then on."""

    revenue: Decimal
    """Realized: each item's revenue on the share of it accepted."""
    expected_cost: Decimal
    """The estimated cost of that share."""
    variances: tuple[Variance, ...]

    def basis(self, plan: Plan) -> Basis:
        """The realized basis under ``plan``: the cost variances it charges to sales added
        to the expected cost."""
        charged = total(
            v.amount
            for v in self.variances
            if v.attribution in COST_ATTRIBUTIONS and v.attribution in plan.reducing
        )
        return Basis(revenue=self.revenue, cost=self.expected_cost + charged)


def _bought_items(snapshot: Snapshot) -> list[str]:
    approved = [c for c in snapshot.change_orders if c.status == "APPROVED"]
    return sorted({p.item for p in snapshot.purchases} | {c.item for c in approved})


def _bought_quantity(snapshot: Snapshot, item: str) -> Decimal:
    return total(p.quantity for p in snapshot.purchases if p.item == item) + total(
        c.quantity_delta
        for c in snapshot.change_orders
        if c.item == item and c.status == "APPROVED"
    )


def _accepted_quantity(snapshot: Snapshot, item: str) -> Decimal:
    return total(
        d.quantity for d in snapshot.deliverables if d.item == item and d.status == ACCEPTED
    )


def is_complete(snapshot: Snapshot) -> bool:
    """CLOSED, or everything bought delivered and accepted in full."""
    if snapshot.status == CLOSED:
        return True
    items = _bought_items(snapshot)
    return bool(items) and all(
        _accepted_quantity(snapshot, item) >= _bought_quantity(snapshot, item) for item in items
    )


def missing_costs(snapshot: Snapshot) -> list[int]:
    """The accepted deliverables without an actual cost, which hold the completion back."""
    return [d.id for d in snapshot.deliverables if d.status == ACCEPTED and d.actual_cost is None]


def _signed_off(snapshot: Snapshot, item: str, salespeople: frozenset[int]) -> bool:
    """Every promise of the item was signed off by someone not credited with the sale, no
    later than the item was first signed for (collaborative selling)."""
    signed = [p.signed_at for p in snapshot.purchases if p.item == item and p.signed_at]
    by = min(signed, default=None)
    promises = [p for p in snapshot.promises if p.item == item]
    return all(
        p.delivery_signoff_by_id is not None
        and p.delivery_signoff_by_id not in salespeople
        and p.delivery_signoff_at is not None
        and (by is None or p.delivery_signoff_at <= by)
        for p in promises
    )


def completion(snapshot: Snapshot, *, salespeople: Iterable[int]) -> Completion | None:
    """The sale's figures if it is complete and every accepted deliverable has its cost;
    else None."""
    if not is_complete(snapshot) or missing_costs(snapshot):
        return None
    credited = frozenset(salespeople)
    bought_items = set(_bought_items(snapshot))
    items = sorted(bought_items | {d.item for d in snapshot.deliverables})
    revenue = expected = ZERO
    variances: list[Variance] = []
    for item in items:
        money = financials(
            snapshot.purchases, snapshot.change_orders, snapshot.deliverables, item=item
        )
        bought = _bought_quantity(snapshot, item)
        accepted = _accepted_quantity(snapshot, item)
        share = min(ONE, accepted / bought) if bought > 0 else ONE
        realized = money.revenue * share
        item_expected = money.estimated_cost * share
        revenue += realized
        expected += item_expected
        if realized < money.revenue:
            variances.append(Variance(item, money.revenue - realized, Attribution.UNDER_DELIVERY))
        changed = any(
            c.item == item and c.status == "APPROVED" and c.cost_delta
            for c in snapshot.change_orders
        )
        variance = money.actual_cost - item_expected
        if changed:
            kind = Attribution.APPROVED_CHANGE if variance <= 0 else Attribution.DELIVERY_OVERRUN
        elif item in bought_items and _signed_off(snapshot, item, credited):
            kind = Attribution.DELIVERY_OVERRUN
        else:
            kind = Attribution.SALES_UNDERESTIMATE
        if variance or changed:
            variances.append(Variance(item, variance, kind))
    return Completion(revenue=revenue, expected_cost=expected, variances=tuple(variances))


def signed_at(snapshot: Snapshot) -> datetime | None:
    """When the sale was signed: its first contract line's signature."""
    return min((p.signed_at for p in snapshot.purchases if p.signed_at), default=None)
