"""Live fan-out benchmark: one change pushed to many websocket subscribers, and how long the
server's event loop stalls meanwhile.

    python bench/live.py [--subscribers 200] [--changes 3] [--database-url URL]

It makes a fresh database (a temporary SQLite file unless ``--database-url`` names a
PostgreSQL database it may drop and recreate), migrates it and loads the demo portfolio,
then serves the app with uvicorn on a free port of 127.0.0.1 in this process, beside a
ticker task that wakes every millisecond and records the longest gap between two of its
wakes: the longest time the loop could not run anything else (a request, a ping, another
subscriber).

The subscribers are ``--subscribers`` websockets (graphql-transport-ws) opened by a child
process, so that their reading costs the server's loop nothing. Two scenarios, one after
the other, each with that many subscribers:

- ``engagementChanged`` on the demo's 50-item engagement, asking for what a frontend shows
  (sides, alignment, financials, alerts); each change renames the engagement;
- ``alertEvents`` on every engagement; each change moves one promise's quantity above or
  back to what was bought, so one alert opens or resolves.

Each change is made in this process through the service layer, then the bench waits until
every subscriber has its message. It prints, per change, the fan-out time (from the
change's start until the last subscriber has the message) and the longest stall of the
loop in that window, in wall time and in the loop thread's CPU time (on a machine busy
with other work, the wall figure also holds the time the process waited for a core).
Everything talks to 127.0.0.1, every wait is bounded, and the child is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import BenchError, ms, print_table, redact  # noqa: E402

ENGAGEMENT_NAME = "Nordic retail platform rollout"
WAIT_S = 120.0
TICK_S = 0.001

CHANGED = """
subscription($id: ID!) {
  engagementChanged(id: $id) {
    id name status
    client { name }
    roles { function raci person { name } }
    promises(first: 100) { totalCount edges { node { id item quantity quotedAmount } } }
    purchases(first: 100) { edges { node { id item quantity amount estimatedCost } } }
    deliverables(first: 100) { edges { node { id item status dueDate } } }
    alignment { item promised { quantity amount } bought { quantity amount } }
    financials { revenue estimatedCost margin marginPct }
    alerts(first: 20) { totalCount edges { node { id ruleId severity message } } }
  }
}"""

ALERTS = """
subscription {
  alertEvents {
    type eventId occurredAt
    alert { id ruleId severity status item message engagement { id name status } }
  }
}"""


# --- the subscribers, in a child process ------------------------------------------------


async def subscribers(url: str, key: str, query: str, variables: dict[str, Any], n: int) -> None:
    """Open ``n`` subscriptions, say ``ready``, then answer each ``expect K`` on stdin with
    ``done`` once every subscriber has K messages, until ``quit``."""
    import websockets

    sockets = []
    for _ in range(n):
        ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=None)
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        )
        if json.loads(await ws.recv())["type"] != "connection_ack":
            raise BenchError("a subscriber was not acknowledged")
        payload = {"query": query, "variables": variables}
        await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": payload}))
        sockets.append(ws)
    counts = [0] * n
    arrived = asyncio.Event()
    problems: list[str] = []

    async def read(i: int, ws: Any) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "next" and "errors" not in message["payload"]:
                counts[i] += 1
            elif message["type"] != "ping":
                problems.append(str(message)[:500])
            arrived.set()

    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            break
        wanted = int(line[1])
        deadline = time.monotonic() + WAIT_S
        while min(counts) < wanted and not problems and time.monotonic() < deadline:
            arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), 1)
        if problems:
            print(f"problem {problems[0]}", flush=True)
        elif min(counts) < wanted:
            print(f"problem only {min(counts)} of {wanted} messages arrived", flush=True)
        else:
            print("done", flush=True)
    for task in readers:
        task.cancel()
    for ws in sockets:
        await ws.close()


# --- the server and its loop ------------------------------------------------------------


class Ticker:
    """Wakes every ``TICK_S`` and records the longest gap between two wakes since reset,
    in wall time and in the CPU time of the loop's thread. On a busy machine the wall
    gap also counts the time the process was not scheduled at all; the CPU gap is what
    the loop itself spent on other work."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.longest = self.longest_cpu = 0.0
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now, cpu = time.perf_counter(), time.thread_time()
            self.longest = max(self.longest, now - self._last)
            self.longest_cpu = max(self.longest_cpu, cpu - self._last_cpu)
            self._last, self._last_cpu = now, cpu


@dataclass
class Figure:
    scenario: str
    change: int
    messages: int
    fan_out_s: float
    stall_s: float
    stall_cpu_s: float


