"""The sweep opens the alerts time alone brings, and never evaluates a busy engagement."""

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

from tortoise.transactions import in_transaction

from models import Alert
from models.enums import EngagementStatus, OrganizationKind
from services.alerts.sweep import sweep
from services.core.records import lock_engagement
from services.engagements.deals import approve_deal
from services.engagements.deliverables import create_deliverable
from services.engagements.engagements import create_engagement, update_engagement
from services.parties.organizations import create_organization
from tests.conftest import requires_postgres


async def _engagement_with_deliverable_due(due: date, status=EngagementStatus.DELIVERING) -> int:
    client = await create_organization(name="Acme", kind=OrganizationKind.CLIENT)
    engagement = (await create_engagement(name="ERP", client_id=client.id, currency="EUR")).record
    await create_deliverable(
        engagement_id=engagement.id,
        item="a",
        description="Report",
        quantity=Decimal(1),
        due_date=due,
    )
    # The service itself approves alone, with a reason, as an ADMIN key tied to no person does.
    await approve_deal(engagement_id=engagement.id, note="Approved for the test")
    await update_engagement(id=engagement.id, status=status)
    return engagement.id


async def test_a_sweep_opens_an_overdue_alert_once_the_due_date_and_grace_pass(database_url):
    engagement_id = await _engagement_with_deliverable_due(date(2030, 1, 1))
    early = await sweep(now=datetime(2030, 1, 6, tzinfo=UTC))
    assert early.evaluated == 1
    assert not await Alert.filter(rule_id="deliverable-overdue").exists()
    late = await sweep(now=datetime(2030, 1, 7, tzinfo=UTC))
    assert late.evaluated == 1 and late.opened >= 1
    alert = await Alert.get(rule_id="deliverable-overdue", engagement_id=engagement_id)
    assert alert.status == "OPEN"
    assert "due 2030-01-01" in alert.message
    again = await sweep(now=datetime(2030, 1, 8, tzinfo=UTC))
    assert again.opened == 0 and again.resolved == 0


async def test_a_sweep_leaves_closed_engagements_alone(database_url):
    await _engagement_with_deliverable_due(date(2030, 1, 1), status=EngagementStatus.CLOSED)
    summary = await sweep(now=datetime(2031, 1, 1, tzinfo=UTC))
    assert summary.evaluated == 0
    assert not await Alert.filter(rule_id="deliverable-overdue").exists()


@requires_postgres
async def test_a_sweep_skips_an_engagement_another_transaction_is_changing(database_url):
    engagement_id = await _engagement_with_deliverable_due(date(2030, 1, 1))
    locked, release = asyncio.Event(), asyncio.Event()

    async def busy() -> None:
        async with in_transaction():
            await lock_engagement(engagement_id)
            locked.set()
            await release.wait()

    holder = asyncio.create_task(busy())
    await locked.wait()
    try:
        summary = await sweep(now=datetime(2030, 2, 1, tzinfo=UTC))
    finally:
        release.set()
        await holder
    assert (summary.evaluated, summary.skipped) == (0, 1)
    assert not await Alert.filter(rule_id="deliverable-overdue").exists()
    assert (await sweep(now=datetime(2030, 2, 1, tzinfo=UTC))).evaluated == 1
