"""Keep an engagement's alerts true to its facts: evaluate the rules and reconcile.

Runs inside the transaction of the change that triggered it, holding the engagement's
row lock, so two evaluations of one engagement never interleave. Alerts are matched by
fingerprint (rule, engagement, subjects): new findings open alerts, vanished ones resolve
theirs, the rest stay as they are. A waived alert stays closed until its facts change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from tortoise.fields import DateField, DatetimeField
from tortoise.fields.data import CharEnumFieldInstance, IntEnumFieldInstance
from tortoise.models import Model

import rules
from models import (
    Alert,
    ChangeOrder,
    CompensationSignal,
    Deliverable,
    Engagement,
    Need,
    Promise,
    Purchase,
    RoleAssignment,
)
from models.enums import AlertStatus, EngagementStatus, Severity
from observability import metrics
from rules.thresholds import BY_NAME, THRESHOLDS
from services.compensation.signals import emit
from services.core import events, presenters
from services.engagements import decisions
from settings import get_settings

logger = logging.getLogger(__name__)
M = TypeVar("M")

LIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
GONE = "Its facts no longer hold."
ENGAGEMENT_DELETED = "The engagement was deleted."


@dataclass(frozen=True)
class Reconciled:
    """The alerts one evaluation opened and resolved."""

    opened: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()
    signals: tuple[CompensationSignal, ...] = ()
    """Compensation signals the evaluation appended."""


@dataclass(frozen=True)
class Changed(Generic[M]):
    """A record changed by a use case, and what the rules made of the change."""

    record: M
    alerts: Reconciled


DAY_THRESHOLDS = tuple(t.name for t in THRESHOLDS if t.kind == "days")
FRACTION_THRESHOLDS = tuple(t.name for t in THRESHOLDS if t.kind == "fraction")


def thresholds(overrides: Mapping[str, str] | None = None) -> rules.Thresholds:
    """The settings' thresholds, with an engagement's ``overrides`` (validated) on top."""
    values = dict(get_settings().rules_thresholds)
    for name, value in (overrides or {}).items():
        values[name] = BY_NAME[name].type(value)
    return rules.Thresholds(**values)


def _plain(value: Any) -> Any:
    """A column's value as the rules take it: an enum by its name."""
    return value.value if isinstance(value, Enum) else value