class Child:
    """The child process holding the subscribers."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self) -> str:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), WAIT_S)
        if not raw:
            raise BenchError("the subscribers' process ended early")
        return raw.decode().strip()

    async def expect(self, count: int) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"expect {count}\n".encode())
        await self.process.stdin.drain()
        answer = await self.line()
        if answer != "done":
            raise BenchError(answer)


@contextlib.asynccontextmanager
async def child(
    url: str, key: str, query: str, variables: dict[str, Any], n: int
) -> AsyncIterator[Child]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--as-subscribers",
        json.dumps([url, key, query, variables, n]),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    held = Child(process)
    try:
        if await held.line() != "ready":
            raise BenchError("the subscribers did not start")
        yield held
    finally:
        if process.returncode is None:
            assert process.stdin is not None
            with contextlib.suppress(Exception):
                process.stdin.write(b"quit\n")
                await process.stdin.drain()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def until_subscribed(feed: Any, n: int) -> None:
    """Until exactly ``n`` subscriptions are open in the server."""
    deadline = time.monotonic() + WAIT_S
    while feed.subscription_count != n:
        if time.monotonic() > deadline:
            raise BenchError(f"{feed.subscription_count} subscriptions are open, not {n}")
        await asyncio.sleep(0.05)


async def measure(database_url: str, args: argparse.Namespace) -> list[Figure]:
    import uvicorn
    from tortoise import Tortoise

    from demo.portfolio import load_demo
    from models import Engagement, Event, Promise, Purchase
    from models.db import apply_migrations, tortoise_config
    from services.access.api_keys import create_api_key
    from services.core.wire import to_global_id
    from services.engagements.engagements import update_engagement
    from services.engagements.promises import update_promise
    from settings import Settings
    from tests.processes import free_port
    from tests.receiver import _QuietServer
    from web.app import create_app

    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        print(f"demo:    {await load_demo()}")
        key = (await create_api_key(name="bench", role="ADMIN")).key
        engagement = await Engagement.get(name=ENGAGEMENT_NAME)
        # A promise whose bought quantity it can exceed: moving it opens or resolves one alert.
        purchase = await Purchase.filter(engagement_id=engagement.id).order_by("id").first()
        if purchase is None:
            raise BenchError("the demo engagement has no purchase")
        promise = await Promise.get(engagement_id=engagement.id, item=purchase.item)

        settings = Settings(database_url=database_url, sweep_interval_seconds=0)
        app = create_app(settings, manage_database=False)
        port = free_port()
        server = _QuietServer(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        serving = asyncio.create_task(server.serve())
        ticker = Ticker()
        ticking = asyncio.create_task(ticker.run())
        figures: list[Figure] = []
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.01)
            url = f"ws://127.0.0.1:{port}/graphql"
            feed = app.state.feed
            print(f"server:  uvicorn at {url}, in this process")

            async def fan_out(scenario: str, change: Any, per_change: int) -> None:
                for i in range(1, args.changes + 1):
                    ticker.reset()
                    started = time.perf_counter()
                    await change(i)
                    await subs.expect(i * per_change)
                    figures.append(
                        Figure(
                            scenario,
                            i,
                            args.subscribers * per_change,
                            time.perf_counter() - started,
                            ticker.longest,
                            ticker.longest_cpu,
                        )
                    )

            gid = to_global_id("Engagement", engagement.id)
            async with child(url, key, CHANGED, {"id": gid}, args.subscribers) as subs:
                await until_subscribed(feed, args.subscribers)

                async def rename(i: int) -> None:
                    await update_engagement(id=engagement.id, name=f"{ENGAGEMENT_NAME} #{i}")

                await fan_out("engagementChanged", rename, 1)
            await until_subscribed(feed, 0)
            async with child(url, key, ALERTS, {}, args.subscribers) as subs:
                await until_subscribed(feed, args.subscribers)
                last_event = await Event.all().order_by("-id").first()
                seen = last_event.id if last_event else 0

                async def flip(i: int) -> None:
                    nonlocal seen
                    quantity = purchase.quantity + (Decimal(2) if i % 2 else Decimal(0))
                    await update_promise(id=promise.id, quantity=quantity)
                    opened = await Event.filter(id__gt=seen, type__startswith="alert.").count()
                    if opened != 1:
                        raise BenchError(f"change {i} made {opened} alert events, not one")
                    newest = await Event.all().order_by("-id").first()
                    seen = newest.id if newest else seen

                await fan_out("alertEvents", flip, 1)
        finally:
            ticking.cancel()
            server.should_exit = True
            await serving
        return figures
    finally:
        await Tortoise.close_connections()


def report(figures: list[Figure], args: argparse.Namespace) -> None:
    print()
    print(
        f"{args.subscribers} subscribers; stall = the longest gap between 1 ms ticks, in wall "
        "time and in the loop thread's CPU time"
    )
    print_table(
        ("scenario", "change", "messages", "fan-out ms", "stall ms", "stall CPU ms"),
        [
            (
                f.scenario,
                str(f.change),
                str(f.messages),
                ms(f.fan_out_s),
                ms(f.stall_s),
                ms(f.stall_cpu_s),
            )
            for f in figures
        ],
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--changes", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--as-subscribers", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.subscribers <= 2000:
        parser.error("--subscribers must be between 1 and 2000")
    if not 1 <= args.changes <= 100:
        parser.error("--changes must be between 1 and 100")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.as_subscribers is not None:
        url, key, query, variables, n = json.loads(args.as_subscribers)
        asyncio.run(subscribers(url, key, query, variables, n))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="fourway-bench-"))
    try:
        database_url = args.database_url or f"sqlite://{workdir / 'bench.db'}"
        if args.database_url:
            from tests.support import recreate_postgres_database

            asyncio.run(recreate_postgres_database(database_url))
        print(f"database: {redact(database_url)}")
        figures = asyncio.run(measure(database_url, args))
        report(figures, args)
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
