"""Deliveries over GraphQL: listed per endpoint and per event with their attempts, filtered
by status; sent again with redeliver; a test event on demand."""

from __future__ import annotations

from tests.receiver import Receiver
from tests.support import approve_deal_input, seed_engagement
from webhooks.wiring import build_dispatcher

DELIVERIES = (
    "query($filter: WebhookDeliveryFilter, $last: Int) { webhookDeliveries(filter: $filter, "
    "last: $last) { totalCount nodes { id eventId eventType status attemptCount redelivery "
    "nextAttemptAt deliveredAt payload endpoint { id url } "
    "attempts { at statusCode durationMs error responseExcerpt retryAt } } } }"
)


async def _endpoint(client, receiver: Receiver, types: list[str]) -> str:
    made = await client.mutate(
        "createWebhookEndpoint",
        {"url": receiver.url, "eventTypes": types},
        "webhookEndpoint { id } secret",
    )
    assert made["userErrors"] == []
    receiver.secrets.append(made["secret"])
    return str(made["webhookEndpoint"]["id"])


async def _dispatch() -> None:
    dispatcher = build_dispatcher()
    try:
        while await dispatcher.dispatch_once():
            pass
    finally:
        await dispatcher.aclose()


async def _deliveries(client, **filter: object) -> list[dict]:
    data = await client.data(DELIVERIES, {"filter": filter or None})
    return data["webhookDeliveries"]["nodes"]


async def test_deliveries_are_listed_per_endpoint_and_event_with_their_attempts(client, receiver):
    alerts = await _endpoint(client, receiver, ["alert.*"])
    status = await _endpoint(client, receiver, ["engagement.status_changed"])
    answers = {"fail": True}

    def answer(request):
        if request.payload["type"] == "engagement.status_changed" and answers["fail"]:
            answers["fail"] = False
            return (500, {}, b"try later")
        return (200, {}, b"thanks")

    receiver.answer = answer
    ids = await seed_engagement(client)
    await client.mutate("approveDeal", approve_deal_input(ids["engagement"]), "")
    await _dispatch()

    to_alerts = await _deliveries(client, endpointId=alerts)
    # The sale opens alerts, and updates the facts of those that read the engagement's status.
    assert to_alerts and {d["eventType"] for d in to_alerts} == {"alert.opened", "alert.updated"}
    assert {d["status"] for d in to_alerts} == {"DELIVERED"}
    assert all(d["endpoint"]["id"] == alerts for d in to_alerts)
    for delivery in to_alerts:
        [attempt] = delivery["attempts"]
        assert (attempt["statusCode"], attempt["error"], attempt["responseExcerpt"]) == (
            200,
            None,
            "thanks",
        )
        assert delivery["payload"]["id"] == delivery["eventId"]
        assert delivery["deliveredAt"] is not None and delivery["nextAttemptAt"] is None

    [pending] = await _deliveries(client, endpointId=status)
    assert (pending["status"], pending["attemptCount"]) == ("PENDING", 1)
    [failed] = pending["attempts"]
    assert (failed["statusCode"], failed["error"]) == (500, "answered HTTP 500")
    assert failed["retryAt"] == pending["nextAttemptAt"]
    assert await _deliveries(client, status=["PENDING"]) == [pending]
    assert await _deliveries(client, eventId=pending["eventId"]) == [pending]
    assert await _deliveries(client, eventType=["engagement.status_changed"]) == [pending]
    assert len(await _deliveries(client, status=["DELIVERED"])) == len(to_alerts)
    assert await _deliveries(client, eventId="evt_nothing") == []

    node = await client.data(
        "query($id: ID!) { node(id: $id) { ... on WebhookDelivery { id status } } }",
        {"id": pending["id"]},
    )
    assert node["node"] == {"id": pending["id"], "status": "PENDING"}


async def test_redeliver_sends_the_same_event_again_with_the_same_webhook_id(client, receiver):
    endpoint = await _endpoint(client, receiver, ["engagement.status_changed"])
    ids = await seed_engagement(client)
    await client.mutate("approveDeal", approve_deal_input(ids["engagement"]), "")
    await _dispatch()
    [original] = await _deliveries(client)
    again = await client.mutate(
        "redeliver",
        {"deliveryId": original["id"]},
        "delivery { id eventId status redelivery attempts { statusCode } }",
    )
    assert again["userErrors"] == []
    assert again["delivery"]["eventId"] == original["eventId"]
    assert (again["delivery"]["status"], again["delivery"]["redelivery"]) == ("PENDING", True)
    assert again["delivery"]["attempts"] == []
    await _dispatch()
    assert receiver.ids() == [original["eventId"], original["eventId"]]
    assert receiver.received[0].body == receiver.received[1].body
    assert all(r.verified_by for r in receiver.received)
    listed = await _deliveries(client, endpointId=endpoint)
    assert [(d["status"], d["redelivery"]) for d in listed] == [
        ("DELIVERED", False),
        ("DELIVERED", True),
    ]

    await client.mutate("updateWebhookEndpoint", {"id": endpoint, "active": False}, "")
    refused = await client.mutate("redeliver", {"deliveryId": original["id"]}, "delivery { id }")
    assert refused["delivery"] is None
    assert refused["userErrors"][0]["code"] == "CONFLICT"
    assert refused["userErrors"][0]["field"] == ["input", "deliveryId"]


async def test_a_test_event_goes_to_that_endpoint_alone_whatever_it_subscribes_to(client, receiver):
    endpoint = await _endpoint(client, receiver, ["compensation.booked"])
    other = Receiver()
    await other.start()
    try:
        await _endpoint(client, other, ["webhook.*"])
        sent = await client.mutate(
            "sendTestEvent", {"endpointId": endpoint}, "delivery { id eventType status }"
        )
        assert sent["userErrors"] == []
        assert sent["delivery"]["eventType"] == "webhook.test"
        await _dispatch()
        [request] = receiver.received
        assert request.verified_by
        assert request.payload["type"] == "webhook.test"
        assert request.payload["data"]["object"]["id"] == endpoint
        assert other.received == []
    finally:
        await other.stop()
