"""Live updates: subscriptions over graphql-transport-ws on a real server, read by a real
websocket client, fed by the outbox in this process and from other processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import websockets
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport
from tortoise.transactions import in_transaction

from models import Event
from services.access.api_keys import create_api_key
from services.core.feed import Feed
from tests.api.compensation.test_signals import _sale
from tests.conftest import ON_POSTGRES
from tests.processes import free_port, start_fourway, wait_until_serving
from tests.receiver import _QuietServer
from tests.support import GraphQLClient, seed_engagement
from web.app import create_app

UNASSIGNED = 6
"""How many needed functions a new outside engagement with no roles has nobody holding."""

ALERTS = """
subscription($e: ID, $s: [Severity!]) {
  alertEvents(engagementId: $e, severities: $s) {
    type eventId alert { id ruleId severity status engagement { id } }
  }
}"""
CHANGED = """
subscription($id: ID!) {
  engagementChanged(id: $id) { id name status compensationSignals { totalCount } }
}"""


@contextlib.asynccontextmanager
async def serving(settings: Any) -> AsyncIterator[tuple[str, Feed]]:
    """The app on a real loopback port in this process: its websocket URL, and its feed."""
    app = create_app(settings, manage_database=False)
    port = free_port()
    server = _QuietServer(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    feed: Feed = app.state.feed
    try:
        yield f"ws://127.0.0.1:{port}/graphql", feed
    finally:
        server.should_exit = True
        await task


def _transport(url: str, key: str | None) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=url,
        init_payload={"Authorization": f"Bearer {key}"} if key else {},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )


class Listening:
    """A subscription read in the background: what has arrived so far."""

    def __init__(self, url: str, key: str, query: str, variables: dict[str, Any]) -> None:
        self.received: list[dict[str, Any]] = []
        self.done = False
        self._args = (url, key, query, variables)
        self._task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        url, key, query, variables = self._args
        async with Client(transport=_transport(url, key)) as session:
            request = gql(query)
            request.variable_values = variables
            async for data in session.subscribe(request):
                self.received.append(data)
        self.done = True

    async def __aenter__(self) -> Listening:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def until(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert self._task is not None
            if self._task.done():
                self._task.result()
                break
            assert time.monotonic() < deadline, f"only {self.received} arrived"
            await asyncio.sleep(0.02)
        return self.received


async def _subscribed(feed: Feed, count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while feed.subscription_count < count:
        assert time.monotonic() < deadline, "the subscription never opened"
        await asyncio.sleep(0.01)


async def _another_engagement(client: GraphQLClient, ids: dict[str, str]) -> dict[str, str]:
    made = await client.mutate(
        "createEngagement",
        {"name": "Other", "clientId": ids["client"], "currency": "USD"},
        "engagement { id }",
    )
    return {**ids, "engagement": made["engagement"]["id"]}


async def _promise(client: GraphQLClient, ids: dict[str, str], item: str) -> tuple[str, set[str]]:
    """A promise made on the engagement: its id, and the alerts it opened."""
    payload = await client.mutate(
        "createPromise",
        {
            "engagementId": ids["engagement"],
            "item": item,
            "description": "d",
            "quantity": "1",
            "madeById": ids["seller"],
        },
        "promise { id } alertsOpened { id }",
    )
    assert payload["userErrors"] == []
    return str(payload["promise"]["id"]), {a["id"] for a in payload["alertsOpened"]}


async def test_alert_events_arrive_as_alerts_open_and_resolve(client, settings, admin_key):
    ids = await seed_engagement(client)
    other = await _another_engagement(client, ids)
    async with (
        serving(settings) as (url, feed),
        Listening(url, admin_key, ALERTS, {"e": ids["engagement"]}) as mine,
        Listening(url, admin_key, ALERTS, {"s": ["INFO"]}) as info_only,
    ):
        await _subscribed(feed, 2)
        await _promise(client, other, "elsewhere")  # another engagement's alerts
        promise, opened = await _promise(client, ids, "build")
        assert opened
        await mine.until(len(opened))
        deleted = await client.mutate("deletePromise", {"id": promise}, "alertsResolved { id }")
        resolved = {a["id"] for a in deleted["alertsResolved"]}
        assert resolved == opened
        got = await mine.until(2 * len(opened))
        await asyncio.sleep(0.3)  # nothing more is on its way
    events = [m["alertEvents"] for m in got]
    assert len(got) == 2 * len(opened)
    assert {e["alert"]["id"] for e in events} == opened
    assert {e["alert"]["engagement"]["id"] for e in events} == {ids["engagement"]}
    assert [e["type"] for e in events] == ["alert.opened"] * len(opened) + ["alert.resolved"] * len(
        opened
    )
    # The alert is shown as it is when sent; the type says what happened.
    assert all(e["alert"]["status"] == "RESOLVED" for e in events[len(opened) :])
    assert len({e["eventId"] for e in events}) == len(events)
    assert all(e["eventId"].startswith("evt_") for e in events)
    assert all(m["alertEvents"]["alert"]["severity"] == "INFO" for m in info_only.received)


async def test_followers_of_critical_alerts_hear_an_alert_change_severity_in_place(
    client, settings, admin_key
):
    # No PM: the functions an outside client's engagement needs (sales, engagement management,
    # delivery, legal, procurement, finance) fall to nobody, CRITICAL.
    ids = await seed_engagement(client)
    query = """
    subscription($e: ID, $s: [Severity!]) {
      alertEvents(engagementId: $e, severities: $s) {
        type sequence previousAttributes alert { id ruleId severity }
      }
    }"""
    pm = {
        "engagementId": ids["engagement"],
        "personId": ids["seller"],
        "function": "PROJECT_MANAGEMENT",
        "raci": "ACCOUNTABLE",
    }
    async with (
        serving(settings) as (url, feed),
        Listening(url, admin_key, query, {"e": ids["engagement"], "s": ["CRITICAL"]}) as critical,
    ):
        await _subscribed(feed)
        role = await client.mutate("createRoleAssignment", pm, "roleAssignment { id }")
        await client.mutate("deleteRoleAssignment", {"id": role["roleAssignment"]["id"]}, "")
        escalated = [e["alertEvents"] for e in await critical.until(2 * UNASSIGNED)]
        await asyncio.sleep(0.3)  # nothing more is on its way
    # Each unassigned function's alert falls to WARNING, then rises to CRITICAL.
    assert len(critical.received) == 2 * UNASSIGNED
    assert {e["type"] for e in escalated} == {"alert.updated"}
    calmed, raised = escalated[:UNASSIGNED], escalated[UNASSIGNED:]
    assert {e["alert"]["ruleId"] for e in escalated} == {"function-unassigned"}
    assert [e["previousAttributes"]["severity"] for e in calmed] == ["CRITICAL"] * UNASSIGNED
    assert [e["previousAttributes"]["severity"] for e in raised] == ["WARNING"] * UNASSIGNED
    sequences = [e["sequence"] for e in escalated]
    assert sequences == sorted(sequences) and len(set(sequences)) == 2 * UNASSIGNED


async def test_engagement_changed_follows_one_engagement_until_it_is_deleted(
    client, settings, admin_key
):
    ids = await seed_engagement(client)
    other = await _another_engagement(client, ids)
    async with (
        serving(settings) as (url, feed),
        Listening(url, admin_key, CHANGED, {"id": ids["engagement"]}) as watching,
    ):
        await _subscribed(feed)
        await client.mutate("updateEngagement", {"id": other["engagement"], "name": "x"}, "")
        renamed = await client.mutate(
            "updateEngagement", {"id": ids["engagement"], "name": "Renamed"}, ""
        )
        assert renamed["userErrors"] == []
        [first] = await watching.until(1)
        await _promise(client, ids, "build")
        await watching.until(2)
        await client.mutate("deleteEngagement", {"id": ids["engagement"]}, "deletedId")
        await watching.until(3, timeout=10)
        deadline = time.monotonic() + 10
        while not watching.done:
            assert time.monotonic() < deadline, "the subscription did not end"
            await asyncio.sleep(0.02)
    assert first["engagementChanged"]["name"] == "Renamed"
    assert len(watching.received) == 2  # the rename, the promise; then it ended
    assert {m["engagementChanged"]["id"] for m in watching.received} == {ids["engagement"]}


async def test_a_change_that_changes_nothing_sends_nothing(client, settings, admin_key):
    ids = await seed_engagement(client)
    async with (
        serving(settings) as (url, feed),
        Listening(url, admin_key, CHANGED, {"id": ids["engagement"]}) as watching,
    ):
        await _subscribed(feed)
        await client.mutate("evaluateEngagement", {"id": ids["engagement"]}, "")
        await client.mutate(
            "updateEngagement", {"id": ids["engagement"], "name": "ERP rollout"}, ""
        )
        await client.mutate("updateEngagement", {"id": ids["engagement"], "name": "Marker"}, "")
        [only] = await watching.until(1)
        await asyncio.sleep(0.3)
    assert only["engagementChanged"]["name"] == "Marker"
    assert len(watching.received) == 1


@pytest.mark.parametrize("key", [None, "fw_unknown0_nothing"])
async def test_a_websocket_without_a_live_key_is_closed_with_4403(settings, admin_key, key):
    async def hello(url: str, key: str | None) -> Any:
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            payload = {"Authorization": f"Bearer {key}"} if key else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            try:
                return json.loads(await asyncio.wait_for(ws.recv(), 5))
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    async with serving(settings) as (url, _):
        assert await hello(url, key) == 4403
        assert await hello(url, admin_key) == {"type": "connection_ack"}


async def test_subscriptions_keep_to_the_same_visibility_rules(client, settings):
    ids = await _sale(client)  # books a signal for the seller
    viewer = await create_api_key(name="viewer", role="VIEWER")
    async with (
        serving(settings) as (url, feed),
        Listening(url, viewer.key, CHANGED, {"id": ids["engagement"]}) as watching,
    ):
        await _subscribed(feed)
        await client.mutate("updateEngagement", {"id": ids["engagement"], "name": "Seen"}, "")
        [seen] = await watching.until(1)
    assert seen["engagementChanged"]["name"] == "Seen"
    assert seen["engagementChanged"]["compensationSignals"]["totalCount"] == 0
    shown = await client.data(
        "query($id: ID!) { engagement(id: $id) { compensationSignals { totalCount } } }",
        {"id": ids["engagement"]},
    )
    assert shown["engagement"]["compensationSignals"]["totalCount"] > 0


async def test_another_process_sees_every_event(client, admin_key, database_url, tmp_path: Path):
    """`fourway serve` in its own process serves the subscription; the changes are made in
    this one. On PostgreSQL the NOTIFY wakes it; on SQLite it finds them by polling."""
    ids = await seed_engagement(client)
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "FOURWAY_WEBHOOKS_DISPATCH_IN_SERVE": "false",
        "FOURWAY_SWEEP_INTERVAL_SECONDS": "0",
        # On PostgreSQL only the NOTIFY can bring the changes in time.
        "FOURWAY_LIVE_POLL_SECONDS": "600" if ON_POSTGRES else "0.1",
    }
    log = tmp_path / "serve.log"
    process = start_fourway("serve", "--host", "127.0.0.1", "--port", str(port), env=env, log=log)
    try:
        await wait_until_serving(f"http://127.0.0.1:{port}", process, log)
        url = f"ws://127.0.0.1:{port}/graphql"
        async with Listening(url, admin_key, CHANGED, {"id": ids["engagement"]}) as watching:
            # The subscription opens in the other process: change until it has seen one.
            names = []
            started = time.monotonic()
            while not watching.received:
                names.append(f"Name {len(names)}")
                await client.mutate(
                    "updateEngagement", {"id": ids["engagement"], "name": names[-1]}, ""
                )
                assert time.monotonic() - started < 20, log.read_text()
                await asyncio.sleep(0.1)
            for n in range(5):
                await client.mutate(
                    "updateEngagement", {"id": ids["engagement"], "name": f"Burst {n}"}, ""
                )
            await watching.until(2)
            deadline = time.monotonic() + 15
            while watching.received[-1]["engagementChanged"]["name"] != "Burst 4":
                assert time.monotonic() < deadline, watching.received
                await asyncio.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert watching.received[0]["engagementChanged"]["name"] in names


@pytest.mark.skipif(not ON_POSTGRES, reason="only PostgreSQL commits out of id order")
async def test_the_feed_finds_an_event_that_commits_after_a_later_one(database_url):
    feed = Feed(poll_seconds=60)
    seen: list[str] = []
    holding = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:
        async with in_transaction():
            await Event.create(uid="evt_slow", type="t", occurred_at=_now(), body="{}")
            holding.set()
            await release.wait()

    async with feed.subscribe() as subscription:
        writer = asyncio.create_task(slow_writer())
        await holding.wait()
        await Event.create(uid="evt_fast", type="t", occurred_at=_now(), body="{}")
        await feed._look()
        seen += [e.uid for e in subscription.pending()]
        release.set()
        await writer
        await feed._look()
        seen += [e.uid for e in subscription.pending()]
    await feed.stop()
    assert seen == ["evt_fast", "evt_slow"]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_a_subscription_with_a_bad_id_gets_a_clear_error(settings, admin_key):
    async with (
        serving(settings) as (url, _),
        websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        init = {"Authorization": f"Bearer {admin_key}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        for n, bad in enumerate(["garbage", "UGVyc29uOjE="]):  # not an id; a Person's
            subscribe = {"query": CHANGED, "variables": {"id": bad}}
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": subscribe}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            while answer["type"] == "complete":  # the one before
                answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer["id"] == str(n)
            errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", answer
            assert errors[0]["message"].startswith("`id` "), answer


async def test_a_subscription_that_falls_too_far_behind_is_ended(monkeypatch):
    from services.core import feed as feed_module

    monkeypatch.setattr(feed_module, "QUEUE_LIMIT", 2)
    subscription = feed_module.Subscription()
    events = [Event(id=n, uid=f"evt_{n}", type="t", body="{}") for n in range(4)]
    for event in events:
        subscription.offer(event)
    assert [await subscription.next(), await subscription.next()] == events[:2]
    with pytest.raises(feed_module.FellBehind):
        await subscription.next()
