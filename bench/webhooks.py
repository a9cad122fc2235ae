"""Webhook benchmark: the dispatcher's throughput against a plain HTTP loop, and the latency
from a committed mutation to the receiver.

    python bench/webhooks.py [--events 2000] [--rounds 3] [--mutations 50]
                             [--database-url URL] [--profile]

It makes a fresh database (a temporary SQLite file unless ``--database-url`` names one; a
PostgreSQL URL names a database the bench drops and recreates, and drops again at the end,
as the tests' FOURWAY_TEST_DATABASE_URL does), migrates it, subscribes one endpoint whose
URL is a receiver on 127.0.0.1, and measures, in one run:

1. the dispatcher (``webhooks.wiring.build_dispatcher()``, its ``run`` loop as a task, as
   ``fourway serve`` runs it) delivering a backlog of ``--events`` ``webhook.test`` events
   owed to that endpoint: deliveries/s from its start until no delivery is pending (the
   backlog is written beforehand, untimed); and where that time went (claiming, posting,
   settling, recording), summed by wrappers set on the dispatcher instance;
2. a plain loop: one ``httpx.AsyncClient`` posting the same events' bodies (read from the
   event table) one after another to the same receiver, nothing else; for reference also
   the same loop signing each request and streaming each answer as the dispatcher does,
   still without a database. Both run ``--rounds`` times, alternating, after one untimed
   batch; medians are reported, and the goal is the dispatcher at least 0.5 of the plain
   loop's rate (the median of the rounds' ratios);
3. the latency of ``--mutations`` ``sendTestEvent`` mutations sent one at a time through the
   real ASGI app in process, the dispatcher running beside it (``dispatch_forever``, woken by
   ``services.core.events.announce`` after each mutation): from the mutation's HTTP response (and
   from its request) to the arrival of its event at the receiver.

The receiver runs in its own process (uvicorn, a bare ASGI app that answers 200 "ok" and
notes when each ``webhook-id`` first arrived, by ``time.time()``), so it takes no CPU from
the process measured; every request is counted, and each run must deliver every event once.
The dispatcher is stopped with ``stop_dispatching``, as ``fourway serve`` stops it. With
``--profile`` another
backlog is then delivered under cProfile and the hot spots printed (the figures above are
not profiled). Everything talks to 127.0.0.1 only, and every wait is bounded (``--timeout``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import math
import multiprocessing
import os
import pstats
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402  (after the path is set)
    BenchError,
    ms,
    percentile,
    print_table,
    redact,
)

GOAL_RATIO = 0.5
START_TIMEOUT_S = 30.0
DELIVERY_TIMEOUT_S = 300.0
ARRIVAL_TIMEOUT_S = 30.0
CHUNK = 250
"""Events written per transaction while making a backlog."""
WARMUP_MUTATIONS = 3
USER_AGENT = "fourway-bench/1"
RECEIVER_NAME = "fourway-bench-receiver"

SEND_TEST_EVENT = """
mutation Send($input: SendTestEventInput!) {
  sendTestEvent(input: $input) { delivery { id eventId } userErrors { message } }
}
"""


# --- the receiver, in its own process -------------------------------------------------------


class ReceiverApp:
    """A bare ASGI receiver. ``POST /hooks`` answers 200 "ok" and notes the arrival time of
    each ``webhook-id`` (the first one); ``GET /stats`` counts; ``GET /wait?count=N`` or
    ``?id=ID`` answers once that many requests, or that id, have arrived (or after
    ``timeout`` seconds); ``POST /reset`` forgets everything."""

    def __init__(self) -> None:
        self.requests = 0
        self.arrivals: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:  # read the whole body, as a receiver must before it answers
            message = await receive()
            if not message.get("more_body"):
                break
        arrived = time.time()
        path = scope["path"]
        if path == "/hooks":
            self.requests += 1
            webhook_id = next(
                (v.decode() for k, v in scope["headers"] if k == b"webhook-id"), "(none)"
            )
            self.arrivals.setdefault(webhook_id, arrived)
            self.changed.set()
            self.changed = asyncio.Event()
            await respond(send, 200, b"ok", b"text/plain")
        elif path == "/stats":
            await respond(send, 200, self.stats(), b"application/json")
        elif path == "/wait":
            query = parse_qs(scope["query_string"].decode())
            await respond(send, 200, await self.wait(query), b"application/json")
        elif path == "/reset" and scope["method"] == "POST":
            self.requests = 0
            self.arrivals.clear()
            await respond(send, 200, self.stats(), b"application/json")
        else:
            await respond(send, 404, b"not found", b"text/plain")

    def stats(self) -> bytes:
        return json.dumps(
            {"receiver": RECEIVER_NAME, "requests": self.requests, "distinct": len(self.arrivals)}
        ).encode()

    async def wait(self, query: dict[str, list[str]]) -> bytes:
        deadline = time.monotonic() + float(query.get("timeout", ["30"])[0])
        count = int(query.get("count", ["0"])[0])
        webhook_id = query.get("id", [""])[0]

        def done() -> bool:
            if webhook_id:
                return webhook_id in self.arrivals
            return self.requests >= count

        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        answer = {
            "done": done(),
            "requests": self.requests,
            "arrived": self.arrivals.get(webhook_id) if webhook_id else None,
        }
        return json.dumps(answer).encode()


async def respond(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve_receiver(connection: Any) -> None:
    """The receiver process: binds a free port of 127.0.0.1 itself (no race with other
    programs picking ports), sends the port over ``connection``, serves until terminated."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    connection.send(sock.getsockname()[1])
    connection.close()
    config = uvicorn.Config(
        ReceiverApp(),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def running_receiver() -> Iterator[str]:
    """Start the receiver process; yield its base URL; stop it afterwards."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=serve_receiver, args=(theirs,), daemon=True)
    process.start()
    theirs.close()
    try:
        try:
            if not ours.poll(START_TIMEOUT_S):
                raise BenchError(f"the receiver did not start within {START_TIMEOUT_S:.0f} s")
            base_url = f"http://127.0.0.1:{ours.recv()}"
        except EOFError:
            raise BenchError(f"the receiver exited with {process.exitcode} at start") from None
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(base_url=base_url, timeout=2.0, trust_env=False) as client:
            while True:
                if not process.is_alive():
                    raise BenchError(f"the receiver exited with {process.exitcode} while starting")
                with suppress(httpx.HTTPError, ValueError):
                    if client.get("/stats").json().get("receiver") == RECEIVER_NAME:
                        break
                if time.monotonic() > deadline:
                    raise BenchError(f"the receiver did not answer within {START_TIMEOUT_S:.0f} s")
                time.sleep(0.05)
        yield base_url
    finally:
        ours.close()
        process.terminate()
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join(10)


class ReceiverControl:
    """The bench's side of the receiver: counts, resets and waits, over its own client."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.hooks_url = f"{base_url}/hooks"
        self.client = httpx.AsyncClient(base_url=base_url, timeout=10.0, trust_env=False)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def reset(self) -> None:
        (await self.client.post("/reset")).raise_for_status()

    async def stats(self) -> tuple[int, int]:
        """Requests received, and distinct webhook-ids among them."""
        response = await self.client.get("/stats")
        response.raise_for_status()
        stats = response.json()
        return int(stats["requests"]), int(stats["distinct"])

    async def wait(self, *, timeout: float, **condition: Any) -> dict[str, Any]:
        """Until the receiver has ``count`` requests or the request ``id``, or ``timeout``."""
        response = await self.client.get(
            "/wait", params={**condition, "timeout": timeout}, timeout=timeout + 10.0
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def expect(self, label: str, count: int) -> None:
        """The receiver got ``count`` requests, each for a different webhook-id."""
        requests, distinct = await self.stats()
        if (requests, distinct) != (count, count):
            raise BenchError(
                f"{label}: the receiver got {requests} requests for {distinct} distinct "
                f"webhook-ids, expected {count} for {count}"
            )


# --- the database ---------------------------------------------------------------------------


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "asyncpg://"))


