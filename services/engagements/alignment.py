"""The four sides of an engagement lined up per item, and its money (``rules.money``'s
arithmetic). Pure: no I/O.

Approved change orders are part of what was bought: they move the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from models.enums import ChangeOrderStatus, DeliverableStatus, Priority
from rules import money
from rules.money import Financials, total

_PRIORITY_RANK = {Priority.MUST: 0, Priority.SHOULD: 1, Priority.COULD: 2}
_DELIVERED = {DeliverableStatus.DELIVERED, DeliverableStatus.ACCEPTED}


class _NeedRow(Protocol):
    item: str
    priority: Priority


class _PromiseRow(Protocol):
    item: str
    quantity: Decimal
    quoted_amount: Decimal | None


class _PurchaseRow(Protocol):
    item: str
    quantity: Decimal
    amount: Decimal
    estimated_cost: Decimal | None


class _DeliverableRow(Protocol):
    item: str
    quantity: Decimal
    status: DeliverableStatus
    actual_cost: Decimal | None


class _ChangeOrderRow(Protocol):
    item: str
    status: ChangeOrderStatus
    quantity_delta: Decimal
    amount_delta: Decimal
    cost_delta: Decimal


@dataclass(frozen=True)
class Needed:
    priority: Priority


@dataclass(frozen=True)
class Sized:
    quantity: Decimal
    amount: Decimal | None


@dataclass(frozen=True)
class Delivered:
    quantity: Decimal
    accepted: Decimal


@dataclass(frozen=True)
class AlignmentRow:
    item: str
    needed: Needed | None
    promised: Sized | None
    bought: Sized | None
    delivered: Delivered | None


def approved(change_orders: Iterable[_ChangeOrderRow]) -> list[_ChangeOrderRow]:
    return [c for c in change_orders if c.status == ChangeOrderStatus.APPROVED]


def align(
    *,
    needs: Iterable[_NeedRow],
    promises: Iterable[_PromiseRow],
    purchases: Iterable[_PurchaseRow],
    deliverables: Iterable[_DeliverableRow],
    change_orders: Iterable[_ChangeOrderRow],
) -> list[AlignmentRow]:
    """One row per item, sorted by item; a side is None where nothing of it names the item."""
    by_item: dict[str, dict[str, list[object]]] = {}

    def put(side: str, rows: Iterable[object]) -> None:
        for row in rows:
            by_item.setdefault(row.item, {}).setdefault(side, []).append(row)  # type: ignore[attr-defined]

    put("needs", needs)
    put("promises", promises)
    put("purchases", purchases)
    put("deliverables", deliverables)
    put("changes", approved(change_orders))

    result = []
    for item in sorted(by_item):
        sides = by_item[item]
        need_rows: list[_NeedRow] = sides.get("needs", [])  # type: ignore[assignment]
        promise_rows: list[_PromiseRow] = sides.get("promises", [])  # type: ignore[assignment]
        purchase_rows: list[_PurchaseRow] = sides.get("purchases", [])  # type: ignore[assignment]
        deliverable_rows: list[_DeliverableRow] = sides.get("deliverables", [])  # type: ignore[assignment]
        change_rows: list[_ChangeOrderRow] = sides.get("changes", [])  # type: ignore[assignment]
        needed = (
            Needed(min((n.priority for n in need_rows), key=_PRIORITY_RANK.__getitem__))
            if need_rows
            else None
        )
        quotes = [p.quoted_amount for p in promise_rows]
        promised = (
            Sized(
                quantity=total(p.quantity for p in promise_rows),
                amount=None if all(q is None for q in quotes) else total(quotes),
            )
            if promise_rows
            else None
        )
        bought = (
            Sized(
                quantity=total(p.quantity for p in purchase_rows)
                + total(c.quantity_delta for c in change_rows),
                amount=money.financials(purchase_rows, change_rows).revenue,
            )
            if purchase_rows or change_rows
            else None
        )
        delivered = (
            Delivered(
                quantity=total(d.quantity for d in deliverable_rows if d.status in _DELIVERED),
                accepted=total(
                    d.quantity for d in deliverable_rows if d.status == DeliverableStatus.ACCEPTED
                ),
            )
            if deliverable_rows
            else None
        )
        result.append(AlignmentRow(item, needed, promised, bought, delivered))
    return result


def financials(
    *,
    purchases: Iterable[_PurchaseRow],
    deliverables: Iterable[_DeliverableRow],
    change_orders: Iterable[_ChangeOrderRow],
) -> Financials:
    """Revenue and estimated cost from what was bought (with approved changes), actual cost
    from deliverables; margin is projected, revenue less estimated cost."""
    return money.financials(purchases, change_orders, deliverables)
