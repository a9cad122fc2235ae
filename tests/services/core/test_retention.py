"""Retention deletes old events, finished deliveries and audit entries in batches, and
never what a dispatcher has not finished or what compensation pays from."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from models import (
    AuditEntry,
    CompensationSignal,
    DeliveryAttempt,
    Event,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.enums import DeliveryStatus
from services.core.events import new_event_id
from services.core.retention import Pruned, Retention, prune
from settings import Settings
from tests.api.compensation.test_signals import _sale
from tests.processes import free_port, run_fourway, start_fourway, wait_until_serving
from tests.support import QueryCounter

NOW = datetime.now(UTC)
MONTH = Retention(events_days=30, deliveries_days=30, audit_days=30)


def _days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def _event(days_ago: float) -> Event:
    uid = new_event_id()
    return await Event.create(
        uid=uid,
        type="engagement.updated",
        occurred_at=_days_ago(days_ago),
        body=f'{{"id":"{uid}"}}',
    )


async def _endpoint() -> WebhookEndpoint:
    return await WebhookEndpoint.create(
        url="https://hooks.example/in", event_types=["engagement.*"], secret="whsec_x"
    )


async def _delivery(
    event: Event,
    endpoint: WebhookEndpoint,
    *,
    status: DeliveryStatus,
    made_days_ago: float,
    attempts_days_ago: tuple[float, ...] = (),
    **fields: Any,
) -> WebhookDelivery:
    delivery = await WebhookDelivery.create(
        event_id=event.id, endpoint_id=endpoint.id, status=status, **fields
    )
    await WebhookDelivery.filter(id=delivery.id).update(created_at=_days_ago(made_days_ago))
    for days in attempts_days_ago:
        await DeliveryAttempt.create(
            delivery_id=delivery.id, at=_days_ago(days), status_code=500, duration_ms=3
        )
    return delivery


async def _audit(days_ago: float) -> AuditEntry:
    return await AuditEntry.create(
        at=_days_ago(days_ago),
        action="engagement.updated",
        target_type="Engagement",
        target_id=1,
        actor_kind="KEY",
    )


async def _ids(model: Any) -> set[int]:
    return set(await model.all().values_list("id", flat=True))


async def test_finished_deliveries_past_the_age_go_with_their_attempts_and_pending_ones_stay(
    database_url,
):
    endpoint = await _endpoint()
    event = await _event(days_ago=60)
    delivered_long_ago = await _delivery(
        event,
        endpoint,
        status=DeliveryStatus.DELIVERED,
        made_days_ago=60,
        delivered_at=_days_ago(59),
        attempts_days_ago=(59,),
    )
    failed_long_ago = await _delivery(
        event, endpoint, status=DeliveryStatus.FAILED, made_days_ago=60, attempts_days_ago=(60, 58)
    )
    delivered_lately = await _delivery(
        event,
        endpoint,
        status=DeliveryStatus.DELIVERED,
        made_days_ago=60,
        delivered_at=_days_ago(10),
    )
    # Made before the cut, but retried after it: it finished lately.
    failed_lately = await _delivery(
        event, endpoint, status=DeliveryStatus.FAILED, made_days_ago=40, attempts_days_ago=(40, 5)
    )
    waiting_for_a_retry = await _delivery(
        event,
        endpoint,
        status=DeliveryStatus.PENDING,
        made_days_ago=60,
        attempts_days_ago=(60,),
        next_attempt_at=_days_ago(-1),
    )
    in_flight = await _delivery(
        event,
        endpoint,
        status=DeliveryStatus.PENDING,
        made_days_ago=60,
        locked_until=_days_ago(-0.01),
    )

    pruned = await prune(retention=MONTH, now=NOW)

    assert pruned == Pruned(events=0, deliveries=2, attempts=3, audit_entries=0)
    assert await _ids(WebhookDelivery) == {
        delivered_lately.id,
        failed_lately.id,
        waiting_for_a_retry.id,
        in_flight.id,
    }
    kept_attempts = set(await DeliveryAttempt.all().values_list("delivery_id", flat=True))
    assert kept_attempts == {failed_lately.id, waiting_for_a_retry.id}
    assert delivered_long_ago.id not in kept_attempts and failed_long_ago.id not in kept_attempts
    assert await Event.exists(id=event.id)  # its unfinished deliveries still send it


async def test_an_old_event_goes_only_once_none_of_its_deliveries_is_left(database_url):
    endpoint = await _endpoint()
    unowed = await _event(days_ago=40)
    finished = await _event(days_ago=40)
    pending = await _event(days_ago=40)
    delivered_lately = await _event(days_ago=40)
    recent = await _event(days_ago=10)
    await _delivery(
        finished,
        endpoint,
        status=DeliveryStatus.DELIVERED,
        made_days_ago=40,
        delivered_at=_days_ago(39),
    )
    await _delivery(pending, endpoint, status=DeliveryStatus.PENDING, made_days_ago=40)
    await _delivery(
        delivered_lately,
        endpoint,
        status=DeliveryStatus.DELIVERED,
        made_days_ago=40,
        delivered_at=_days_ago(1),
    )

    pruned = await prune(retention=MONTH, now=NOW)

    assert (pruned.events, pruned.deliveries) == (2, 1)
    assert await _ids(Event) == {pending.id, delivered_lately.id, recent.id}
    assert unowed.id not in await _ids(Event)


async def test_audit_entries_past_their_age_go(database_url):
    old, kept = await _audit(days_ago=400), await _audit(days_ago=300)
    pruned = await prune(
        retention=Retention(events_days=30, deliveries_days=30, audit_days=365), now=NOW
    )
    assert pruned.audit_entries == 1
    assert await _ids(AuditEntry) == {kept.id}
    assert old.id not in await _ids(AuditEntry)


async def test_zero_days_keeps_a_kind_forever(database_url):
    endpoint = await _endpoint()
    event = await _event(days_ago=5000)
    await _event(days_ago=5000)
    await _delivery(
        event,
        endpoint,
        status=DeliveryStatus.DELIVERED,
        made_days_ago=5000,
        delivered_at=_days_ago(5000),
    )
    await _audit(days_ago=5000)
    forever = Retention(events_days=0, deliveries_days=0, audit_days=0)
    assert await prune(retention=forever, now=NOW) == Pruned()
    # Deliveries kept forever keep their events too; the event without one goes.
    only_events = Retention(events_days=30, deliveries_days=0, audit_days=0)
    assert await prune(retention=only_events, now=NOW) == Pruned(events=1)
    assert await _ids(Event) == {event.id}


async def test_a_large_prune_deletes_in_batches(database_url):
    for _ in range(7):
        await _event(days_ago=100)
        await _audit(days_ago=100)
    with QueryCounter() as counted:
        pruned = await prune(retention=MONTH, now=NOW, batch_size=3)
    assert (pruned.events, pruned.audit_entries) == (7, 7)
    deletes = [s for s in counted.statements if s.lstrip().upper().startswith("DELETE")]
    # 3 + 3 + 1 rows of each kind: three statements each, none holding more than a batch.
    assert len([s for s in deletes if '"event"' in s or " event " in s]) == 3, deletes
    assert len([s for s in deletes if "audit_entry" in s]) == 3, deletes


async def test_a_prune_stops_at_the_first_window_of_recent_rows(database_url):
    for _ in range(2):
        await _event(days_ago=100)
    for _ in range(10):
        await _event(days_ago=1)
    with QueryCounter() as counted:
        pruned = await prune(
            retention=Retention(events_days=30, deliveries_days=0, audit_days=0),
            now=NOW,
            batch_size=2,
        )
    assert pruned.events == 2
    windows = [s for s in counted.statements if '"event"' in s and "LIMIT" in s.upper()]
    # The window of the two old events, and one of recent ones; not the five there are.
    assert len(windows) == 2, windows


async def test_compensation_signals_are_never_deleted(client, database_url):
    await _sale(client)
    signals = await _ids(CompensationSignal)
    assert signals
    await CompensationSignal.all().update(created_at=_days_ago(5000))
    await Event.all().update(occurred_at=_days_ago(5000))
    await AuditEntry.all().update(at=_days_ago(5000))
    await prune(retention=Retention(events_days=1, deliveries_days=1, audit_days=1), now=NOW)
    assert await _ids(CompensationSignal) == signals
    # All else goes, but the engagement's newest event, which its numbering follows on from.
    assert await Event.all().count() == 1
    assert not await AuditEntry.exists()


async def test_serve_prunes_at_its_interval(database_url, tmp_path):
    old = await _event(days_ago=100)
    recent = await _event(days_ago=1)
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        "DATABASE_URL": database_url,
        "FOURWAY_RETENTION_PRUNE_INTERVAL_SECONDS": "0.2",
        "FOURWAY_SWEEP_INTERVAL_SECONDS": "0",
    }
    process = start_fourway("serve", "--port", str(port), env=env, log=log)
    try:
        await wait_until_serving(f"http://127.0.0.1:{port}", process, log)
        deadline = time.monotonic() + 30
        while await Event.exists(id=old.id):
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert await _ids(Event) == {recent.id}


async def test_fourway_prune_prints_what_it_deleted(database_url):
    await _event(days_ago=100)
    await _event(days_ago=100)
    await _audit(days_ago=400)
    await _audit(days_ago=1)
    result = run_fourway("prune", database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "deleted 2 event(s), 0 webhook delivery(ies) with 0 attempt(s), 1 audit entry(ies)"
    )
    assert await Event.all().count() == 0
    assert await AuditEntry.all().count() == 1


def test_the_defaults_keep_a_month_of_events_and_deliveries_and_a_year_of_audit():
    defaults = Settings()
    assert Retention.from_settings(defaults) == Retention(
        events_days=30, deliveries_days=30, audit_days=365
    )
    assert defaults.retention_prune_interval_seconds == 3600


async def test_an_engagements_newest_event_stays_so_its_numbering_follows_on(client):
    from tests.support import seed_engagement

    ids = await seed_engagement(client)
    for name in ("Renamed once", "Renamed twice"):
        payload = await client.mutate(
            "updateEngagement", {"id": ids["engagement"], "name": name}, "engagement { id }"
        )
        assert payload["userErrors"] == []
    mine = Event.filter(type__startswith="engagement.").order_by("id")
    await mine.update(occurred_at=_days_ago(40))  # everything it said, long ago
    before = [(e.id, e.sequence) for e in await mine]

    await prune(retention=MONTH, now=NOW)

    assert [(e.id, e.sequence) for e in await mine] == [before[-1]]
    await client.mutate(
        "updateEngagement", {"id": ids["engagement"], "name": "Renamed again"}, "engagement { id }"
    )
    sequences = [e.sequence for e in await mine]
    assert sequences == [before[-1][1], before[-1][1] + 1]