@asynccontextmanager
async def database(url: str) -> AsyncIterator[None]:
    """Migrate ``url`` (recreated first when PostgreSQL) and open the ORM on it."""
    from tortoise import Tortoise

    from models.db import apply_migrations, tortoise_config
    from settings import get_settings
    from tests.support import recreate_postgres_database

    if is_postgres(url):
        await recreate_postgres_database(url)
    try:
        await apply_migrations(url)
        await Tortoise.init(
            config=tortoise_config(url, pool_max_size=get_settings().db_pool_max_size)
        )
        try:
            yield
        finally:
            await Tortoise.close_connections()
    finally:
        if is_postgres(url):
            await recreate_postgres_database(url, create=False)


async def make_backlog(endpoint: Any, count: int) -> list[int]:
    """``count`` webhook.test events owed to ``endpoint``, due now; their event ids."""
    from tortoise.transactions import in_transaction

    from services.core import events, presenters

    occurrence = events.Occurrence(events.TEST_EVENT, presenters.event_object(endpoint))
    ids: list[int] = []
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        async with in_transaction():
            written = await events.record([occurrence] * size, at=datetime.now(UTC), only=endpoint)
        ids.extend(event.id for event, _ in written)
    return ids


async def pending() -> int:
    from models import WebhookDelivery
    from models.enums import DeliveryStatus

    return await WebhookDelivery.filter(status=DeliveryStatus.PENDING).count()


