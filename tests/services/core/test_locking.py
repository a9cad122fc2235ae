"""Every change to an engagement holds its row lock (PostgreSQL; SQLite serializes writers)."""

import asyncio
import json
from decimal import Decimal

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from models import Alert, Event, Purchase
from models.enums import OrganizationKind
from services.alerts.alerts import acknowledge_alert
from services.core.records import lock_engagement
from services.engagements.engagements import create_engagement, update_engagement
from services.engagements.purchases import create_purchase
from services.parties.organizations import create_organization
from tests.conftest import requires_postgres


async def _engagement(client_name: str = "Acme") -> int:
    client = await create_organization(name=client_name, kind=OrganizationKind.CLIENT)
    engagement = (await create_engagement(name="ERP", client_id=client.id, currency="EUR")).record
    return engagement.id


@requires_postgres
async def test_a_change_holds_the_engagement_row_lock_until_it_commits(database_url):
    engagement_id = await _engagement()
    locked = asyncio.Event()
    release = asyncio.Event()

    async def hold_lock() -> None:
        async with in_transaction():
            await lock_engagement(engagement_id)
            locked.set()
            await release.wait()

    holder = asyncio.create_task(hold_lock())
    await locked.wait()
    # A second connection asking for the same row without waiting is refused while held.
    other = await Tortoise.get_connection("default")._pool.acquire()
    try:
        with pytest.raises(Exception, match="could not obtain lock"):
            await other.execute(
                "SELECT id FROM engagement WHERE id = $1 FOR UPDATE NOWAIT", engagement_id
            )
        release.set()
        await holder
        rows = await other.fetch(
            "SELECT id FROM engagement WHERE id = $1 FOR UPDATE NOWAIT", engagement_id
        )
        assert [r["id"] for r in rows] == [engagement_id]
    finally:
        await Tortoise.get_connection("default")._pool.release(other)


@requires_postgres
async def test_twenty_concurrent_changes_to_one_engagement_all_land(database_url):
    engagement_id = await _engagement()
    results = await asyncio.gather(
        *(
            create_purchase(
                engagement_id=engagement_id,
                item=f"item-{n}",
                description="Line",
                quantity=Decimal(1),
                amount=Decimal(100),
            )
            for n in range(20)
        ),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await Purchase.filter(engagement_id=engagement_id).count() == 20


@requires_postgres
async def test_concurrent_changes_number_the_engagement_events_without_gaps_or_repeats(
    database_url,
):
    engagement_id = await _engagement()
    other_id = await _engagement("Initech")
    live = await Alert.filter(engagement_id=engagement_id).values_list("id", flat=True)
    assert live
    changes = [
        *(
            create_purchase(
                engagement_id=engagement,
                item=f"item-{n}",
                description="Line",
                quantity=Decimal(1),
                amount=Decimal(100),
            )
            for n in range(8)
            for engagement in (engagement_id, other_id)
        ),
        *(acknowledge_alert(id=alert_id, comment="seen") for alert_id in live),
        *(update_engagement(id=engagement_id, name=f"ERP {n}") for n in range(4)),
    ]
    results = await asyncio.gather(*changes, return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    for engagement in (engagement_id, other_id):
        rows = await Event.filter(engagement_id=engagement).order_by("id")
        assert sorted(e.sequence for e in rows) == list(range(1, len(rows) + 1))
        # Written under the lock, so the numbers follow the order of writing too.
        assert [e.sequence for e in rows] == list(range(1, len(rows) + 1))
        assert [json.loads(e.body)["sequence"] for e in rows] == [e.sequence for e in rows]
    assert await Event.filter(type="alert.acknowledged").count() == len(live)


async def test_a_change_to_an_engagement_that_vanished_is_not_found(database_url):
    from services.core.errors import NotFound

    with pytest.raises(NotFound):
        await create_purchase(
            engagement_id=12345, item="a", description="d", quantity=Decimal(1), amount=Decimal(1)
        )
