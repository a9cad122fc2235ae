"""Re-pricing a sale: the one deliberate way to move money the ledger has fixed.

A sale is paid under the plan versions in force when it was signed, and its realized
figures are fixed when it completes; later edits (a sign-off recorded late, a rate
changed) move no money. Finance may re-price a sale on purpose, with a reason: it is then
paid under the versions in force now, its completion is worked out again from today's
facts, and the difference is written as entries that carry the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from models import CompensationSignal, Engagement
from services.compensation.signals import SOLD, sale_of
from services.core import audit, events, presenters
from services.core.errors import FieldError, Invalid
from services.core.fields import Text, clean
from services.core.units import changing
from services.core.wire import format_datetime


@dataclass(frozen=True)
class Repriced:
    engagement: Engagement
    signals: tuple[CompensationSignal, ...]


async def reprice_engagement(*, engagement_id: int, reason: str) -> Repriced:
    """Pay the sale under today's plan versions and today's facts; write the difference."""
    values = await clean(
        {"reason": Text(max_length=2000)}, {"reason": reason}, required=frozenset({"reason"})
    )
    async with changing(engagement_id) as change:
        engagement = change.engagement
        if engagement.status not in SOLD:
            raise Invalid(
                [FieldError("engagement_id", "Only a sold engagement has pay to re-price.")]
            )
        now = datetime.now(UTC)
        sale = await sale_of(engagement.id)
        before = _pricing(sale.priced_at, sale.completed_at)
        sale.priced_at = now
        sale.completed_at = None
        sale.realized_revenue = sale.expected_cost = None
        sale.variances = []
        await sale.save()
        reconciled = await change.evaluate(now=now, repricing=values["reason"])
        await sale.refresh_from_db()
        after = {**_pricing(sale.priced_at, sale.completed_at), "reason": values["reason"]}
        await audit.record("engagement.repriced", engagement, before=before, after=after, at=now)
        # The engagement as it is now; the entries the re-pricing wrote are their own
        # events, each with the reason.
        await events.record(
            [
                events.Occurrence(
                    "compensation.repriced", presenters.event_object(engagement), engagement.id
                )
            ],
            at=now,
        )
    return Repriced(engagement, reconciled.signals)


def _pricing(priced_at: datetime | None, completed_at: datetime | None) -> dict[str, str | None]:
    return {
        "pricedAt": None if priced_at is None else format_datetime(priced_at),
        "completedAt": None if completed_at is None else format_datetime(completed_at),
    }