# --- figures ----------------------------------------------------------------------------------


@dataclass
class Throughput:
    """Deliveries per round, and each round's wall time."""

    label: str
    count: int
    walls: list[float] = field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [self.count / wall for wall in self.walls]

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    def row(self) -> tuple[str, ...]:
        rates = self.rates
        return (
            self.label,
            f"{self.count} x {len(rates)}",
            f"{self.rate:.0f}",
            f"{min(rates):.0f}-{max(rates):.0f}",
            f"{1000 / self.rate:.3f}",
        )


class Breakdown:
    """Seconds the dispatcher spent in its own methods, summed, timed by wrappers set on
    the instance (a few microseconds a call). Its sends to one endpoint are sequential, so
    the sums of a batch's claim, posts, settling and record add up to wall time, less what
    lies between them; a claim that comes back empty runs while a batch is being sent."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, dispatcher: Any) -> None:
        for name in ("_claim", "_post", "_record"):
            setattr(dispatcher, name, self._timed_async(name, getattr(dispatcher, name)))
        setattr(dispatcher, "_settle", self._timed_sync("_settle", dispatcher._settle))  # noqa: B010

    def _timed_async(
        self, name: str, method: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            key = name
            try:
                result = await method(*args, **kwargs)
                if name == "_claim" and result is None:
                    key = "_claim (empty)"
                return result
            finally:
                self.seconds[key] += time.perf_counter() - started
                self.calls[key] += 1

        return timed

    def _timed_sync(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed

    def clear(self) -> None:
        self.seconds.clear()
        self.calls.clear()


# --- 1. the dispatcher ----------------------------------------------------------------------


async def deliver_backlog(
    receiver: ReceiverControl,
    dispatcher: Any,
    count: int,
    profiler: cProfile.Profile | None = None,
) -> tuple[float, float]:
    """Run ``dispatcher.run`` until no delivery is pending; the seconds until the receiver
    had ``count`` requests, and until nothing was pending."""
    from webhooks.wiring import stop_dispatching

    wake = asyncio.Event()
    if profiler is not None:
        profiler.enable()
    started = time.perf_counter()
    task = asyncio.create_task(dispatcher.run(wake))
    try:
        # The receiver says when the last request arrived (a long poll, no CPU here); then
        # the dispatcher must still record it.
        arrived = await receiver.wait(count=count, timeout=DELIVERY_TIMEOUT_S)
        received_s = time.perf_counter() - started
        if not arrived["done"]:
            raise BenchError(
                f"the dispatcher sent {arrived['requests']} of {count} deliveries "
                f"in {DELIVERY_TIMEOUT_S:.0f} s"
            )
        deadline = time.monotonic() + 30.0
        while await pending():
            if task.done():
                task.result()
                raise BenchError("the dispatcher stopped with deliveries pending")
            if time.monotonic() > deadline:
                raise BenchError(f"{await pending()} deliveries still pending after 30 s")
            await asyncio.sleep(0.002)
        done_s = time.perf_counter() - started
    finally:
        if profiler is not None:
            profiler.disable()
        await stop_dispatching(dispatcher, task)
    return received_s, done_s


async def check_delivered(event_ids: list[int]) -> None:
    from models import DeliveryAttempt, WebhookDelivery
    from models.enums import DeliveryStatus

    delivered = await WebhookDelivery.filter(
        event_id__in=event_ids, status=DeliveryStatus.DELIVERED, attempt_count=1
    ).count()
    attempts = await DeliveryAttempt.filter(delivery__event_id__in=event_ids).count()
    if delivered != len(event_ids) or attempts != len(event_ids):
        raise BenchError(
            f"expected {len(event_ids)} deliveries delivered at the first attempt, found "
            f"{delivered} delivered and {attempts} attempts"
        )


# --- 2. the plain loop ------------------------------------------------------------------------


async def plain_loop(url: str, bodies: list[tuple[str, str]]) -> float:
    """Post each body in turn with one client; the seconds it took."""
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
        started = time.perf_counter()
        for uid, body in bodies:
            response = await client.post(
                url,
                content=body,
                headers={
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                    "webhook-id": uid,
                },
            )
            if response.status_code != 200:
                raise BenchError(f"plain loop: HTTP {response.status_code}")
        return time.perf_counter() - started


async def plain_loop_as_dispatcher(url: str, bodies: list[tuple[str, str]], secret: str) -> float:
    """The plain loop, signing each request and streaming each answer as the dispatcher does
    (its HTTP work without its database); the seconds it took."""
    from webhooks.signing import signed_headers

    async with httpx.AsyncClient(
        timeout=10.0,
        trust_env=False,
        headers={"user-agent": USER_AGENT, "content-type": "application/json"},
    ) as client:
        started = time.perf_counter()
        for uid, body in bodies:
            headers = signed_headers(uid, body, datetime.now(UTC), [secret])
            async with client.stream("POST", url, content=body.encode(), headers=headers) as r:
                excerpt = bytearray()
                async for chunk in r.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= 1024:
                        break
            if r.status_code != 200:
                raise BenchError(f"plain loop (as the dispatcher): HTTP {r.status_code}")
        return time.perf_counter() - started


def signing_alone(bodies: list[tuple[str, str]], secret: str) -> float:
    from webhooks.signing import signed_headers

    at = datetime.now(UTC)
    started = time.perf_counter()
    for uid, body in bodies:
        signed_headers(uid, body, at, [secret])
    return time.perf_counter() - started


# --- 3. latency ---------------------------------------------------------------------------------


async def latencies(
    receiver: ReceiverControl, database_url: str, endpoint_id: int, mutations: int
) -> tuple[list[float], list[float]]:
    """Send ``mutations`` sendTestEvent mutations one at a time through the ASGI app, the
    dispatcher running beside it; the seconds from each response, and from each request, to
    the arrival of its event at the receiver."""
    from services.access.api_keys import create_api_key
    from services.core.wire import to_global_id
    from settings import Settings
    from web.app import create_app
    from webhooks.wiring import build_dispatcher, dispatch_forever, stop_dispatching

    app = create_app(Settings(database_url=database_url, debug=False), manage_database=False)
    variables = {"input": {"endpointId": to_global_id("WebhookEndpoint", endpoint_id)}}
    payload = {"query": SEND_TEST_EVENT, "variables": variables}
    from_response: list[float] = []
    from_request: list[float] = []
    key = (await create_api_key(name="bench", role="ADMIN")).key
    dispatcher = build_dispatcher()
    dispatching = asyncio.create_task(dispatch_forever(dispatcher))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://fourway.test",
            headers={"Authorization": f"Bearer {key}"},
        ) as client:
            for n in range(WARMUP_MUTATIONS + mutations):
                sent = time.time()
                response = await client.post("/graphql", json=payload)
                answered = time.time()
                if dispatching.done():
                    dispatching.result()
                    raise BenchError("the dispatcher stopped")
                body = response.json()
                result = (body.get("data") or {}).get("sendTestEvent")
                if response.status_code != 200 or body.get("errors") or not result:
                    raise BenchError(f"sendTestEvent: {response.status_code} {response.text}")
                if result["userErrors"]:
                    raise BenchError(f"sendTestEvent: {result['userErrors']}")
                event_id = result["delivery"]["eventId"]
                arrival = await receiver.wait(id=event_id, timeout=ARRIVAL_TIMEOUT_S)
                if not arrival["done"]:
                    raise BenchError(f"{event_id} did not arrive within {ARRIVAL_TIMEOUT_S} s")
                if n >= WARMUP_MUTATIONS:
                    from_response.append(arrival["arrived"] - answered)
                    from_request.append(arrival["arrived"] - sent)
    finally:
        await stop_dispatching(dispatcher, dispatching)
    return from_response, from_request


# --- the run ------------------------------------------------------------------------------------


class Phase:
    """What the run is doing, said as it starts, for progress and for a timeout's message."""

    now = "starting"

    @classmethod
    def say(cls, text: str) -> None:
        print(text, flush=True)