def _day(field: Any) -> Callable[[Any], Any]:
    """A date column's reader: SQLite's ISO text by the standard library's parser, several
    times faster than the iso8601 package Tortoise uses (what else it gets, Tortoise's way)."""
    convert = field.to_python_value

    def read(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        return convert(value)

    return read


def _reader(model: type[Model], name: str) -> Callable[[Any], Any] | None:
    """How the rules read a column's stored value: as ``values_list`` reads it, an enum by
    its name; None where the driver's value is already that."""
    meta = model._meta
    if name in {field[1] for field in meta.db_native_fields}:
        return None
    field = meta.fields_map[name]
    if isinstance(field, DateField) and not isinstance(field, DatetimeField):
        return _day(field)
    convert = field.to_python_value
    if isinstance(field, CharEnumFieldInstance | IntEnumFieldInstance):
        return lambda value: _plain(convert(value))
    return convert


@dataclass(frozen=True)
class _Read:
    """One of the snapshot's reads, made once per database dialect: its SQL, whose one
    parameter is the engagement's id, and how each column's stored value is read."""

    sql: str
    readers: tuple[Callable[[Any], Any] | None, ...]


_reads: dict[tuple[str, type[Model], tuple[str, ...]], _Read] = {}


def _read(model: type[Model], columns: tuple[str, ...]) -> _Read:
    db = model._meta.db
    key = (db.capabilities.dialect, model, columns)
    read = _reads.get(key)
    if read is None:
        sql = model.filter(engagement_id=0).order_by("id").values_list(*columns).sql()
        read = _reads[key] = _Read(sql, tuple(_reader(model, name) for name in columns))
    return read


async def _rows(model: type[Model], engagement_id: int, *columns: str) -> list[tuple[Any, ...]]:
    """The engagement's rows of ``model`` as plain tuples of ``columns``, in id order: the
    rules read values, so no model object is built for them. Every evaluation sends the
    same seven queries, so each is put into SQL once, not once per evaluation."""
    read = _read(model, columns)
    _, found = await model._meta.db.execute_query(read.sql, [engagement_id])
    readers = read.readers
    return [
        tuple(
            [
                value if reader is None else reader(value)
                for value, reader in zip(row, readers, strict=True)
            ]
        )
        for row in found
    ]


async def load_snapshot(engagement: Engagement) -> rules.Snapshot:
    """The engagement as the rules see it (seven queries, and one per decision taken outside
    the engagement that still stands)."""
    eid = engagement.id
    return rules.Snapshot(
        engagement_id=eid,
        status=engagement.status.value,
        currency=engagement.currency,
        decision_model=engagement.decision_model.value,
        in_house=engagement.in_house,
        roles=tuple(
            rules.Role(*row)
            for row in await _rows(RoleAssignment, eid, "id", "person_id", "function", "raci")
        ),
        needs=tuple(
            rules.Need(*row)
            for row in await _rows(Need, eid, "id", "item", "priority", "validated_at")
        ),
        promises=tuple(
            rules.Promise(*row)
            for row in await _rows(
                Promise,
                eid,
                "id",
                "item",
                "quantity",
                "made_by_id",
                "quoted_amount",
                "promised_date",
                "made_at",
                "delivery_signoff_by_id",
                "delivery_signoff_at",
            )
        ),
        purchases=tuple(
            rules.Purchase(*row)
            for row in await _rows(
                Purchase,
                eid,
                "id",
                "item",
                "quantity",
                "amount",
                "estimated_cost",
                "due_date",
                "signed_at",
            )
        ),
        deliverables=tuple(
            rules.Deliverable(*row)
            for row in await _rows(
                Deliverable,
                eid,
                "id",
                "item",
                "quantity",
                "status",
                "due_date",
                "delivered_at",
                "accepted_at",
                "estimated_cost",
                "actual_cost",
            )
        ),
        change_orders=tuple(
            rules.ChangeOrder(*row)
            for row in await _rows(
                ChangeOrder,
                eid,
                "id",
                "item",
                "status",
                "quantity_delta",
                "amount_delta",
                "cost_delta",
                "approved_at",
            )
        ),
        thresholds=thresholds(engagement.thresholds),
        required_functions=tuple(sorted((engagement.required_functions or {}).items())),
        outside_decisions=await decisions.outside_decisions(engagement),
    )


def fingerprint(engagement_id: int, finding: rules.Finding) -> str:
    return f"{finding.rule_id}:engagement:{engagement_id}:{'+'.join(finding.subject_ids)}"


def _facts_hash(facts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


async def reconcile(
    engagement: Engagement,
    *,
    now: datetime | None = None,
    moved_from: EngagementStatus | None = None,
    changed: bool = True,
    created: bool = False,
    repricing: str | None = None,
) -> Reconciled:
    """Evaluate ``engagement`` as of ``now``, bring its alerts in line, and write the
    outbox events of it all. ``moved_from`` is the status the change moved it from, if
    it did: that event comes first, so the signals it causes follow it. ``changed`` says
    that the caller changed the engagement or something on it, which announces
    ``engagement.updated``; a bare re-evaluation passes False. ``created`` says the caller
    has just made the engagement, which announces ``engagement.created`` instead.
    ``repricing`` is the reason finance re-priced the sale, which its entries carry.

    The caller holds the engagement's row lock inside a transaction: a unit of work
    (``services.core.units``) calls this once at its end, with what its changes add up to. An
    engagement the engine cannot evaluate keeps its alerts untouched and records why.
    """
    now = now or datetime.now(UTC)
    try:
        snapshot = await load_snapshot(engagement)
        started = time.perf_counter()
        findings = rules.evaluate(snapshot, now)
        metrics.RULE_DURATION.observe(time.perf_counter() - started)
    except Exception as error:  # the engine's failure must not lose the user's change
        metrics.RULE_EVALUATIONS.labels("failed").inc()
        logger.exception("could not evaluate engagement %s", engagement.id)
        engagement.evaluation_error = f"{type(error).__name__}: {error}"[:2000]
        await engagement.save(update_fields=["evaluation_error", "updated_at"])
        await events.record(_changes(engagement, moved_from, changed, created), at=now)
        return Reconciled()
    metrics.RULE_EVALUATIONS.labels("ok").inc()
    current = {fingerprint(engagement.id, f): f for f in findings}
    alerts = await Alert.filter(
        engagement_id=engagement.id, status__in=[*LIVE, AlertStatus.WAIVED], resolved_at=None
    )
    live = {a.fingerprint: a for a in alerts if a.status in LIVE}
    waived = {a.fingerprint: a for a in alerts if a.status == AlertStatus.WAIVED}

    resolved = await resolve(
        [alert for key, alert in live.items() if key not in current], now=now, reason=GONE
    )
    opened = []
    updated = []
    for key, finding in current.items():
        facts_hash = _facts_hash(finding.facts)
        waiver = waived.get(key)
        if key in live:
            update = await _refresh(live[key], finding, facts_hash)
            if update is not None:
                updated.append(update)
            continue
        if waiver is not None and waiver.facts_hash == facts_hash:
            continue  # waived, and nothing it was waived for has changed
        opened.append(
            await Alert.create(
                engagement_id=engagement.id,
                rule_id=finding.rule_id,
                severity=Severity(finding.severity),
                item=finding.item,
                message=finding.message,
                facts=finding.facts,
                fingerprint=key,
                facts_hash=facts_hash,
                opened_at=now,
            )
        )
    for key, waiver in waived.items():
        if key not in current or waiver.facts_hash != _facts_hash(current[key].facts):
            # The waiver covered facts that are gone now: it no longer holds anything back.
            waiver.resolved_at = now
            await waiver.save(update_fields=["resolved_at", "updated_at"])
    signals = await emit(engagement, snapshot, now=now, reason=repricing)
    engagement.update_from_dict({"evaluated_at": now, "evaluation_error": None})
    await engagement.save(update_fields=["evaluated_at", "evaluation_error", "updated_at"])
    # Each object as it stands at commit: the events read like GraphQL right after.
    await events.record(
        [
            *_changes(engagement, moved_from, changed, created),
            *(events.alert_occurrence("opened", a) for a in opened),
            *updated,
            *(events.alert_occurrence("resolved", a) for a in resolved),
            *(events.signal_occurrence(s) for s in signals),
        ],
        at=now,
    )
    return Reconciled(opened=tuple(opened), resolved=tuple(resolved), signals=tuple(signals))


async def resolve(alerts: list[Alert], *, now: datetime, reason: str) -> list[Alert]:
    """Resolve the live ``alerts`` as of ``now``, saying why; the caller announces them."""
    for alert in alerts:
        alert.update_from_dict(
            {"status": AlertStatus.RESOLVED, "resolved_at": now, "resolution": reason}
        )
        await alert.save(update_fields=["status", "resolved_at", "resolution", "updated_at"])
    return alerts


def _changes(
    engagement: Engagement, moved_from: EngagementStatus | None, changed: bool, created: bool
) -> list[events.Occurrence]:
    """``engagement.created`` for a new one, ``engagement.updated`` for any other change,
    then ``engagement.status_changed`` for a move."""
    occurrences = []
    if created or changed or moved_from is not None:
        occurrences.append(
            events.Occurrence(
                "engagement.created" if created else "engagement.updated",
                presenters.event_object(engagement),
                engagement.id,
            )
        )
    if moved_from is not None:
        occurrences.append(
            events.Occurrence(
                "engagement.status_changed",
                presenters.event_object(engagement),
                engagement.id,
                {"status": moved_from.value},
            )
        )
    return occurrences


async def _refresh(
    alert: Alert, finding: rules.Finding, facts_hash: str
) -> events.Occurrence | None:
    """Keep a live alert's figures current (its identity and status stay), and announce
    a change as ``alert.updated`` with the attributes it replaced: a subscriber must hear
    of an alert turning CRITICAL as surely as of one opening so."""
    severity = Severity(finding.severity)
    if (
        alert.facts_hash == facts_hash
        and alert.message == finding.message
        and alert.severity == severity
    ):
        return None
    before = presenters.event_object(alert)
    alert.message = finding.message
    alert.facts = finding.facts
    alert.facts_hash = facts_hash
    alert.severity = severity
    await alert.save(update_fields=["message", "facts", "facts_hash", "severity", "updated_at"])
    return events.alert_update(alert, before=before)
