"""Re-evaluate active engagements as of now, so alerts that time alone opens do open.

Each engagement is evaluated in its own short transaction under its row lock; on
PostgreSQL an engagement locked by someone else (a mutation, another sweep) is skipped,
since whoever holds it is evaluating it: two evaluations of one engagement never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from models import Engagement
from models.enums import EngagementStatus
from services.alerts.evaluation import reconcile
from services.core import events

PAGE = 500
"""Engagement ids read at a time: memory stays flat however many are swept."""


@dataclass
class SweepSummary:
    evaluated: int = 0
    skipped: int = 0
    failed: int = 0
    opened: int = 0
    resolved: int = 0
    failures: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"swept {self.evaluated} engagement(s): {self.opened} alert(s) opened, "
            f"{self.resolved} resolved; {self.skipped} skipped (busy), "
            f"{self.failed} not evaluated"
        )


async def sweep(*, now: datetime | None = None) -> SweepSummary:
    """One pass over every engagement that is not CLOSED, as of ``now``."""
    now = now or datetime.now(UTC)
    summary = SweepSummary()
    last_id = 0
    while True:
        rows = await (
            Engagement.filter(id__gt=last_id)
            .exclude(status=EngagementStatus.CLOSED)
            .order_by("id")
            .limit(PAGE)
            .values("id")
        )
        if not rows:
            return summary
        for row in rows:
            await _sweep_one(int(row["id"]), now, summary)
        last_id = int(rows[-1]["id"])


async def _sweep_one(engagement_id: int, now: datetime, summary: SweepSummary) -> None:
    async with in_transaction():
        engagement = await Engagement.select_for_update(skip_locked=True).get_or_none(
            id=engagement_id
        )
        if engagement is None:  # locked by a change in flight, or deleted meanwhile
            summary.skipped += 1
            return
        result = await reconcile(engagement, now=now, changed=False)
    if result.opened or result.resolved or result.signals:
        events.announce()
    if engagement.evaluation_error:
        summary.failed += 1
        summary.failures.append(engagement_id)
        return
    summary.evaluated += 1
    summary.opened += len(result.opened)
    summary.resolved += len(result.resolved)
