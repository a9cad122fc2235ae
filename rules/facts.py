"""Turn a Snapshot into the flat facts the engine matches, plus the clock and the barrier.

Money and thresholds are compared here, exactly, in Decimal: the engine's numbers are
doubles, so it only ever sees the outcome (a flag) or values whose order a double keeps
(quantities, day numbers). Every fact has an id prefixed by its kind (``promise:42``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from rules.money import financials, total
from rules.snapshot import Deliverable, Promise, Purchase, Snapshot

Fact = dict[str, Any]

STATUS_ORDER = ("PROPOSED", "SOLD", "DELIVERING", "SUPPORTING", "CLOSED")
DECIDING_FUNCTIONS = frozenset({"ENGAGEMENT_MANAGEMENT", "SPONSOR"})
"""The functions whose holders approve the deal (the decision model counts them)."""

FUNCTIONS = (
    "SALES",
    "ENGAGEMENT_MANAGEMENT",
    "PROJECT_MANAGEMENT",
    "DELIVERY",
    "FUNCTIONAL_MANAGEMENT",
    "PROCUREMENT",
    "LEGAL",
    "QUALITY",
    "CUSTOMER_SERVICE",
    "FINANCE",
    "SPONSOR",
)

# Which functions an engagement needs someone to hold, by kind of engagement: every one
# needs sales, engagement management and delivery; one for an outside client (not in
# house) also legal, procurement and finance; quality once a deliverable awaits acceptance.
REQUIRED_ALWAYS = frozenset({"SALES", "ENGAGEMENT_MANAGEMENT", "DELIVERY"})
REQUIRED_EXTERNAL = frozenset({"LEGAL", "PROCUREMENT", "FINANCE"})
REQUIRED_FOR_ACCEPTANCE = frozenset({"QUALITY"})


def required_by_default(in_house: bool, has_deliverables: bool) -> frozenset[str]:
    """The functions the table above says an engagement of this kind needs."""
    required = set(REQUIRED_ALWAYS)
    if not in_house:
        required |= REQUIRED_EXTERNAL
    if has_deliverables:
        required |= REQUIRED_FOR_ACCEPTANCE
    return frozenset(required)


def needed_functions(
    in_house: bool, has_deliverables: bool, overrides: Iterable[tuple[str, bool]]
) -> frozenset[str]:
    """The functions an engagement of this kind needs someone to hold: the table above,
    with the engagement's own ``overrides`` (function, needed) on top."""
    required = set(required_by_default(in_house, has_deliverables))
    for function, needed in overrides:
        (required.add if needed else required.discard)(function)
    return frozenset(required)


def required_functions(snapshot: Snapshot) -> frozenset[str]:
    """The functions ``snapshot``'s engagement needs someone to hold (:func:`needed_functions`)."""
    return needed_functions(
        snapshot.in_house, bool(snapshot.deliverables), snapshot.required_functions
    )


_DELIVERED = ("DELIVERED", "ACCEPTED")
ZERO = Decimal(0)
NO_DAY = 0
"""The day number of a date that is not set: before every real one."""
FieldType = Literal["flag", "count", "day", "number", "text", "decimal", "person", "object"]


@dataclass(frozen=True)
class Field:
    """A field of a kind of fact, as rules may read it."""

    type: FieldType
    """``flag`` true or false; ``count`` a whole number; ``day`` a day number (:func:`day`,
    0 when unset); ``number`` a quantity as a double; ``text`` a string; ``decimal`` an exact
    amount as a string (shown, not compared: compare its flag); ``person`` a person's id;
    ``object`` figures shown in messages."""
    nullable: bool = False
    thresholds: tuple[str, ...] = ()
    """The thresholds (rules.thresholds) its value applies: a rule reading it reads them."""
    keys: tuple[str, ...] = ()
    """The figures an ``object`` field holds, each shown on its own."""


