"""Compensation signals: the append-only ledger finance pays salespeople from.

Written by the same evaluation that reconciles alerts, in the same transaction. Every
entry is a change: for a salesperson and a sale, the sum of the BOOKED and ADJUSTED
entries is what the sale pays them, and HELD less RELEASED is how much of it is held. An
evaluation works out what the ledger should say and writes the difference, so evaluating
an unchanged engagement writes nothing, and a correction never edits an entry.

- BOOKED, until the sale completes: the projected margin (estimated cost) times the rate
  of the plan version in force when the sale was signed, nothing below its floor, split
  among the salespeople credited by largest remainder. A person no longer credited is
  booked back to nothing.
- ADJUSTED, once it completes (``rules.compensation``): the realized figures, fixed at
  completion, under the same versions; a clawback only when the sale completed within the
  plan's clawback window of its first booking.
- HELD while an alert the plan names is live, for the pay at risk; RELEASED when none is.

An entry belongs to the first month not closed, from the month it is written in: a closed
month never changes, and a correction to a sale booked in one points at the entry it
corrects (``supersedes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from models import (
    Alert,
    CommissionPlanVersion,
    CompensationSignal,
    Credit,
    Engagement,
    Sale,
)
from models.enums import SignalKind
from rules import Snapshot
from rules.compensation import (
    Attribution,
    Basis,
    Completion,
    Earned,
    Plan,
    Variance,
    booked_basis,
    completion,
    earned,
    shares,
    signed_at,
)
from rules.money import round_money
from services.compensation.currencies import MINOR_UNITS
from services.compensation.periods import first_open_period
from services.compensation.plan_versions import version_for

SOLD = ("SOLD", "DELIVERING", "SUPPORTING", "CLOSED")
"""The statuses of an engagement whose sale pays."""
ZERO = Decimal(0)
PAY = (SignalKind.BOOKED, SignalKind.ADJUSTED)
HOLDS = (SignalKind.HELD, SignalKind.RELEASED)


def plan_terms(version: CommissionPlanVersion) -> Plan:
    return Plan(
        rate_on_margin=version.rate_on_margin,
        margin_floor_pct=version.margin_floor_pct,
        reducing=frozenset(Attribution(a) for a in version.reducing_attributions),
    )


@dataclass
class _Ledger:
    """What one salesperson's entries for one sale add up to so far."""

    owed: Decimal = ZERO
    held: Decimal = ZERO
    holding: list[int] = field(default_factory=list)
    last_pay: CompensationSignal | None = None
    last_hold: CompensationSignal | None = None
    first_booked_at: datetime | None = None
    adjusted: bool = False
    last: CompensationSignal | None = None

    def add(self, entry: CompensationSignal) -> None:
        self.last = entry
        if entry.kind in PAY:
            self.owed += entry.amount
            self.last_pay = entry
            if self.first_booked_at is None and entry.kind == SignalKind.BOOKED:
                self.first_booked_at = entry.created_at
            self.adjusted = self.adjusted or entry.kind == SignalKind.ADJUSTED
        else:
            self.held += entry.amount if entry.kind == SignalKind.HELD else -entry.amount
            self.holding = list(entry.evidence) if entry.kind == SignalKind.HELD else []
            self.last_hold = entry


@dataclass(frozen=True)
class _Entry:
    kind: SignalKind
    basis: Basis
    rate: Decimal
    split: Decimal
    amount: Decimal
    reason: str
    attribution: list[dict[str, str]]
    evidence: list[int]
    version: CommissionPlanVersion | None


def _variances(rows: list[dict[str, str]]) -> tuple[Variance, ...]:
    return tuple(
        Variance(r["item"], Decimal(r["variance"]), Attribution(r["attribution"])) for r in rows
    )


# Completion figures are kept to the columns' four places (a hundredth of a cent); pay
# is computed from what is kept, so every evaluation after completion reads the same.
KEPT = Decimal("0.0001")


def _kept(value: Decimal) -> Decimal:
    return value.quantize(KEPT, rounding=ROUND_HALF_UP)


def _shown(variances: tuple[Variance, ...]) -> list[dict[str, str]]:
    return [
        {"item": v.item, "variance": str(_kept(v.amount)), "attribution": v.attribution.value}
        for v in variances
    ]


