"""What the rules see of one engagement: plain frozen values, no ORM, no clock.

``services`` builds a Snapshot from the database; tests build one by hand. Enumerations
are the same upper-case strings the models store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from rules.thresholds import Thresholds


@dataclass(frozen=True)
class Role:
    id: int
    person_id: int
    function: str
    raci: str


@dataclass(frozen=True)
class Need:
    id: int
    item: str
    priority: str
    validated_at: datetime | None = None


@dataclass(frozen=True)
class Promise:
    id: int
    item: str
    quantity: Decimal
    made_by_id: int
    quoted_amount: Decimal | None = None
    promised_date: date | None = None
    made_at: datetime | None = None
    delivery_signoff_by_id: int | None = None
    delivery_signoff_at: datetime | None = None


@dataclass(frozen=True)
class Purchase:
    id: int
    item: str
    quantity: Decimal
    amount: Decimal
    estimated_cost: Decimal | None = None
    due_date: date | None = None
    signed_at: datetime | None = None


@dataclass(frozen=True)
class Deliverable:
    id: int
    item: str
    quantity: Decimal
    status: str = "PLANNED"
    due_date: date | None = None
    delivered_at: datetime | None = None
    accepted_at: datetime | None = None
    estimated_cost: Decimal | None = None
    actual_cost: Decimal | None = None


@dataclass(frozen=True)
class ChangeOrder:
    id: int
    item: str
    status: str
    quantity_delta: Decimal = Decimal(0)
    amount_delta: Decimal = Decimal(0)
    cost_delta: Decimal = Decimal(0)
    approved_at: datetime | None = None


@dataclass(frozen=True)
class OutsideDecision:
    """A decision taken by a key acting for no person that still stands: the latest
    decision on its subject, which is still as it was decided."""

    decision: str
    what: str
    """The decision in words (``sign off delivery on a promise``)."""
    subject: str
    """What it was about, as a fact id (``promise:12``, ``engagement:3``, ``alert:7``)."""
    key_prefix: str | None
    taken_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """One engagement as the rules see it."""

    engagement_id: int
    status: str
    currency: str
    roles: tuple[Role, ...] = ()
    needs: tuple[Need, ...] = ()
    promises: tuple[Promise, ...] = ()
    purchases: tuple[Purchase, ...] = ()
    deliverables: tuple[Deliverable, ...] = ()
    change_orders: tuple[ChangeOrder, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    decision_model: str = "AUTHORITY"
    in_house: bool = False
    required_functions: tuple[tuple[str, bool], ...] = ()
    """The engagement's own answer to whether it needs a function, over the table's."""
    outside_decisions: tuple[OutsideDecision, ...] = ()