_TEXT, _FLAG, _COUNT, _DAY, _NUMBER = (Field(t) for t in ("text", "flag", "count", "day", "number"))
_DECIMAL, _MAYBE_DECIMAL = Field("decimal"), Field("decimal", nullable=True)

FACTS: dict[str, dict[str, Field]] = {
    "clock": {"today": _DAY},
    "engagement": {
        "status": _TEXT,
        "sold": _FLAG,
        "has_pm": _FLAG,
        "decision_model": _TEXT,
        "deciders": _COUNT,
        "deciders_accountable": _COUNT,
        "margin_low": Field("flag", thresholds=("margin_floor_pct",)),
        "revenue": _DECIMAL,
        "estimated_cost": _DECIMAL,
        "margin_pct": _MAYBE_DECIMAL,
        "margin_floor_pct": Field("decimal", thresholds=("margin_floor_pct",)),
    },
    "function": {"function": _TEXT, "assigned": _COUNT, "accountable": _COUNT, "required": _FLAG},
    "need": {"item": _TEXT, "priority": _TEXT, "must": _FLAG, "validated": _FLAG},
    "promise": {
        "item": _TEXT,
        "quantity": _DECIMAL,
        "quoted_amount": _MAYBE_DECIMAL,
        "promised_day": _DAY,
        "signed_off": _FLAG,
        "after_signing": _FLAG,
        "made_by_id": Field("person"),
    },
    "purchase": {
        "item": _TEXT,
        "quantity": _DECIMAL,
        "amount": _DECIMAL,
        "signed_day": _DAY,
        "plan_by": Field("day", thresholds=("planning_days",)),
    },
    "deliverable": {
        "item": _TEXT,
        "status": _TEXT,
        "quantity": _DECIMAL,
        "open": _FLAG,
        "rejected": _FLAG,
        "cost_missing": _FLAG,
        "awaiting_acceptance": _FLAG,
        "due_day": _DAY,
        "overdue_from": Field("day", thresholds=("grace_days",)),
        "delivered_day": _DAY,
        "accept_by": Field("day", thresholds=("acceptance_days",)),
        "cost_overrun": Field("flag", thresholds=("cost_tolerance_pct",)),
        "estimated_cost": _MAYBE_DECIMAL,
        "actual_cost": _MAYBE_DECIMAL,
    },
    "change_order": {"item": _TEXT, "approved": _FLAG, "rejected": _FLAG},
    "decision": {
        "decision": _TEXT,
        "what": _TEXT,
        "subject": _TEXT,
        "outside": _FLAG,
        "key_prefix": Field("text", nullable=True),
        "taken_day": _DAY,
    },
    "item": {
        "item": _TEXT,
        "promised": _NUMBER,
        "bought": _NUMBER,
        "delivered": _NUMBER,
        "has_purchase": _FLAG,
        "quote_off": Field("flag", thresholds=("quote_tolerance_pct",)),
        "due_from": Field("day", thresholds=("grace_days",)),
        "figures": Field(
            "object", keys=("promised", "bought", "delivered", "quoted", "bought_amount")
        ),
    },
}
"""Every kind of fact :func:`build` makes and the fields of each (besides ``id`` and
``kind``): what a rule's condition may name (rules.catalogue). The barrier is no kind a
rule matches: the engine puts it first in every rule itself."""

DAY_FIELDS = frozenset(
    name for fields in FACTS.values() for name, f in fields.items() if f.type == "day"
)
"""The fields of facts that hold a day number (:func:`day`), for those who show facts
outside the engine as dates."""
PERSON_FIELDS = frozenset(
    name for fields in FACTS.values() for name, f in fields.items() if f.type == "person"
)
"""The fields of facts that hold a person's id."""


def day(value: date | datetime | None) -> int:
    """A date as a whole number of days (0 when absent): exact in the engine's doubles."""
    if value is None:
        return NO_DAY
    return (value.date() if isinstance(value, datetime) else value).toordinal()


