"""The dispatcher against a real receiver on loopback, every request verified with PyPI's
standardwebhooks: signing, retries, Retry-After, 410, disabling, and hostile receivers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from models import Alert, DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint
from models.enums import DeliveryStatus
from services.core.wire import to_global_id
from services.webhooks.deliveries import send_test_event
from services.webhooks.endpoints import create_webhook_endpoint, rotate_webhook_secret
from settings import get_settings
from tests.processes import free_port
from tests.receiver import Receiver, eventually
from tests.support import approve_deal_input, seed_engagement
from webhooks.dispatcher import Dispatcher
from webhooks.schedule import RETRY_DELAYS
from webhooks.wiring import build_dispatcher, dispatch_forever, resolve_callable, stop_dispatching


async def subscribe(receiver: Receiver, *types: str, url: str | None = None) -> WebhookEndpoint:
    made = await create_webhook_endpoint(url=url or receiver.url, event_types=list(types))
    receiver.secrets.append(made.secret)
    return made.endpoint


async def make_due() -> None:
    """Bring every pending retry forward to now, as if its wait had passed."""
    await WebhookDelivery.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=datetime.now(UTC) - timedelta(seconds=1), locked_until=None
    )


async def test_alerts_from_a_mutation_arrive_signed_per_standard_webhooks(client, receiver):
    await subscribe(receiver, "alert.*")
    ids = await seed_engagement(client)
    made = await client.mutate(
        "createPromise",
        {
            "engagementId": ids["engagement"],
            "item": "data-migration",
            "description": "Migrate ten years of orders",
            "quantity": "10",
            "madeById": ids["seller"],
        },
        "alertsOpened { id ruleId }",
    )
    assert made["alertsOpened"]
    # Every alert the engagement opened so far, from its creation on.
    opened = {to_global_id("Alert", a.id) for a in await Alert.all()}

    dispatcher = build_dispatcher()
    try:
        assert await dispatcher.dispatch_once() == len(opened)
    finally:
        await dispatcher.aclose()

    assert len(receiver.received) == len(opened)
    for request in receiver.received:
        assert request.verified_by == receiver.secrets  # verified by the reference library
        payload = request.payload
        assert list(payload) == ["id", "type", "occurred_at", "sequence", "data"]
        assert payload["id"] == request.webhook_id and payload["id"].startswith("evt_")
        assert payload["type"] == "alert.opened"
        assert request.headers["webhook-signature"].startswith("v1,")
        assert abs(int(request.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
        assert request.headers["content-type"] == "application/json"
    assert {r.payload["data"]["object"]["id"] for r in receiver.received} == opened
    delivered = await WebhookDelivery.all()
    assert {d.status for d in delivered} == {DeliveryStatus.DELIVERED}
    attempts = await DeliveryAttempt.all()
    assert [(a.status_code, a.error, a.response_excerpt) for a in attempts] == [
        (200, None, "ok")
    ] * len(opened)


async def test_an_engagements_events_arrive_numbered_from_creation_to_deletion(client, receiver):
    await subscribe(receiver, "alert.*", "engagement.*")
    ids = await seed_engagement(client)
    pm = {"personId": ids["seller"], "function": "PROJECT_MANAGEMENT", "raci": "ACCOUNTABLE"}
    role = await client.mutate(
        "createRoleAssignment", {"engagementId": ids["engagement"], **pm}, "roleAssignment { id }"
    )
    await client.mutate("deleteRoleAssignment", {"id": role["roleAssignment"]["id"]}, "")
    await client.mutate("deleteEngagement", {"id": ids["engagement"]}, "deletedId")
    dispatcher = build_dispatcher()
    try:
        sent = await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    assert sent == len(receiver.received) == await Event.all().count()
    payloads = sorted((r.payload for r in receiver.received), key=lambda p: p["sequence"])
    # Whatever order they arrived in, the sequence puts them back: 1, 2, 3... without gaps.
    assert [p["sequence"] for p in payloads] == list(range(1, len(payloads) + 1))
    types = [p["type"] for p in payloads]
    assert types[0] == "engagement.created" and types[-1] == "engagement.deleted"
    opened = {p["data"]["object"]["id"] for p in payloads if p["type"] == "alert.opened"}
    resolved = [p for p in payloads if p["type"] == "alert.resolved"]
    assert opened and {p["data"]["object"]["id"] for p in resolved} == opened
    assert {p["data"]["object"]["resolution"] for p in resolved} == {"The engagement was deleted."}
    # The PM came and went: the alerts it calmed fell to WARNING and rose to CRITICAL again.
    # Six needed functions have nobody (sales, engagement management, delivery, legal,
    # procurement, finance), so six alerts move each way.
    updated = [p["data"] for p in payloads if p["type"] == "alert.updated"]
    assert [d["object"]["severity"] for d in updated] == ["WARNING"] * 6 + ["CRITICAL"] * 6
    assert [d["previous_attributes"]["severity"] for d in updated] == (
        ["CRITICAL"] * 6 + ["WARNING"] * 6
    )


async def test_during_a_rotation_both_secrets_sign_and_then_only_the_new_one(receiver):
    endpoint = await subscribe(receiver, "alert.*")
    rotated = await rotate_webhook_secret(id=endpoint.id)
    old, new = receiver.secrets[0], rotated.secret
    receiver.secrets.append(new)
    dispatcher = build_dispatcher()
    try:
        await send_test_event(endpoint_id=endpoint.id)
        await dispatcher.dispatch_once()
        await WebhookEndpoint.filter(id=endpoint.id).update(
            previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
        await send_test_event(endpoint_id=endpoint.id)
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    during, after = receiver.received
    assert during.verified_by == [old, new]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified_by == [new]


async def test_a_failed_delivery_is_retried_on_schedule_and_every_attempt_recorded(receiver):
    endpoint = await subscribe(receiver, "webhook.*")
    answers = iter([(500, {}, b"database on fire"), (502, {}, b""), (204, {}, b"")])
    receiver.answer = lambda _: next(answers)
    delivery = await send_test_event(endpoint_id=endpoint.id)
    dispatcher = build_dispatcher()
    try:
        before = datetime.now(UTC)
        await dispatcher.dispatch_once()
        assert await dispatcher.dispatch_once() == 0  # not due again yet
        first = await DeliveryAttempt.get(delivery_id=delivery.id)
        assert (first.status_code, first.response_excerpt) == (500, "database on fire")
        assert first.error == "answered HTTP 500"
        assert first.retry_at is not None
        assert (
            before + RETRY_DELAYS[0] * 0.8
            <= first.retry_at
            <= datetime.now(UTC) + (RETRY_DELAYS[0] * 1.2)
        )
        stored = await WebhookDelivery.get(id=delivery.id)
        assert (stored.status, stored.attempt_count, stored.next_attempt_at) == (
            DeliveryStatus.PENDING,
            1,
            first.retry_at,
        )
        await make_due()
        await dispatcher.dispatch_once()
        await make_due()
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    stored = await WebhookDelivery.get(id=delivery.id)
    assert (stored.status, stored.attempt_count, stored.next_attempt_at) == (
        DeliveryStatus.DELIVERED,
        3,
        None,
    )
    attempts = await DeliveryAttempt.filter(delivery_id=delivery.id).order_by("id")
    assert [a.status_code for a in attempts] == [500, 502, 204]
    assert attempts[-1].retry_at is None and attempts[-1].error is None
    assert all(a.duration_ms >= 0 for a in attempts)
    assert len({r.webhook_id for r in receiver.received}) == 1  # one id across retries
    assert all(r.verified_by for r in receiver.received)
    assert (await WebhookEndpoint.get(id=endpoint.id)).failing_since is None


async def test_a_delivery_fails_for_good_when_its_retries_run_out(receiver):
    endpoint = await subscribe(receiver, "webhook.*")
    receiver.answer = lambda _: (500, {}, b"")
    delivery = await send_test_event(endpoint_id=endpoint.id)
    dispatcher = build_dispatcher(delays=[timedelta(seconds=1)] * 2)
    try:
        for _ in range(3):
            await make_due()
            await dispatcher.dispatch_once()
        await make_due()
        assert await dispatcher.dispatch_once() == 0
    finally:
        await dispatcher.aclose()
    stored = await WebhookDelivery.get(id=delivery.id)
    assert (stored.status, stored.attempt_count, stored.next_attempt_at) == (
        DeliveryStatus.FAILED,
        3,
        None,
    )
    assert len(receiver.received) == 3


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [
        (429, "120", timedelta(seconds=120)),
        (503, "3600", timedelta(hours=1)),
    ],
)
async def test_retry_after_sets_the_next_attempt_on_429_and_503(receiver, status, header, wait):
    endpoint = await subscribe(receiver, "webhook.*")
    receiver.answer = lambda _: (status, {"retry-after": header}, b"slow down")
    delivery = await send_test_event(endpoint_id=endpoint.id)
    dispatcher = build_dispatcher()
    try:
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    attempt = await DeliveryAttempt.get(delivery_id=delivery.id)
    assert attempt.retry_at == attempt.at + wait
    assert (await WebhookDelivery.get(id=delivery.id)).next_attempt_at == attempt.retry_at


async def test_410_gone_disables_the_endpoint_and_tells_the_other_subscribers(receiver):
    gone = await subscribe(receiver, "webhook.test")
    watcher_receiver = Receiver()
    await watcher_receiver.start()
    try:
        await subscribe(watcher_receiver, "webhook.*")
        receiver.answer = lambda _: (410, {}, b"gone")
        await send_test_event(endpoint_id=gone.id)
        dispatcher = build_dispatcher()
        try:
            await dispatcher.dispatch_once()
            await dispatcher.dispatch_once()
        finally:
            await dispatcher.aclose()
        endpoint = await WebhookEndpoint.get(id=gone.id)
        assert endpoint.active is False
        assert endpoint.disabled_reason == "The receiver answered 410 Gone."
        [notice] = watcher_receiver.received
        assert notice.verified_by
        assert notice.payload["type"] == "webhook.endpoint_disabled"
        assert notice.payload["data"]["object"]["disabledReason"] == endpoint.disabled_reason
        assert notice.payload["data"]["object"]["active"] is False
        assert notice.payload["data"]["previous_attributes"] == {"active": True}
    finally:
        await watcher_receiver.stop()


async def test_an_endpoint_failing_for_the_configured_period_is_disabled(receiver, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhooks_disable_after_seconds", 3600)
    endpoint = await subscribe(receiver, "webhook.*")
    receiver.answer = lambda _: (500, {}, b"")
    await send_test_event(endpoint_id=endpoint.id)
    dispatcher = build_dispatcher()
    try:
        await dispatcher.dispatch_once()
        stored = await WebhookEndpoint.get(id=endpoint.id)
        assert stored.active and stored.failing_since is not None  # failing, not for long
        await WebhookEndpoint.filter(id=endpoint.id).update(
            failing_since=datetime.now(UTC) - timedelta(hours=2)
        )
        await make_due()
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    stored = await WebhookEndpoint.get(id=endpoint.id)
    assert stored.active is False
    assert stored.disabled_reason is not None
    assert stored.disabled_reason.startswith("Every delivery has failed since")
    assert await Event.filter(type="webhook.endpoint_disabled").count() == 1


async def test_a_success_clears_the_failing_period(receiver):
    endpoint = await subscribe(receiver, "webhook.*")
    answers = iter([(500, {}, b""), (200, {}, b"")])
    receiver.answer = lambda _: next(answers)
    await send_test_event(endpoint_id=endpoint.id)
    dispatcher = build_dispatcher()
    try:
        await dispatcher.dispatch_once()
        assert (await WebhookEndpoint.get(id=endpoint.id)).failing_since is not None
        await make_due()
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    assert (await WebhookEndpoint.get(id=endpoint.id)).failing_since is None


async def garbage_server() -> tuple[asyncio.Server, int]:
    """A TCP server that answers every request with bytes that are not HTTP."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"\x00\x01 this is not HTTP \xff\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_hostile_receivers_become_recorded_failed_attempts(receiver, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhooks_timeout_seconds", 0.5)
    garbage, garbage_port = await garbage_server()
    slow = Receiver(delay=3.0)
    await slow.start()
    try:
        targets = {
            "garbage": await subscribe(
                receiver, "webhook.*", url=f"http://127.0.0.1:{garbage_port}/h"
            ),
            "refused": await subscribe(
                receiver, "webhook.*", url=f"http://127.0.0.1:{free_port()}/h"
            ),
            "slow": await subscribe(receiver, "webhook.*", url=slow.url),
            "huge": await subscribe(receiver, "webhook.*"),
        }
        receiver.answer = lambda _: (500, {}, b"x" * 100_000)
        for endpoint in targets.values():
            await send_test_event(endpoint_id=endpoint.id)
        dispatcher = build_dispatcher()
        try:
            assert await dispatcher.dispatch_once() == 4
        finally:
            await dispatcher.aclose()
        errors = {}
        for name, endpoint in targets.items():
            [attempt] = await DeliveryAttempt.filter(delivery__endpoint_id=endpoint.id)
            errors[name] = attempt
            assert attempt.retry_at is not None
        assert errors["garbage"].status_code is None and errors["garbage"].error
        assert errors["refused"].status_code is None and "Connect" in errors["refused"].error
        assert errors["slow"].error == "timed out after 0.5 s"
        assert errors["huge"].status_code == 500
        assert len(errors["huge"].response_excerpt) == 1024
    finally:
        garbage.close()
        await slow.stop()


async def test_a_url_that_now_resolves_to_a_private_address_is_not_called(receiver, monkeypatch):
    endpoint = await subscribe(receiver, "webhook.*")
    await send_test_event(endpoint_id=endpoint.id)
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", False)
    dispatcher = build_dispatcher()
    try:
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    assert receiver.received == []
    [attempt] = await DeliveryAttempt.all()
    assert attempt.status_code is None
    assert "resolves to 127.0.0.1" in attempt.error and attempt.error.startswith("Not sent")


@pytest.mark.parametrize(
    ("host", "carried"),
    [("[::ffff:169.254.169.254]", "169.254.169.254"), ("[2002:a9fe:a9fe::]", "169.254.169.254")],
)
async def test_a_url_that_now_stands_for_metadata_is_not_called_even_with_private_allowed(
    receiver, host, carried
):
    endpoint = await subscribe(receiver, "webhook.*")
    await send_test_event(endpoint_id=endpoint.id)
    # What the endpoint's host resolves to now (the URL was fine when it was saved).
    await WebhookEndpoint.filter(id=endpoint.id).update(url=f"http://{host}:{receiver.port}/")
    assert get_settings().webhooks_allow_private_networks
    dispatcher = build_dispatcher()
    try:
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    [attempt] = await DeliveryAttempt.all()
    assert attempt.status_code is None and attempt.error.startswith("Not sent")
    assert f"which carries {carried}" in attempt.error and "never called" in attempt.error


async def test_a_connection_goes_only_to_addresses_judged_as_it_is_made(receiver, monkeypatch):
    endpoint = await subscribe(receiver, "webhook.*")
    await send_test_event(endpoint_id=endpoint.id)
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", False)
    # No screen before the send: as if DNS had answered the screen with a public address
    # and answers the connection with this one.
    dispatcher = Dispatcher(resolve=resolve_callable)
    try:
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    assert receiver.received == []
    [attempt] = await DeliveryAttempt.all()
    assert attempt.status_code is None
    assert "Not sent: 127.0.0.1 resolves to 127.0.0.1" in attempt.error


async def test_a_host_name_is_called_at_the_addresses_it_resolves_to(receiver):
    url = f"http://localhost:{receiver.port}/hooks"
    endpoint = await subscribe(receiver, "webhook.*", url=url)
    await send_test_event(endpoint_id=endpoint.id)
    dispatcher = build_dispatcher()
    try:
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    [received] = receiver.received
    assert received.headers["host"] == f"localhost:{receiver.port}"
    [attempt] = await DeliveryAttempt.all()
    assert attempt.status_code == 200


async def test_a_receiver_that_comes_back_gets_everything_in_retry_order(receiver):
    endpoint = await subscribe(receiver, "webhook.*")
    await receiver.stop()
    made = [await send_test_event(endpoint_id=endpoint.id) for _ in range(6)]
    dispatcher = build_dispatcher()
    try:
        await dispatcher.dispatch_once()
        # The first is tried and fails; the rest wait behind its retry, untried.
        attempts = await DeliveryAttempt.all()
        assert [a.delivery_id for a in attempts] == [made[0].id]
        pending = await WebhookDelivery.filter(status=DeliveryStatus.PENDING).order_by(
            "next_attempt_at", "id"
        )
        assert len(pending) == 6
        retry_order = [d.event_id for d in pending]
        assert {d.next_attempt_at for d in pending} == {attempts[0].retry_at}

        await receiver.start()
        await make_due()
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.aclose()
    uids = {e.id: e.uid for e in await Event.all()}
    assert receiver.ids() == [uids[event_id] for event_id in retry_order]
    assert all(r.verified_by for r in receiver.received)
    assert await WebhookDelivery.filter(status=DeliveryStatus.DELIVERED).count() == 6


async def test_inactive_endpoints_get_nothing_until_reactivated(receiver):
    endpoint = await subscribe(receiver, "webhook.*")
    await send_test_event(endpoint_id=endpoint.id)
    await WebhookEndpoint.filter(id=endpoint.id).update(active=False)
    dispatcher = build_dispatcher()
    try:
        assert await dispatcher.dispatch_once() == 0
        await WebhookEndpoint.filter(id=endpoint.id).update(active=True)
        assert await dispatcher.dispatch_once() == 1
    finally:
        await dispatcher.aclose()
    assert len(receiver.received) == 1


async def test_the_running_dispatcher_sends_a_mutations_events_without_waiting_to_poll(
    client, receiver, monkeypatch
):
    monkeypatch.setattr(get_settings(), "webhooks_poll_seconds", 3600)
    await subscribe(receiver, "engagement.status_changed")
    dispatcher = build_dispatcher()
    running = asyncio.create_task(dispatch_forever(dispatcher))
    try:
        await asyncio.sleep(0.1)  # its first look finds nothing; now it waits an hour
        ids = await seed_engagement(client)
        await client.mutate("approveDeal", approve_deal_input(ids["engagement"]), "")
        await eventually(lambda: receiver.received, timeout=20)
    finally:
        await stop_dispatching(dispatcher, running)
    assert running.done() and not running.cancelled()
    assert receiver.received[0].payload["type"] == "engagement.status_changed"


async def test_an_endpoint_deleted_mid_send_is_dropped_quietly(receiver):
    endpoint = await subscribe(receiver, "webhook.*")
    await send_test_event(endpoint_id=endpoint.id)
    deleting: list[asyncio.Future[int]] = []

    def answer(_):
        deleting.append(asyncio.ensure_future(WebhookEndpoint.filter(id=endpoint.id).delete()))
        return (200, {}, b"ok")

    receiver.answer = answer
    receiver.delay = 0.2  # the deletion commits before the answer comes back
    dispatcher = build_dispatcher()
    try:
        assert await dispatcher.dispatch_once() == 1
    finally:
        await dispatcher.aclose()
    await deleting[0]
    assert not await WebhookEndpoint.exists()
    assert await WebhookDelivery.all().count() == 0
    assert await DeliveryAttempt.all().count() == 0
