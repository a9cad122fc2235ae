"""Every delivery attempt against a real receiver is counted by outcome, timed, and logged
as one structured line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import WebhookDelivery
from models.enums import DeliveryStatus
from observability.metrics import REGISTRY
from services.webhooks.deliveries import send_test_event
from services.webhooks.endpoints import create_webhook_endpoint
from settings import get_settings
from tests.support import Logged
from webhooks.dispatcher import Dispatcher
from webhooks.wiring import build_dispatcher

ATTEMPTS = "fourway.webhooks.attempts"


def counted(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("fourway_webhook_delivery_attempts_total", {"outcome": outcome})
        or 0.0
    )


def timed() -> float:
    return (
        REGISTRY.get_sample_value("fourway_webhook_delivery_attempt_duration_seconds_count") or 0.0
    )


async def dispatch(dispatcher: Dispatcher) -> None:
    await WebhookDelivery.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=datetime.now(UTC) - timedelta(seconds=1), locked_until=None
    )
    await dispatcher.dispatch_once()


async def test_each_attempt_is_counted_timed_and_logged_by_outcome(receiver):
    made = await create_webhook_endpoint(url=receiver.url, event_types=["webhook.*"])
    receiver.secrets.append(made.secret)
    endpoint = made.endpoint
    answers = iter([(200, {}, b"ok"), (500, {}, b"on fire"), (500, {}, b"still")])
    receiver.answer = lambda _: next(answers)
    before = {o: counted(o) for o in ("delivered", "failed", "gave_up", "refused")}
    timed_before = timed()
    delivered = await send_test_event(endpoint_id=endpoint.id)
    dispatcher = build_dispatcher(delays=[timedelta(seconds=1)])  # one retry, then give up
    try:
        with Logged() as logged:
            await dispatch(dispatcher)  # 200
            failing = await send_test_event(endpoint_id=endpoint.id)
            await dispatch(dispatcher)  # 500: retried
            await dispatch(dispatcher)  # 500 again: no retry left
            # Not sent at all once the URL may no longer be called.
            get_settings().webhooks_allow_private_networks = False
            refused = await send_test_event(endpoint_id=endpoint.id)
            await dispatch(dispatcher)
    finally:
        await dispatcher.aclose()

    lines = logged.lines(ATTEMPTS)
    assert [(line["delivery_id"], line["outcome"]) for line in lines] == [
        (delivered.id, "delivered"),
        (failing.id, "failed"),
        (failing.id, "gave_up"),
        (refused.id, "refused"),
    ]
    ok, failed, gave_up, not_sent = lines
    assert ok["level"] == "INFO" and failed["level"] == "WARNING"
    assert {k: ok[k] for k in ("endpoint_id", "event_type", "status_code", "error")} == {
        "endpoint_id": endpoint.id,
        "event_type": "webhook.test",
        "status_code": 200,
        "error": None,
    }
    assert isinstance(ok["duration_ms"], int) and ok["duration_ms"] >= 0
    assert ok["event_id"].startswith("evt_") and ok["timestamp"]
    assert (failed["status_code"], failed["error"]) == (500, "answered HTTP 500")
    assert failed["retry_at"] is not None
    assert (gave_up["status_code"], gave_up["retry_at"]) == (500, None)
    assert not_sent["status_code"] is None and "private" in not_sent["error"]
    assert made.secret not in logged.everything  # the signing secret is never logged

    assert {o: counted(o) - before[o] for o in before} == {
        "delivered": 1,
        "failed": 1,
        "gave_up": 1,
        "refused": 1,
    }
    assert timed() - timed_before == 3  # the refused one was never sent
    assert (await WebhookDelivery.get(id=failing.id)).status == DeliveryStatus.FAILED
