"""Money, defined once: what an engagement's sides add up to (revenue, estimated and
actual cost, per item and in all), its margin and margin percentage, the floor comparison,
rounding to a currency's minor unit and splitting an amount among people.

The rules' facts, ``Engagement.financials``, ``alignment`` and the compensation ledger all
read these, so a margin one cent below a floor is below it everywhere. Pure: Decimal in,
Decimal out.

- Margin is revenue less cost; its percentage is the exact ratio, compared with a floor
  exactly (``margin < floor * revenue``), never after rounding.
- A percentage is shown to four places rounded toward minus infinity, so what is shown is
  never above the ratio: a ratio below a floor of up to four places is shown below it, and
  one at or above it is shown at or above it.
- Money is rounded half-up to the currency's minor unit, once, on the final amount.
- An amount split among people is allocated by largest remainder, so the shares always sum
  to the whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Protocol

ZERO = Decimal(0)
PCT_PLACES = Decimal("0.0001")
APPROVED = "APPROVED"


class Bought(Protocol):
    @property
    def item(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def estimated_cost(self) -> Decimal | None: ...


class Changed(Protocol):
    @property
    def item(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def amount_delta(self) -> Decimal: ...
    @property
    def cost_delta(self) -> Decimal: ...


class Incurred(Protocol):
    @property
    def item(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def actual_cost(self) -> Decimal | None: ...


def total(values: Iterable[Decimal | None]) -> Decimal:
    """The sum of the values given, an absent one counting as nothing."""
    return sum((v for v in values if v is not None), ZERO)


@dataclass(frozen=True)
class Financials:
    """What was sold for and what it costs, as estimated and as incurred."""

    revenue: Decimal
    estimated_cost: Decimal
    actual_cost: Decimal = ZERO
    actual_cost_complete: bool = True
    """Whether every accepted deliverable has its actual cost recorded."""

    @property
    def margin(self) -> Decimal:
        """Projected margin: revenue less estimated cost."""
        return self.revenue - self.estimated_cost

    @property
    def margin_ratio(self) -> Decimal | None:
        """Margin as an exact fraction of revenue; None without revenue."""
        return self.margin / self.revenue if self.revenue else None

    @property
    def margin_pct(self) -> Decimal | None:
        """The margin ratio as shown: four places, never above the exact ratio."""
        return shown_pct(self.margin_ratio)

    def below(self, floor: Decimal) -> bool:
        """Whether the margin is under ``floor`` (a fraction of revenue), exactly. No revenue
        is no margin to speak of: never below."""
        return bool(self.revenue) and self.margin < floor * self.revenue


def shown_pct(ratio: Decimal | None) -> Decimal | None:
    """A ratio to four places, rounded toward minus infinity."""
    return None if ratio is None else ratio.quantize(PCT_PLACES, rounding=ROUND_FLOOR)


def financials(
    purchases: Iterable[Bought],
    change_orders: Iterable[Changed],
    deliverables: Iterable[Incurred] = (),
    *,
    item: str | None = None,
) -> Financials:
    """Revenue and estimated cost from what was bought (contract lines and approved change
    orders), actual cost from deliverables; of one ``item`` when given."""
    purchases = [p for p in purchases if item is None or p.item == item]
    deliverables = [d for d in deliverables if item is None or d.item == item]
    changes = [
        c for c in change_orders if c.status == APPROVED and (item is None or c.item == item)
    ]
    return Financials(
        revenue=total(p.amount for p in purchases) + total(c.amount_delta for c in changes),
        estimated_cost=total(p.estimated_cost for p in purchases)
        + total(c.cost_delta for c in changes),
        actual_cost=total(d.actual_cost for d in deliverables),
        actual_cost_complete=all(
            d.actual_cost is not None for d in deliverables if d.status == "ACCEPTED"
        ),
    )


def round_money(amount: Decimal, minor_unit: int) -> Decimal:
    """Half-up to the currency's minor unit (``minor_unit`` digits after the point)."""
    return amount.quantize(Decimal(1).scaleb(-minor_unit), rounding=ROUND_HALF_UP)


def allocate(amount: Decimal, shares: Sequence[Decimal], minor_unit: int) -> list[Decimal]:
    """``amount`` (already rounded to the minor unit) split in proportion to ``shares``
    (fractions summing to one), to the minor unit, by largest remainder: each share gets
    its exact part rounded toward zero, and the units left over go one each to the largest
    remainders (the earlier share on a tie). The parts sum to ``amount`` exactly."""
    if not shares:
        return []
    unit = Decimal(1).scaleb(-minor_unit)
    whole = sum(shares, ZERO)
    exact = [amount * s / whole if whole else ZERO for s in shares]
    parts = [e.quantize(unit, rounding=ROUND_DOWN) for e in exact]
    left = int((amount - sum(parts, ZERO)) / unit)
    step = unit if left >= 0 else -unit
    order = sorted(range(len(shares)), key=lambda i: (-abs(exact[i] - parts[i]), i))
    for i in order[: abs(left)]:
        parts[i] += step
    return parts
