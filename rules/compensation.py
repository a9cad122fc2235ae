"""Compensation arithmetic: what a sale earns its salespeople, from margin, exactly.

Pure: Decimal in, Decimal out. Margin, the floor comparison and rounding are
``rules.money``'s: the floor is compared on the exact ratio, and an amount is rounded
half-up to the currency's minor unit once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from rules.money import Financials, round_money

ZERO = Decimal(0)


class Attribution(StrEnum):
    """Who a cost variance on an item is down to."""

    APPROVED_CHANGE = "APPROVED_CHANGE"
    """Covered by an approved change order: the client bought it, nobody is charged."""
    DELIVERY_OVERRUN = "DELIVERY_OVERRUN"
    """Delivery spent more on an item it had signed off: not the salesperson's doing."""
    SALES_UNDERESTIMATE = "SALES_UNDERESTIMATE"
    """An item promised without delivery sign-off, or given away unbought."""


@dataclass(frozen=True)
class Plan:
    rate_on_margin: Decimal
    """The share of margin paid, as a fraction ("0.10" is 10%)."""
    margin_floor_pct: Decimal
    """Below this margin, as a fraction of revenue, the sale earns nothing."""
    reducing: frozenset[Attribution] = frozenset({Attribution.SALES_UNDERESTIMATE})
    """The attributions whose cost variance reduces pay."""


@dataclass(frozen=True)
class Basis:
    """Revenue and the cost pay is computed on: estimated when booked, realized when the
    sale completes. Its arithmetic is ``rules.money``'s."""

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
    """What a basis earns one salesperson under a plan, and why."""

    basis: Basis
    rate: Decimal
    split: Decimal
    amount: Decimal
    reason: str


def earned(basis: Basis, plan: Plan, *, split: Decimal, minor_unit: int) -> Earned:
    """Margin times rate times the salesperson's split; nothing below the plan's floor
    (compared exactly, as the margin rule compares it)."""
    pct = basis.margin_pct
    if pct is None or basis.financials.below(plan.margin_floor_pct):
        shown = (
            "no revenue" if pct is None else f"margin {pct} below the floor {plan.margin_floor_pct}"
        )
        return Earned(basis, plan.rate_on_margin, split, round_money(ZERO, minor_unit), shown)
    amount = round_money(basis.margin * plan.rate_on_margin * split, minor_unit)
    return Earned(
        basis,
        plan.rate_on_margin,
        split,
        amount,
        f"margin {basis.margin} at {pct} times rate {plan.rate_on_margin} times split {split}",
    )


@dataclass(frozen=True)
class ItemCost:
    """One item's costs at completion, and what it was sold as."""

    item: str
    estimated: Decimal
    actual: Decimal
    approved_change: Decimal = ZERO
    """Cost added by approved change orders: part of the estimate, not a variance."""
    signed_off: bool = True
    """Every promise of the item had delivery sign-off (and the item was bought)."""


@dataclass(frozen=True)
class Variance:
    item: str
    amount: Decimal
    attribution: Attribution


def attribute(items: Iterable[ItemCost]) -> list[Variance]:
    """Each item's cost variance (actual less estimate and approved changes), and whose it is."""
    variances = []
    for cost in items:
        variance = cost.actual - cost.estimated - cost.approved_change
        if cost.approved_change and variance <= 0:
            kind = Attribution.APPROVED_CHANGE
        elif cost.signed_off:
            kind = Attribution.DELIVERY_OVERRUN
        else:
            kind = Attribution.SALES_UNDERESTIMATE
        if variance or cost.approved_change:
            variances.append(Variance(cost.item, variance, kind))
    return variances


def realized_basis(booked: Basis, variances: Iterable[Variance], plan: Plan) -> Basis:
    """The booked basis with the variances the plan charges to sales added to its cost."""
    charged = sum((v.amount for v in variances if v.attribution in plan.reducing), ZERO)
    return Basis(revenue=booked.revenue, cost=booked.cost + charged)
