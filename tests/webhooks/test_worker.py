"""No loss: ``fourway worker`` killed with SIGKILL mid-send and restarted delivers every
event at least once; dispatchers side by side on PostgreSQL never send one twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

from models import Event, WebhookDelivery
from models.enums import DeliveryStatus
from services.webhooks.deliveries import send_test_event
from services.webhooks.endpoints import create_webhook_endpoint
from tests.conftest import requires_postgres
from tests.processes import start_fourway
from tests.receiver import Receiver, eventually
from webhooks.wiring import build_dispatcher, dispatch_forever, stop_dispatching

BURST = 60


def start_worker(database_url: str, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = {
        "DATABASE_URL": database_url,
        "FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true",
        # Short, so the test need not wait a minute for a dead worker's lease to lapse.
        "FOURWAY_WEBHOOKS_TIMEOUT_SECONDS": "1",
        "FOURWAY_WEBHOOKS_LEASE_SECONDS": "2",
        "FOURWAY_WEBHOOKS_POLL_SECONDS": "0.1",
        "FOURWAY_WEBHOOKS_BATCH_SIZE": "10",
        **extra,
    }
    return start_fourway("worker", env=env, log=log)


async def test_a_worker_killed_mid_burst_and_restarted_delivers_every_event(
    database_url, loopback, tmp_path
):
    receiver = Receiver(delay=0.02)
    await receiver.start()
    log = tmp_path / "worker.log"
    made = await create_webhook_endpoint(url=receiver.url, event_types=["webhook.*"])
    receiver.secrets.append(made.secret)
    first = start_worker(database_url, log)
    killed_while_sending: list[str] = []

    def answer(request):
        # Kill the worker while it waits for this very answer: this delivery is sent but
        # never recorded, so the restarted worker must send it again.
        if len(receiver.received) == 15 and first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
            killed_while_sending.append(request.webhook_id)
        return (200, {}, b"ok")

    receiver.answer = answer
    second = None
    try:
        for _ in range(BURST):
            await send_test_event(endpoint_id=made.endpoint.id)
            await asyncio.sleep(0.01)
        await eventually(lambda: first.poll() is not None, timeout=60)
        assert first.returncode == -signal.SIGKILL
        second = start_worker(database_url, log)

        async def all_delivered() -> bool:
            return not await WebhookDelivery.filter(status=DeliveryStatus.PENDING).exists()

        await eventually(all_delivered, timeout=90)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=15)
        await receiver.stop()

    assert second is not None and second.returncode == 0, log.read_text()
    uids = set(await Event.all().values_list("uid", flat=True))
    assert len(uids) == BURST
    arrived = Counter(receiver.ids())
    assert set(arrived) == uids  # every event at least once
    assert killed_while_sending and arrived[killed_while_sending[0]] >= 2
    for request in receiver.received:
        assert request.verified_by == receiver.secrets
        assert request.payload["id"] == request.webhook_id  # a duplicate keeps its id
    assert await WebhookDelivery.filter(status=DeliveryStatus.DELIVERED).count() == BURST


@requires_postgres
async def test_dispatchers_side_by_side_never_send_a_delivery_twice(database_url, loopback):
    receivers = [Receiver(), Receiver()]
    for receiver in receivers:
        await receiver.start()
    try:
        endpoints = []
        for receiver in receivers:
            made = await create_webhook_endpoint(url=receiver.url, event_types=["webhook.*"])
            receiver.secrets.append(made.secret)
            endpoints.append(made.endpoint)
        for _ in range(100):
            for endpoint in endpoints:
                await send_test_event(endpoint_id=endpoint.id)
        dispatchers = [build_dispatcher() for _ in range(3)]
        running = [asyncio.create_task(dispatch_forever(d)) for d in dispatchers]
        try:

            async def all_delivered() -> bool:
                return not await WebhookDelivery.filter(status=DeliveryStatus.PENDING).exists()

            await eventually(all_delivered, timeout=60)
        finally:
            for dispatcher, task in zip(dispatchers, running, strict=True):
                await stop_dispatching(dispatcher, task)
        for receiver in receivers:
            counts = Counter(receiver.ids())
            assert len(counts) == 100
            assert set(counts.values()) == {1}
            assert all(r.verified_by for r in receiver.received)
    finally:
        for receiver in receivers:
            await receiver.stop()


@requires_postgres
async def test_a_worker_hears_of_another_process_commits_at_once(database_url, loopback, tmp_path):
    """With polling an hour apart, only the NOTIFY sent by this process's commit can wake
    the worker in time."""
    receiver = Receiver()
    await receiver.start()
    log = tmp_path / "worker.log"
    made = await create_webhook_endpoint(url=receiver.url, event_types=["webhook.*"])
    receiver.secrets.append(made.secret)
    worker = start_worker(database_url, log, FOURWAY_WEBHOOKS_POLL_SECONDS="3600")
    try:
        await eventually(lambda: "dispatching webhook deliveries" in log.read_text(), timeout=30)
        await asyncio.sleep(0.5)  # its first look is over; the next poll is an hour away
        await send_test_event(endpoint_id=made.endpoint.id)
        await eventually(lambda: receiver.received, timeout=20)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
        await receiver.stop()
    assert len(receiver.received) == 1, log.read_text()