def _over(actual: Decimal, limit: Decimal, tolerance: Decimal) -> bool:
    return actual > limit * (1 + tolerance)


@dataclass(frozen=True)
class Facts:
    """The facts to assert, in a fixed order, and the barrier to assert after them."""

    facts: tuple[Fact, ...]
    barrier: Fact

    def by_id(self) -> dict[str, Fact]:
        return {f["id"]: f for f in self.facts}


def build(snapshot: Snapshot, as_of: datetime) -> Facts:
    """The facts of one engagement as of ``as_of`` (thresholds already applied)."""
    t = snapshot.thresholds
    grace, acceptance = t.days("grace_days"), t.days("acceptance_days")
    planning = t.days("planning_days")
    cost_tolerance, margin_floor = t.fraction("cost_tolerance_pct"), t.fraction("margin_floor_pct")
    first_signing = min(
        (p.signed_at for p in snapshot.purchases if p.signed_at is not None), default=None
    )
    money = financials(snapshot.purchases, snapshot.change_orders)
    rank = STATUS_ORDER.index(snapshot.status) if snapshot.status in STATUS_ORDER else 0
    assigned: dict[str, int] = defaultdict(int)
    accountable: dict[str, int] = defaultdict(int)
    for role in snapshot.roles:
        assigned[role.function] += 1
        accountable[role.function] += role.raci == "ACCOUNTABLE"
    # The people who decide the deal (engagement management and the sponsors), as the
    # decision model counts them: each person once.
    deciders = [r for r in snapshot.roles if r.function in DECIDING_FUNCTIONS]
    required = required_functions(snapshot)

    facts: list[Fact] = [
        {"id": "clock", "kind": "clock", "today": day(as_of)},
        {
            "id": f"engagement:{snapshot.engagement_id}",
            "kind": "engagement",
            "status": snapshot.status,
            "sold": rank >= STATUS_ORDER.index("SOLD"),
            "has_pm": assigned["PROJECT_MANAGEMENT"] > 0,
            "decision_model": snapshot.decision_model,
            "deciders": len({r.person_id for r in deciders}),
            "deciders_accountable": len({r.person_id for r in deciders if r.raci == "ACCOUNTABLE"}),
            "margin_low": money.below(margin_floor),
            "revenue": str(money.revenue),
            "estimated_cost": str(money.estimated_cost),
            "margin_pct": None if money.margin_pct is None else str(money.margin_pct),
            "margin_floor_pct": str(margin_floor),
        },
    ]
    facts += [
        {
            "id": f"function:{function}",
            "kind": "function",
            "function": function,
            "assigned": assigned[function],
            "accountable": accountable[function],
            "required": function in required,
        }
        for function in FUNCTIONS
    ]
    facts += [
        {
            "id": f"need:{n.id}",
            "kind": "need",
            "item": n.item,
            "priority": n.priority,
            "must": n.priority == "MUST",
            "validated": n.validated_at is not None,
        }
        for n in snapshot.needs
    ]
    facts += [
        {
            "id": f"promise:{p.id}",
            "kind": "promise",
            "item": p.item,
            "quantity": str(p.quantity),
            "quoted_amount": str(p.quoted_amount) if p.quoted_amount is not None else None,
            "promised_day": day(p.promised_date),
            "signed_off": p.delivery_signoff_by_id is not None,
            "after_signing": (
                first_signing is not None and p.made_at is not None and p.made_at > first_signing
            ),
            "made_by_id": p.made_by_id,
        }
        for p in snapshot.promises
    ]
    facts += [
        {
            "id": f"purchase:{p.id}",
            "kind": "purchase",
            "item": p.item,
            "quantity": str(p.quantity),
            "amount": str(p.amount),
            "signed_day": day(p.signed_at),
            "plan_by": day(p.signed_at) + planning if p.signed_at else NO_DAY,
        }
        for p in snapshot.purchases
    ]
    facts += [
        {
            "id": f"deliverable:{d.id}",
            "kind": "deliverable",
            "item": d.item,
            "status": d.status,
            "quantity": str(d.quantity),
            "open": d.status in ("PLANNED", "IN_PROGRESS"),
            "rejected": d.status == "REJECTED",
            "cost_missing": d.status == "ACCEPTED" and d.actual_cost is None,
            "awaiting_acceptance": d.status == "DELIVERED",
            "due_day": day(d.due_date),
            "overdue_from": day(d.due_date) + grace if d.due_date else NO_DAY,
            "delivered_day": day(d.delivered_at),
            "accept_by": day(d.delivered_at) + acceptance if d.delivered_at else NO_DAY,
            "cost_overrun": (
                d.actual_cost is not None
                and d.estimated_cost is not None
                and _over(d.actual_cost, d.estimated_cost, cost_tolerance)
            ),
            "estimated_cost": str(d.estimated_cost) if d.estimated_cost is not None else None,
            "actual_cost": str(d.actual_cost) if d.actual_cost is not None else None,
        }
        for d in snapshot.deliverables
    ]
    facts += [
        {
            "id": f"change_order:{c.id}",
            "kind": "change_order",
            "item": c.item,
            "approved": c.status == "APPROVED",
            "rejected": c.status == "REJECTED",
        }
        for c in snapshot.change_orders
    ]
    facts += [
        {
            "id": f"decision:{d.subject}:{d.decision}",
            "kind": "decision",
            "decision": d.decision,
            "what": d.what,
            "subject": d.subject,
            "outside": True,
            "key_prefix": d.key_prefix,
            "taken_day": day(d.taken_at),
        }
        for d in snapshot.outside_decisions
    ]
    facts += _items(snapshot, t.fraction("quote_tolerance_pct"), grace)
    return Facts(
        facts=tuple(facts),
        barrier={"id": "barrier", "kind": "barrier"},
    )


