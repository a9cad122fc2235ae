"""Fan-out: one change reaches every subscriber, the rows are loaded once per event, and
the event loop keeps running meanwhile; the turnstile that paces the subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from api.live.fanout import Turns
from demo.portfolio import LARGE_ENGAGEMENT, load_demo
from models import Engagement
from services.core.wire import to_global_id
from services.engagements.engagements import update_engagement
from tests.api.live.test_subscriptions import serving
from tests.support import QueryCounter

# What a frontend shows of an engagement: for the demo's 50-item one, a large message.
CHANGED = """
subscription($id: ID!) {
  engagementChanged(id: $id) {
    id name status
    roles { function raci person { name } }
    promises(first: 100) { totalCount edges { node { id item quantity quotedAmount } } }
    purchases(first: 100) { edges { node { id item quantity amount estimatedCost } } }
    deliverables(first: 100) { edges { node { id item status dueDate } } }
    alignment { item promised { quantity amount } bought { quantity amount } }
    financials { revenue estimatedCost margin marginPct }
    alerts(first: 20) { totalCount edges { node { id ruleId severity message } } }
  }
}"""


class Subscribers:
    """``n`` websockets subscribed to one subscription, counting what each receives."""

    def __init__(self, url: str, key: str, variables: dict[str, Any], n: int) -> None:
        self.url, self.key, self.variables, self.n = url, key, variables, n
        self.received: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        self._sockets: list[Any] = []
        self._readers: list[asyncio.Task[None]] = []

    async def _read(self, i: int, ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] != "ping":
                    self.received[i].append(message)

    async def open(self) -> None:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.key}"}}
        subscribe = {
            "type": "subscribe",
            "id": "1",
            "payload": {"query": CHANGED, "variables": self.variables},
        }
        for i in range(self.n):
            ws = await websockets.connect(
                self.url, subprotocols=["graphql-transport-ws"], max_size=None
            )
            self._sockets.append(ws)
            await ws.send(json.dumps(init))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
            await ws.send(json.dumps(subscribe))
            self._readers.append(asyncio.create_task(self._read(i, ws)))

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        for ws in self._sockets:
            await ws.close()

    async def until_each_has(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while min(len(r) for r in self.received) < count:
            assert time.monotonic() < deadline, [len(r) for r in self.received]
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def subscribed(
    settings: Any, key: str, variables: dict[str, Any], n: int
) -> AsyncIterator[Subscribers]:
    async with serving(settings) as (url, feed):
        subscribers = Subscribers(url, key, variables, n)
        try:
            await subscribers.open()
            deadline = time.monotonic() + 60
            while feed.subscription_count < n:
                assert time.monotonic() < deadline, "the subscriptions never opened"
                await asyncio.sleep(0.02)
            yield subscribers
        finally:
            await subscribers.close()


class Ticker:
    """Wakes every millisecond; ``ticks`` counts the wakes, ``longest`` is the most CPU
    time the loop's thread spent between two of them (CPU, not wall time: a busy machine
    may not schedule the process at all for a while). Most of a long gap is Python's
    full garbage collection, which walks every object: 200 subscribers each holding
    their own copy of the rows made it twice as long as it now is."""

    def __init__(self) -> None:
        self.ticks = 0
        self.longest = 0.0

    async def run(self) -> None:
        last = time.thread_time()
        while True:
            await asyncio.sleep(0.001)
            now = time.thread_time()
            self.ticks += 1
            self.longest = max(self.longest, now - last)
            last = now


async def _large_engagement() -> Engagement:
    await load_demo()
    return await Engagement.get(name=LARGE_ENGAGEMENT)


async def test_two_hundred_subscribers_all_get_a_change_while_the_loop_keeps_ticking(
    settings, admin_key
):
    engagement = await _large_engagement()
    variables = {"id": to_global_id("Engagement", engagement.id)}
    ticker = Ticker()
    async with subscribed(settings, admin_key, variables, 200) as subscribers:
        ticking = asyncio.create_task(ticker.run())
        try:
            await asyncio.sleep(0.05)
            await update_engagement(id=engagement.id, name="Renamed for everyone")
            await subscribers.until_each_has(1)
        finally:
            ticking.cancel()
    names = {r[0]["payload"]["data"]["engagementChanged"]["name"] for r in subscribers.received}
    assert names == {"Renamed for everyone"}
    assert all(len(r) == 1 for r in subscribers.received)
    # The loop went on ticking while the change fanned out. How long its longest stall
    # was is a figure for bench/live.py, not a bound a busy machine could break here.
    assert ticker.ticks > 0


async def test_subscribers_of_one_event_load_its_rows_once(settings, admin_key):
    engagement = await _large_engagement()
    variables = {"id": to_global_id("Engagement", engagement.id)}
    async with subscribed(settings, admin_key, variables, 20) as subscribers:
        with QueryCounter() as counted:
            await update_engagement(id=engagement.id, name="Renamed")
            await subscribers.until_each_has(1)
    promise_reads = [
        s for s in counted.statements if s.lstrip().startswith("SELECT") and '"promise"' in s
    ]
    # The update reads the promises to evaluate the rules; the 20 subscribers read them once
    # (twice at worst, if a turn runs out while the first is loading).
    assert len(promise_reads) <= 3, promise_reads
    assert all(
        r[0]["payload"]["data"]["engagementChanged"]["promises"]["totalCount"] > 40
        for r in subscribers.received
    )


# -- the turnstile


async def test_turns_are_taken_one_at_a_time_in_the_order_asked():
    turns = Turns(max_hold=60)
    inside: list[int] = []
    order: list[int] = []

    async def work(i: int) -> None:
        async with turns.turn():
            inside.append(i)
            assert len(inside) == 1, inside
            order.append(i)
            await asyncio.sleep(0.001)
            inside.remove(i)

    await asyncio.gather(*(work(i) for i in range(10)))
    assert order == list(range(10))


async def test_a_turn_held_too_long_is_passed_on():
    turns = Turns(max_hold=0.05)
    release = asyncio.Event()
    order: list[str] = []

    async def stuck() -> None:
        async with turns.turn():
            order.append("stuck")
            await release.wait()

    async def next_one() -> None:
        async with turns.turn():
            order.append("next")

    holding = asyncio.create_task(stuck())
    await asyncio.sleep(0)
    await asyncio.wait_for(next_one(), 10)  # does not wait for the stuck one
    release.set()
    await holding
    assert order == ["stuck", "next"]
    async with asyncio.timeout(10):  # and the turnstile is free again
        async with turns.turn():
            pass


async def test_a_waiter_cancelled_as_it_is_granted_passes_the_turn_on():
    turns = Turns(max_hold=60)

    async def waiter() -> None:
        async with turns.turn():
            pytest.fail("a cancelled waiter ran")

    async with turns.turn():
        cancelled = asyncio.create_task(waiter())
        await asyncio.sleep(0)  # it waits for the turn
    # The turn went to the waiter as the block ended; it is cancelled before it runs.
    cancelled.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await cancelled
    async with asyncio.timeout(10):
        async with turns.turn():
            pass
