"""Retention: delete the outbox's events, finished webhook deliveries (with their attempts)
and audit entries once they are older than their settings say (``FOURWAY_RETENTION_*``;
0 keeps a kind forever).

What is deleted, and what never is:

- A delivery is deleted once it is finished (DELIVERED, or FAILED with its retries run
  out) and older than the deliveries' age: delivered before the cut, or failed with no
  attempt after it. A PENDING delivery, in flight or waiting for a retry, is the
  dispatcher's and is never deleted, however old.
- An event is deleted once it occurred before the events' cut and no delivery of it is
  left: a delivery, finished or not, sends its event's body, and a redelivery sends it
  again. So an event outlives its deliveries, and one whose endpoint never finishes it
  is kept. Live subscriptions read only events that committed after they opened, long
  before any cut.
- Audit entries are deleted once they are older than the audit age.
- Compensation signals are never deleted: the ledger is what finance pays from. Nothing
  in compensation reads events or audit entries (the ledger carries its own basis and
  evidence), and compensation months cannot be closed yet; when they can, a closed month
  must keep everything it was computed from, and retention is the place to say so.

Each kind is read and deleted in windows of ``batch_size`` rows by primary key, each
window in its own short transaction, yielding to the event loop between them: a large
backlog never holds its locks, or the loop, for long, and the rows kept are not read
beyond the first window of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from tortoise.functions import Max
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import AuditEntry, DeliveryAttempt, Event, WebhookDelivery
from models.enums import DeliveryStatus
from settings import Settings

BATCH = 1000
"""Rows deleted per transaction."""


@dataclass(frozen=True)
class Retention:
    """How many days each kind is kept; 0 keeps it forever."""

    events_days: int
    deliveries_days: int
    audit_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            events_days=settings.retention_events_days,
            deliveries_days=settings.retention_deliveries_days,
            audit_days=settings.retention_audit_days,
        )


@dataclass(frozen=True)
class Pruned:
    """What one prune deleted."""

    events: int = 0
    deliveries: int = 0
    attempts: int = 0
    audit_entries: int = 0

    def __str__(self) -> str:
        return (
            f"deleted {self.events} event(s), {self.deliveries} webhook delivery(ies) with "
            f"{self.attempts} attempt(s), {self.audit_entries} audit entry(ies)"
        )


async def _column(query: QuerySet[Any], column: str = "id") -> list[int]:
    """One integer column of the rows ``query`` selects."""
    return cast(list[int], await query.values_list(column, flat=True))


def _cut(now: datetime, days: int) -> datetime | None:
    """Rows older than this go; None when the kind is kept forever."""
    return now - timedelta(days=days) if days > 0 else None


async def prune(
    *, retention: Retention, now: datetime | None = None, batch_size: int = BATCH
) -> Pruned:
    """Delete what is older than ``retention`` allows, as of ``now``."""
    now = now or datetime.now(UTC)
    deliveries = attempts = events = audit_entries = 0
    if (cut := _cut(now, retention.deliveries_days)) is not None:
        deliveries, attempts = await _prune_deliveries(cut, batch_size)
    # After the deliveries: an event goes only once none of its deliveries is left.
    if (cut := _cut(now, retention.events_days)) is not None:
        events = await _prune_events(cut, batch_size)
    if (cut := _cut(now, retention.audit_days)) is not None:
        audit_entries = await _prune_audit(cut, batch_size)
    return Pruned(
        events=events, deliveries=deliveries, attempts=attempts, audit_entries=audit_entries
    )


async def _windows(model: type[Model], batch_size: int) -> AsyncIterator[tuple[int, int]]:
    """The table's ids, ``batch_size`` rows at a time, oldest first, as (first, last)
    pairs; the caller stops once a window holds nothing made before the cut. Rows come
    roughly in the order they were made, so a prune reads what is old and one window
    more, by primary key, however large the rest of the table is (a row made just
    before the cut behind a newer one is found by the next prune)."""
    after_id = 0
    while True:
        ids = await _column(model.filter(id__gt=after_id).order_by("id").limit(batch_size))
        if not ids:
            return
        yield ids[0], ids[-1]
        after_id = ids[-1]
        await asyncio.sleep(0)


async def _prune_deliveries(cut: datetime, batch_size: int) -> tuple[int, int]:
    deliveries = attempts = 0
    async for first, last in _windows(WebhookDelivery, batch_size):
        window = WebhookDelivery.filter(id__gte=first, id__lte=last)
        # Nothing made after the cut can have finished before it.
        if not await window.filter(created_at__lt=cut).exists():
            break
        delivered = await _column(
            window.filter(status=DeliveryStatus.DELIVERED, delivered_at__lt=cut)
        )
        # A failed delivery finished with its last attempt: none may be after the cut.
        failed = await _column(window.filter(status=DeliveryStatus.FAILED, created_at__lt=cut))
        if failed:
            recent = set(
                await _column(
                    DeliveryAttempt.filter(delivery_id__in=failed, at__gte=cut), "delivery_id"
                )
            )
            failed = [pk for pk in failed if pk not in recent]
        if finished := delivered + failed:
            async with in_transaction():
                attempts += await DeliveryAttempt.filter(delivery_id__in=finished).delete()
                # PENDING never comes back (a redelivery is a new row); said all the same.
                deliveries += await WebhookDelivery.filter(
                    id__in=finished, status__in=(DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
                ).delete()
    return deliveries, attempts


async def _prune_events(cut: datetime, batch_size: int) -> int:
    deleted = 0
    async for first, last in _windows(Event, batch_size):
        old = await _column(Event.filter(id__gte=first, id__lte=last, occurred_at__lt=cut))
        if not old:
            break
        async with in_transaction():
            owed = set(await _column(WebhookDelivery.filter(event_id__in=old), "event_id"))
            # An engagement's newest event stays: the next one is numbered after it.
            owed |= await _newest_of_their_engagements(old)
            unowed = [pk for pk in old if pk not in owed]
            if unowed:
                deleted += await Event.filter(id__in=unowed).delete()
    return deleted


async def _newest_of_their_engagements(ids: list[int]) -> set[int]:
    """The newest event of each engagement that any of ``ids`` is about."""
    engagements = set(
        await _column(Event.filter(id__in=ids, engagement_id__isnull=False), "engagement_id")
    )
    if not engagements:
        return set()
    newest = await _column(
        Event.filter(engagement_id__in=engagements)
        .annotate(newest=Max("id"))
        .group_by("engagement_id"),
        "newest",
    )
    return set(newest)


async def _prune_audit(cut: datetime, batch_size: int) -> int:
    deleted = 0
    async for first, last in _windows(AuditEntry, batch_size):
        old = await _column(AuditEntry.filter(id__gte=first, id__lte=last, at__lt=cut))
        if not old:
            break
        deleted += await AuditEntry.filter(id__in=old).delete()
    return deleted
