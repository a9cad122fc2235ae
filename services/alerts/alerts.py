"""What people do with alerts: acknowledge them, or waive them with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.queryset import QuerySet

from models import Alert
from models.enums import AlertStatus, Severity
from services.alerts.evaluation import LIVE
from services.core import audit, events
from services.core.errors import Conflict, NotFound
from services.core.fields import Text, clean
from services.core.units import changing
from services.engagements import decisions
from services.engagements.decisions import Decision


async def _move(
    id: int,
    *,
    to: AlertStatus,
    verb: str,
    stamp: str,
    note: str,
    field: str,
    text: str,
    decision: Decision,
) -> Alert:
    """Move a live alert to ``to``, stamping ``stamp`` with now and writing ``text`` to ``note``
    (validated as the input field ``field``), with its engagement locked; the outbox event
    is ``alert.<verb>``. Moving an alert that holds someone's pay is ``decision``."""
    values = await clean({field: Text()}, {field: text}, required=frozenset({field}))
    found = await Alert.get_or_none(id=id)
    if found is None:
        raise NotFound("id", "No alert with this id.")
    async with changing(found.engagement_id, field="id") as change:
        engagement = change.engagement
        alert = await Alert.get(id=id)
        if alert.status not in LIVE:
            raise Conflict(
                "id", f"The alert is {alert.status.value}: only a live alert can be {verb}."
            )
        holding = await decisions.paid_by_holding(alert)
        decided = (
            await decisions.check(decision, engagement=engagement, field="id", subject_pays=holding)
            if holding
            else None
        )
        now = datetime.now(UTC)
        before = audit.snapshot(alert)
        alert.update_from_dict({"status": to, stamp: now, note: values[field]})
        await alert.save(update_fields=["status", stamp, note, "updated_at"])
        await events.record([events.alert_occurrence(verb, alert)], at=now)
        if decided is None:
            await audit.updated(alert, before=before, verb=verb)
        else:
            await decisions.taken(decided, alert, engagement_id=engagement.id)
            await audit.updated(alert, before=before, verb=verb, **decided.audited)
            # A decision on pay: the ledger and the rules see it now, not at the next sweep.
            change.note(changed=False)
    return alert


async def acknowledge_alert(*, id: int, comment: str) -> Alert:
    """Say the alert is seen and being handled; it stays live until its facts change."""
    return await _move(
        id,
        to=AlertStatus.ACKNOWLEDGED,
        verb="acknowledged",
        stamp="acknowledged_at",
        note="comment",
        field="comment",
        text=comment,
        decision=Decision.ACKNOWLEDGE_HOLDING_ALERT,
    )


async def waive_alert(*, id: int, reason: str) -> Alert:
    """Close the alert on purpose; it stays closed until the facts it was about change."""
    return await _move(
        id,
        to=AlertStatus.WAIVED,
        verb="waived",
        stamp="waived_at",
        note="waiver_reason",
        field="reason",
        text=reason,
        decision=Decision.WAIVE_HOLDING_ALERT,
    )


@dataclass(frozen=True)
class AlertCriteria:
    """Which alerts to list; every given condition must hold (None: any)."""

    engagement_id: int | None = None
    severity: tuple[Severity, ...] | None = None
    status: tuple[AlertStatus, ...] | None = None
    rule_id: str | None = None
    item: str | None = None
    opened_after: datetime | None = None
    """Opened at or after this moment."""
    opened_before: datetime | None = None
    """Opened strictly before this moment."""


def alerts_matching(criteria: AlertCriteria) -> QuerySet[Alert]:
    """The alerts ``criteria`` select, as a query to page through."""
    c = criteria
    query = Alert.all()
    if c.engagement_id is not None:
        query = query.filter(engagement_id=c.engagement_id)
    if c.severity:
        query = query.filter(severity__in=[s.value for s in c.severity])
    if c.status:
        query = query.filter(status__in=[s.value for s in c.status])
    if c.rule_id:
        query = query.filter(rule_id=c.rule_id)
    if c.item:
        query = query.filter(item=c.item)
    if c.opened_after is not None:
        query = query.filter(opened_at__gte=c.opened_after)
    if c.opened_before is not None:
        query = query.filter(opened_at__lt=c.opened_before)
    return query