def holds_under(alert: Alert, version: CommissionPlanVersion) -> bool:
    """Whether ``alert``, while live, holds pay under the plan ``version``."""
    return alert.rule_id in version.hold_rules and (
        not version.hold_severities or alert.severity in version.hold_severities
    )


async def holding_pay(alert: Alert) -> frozenset[int]:
    """The people credited on the alert's sale whose pay the alert holds while live."""
    sale = await Sale.get_or_none(engagement_id=alert.engagement_id)
    priced_at = (sale.priced_at if sale is not None else None) or datetime.now(UTC)
    held = set()
    for credit in await Credit.filter(engagement_id=alert.engagement_id):
        version = await version_for(credit.person_id, priced_at)
        if version is not None and holds_under(alert, version):
            held.add(credit.person_id)
    return frozenset(held)


async def sale_of(engagement_id: int) -> Sale:
    sale, _ = await Sale.get_or_create(engagement_id=engagement_id)
    return sale


async def _fix_completion(
    sale: Sale, snapshot: Snapshot, credited: list[int], now: datetime
) -> None:
    """Fix the sale's realized figures the first time it is found complete (with every
    accepted deliverable's cost); later edits move no money until it is re-priced."""
    if sale.completed_at is not None:
        return
    done = completion(snapshot, salespeople=credited)
    if done is None:
        return
    sale.completed_at = now
    sale.realized_revenue = _kept(done.revenue)
    sale.expected_cost = _kept(done.expected_cost)
    sale.variances = _shown(done.variances)
    await sale.save(
        update_fields=[
            "completed_at",
            "realized_revenue",
            "expected_cost",
            "variances",
            "updated_at",
        ]
    )


def _completion(sale: Sale) -> Completion | None:
    if sale.completed_at is None or sale.realized_revenue is None or sale.expected_cost is None:
        return None
    return Completion(sale.realized_revenue, sale.expected_cost, _variances(sale.variances))


async def emit(
    engagement: Engagement, snapshot: Snapshot, *, now: datetime, reason: str | None = None
) -> list[CompensationSignal]:
    """Append the entries that bring the engagement's ledger in line with its facts;
    return those appended. ``reason`` (a re-pricing's) is added to each entry's own."""
    if snapshot.status not in SOLD:
        return []
    credits = list(await Credit.filter(engagement_id=engagement.id).order_by("id"))
    ledgers: dict[int, _Ledger] = {}
    for row in await CompensationSignal.filter(engagement_id=engagement.id).order_by("id"):
        ledgers.setdefault(row.salesperson_id, _Ledger()).add(row)
    if not credits and not any(ledger.owed or ledger.held for ledger in ledgers.values()):
        return []
    minor = MINOR_UNITS.get(engagement.currency, 2)
    sale = await sale_of(engagement.id)
    await _fix_completion(sale, snapshot, [c.person_id for c in credits], now)
    done = _completion(sale)
    first_booked = min(
        (lg.first_booked_at for lg in ledgers.values() if lg.first_booked_at), default=None
    )
    priced_at = sale.priced_at or signed_at(snapshot) or first_booked or now
    projected = booked_basis(snapshot)
    splits = [c.split_pct for c in credits]
    live = [
        a
        for a in await Alert.filter(
            engagement_id=engagement.id, status__in=["OPEN", "ACKNOWLEDGED"]
        )
    ]

    wanted: list[tuple[int, list[_Entry]]] = []
    for n, credit in enumerate(credits):
        version = await version_for(credit.person_id, priced_at)
        if version is None:
            continue  # no plan pays this person: nothing to book
        plan = plan_terms(version)
        ledger = ledgers.get(credit.person_id, _Ledger())
        booked = earned(projected, plan, minor_unit=minor)
        target = shares(booked.amount, splits, minor)[n]
        kind, chosen, attribution = SignalKind.BOOKED, booked, []
        if done is not None:
            realized = earned(done.basis(plan), plan, minor_unit=minor)
            kind, chosen, attribution = SignalKind.ADJUSTED, realized, _shown(done.variances)
            claw = shares(realized.amount, splits, minor)[n]
            window = timedelta(days=version.clawback_window_days)
            started = ledger.first_booked_at or now
            booked_share = target
            target = claw
            if claw < booked_share and sale.completed_at and sale.completed_at > started + window:
                target = booked_share
                chosen = Earned(
                    chosen.basis,
                    chosen.rate,
                    chosen.amount,
                    f"{chosen.reason}; past the clawback window",
                )
        entries: list[_Entry] = []
        # Completion is always recorded, with its attribution, even when it moves no money.
        if target != ledger.owed or (done is not None and not ledger.adjusted):
            entries.append(
                _Entry(
                    kind,
                    chosen.basis,
                    chosen.rate,
                    credit.split_pct,
                    target - ledger.owed,
                    _why(chosen.reason, credit.split_pct, reason),
                    attribution,
                    [],
                    version,
                )
            )
        holds = sorted(a.id for a in live if holds_under(a, version))
        at_risk = max(target, ZERO) if holds else ZERO
        if holds and (at_risk != ledger.held or holds != ledger.holding):
            entries.append(
                _Entry(
                    SignalKind.HELD,
                    chosen.basis,
                    chosen.rate,
                    credit.split_pct,
                    at_risk - ledger.held,
                    "pay held while these alerts are open",
                    [],
                    holds,
                    version,
                )
            )
        elif not holds and ledger.held:
            entries.append(
                _Entry(
                    SignalKind.RELEASED,
                    chosen.basis,
                    chosen.rate,
                    credit.split_pct,
                    ledger.held,
                    "the alerts that held pay are resolved",
                    [],
                    ledger.holding,
                    version,
                )
            )
        wanted.append((credit.person_id, entries))

    credited = {c.person_id for c in credits}
    for person_id, ledger in ledgers.items():
        if person_id in credited:
            continue
        entries = []
        basis = Basis(projected.revenue, projected.cost)
        if ledger.owed:
            entries.append(
                _Entry(
                    SignalKind.ADJUSTED if done is not None else SignalKind.BOOKED,
                    basis,
                    ZERO,
                    ZERO,
                    -ledger.owed,
                    _why("no longer credited with the sale", None, reason),
                    [],
                    [],
                    None,
                )
            )
        if ledger.held:
            entries.append(
                _Entry(
                    SignalKind.RELEASED,
                    basis,
                    ZERO,
                    ZERO,
                    ledger.held,
                    "no longer credited with the sale",
                    [],
                    ledger.holding,
                    None,
                )
            )
        wanted.append((person_id, entries))

    appended = []
    period = await first_open_period(now) if any(e for _, e in wanted) else ""
    for person_id, entries in wanted:
        ledger = ledgers.setdefault(person_id, _Ledger())
        for entry in entries:
            appended.append(await _append(engagement, person_id, entry, ledger, period, minor))
    return appended