def _items(snapshot: Snapshot, quote_tolerance: Decimal, grace_days: int) -> list[Fact]:
    """One fact per item: the four sides' totals, approved change orders counted as bought."""
    sides: tuple[Promise | Purchase | Deliverable, ...] = (
        *snapshot.promises,
        *snapshot.purchases,
        *snapshot.deliverables,
    )
    items = sorted({side.item for side in sides})
    approved = [c for c in snapshot.change_orders if c.status == "APPROVED"]
    facts = []
    for item in items:
        promises = [p for p in snapshot.promises if p.item == item]
        purchases = [p for p in snapshot.purchases if p.item == item]
        changes = [c for c in approved if c.item == item]
        deliverables = [d for d in snapshot.deliverables if d.item == item]
        promised = total(p.quantity for p in promises)
        bought = total(p.quantity for p in purchases) + total(c.quantity_delta for c in changes)
        delivered = total(d.quantity for d in deliverables if d.status in _DELIVERED)
        quotes = [p.quoted_amount for p in promises if p.quoted_amount is not None]
        quoted = total(quotes)
        bought_amount = financials(purchases, changes).revenue
        due = max((p.due_date for p in purchases if p.due_date is not None), default=None)
        facts.append(
            {
                "id": f"item:{item}",
                "kind": "item",
                "item": item,
                "promised": float(promised),
                "bought": float(bought),
                "delivered": float(delivered),
                # An approved change order buys as much as a contract line does.
                "has_purchase": bool(purchases or changes),
                "quote_off": bool(quotes)
                and bool(purchases or changes)
                and abs(quoted - bought_amount) > bought_amount * quote_tolerance,
                "due_from": day(due) + grace_days if due else NO_DAY,
                "figures": {
                    "promised": str(promised),
                    "bought": str(bought),
                    "delivered": str(delivered),
                    "quoted": str(quoted),
                    "bought_amount": str(bought_amount),
                },
            }
        )
    return facts