def hot_spots(profiler: cProfile.Profile, lines: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    # Keep the tables, drop pstats' preamble.
    kept = []
    for line in out.getvalue().splitlines():
        if not line.strip() or "function calls" in line or line.startswith("   Random listing"):
            continue
        if line.startswith("   Ordered by"):
            kept.append("")
        kept.append(line)
    return "\n".join(kept)


@dataclass
class Round:
    """One round's figures, in seconds, and the bodies it sent."""

    written_s: float
    received_s: float
    dispatched_s: float
    plain_s: float
    signed_s: float
    bodies: list[tuple[str, str]]


async def one_round(
    label: str,
    count: int,
    receiver: ReceiverControl,
    dispatcher: Any,
    endpoint: Any,
    secret: str,
) -> Round:
    """A backlog of ``count`` through the dispatcher, then the same bodies through the
    plain loops, every request counted at the receiver."""
    from models import Event

    Phase.now = f"{label}: writing a backlog of {count}"
    started = time.perf_counter()
    backlog = await make_backlog(endpoint, count)
    written_s = time.perf_counter() - started

    Phase.now = f"{label}: the dispatcher"
    await receiver.reset()
    received_s, dispatched_s = await deliver_backlog(receiver, dispatcher, count)
    await receiver.expect("the dispatcher", count)
    await check_delivered(backlog)
    rows = await Event.filter(id__in=backlog).order_by("id").values_list("uid", "body")
    bodies = [(str(uid), str(body)) for uid, body in rows]

    Phase.now = f"{label}: the plain loop"
    await receiver.reset()
    plain_s = await plain_loop(receiver.hooks_url, bodies)
    await receiver.expect("the plain loop", count)

    Phase.now = f"{label}: the plain loop, signed and streamed"
    await receiver.reset()
    signed_s = await plain_loop_as_dispatcher(receiver.hooks_url, bodies, secret)
    await receiver.expect("the plain loop, signed and streamed", count)
    return Round(written_s, received_s, dispatched_s, plain_s, signed_s, bodies)


async def profile_dispatcher(
    args: argparse.Namespace, receiver: ReceiverControl, endpoint: Any
) -> str:
    """Deliver another backlog under cProfile with a fresh dispatcher; its hot spots."""
    from webhooks.wiring import build_dispatcher

    profiler = cProfile.Profile()
    dispatcher = build_dispatcher()
    try:
        backlog = await make_backlog(endpoint, args.events)
        await receiver.reset()
        _, profiled_s = await deliver_backlog(receiver, dispatcher, args.events, profiler)
    finally:
        await dispatcher.aclose()
    await check_delivered(backlog)
    return (
        f"cProfile of the dispatcher delivering another {args.events} "
        f"({args.events / profiled_s:.0f}/s under the profiler), the whole process:\n"
        + hot_spots(profiler, args.profile_lines)
    )


async def measure(receiver_url: str, database_url: str, args: argparse.Namespace) -> int:
    """``run``, given up after ``--timeout`` seconds, saying where every task then was."""
    main = asyncio.current_task()
    assert main is not None
    expired = False

    async def watchdog() -> None:
        nonlocal expired
        await asyncio.sleep(args.timeout)
        expired = True
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.print_stack(limit=12, file=sys.stderr)
        main.cancel()

    watching = asyncio.create_task(watchdog())
    try:
        return await run(receiver_url, database_url, args)
    except asyncio.CancelledError:
        if not expired:
            raise
        raise BenchError(f"still busy after {args.timeout:g} s, at: {Phase.now}") from None
    finally:
        watching.cancel()


async def run(receiver_url: str, database_url: str, args: argparse.Namespace) -> int:
    from services.webhooks.endpoints import create_webhook_endpoint
    from settings import get_settings
    from webhooks.wiring import build_dispatcher

    settings = get_settings()
    receiver = ReceiverControl(receiver_url)
    figures = {
        "dispatcher": Throughput("(1) dispatcher run() -> receiver", args.events),
        "received": Throughput("    the same, until the last arrived", args.events),
        "plain": Throughput("(2) plain httpx loop -> receiver", args.events),
        "signed": Throughput("    plain loop, signed and streamed as (1)", args.events),
        "signing": Throughput("    signing alone (signed_headers)", args.events),
    }
    ratios: list[float] = []
    breakdown = Breakdown()
    profile_text = ""
    try:
        Phase.now = "migrating the database"
        async with database(database_url):
            Phase.say(f"database: {redact(database_url)}, migrated")
            made = await create_webhook_endpoint(
                url=receiver.hooks_url, event_types=["webhook.*"], description="bench"
            )
            endpoint, secret = made.endpoint, made.secret

            dispatcher = build_dispatcher()
            breakdown.wrap(dispatcher)
            try:
                count = settings.webhooks_batch_size
                await one_round("warming up", count, receiver, dispatcher, endpoint, secret)
                breakdown.clear()
                for n in range(1, args.rounds + 1):
                    done = await one_round(
                        f"round {n}", args.events, receiver, dispatcher, endpoint, secret
                    )
                    figures["dispatcher"].walls.append(done.dispatched_s)
                    figures["received"].walls.append(done.received_s)
                    figures["plain"].walls.append(done.plain_s)
                    figures["signed"].walls.append(done.signed_s)
                    figures["signing"].walls.append(signing_alone(done.bodies, secret))
                    ratios.append(done.plain_s / done.dispatched_s)
                    Phase.say(
                        f"round {n}/{args.rounds}: backlog written in {done.written_s:.2f} s "
                        f"(untimed); dispatcher {args.events / done.dispatched_s:.0f}/s, "
                        f"plain loop {args.events / done.plain_s:.0f}/s, ratio {ratios[-1]:.2f}"
                    )
            finally:
                await dispatcher.aclose()
            body_bytes = len(done.bodies[0][1])

            Phase.now = "measuring latency"
            await receiver.reset()
            from_response, from_request = await latencies(
                receiver, database_url, endpoint.id, args.mutations
            )
            Phase.say(f"latency: {args.mutations} mutations sent, one at a time")

            if args.profile:
                Phase.now = "profiling the dispatcher"
                profile_text = await profile_dispatcher(args, receiver, endpoint)
    finally:
        await receiver.aclose()

    dispatched = figures["dispatcher"]
    dispatched_s = math.fsum(dispatched.walls)
    deliveries = args.events * args.rounds
    print()
    print(f"database      {redact(database_url)}")
    print(f"event loop    {type(asyncio.get_running_loop()).__module__}")
    print(f"receiver      {receiver.hooks_url} (uvicorn in its own process, answers 200 'ok')")
    print(
        f"dispatcher    batch {settings.webhooks_batch_size}, concurrency "
        f"{settings.webhooks_concurrency}, poll {settings.webhooks_poll_seconds:g} s; "
        f"one endpoint; {args.rounds} rounds of {args.events} webhook.test events of "
        f"{body_bytes} bytes"
    )
    print()
    print_table(
        ("scenario", "deliveries", "per s (median)", "per s (range)", "ms each"),
        [f.row() for f in figures.values()],
    )
    print()
    print(
        f"where the dispatcher's {dispatched_s:.3f} s went, all rounds "
        f"({deliveries} deliveries, {breakdown.calls['_claim']} batches):"
    )
    parts = [
        ("_claim, leasing a batch and loading its events", "_claim"),
        ("_post (sign, POST, read the answer)", "_post"),
        ("_settle (decide, build the attempt row)", "_settle"),
        ("_record (write attempts and statuses)", "_record"),
    ]
    accounted = math.fsum(breakdown.seconds[key] for _, key in parts)
    table = [
        (
            label,
            str(breakdown.calls[key]),
            f"{breakdown.seconds[key]:.3f}",
            f"{breakdown.seconds[key] / dispatched_s:.0%}",
            f"{breakdown.seconds[key] / deliveries * 1000:.3f}",
        )
        for label, key in parts
    ]
    table.append(
        (
            "between them (the loop, waking, the tail)",
            "",
            f"{dispatched_s - accounted:.3f}",
            f"{(dispatched_s - accounted) / dispatched_s:.0%}",
            f"{(dispatched_s - accounted) / deliveries * 1000:.3f}",
        )
    )
    empty = "_claim (empty)"
    table.append(
        (
            "_claim coming back empty (overlaps the sends)",
            str(breakdown.calls[empty]),
            f"{breakdown.seconds[empty]:.3f}",
            "",
            "",
        )
    )
    print_table(("part", "calls", "s", "of wall", "ms per delivery"), table)
    print()
    print(
        f"latency, mutation to receiver: {args.mutations} sendTestEvent mutations through the "
        "ASGI app in process, one at a time, dispatch_forever() beside it"
    )
    print_table(
        ("measured from", "n", "p50 ms", "p90 ms", "max ms", "mean ms"),
        [
            (
                label,
                str(len(values)),
                ms(statistics.median(values)),
                ms(percentile(values, 90)),
                ms(max(values)),
                ms(statistics.fmean(values)),
            )
            for label, values in (
                ("the mutation's response", from_response),
                ("the mutation's request", from_request),
            )
        ],
    )
    if profile_text:
        print()
        print(profile_text)
    ratio = statistics.median(ratios)
    print()
    print(
        "ratio dispatcher / plain loop per round: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f} "
        f"(medians of rates: {dispatched.rate / figures['plain'].rate:.2f}; against the "
        f"signed, streamed loop: {dispatched.rate / figures['signed'].rate:.2f})"
    )
    poll = settings.webhooks_poll_seconds
    p50 = statistics.median(from_response)
    print(
        f"latency p50 {ms(p50)} ms after the mutation's response, {p50 / poll:.1%} of the "
        f"{poll:g} s poll: woken by announce(), not polled"
    )
    verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(
        f"goal: dispatcher at least {GOAL_RATIO} x the plain loop's rate -> {verdict} "
        f"(median ratio {ratio:.2f})"
    )
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=2000, help="deliveries per round and loop (2000)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of dispatcher, plain loop, signed loop; medians are reported (3)",
    )
    parser.add_argument(
        "--mutations", type=int, default=50, help="mutations timed for latency (50)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="database to use (a fresh temporary SQLite file); a SQLite URL must name a new "
        "file; a PostgreSQL database is dropped, recreated, and dropped at the end",
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop of the bench process (uvloop, as uvicorn picks it when installed)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then deliver another backlog under cProfile and print the hot spots",
    )
    parser.add_argument(
        "--profile-lines", type=int, default=25, help="lines per profile table (25)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="give up after this many seconds (600)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.events <= 100_000:
        parser.error("--events must be between 1 and 100000")
    if not 1 <= args.rounds <= 100:
        parser.error("--rounds must be between 1 and 100")
    if not 1 <= args.mutations <= 10_000:
        parser.error("--mutations must be between 1 and 10000")
    if not 0 < args.timeout <= 86_400:
        parser.error("--timeout must be between 0 and 86400 seconds")
    url = args.database_url
    if url is not None and not is_postgres(url):
        path = url.removeprefix("sqlite://").split("?")[0]
        if not url.startswith("sqlite://") or path == ":memory:" or Path(path).exists():
            parser.error("--database-url: a postgres:// URL, or a sqlite:// URL of a new file")
    return args


def loop_factory(name: str) -> Any:
    """uvloop's loop when asked for and installed; else asyncio's own."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        return uvloop.new_event_loop
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The receiver is on loopback, which the service refuses unless told otherwise.
    os.environ["FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS"] = "true"
    from settings import get_settings

    get_settings().webhooks_allow_private_networks = True
    workdir = Path(tempfile.mkdtemp(prefix="fourway-bench-webhooks-"))
    try:
        database_url = args.database_url or f"sqlite://{workdir / 'bench.db'}"
        with (
            running_receiver() as receiver_url,
            asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner,
        ):
            Phase.say(f"receiver: {receiver_url}/hooks, in its own process")
            return runner.run(measure(receiver_url, database_url, args))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