def _why(reason: str, split: Decimal | None, repricing: str | None) -> str:
    said = reason if split is None else f"{reason}; split {split}"
    return f"{said}; re-priced: {repricing}" if repricing else said


async def _append(
    engagement: Engagement,
    person_id: int,
    entry: _Entry,
    ledger: _Ledger,
    period: str,
    minor: int,
) -> CompensationSignal:
    """Append ``entry`` to the person's ledger for the sale."""
    corrects = ledger.last_pay if entry.kind in PAY else ledger.last_hold
    # The key names the entry it follows, so a retried evaluation cannot append twice.
    key = (
        f"{entry.kind.value}:{engagement.id}:{person_id}:"
        f"{ledger.last.id if ledger.last is not None else 0}"
    )
    basis = entry.basis
    row = await CompensationSignal.create(
        kind=entry.kind,
        engagement_id=engagement.id,
        salesperson_id=person_id,
        period=period,
        currency=engagement.currency,
        revenue=round_money(basis.revenue, minor),
        cost=round_money(basis.cost, minor),
        margin=round_money(basis.margin, minor),
        margin_pct=basis.margin_pct,
        rate=entry.rate,
        split=entry.split,
        amount=entry.amount,
        reason=entry.reason,
        attribution=entry.attribution,
        evidence=entry.evidence,
        supersedes_id=corrects.id if corrects is not None else None,
        plan_id=entry.version.plan_id if entry.version is not None else None,
        plan_version_id=entry.version.id if entry.version is not None else None,
        idempotency_key=key,
    )
    ledger.add(row)
    return row


def totals(signals: list[CompensationSignal]) -> dict[SignalKind, Decimal]:
    """The sum of amounts per kind."""
    sums: dict[SignalKind, Decimal] = {}
    for s in signals:
        sums[s.kind] = sums.get(s.kind, ZERO) + s.amount
    return sums
