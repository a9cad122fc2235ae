"""What people do with alerts: acknowledge them, or waive them with a reason."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from models import Alert
from models.enums import AlertStatus
from services.errors import Conflict, NotFound
from services.evaluation import LIVE
from services.fields import Text, clean
from services.records import lock_engagement


async def _live_alert(id: int, action: str) -> Alert:
    """The alert, with its engagement locked, if it is still open or acknowledged."""
    found = await Alert.get_or_none(id=id)
    if found is None:
        raise NotFound("id", "No alert with this id.")
    await lock_engagement(found.engagement_id, field="id")
    alert = await Alert.get(id=id)
    if alert.status not in LIVE:
        raise Conflict(
            "id", f"The alert is {alert.status.value}: only a live alert can be {action}."
        )
    return alert


async def acknowledge_alert(*, id: int, comment: str) -> Alert:
    """Say the alert is seen and being handled; it stays live until its facts change."""
    values = await clean({"comment": Text()}, {"comment": comment}, required=frozenset({"comment"}))
    async with in_transaction():
        alert = await _live_alert(id, "acknowledged")
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = datetime.now(UTC)
        alert.comment = values["comment"]
        await alert.save(update_fields=["status", "acknowledged_at", "comment", "updated_at"])
        return alert


async def waive_alert(*, id: int, reason: str) -> Alert:
    """Close the alert on purpose; it stays closed until the facts it was about change."""
    values = await clean({"reason": Text()}, {"reason": reason}, required=frozenset({"reason"}))
    async with in_transaction():
        alert = await _live_alert(id, "waived")
        alert.status = AlertStatus.WAIVED
        alert.waived_at = datetime.now(UTC)
        alert.waiver_reason = values["reason"]
        await alert.save(update_fields=["status", "waived_at", "waiver_reason", "updated_at"])
        return alert
