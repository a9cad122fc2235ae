"""Compensation statements: what one salesperson's ledger says for one month.

Every ledger entry is a change (``services.compensation.signals``), so a statement is sums:

- ``lines``: the month's entries that change pay (BOOKED, ADJUSTED); ``total`` is their
  sum, what the month adds to what the salesperson is owed;
- ``opening_balance``: the sum of such entries in every earlier month, and
  ``closing_balance`` the opening balance plus the total;
- ``holds``: the month's HELD and RELEASED entries, and ``still_held`` what is held at the
  month's end (HELD less RELEASED, to date): pay owed that waits on open alerts.

A closed month's statement never changes (``services.compensation.periods``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tortoise.queryset import QuerySet

from models import CompensationPeriod, CompensationSignal
from models.enums import SignalKind
from services.compensation.signals import PAY

ZERO = Decimal(0)


@dataclass(frozen=True)
class Statement:
    salesperson_id: int
    period: str
    opening_balance: Decimal
    lines: tuple[CompensationSignal, ...]
    holds: tuple[CompensationSignal, ...]
    still_held: Decimal
    closed_at: datetime | None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + self.total

    def totals(self) -> dict[SignalKind, Decimal]:
        """The month's entries summed per kind."""
        sums = dict.fromkeys(SignalKind, ZERO)
        for entry in (*self.lines, *self.holds):
            sums[entry.kind] += entry.amount
        return sums


def _held(kind: SignalKind, amount: Decimal) -> Decimal:
    if kind == SignalKind.HELD:
        return amount
    if kind == SignalKind.RELEASED:
        return -amount
    return ZERO


def held_change(entry: CompensationSignal) -> Decimal:
    """What an entry adds to what is held: HELD adds, RELEASED takes away, pay holds none."""
    return _held(entry.kind, entry.amount)


async def statement(*, salesperson_id: int, period: str) -> Statement:
    """The salesperson's statement for ``period`` (YYYY-MM, already checked)."""
    month = list(
        await CompensationSignal.filter(salesperson_id=salesperson_id, period=period).order_by("id")
    )
    earlier = await CompensationSignal.filter(
        salesperson_id=salesperson_id, period__lt=period
    ).values_list("kind", "amount")
    opening = sum((amount for kind, amount in earlier if kind in PAY), ZERO)
    held_before = sum((_held(kind, amount) for kind, amount in earlier), ZERO)
    closed = await CompensationPeriod.get_or_none(period=period)
    holds = tuple(e for e in month if e.kind not in PAY)
    return Statement(
        salesperson_id=salesperson_id,
        period=period,
        opening_balance=opening,
        lines=tuple(e for e in month if e.kind in PAY),
        holds=holds,
        still_held=held_before + sum((held_change(e) for e in holds), ZERO),
        closed_at=None if closed is None else closed.closed_at,
    )


@dataclass(frozen=True)
class EntryCriteria:
    """Which ledger entries to list; every given condition must hold (None: any)."""

    salesperson_id: int | None = None
    engagement_id: int | None = None
    period: str | None = None
    """A checked month (``periods.parse_period``)."""
    kinds: tuple[SignalKind, ...] | None = None


def entries_matching(criteria: EntryCriteria) -> QuerySet[CompensationSignal]:
    """The ledger entries ``criteria`` select, as a query to page through. Who may see
    which is the API's to say (``api.compensation.compensation.visible_entries``)."""
    c = criteria
    query = CompensationSignal.all()
    if c.salesperson_id is not None:
        query = query.filter(salesperson_id=c.salesperson_id)
    if c.engagement_id is not None:
        query = query.filter(engagement_id=c.engagement_id)
    if c.period is not None:
        query = query.filter(period=c.period)
    if c.kinds:
        query = query.filter(kind__in=[k.value for k in c.kinds])
    return query
