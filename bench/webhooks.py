"""Webhook benchmark: the dispatcher's throughput against a plain HTTP loop, and the latency
from a committed mutation to the receiver.

    python bench/webhooks.py [--events 2000] [--mutations 50] [--database-url URL] [--profile]

It makes a fresh database (a temporary SQLite file unless ``--database-url`` names one; a
PostgreSQL URL names a database the bench drops and recreates, and drops again at the end,
as the tests' FOURWAY_TEST_DATABASE_URL), migrates it, subscribes one endpoint whose URL is
a receiver on 127.0.0.1 and measures, in one run:

1. the dispatcher (``api.dispatch.build_dispatcher()``, its ``run`` loop as a task, as
   ``fourway serve`` runs it) delivering a backlog of ``--events`` ``webhook.test`` events
   owed to that endpoint: deliveries/s from its start until no delivery is pending (the
   backlog is written beforehand, untimed); where its time went (claiming, posting,
   recording), timed by wrappers around those methods of the instance;
2. a plain loop: one ``httpx.AsyncClient`` posting the same events' bodies one after
   another to the same receiver, nothing else (and, for reference, the same loop signing
   each request and streaming the answer as the dispatcher does, still without a database);
   the goal is the dispatcher at least 0.5 of the plain loop's rate;
3. the latency of ``--mutations`` ``sendTestEvent`` mutations sent one at a time through the
   real ASGI app in process, the dispatcher running beside it (``dispatch_forever``, woken by
   ``services.events.announce`` after each mutation): from the mutation's HTTP response to
   the request's arrival at the receiver.

The receiver runs in its own process (uvicorn, a bare ASGI app answering 200 "ok" and
noting when each ``webhook-id`` first arrived, by ``time.time()``), so that it takes no CPU
from the process measured. With ``--profile`` another backlog is then delivered under
cProfile and the dispatcher's hot spots are printed (the figures above are not profiled).
Everything talks to 127.0.0.1 only, and every wait is bounded.
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
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL_RATIO = 0.5
START_TIMEOUT_S = 30.0
DELIVERY_TIMEOUT_S = 300.0
ARRIVAL_TIMEOUT_S = 30.0
CHUNK = 250
"""Events written per transaction while making a backlog."""
WARMUP_MUTATIONS = 3
USER_AGENT = "fourway-bench/1"

SEND_TEST_EVENT = """
mutation Send($input: SendTestEventInput!) {
  sendTestEvent(input: $input) { delivery { id eventId } userErrors { message } }
}
"""


class BenchError(Exception):
    """The benchmark could not run as intended."""


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
        return json.dumps({"requests": self.requests, "distinct": len(self.arrivals)}).encode()

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


def serve_receiver(port: int) -> None:
    """The receiver process: uvicorn on 127.0.0.1:``port`` until terminated."""
    import uvicorn

    uvicorn.run(
        ReceiverApp(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_receiver() -> Iterator[str]:
    """Start the receiver process; yield its base URL; stop it afterwards."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=serve_receiver, args=(port,), daemon=True
    )
    process.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(base_url=base_url, timeout=2.0, trust_env=False) as client:
            while True:
                if not process.is_alive():
                    raise BenchError(f"the receiver exited with {process.exitcode} while starting")
                with suppress(httpx.HTTPError):
                    if client.get("/stats").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise BenchError(f"the receiver did not answer within {START_TIMEOUT_S:.0f} s")
                time.sleep(0.05)
        yield base_url
    finally:
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
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=ARRIVAL_TIMEOUT_S + DELIVERY_TIMEOUT_S, trust_env=False
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def reset(self) -> None:
        (await self.client.post("/reset")).raise_for_status()

    async def stats(self) -> dict[str, int]:
        response = await self.client.get("/stats")
        response.raise_for_status()
        result: dict[str, int] = response.json()
        return result

    async def wait(self, *, timeout: float, **condition: Any) -> dict[str, Any]:
        response = await self.client.get("/wait", params={**condition, "timeout": timeout})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def expect(self, label: str, requests: int, distinct: int) -> None:
        stats = await self.stats()
        if stats != {"requests": requests, "distinct": distinct}:
            raise BenchError(
                f"{label}: the receiver got {stats['requests']} requests for "
                f"{stats['distinct']} distinct webhook-ids, expected {requests} for {distinct}"
            )


# --- the database ---------------------------------------------------------------------------


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "asyncpg://"))


def admin_url(url: str) -> tuple[str, str]:
    """The server's ``postgres`` database to connect to, and the name of ``url``'s database."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, "/postgres", "", "")), parts.path.lstrip("/")


async def recreate_postgres(url: str, *, create: bool = True) -> None:
    import asyncpg

    admin, name = admin_url(url)
    if not name or name == "postgres":
        raise BenchError("the PostgreSQL URL must name a database of its own, not 'postgres'")
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@asynccontextmanager
async def database(url: str) -> AsyncIterator[None]:
    """Migrate ``url`` (recreated first when PostgreSQL) and open the ORM on it."""
    from tortoise import Tortoise

    from models.db import apply_migrations, tortoise_config
    from settings import get_settings

    if is_postgres(url):
        await recreate_postgres(url)
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
            await recreate_postgres(url, create=False)


async def make_backlog(endpoint: Any, count: int) -> list[int]:
    """``count`` webhook.test events owed to ``endpoint``, due now; their event ids."""
    from tortoise.transactions import in_transaction

    from services import events

    occurrence = events.Occurrence(events.TEST_EVENT, events.endpoint_object(endpoint))
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
    label: str
    count: int
    wall_s: float

    @property
    def rate(self) -> float:
        return self.count / self.wall_s if self.wall_s else math.inf

    @property
    def per_ms(self) -> float:
        return self.wall_s / self.count * 1000


@dataclass
class Breakdown:
    """Time the dispatcher spent in its own methods, summed (its sends to one endpoint are
    sequential, so the sums add up to wall time less what lies between them)."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    claims: int = 0

    def wrap(self, dispatcher: Any) -> None:
        for name in ("_claim", "_post", "_record"):
            setattr(dispatcher, name, self._timed_async(name, getattr(dispatcher, name)))
        setattr(dispatcher, "_settle", self._timed_sync("_settle", dispatcher._settle))  # noqa: B010

    def _timed_async(
        self, name: str, method: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = await method(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1
            if name == "_claim" and result is not None:
                self.claims += 1
            return result

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

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
        self.claims = 0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        first = row[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


# --- 1. the dispatcher ----------------------------------------------------------------------


async def deliver_backlog(
    receiver: ReceiverControl,
    dispatcher: Any,
    count: int,
    profiler: cProfile.Profile | None = None,
) -> tuple[float, float]:
    """Run ``dispatcher.run`` until no delivery is pending; the seconds until the receiver
    had ``count`` requests, and until nothing was pending."""
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
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
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
    from api.app import create_app
    from api.dispatch import dispatch_forever
    from services.wire import to_global_id
    from settings import Settings

    app = create_app(Settings(database_url=database_url, debug=False), manage_database=False)
    variables = {"input": {"endpointId": to_global_id("WebhookEndpoint", endpoint_id)}}
    payload = {"query": SEND_TEST_EVENT, "variables": variables}
    from_response: list[float] = []
    from_request: list[float] = []
    dispatching = asyncio.create_task(dispatch_forever())
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://fourway.test"
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
        dispatching.cancel()
        with suppress(asyncio.CancelledError):
            await dispatching
    return from_response, from_request


# --- the run ------------------------------------------------------------------------------------


def hot_spots(profiler: cProfile.Profile, lines: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(
        r"dispatcher|dispatch\.py|signing|standardwebhooks|queryset|models\.py|"
        r"_models\.py|_client\.py|client\.py|executor",
        lines,
    )
    # Keep the tables and drop pstats' own preamble lines.
    return "\n".join(
        line
        for line in out.getvalue().splitlines()
        if line.strip() and "function calls" not in line
    )


async def measure(receiver_url: str, database_url: str, args: argparse.Namespace) -> int:
    from api.dispatch import build_dispatcher
    from models import Event
    from services.webhook_endpoints import create_webhook_endpoint
    from settings import get_settings

    settings = get_settings()
    receiver = ReceiverControl(receiver_url)
    try:
        async with database(database_url):
            made = await create_webhook_endpoint(
                url=receiver.hooks_url, event_types=["webhook.*"], description="bench"
            )
            endpoint, secret = made.endpoint, made.secret

            # Warm up: one batch through a dispatcher, and the plain loop, untimed.
            dispatcher = build_dispatcher()
            breakdown = Breakdown()
            breakdown.wrap(dispatcher)
            try:
                warm = await make_backlog(endpoint, settings.webhooks_batch_size)
                await deliver_backlog(receiver, dispatcher, len(warm))
                warm_rows = (
                    await Event.filter(id__in=warm).order_by("id").values_list("uid", "body")
                )
                await plain_loop(receiver.hooks_url, [(str(u), str(b)) for u, b in warm_rows])

                # 1. The dispatcher.
                started = time.perf_counter()
                backlog = await make_backlog(endpoint, args.events)
                backlog_s = time.perf_counter() - started
                await receiver.reset()
                breakdown.reset()
                received_s, dispatched_s = await deliver_backlog(receiver, dispatcher, args.events)
            finally:
                await dispatcher.aclose()
            await receiver.expect("dispatcher", args.events, args.events)
            await check_delivered(backlog)
            rows = await Event.filter(id__in=backlog).order_by("id").values_list("uid", "body")
            bodies: list[tuple[str, str]] = [(str(u), str(b)) for u, b in rows]

            # 2. The plain loops.
            await receiver.reset()
            plain_s = await plain_loop(receiver.hooks_url, bodies)
            await receiver.expect("plain loop", args.events, args.events)
            await receiver.reset()
            plain_signed_s = await plain_loop_as_dispatcher(receiver.hooks_url, bodies, secret)
            await receiver.expect("plain loop (as the dispatcher)", args.events, args.events)
            signing_s = signing_alone(bodies, secret)

            # 3. Latency from a mutation to the receiver.
            await receiver.reset()
            from_response, from_request = await latencies(
                receiver, database_url, endpoint.id, args.mutations
            )

            # Optionally, where the dispatcher's time goes, under cProfile (not timed above).
            profile_text = ""
            if args.profile:
                profiler = cProfile.Profile()
                dispatcher = build_dispatcher()
                try:
                    extra = await make_backlog(endpoint, args.events)
                    await receiver.reset()
                    _, profiled_s = await deliver_backlog(
                        receiver, dispatcher, args.events, profiler
                    )
                finally:
                    await dispatcher.aclose()
                await check_delivered(extra)
                profile_text = (
                    f"cProfile of the dispatcher delivering another {args.events} "
                    f"({args.events / profiled_s:.0f}/s under the profiler):\n"
                    + hot_spots(profiler, args.profile_lines)
                )
    finally:
        await receiver.aclose()

    dispatcher_figures = Throughput("(1) dispatcher run() -> receiver", args.events, dispatched_s)
    received_figures = Throughput("    the same, until the last arrived", args.events, received_s)
    plain = Throughput("(2) plain httpx loop -> receiver", args.events, plain_s)
    plain_signed = Throughput(
        "    plain loop, signed and streamed as the dispatcher", args.events, plain_signed_s
    )
    signing = Throughput("    signing alone (signed_headers)", args.events, signing_s)
    ratio = dispatcher_figures.rate / plain.rate

    print()
    print(f"database      {redact(database_url)}")
    print(f"event loop    {type(asyncio.get_running_loop()).__module__}")
    print(f"receiver      {receiver.hooks_url} (uvicorn in its own process, answers 200 'ok')")
    print(
        f"dispatcher    batch {settings.webhooks_batch_size}, concurrency "
        f"{settings.webhooks_concurrency}, poll {settings.webhooks_poll_seconds:g} s; "
        f"one endpoint"
    )
    print(
        f"backlog       {args.events} webhook.test events of {len(bodies[0][1])} bytes, "
        f"written in {backlog_s:.2f} s (untimed)"
    )
    print()
    print_table(
        ("scenario", "deliveries", "wall s", "per s", "ms each"),
        [
            (f.label, str(f.count), f"{f.wall_s:.3f}", f"{f.rate:.0f}", f"{f.per_ms:.3f}")
            for f in (dispatcher_figures, received_figures, plain, plain_signed, signing)
        ],
    )
    print()
    print(
        f"dispatcher's time, {dispatched_s:.3f} s over {breakdown.claims} claims of up to "
        f"{settings.webhooks_batch_size} (summed per method):"
    )
    parts = [
        ("_claim (lease a batch, load its events)", "_claim"),
        ("_post (sign, POST, read the answer)", "_post"),
        ("_settle (decide, build the attempt)", "_settle"),
        ("_record (write attempts and statuses)", "_record"),
    ]
    accounted = sum(breakdown.seconds[key] for _, key in parts)
    table = [
        (
            label,
            str(breakdown.calls[key]),
            f"{breakdown.seconds[key]:.3f}",
            f"{breakdown.seconds[key] / dispatched_s:.0%}",
            f"{breakdown.seconds[key] / args.events * 1000:.3f}",
        )
        for label, key in parts
    ]
    table.append(
        (
            "elsewhere (the loop, waking, waiting for the tail)",
            "",
            f"{dispatched_s - accounted:.3f}",
            f"{(dispatched_s - accounted) / dispatched_s:.0%}",
            f"{(dispatched_s - accounted) / args.events * 1000:.3f}",
        )
    )
    print_table(("part", "calls", "s", "of wall", "ms per delivery"), table)
    print()
    print(
        f"latency, mutation to receiver: {args.mutations} sendTestEvent mutations through the "
        f"ASGI app, one at a time, dispatch_forever() beside it"
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
    print()
    print(
        f"ratio dispatcher / plain loop: {dispatcher_figures.rate:.0f}/s / {plain.rate:.0f}/s "
        f"= {ratio:.2f} (against the signed, streamed loop: "
        f"{dispatcher_figures.rate / plain_signed.rate:.2f})"
    )
    print(
        f"latency p50 {ms(statistics.median(from_response))} ms after the response, "
        f"{statistics.median(from_response) / settings.webhooks_poll_seconds:.1%} of the "
        f"{settings.webhooks_poll_seconds:g} s poll (woken by announce, not polled)"
    )
    verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(
        f"goal: dispatcher at least {GOAL_RATIO} x the plain loop -> {verdict} (ratio {ratio:.2f})"
    )
    return 0


def redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        rest = f"{user}@{host}"
    return f"{scheme}{sep}{rest}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=2000, help="deliveries per throughput run (2000)"
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
        help="event loop of the bench process (uvloop, as uvicorn picks it; asyncio's own "
        "loop if uvloop is missing)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then deliver another backlog under cProfile and print the hot spots",
    )
    parser.add_argument(
        "--profile-lines", type=int, default=25, help="lines per profile table (25)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.events <= 100_000:
        parser.error("--events must be between 1 and 100000")
    if not 1 <= args.mutations <= 10_000:
        parser.error("--mutations must be between 1 and 10000")
    url = args.database_url
    if url is not None and not is_postgres(url):
        path = url.removeprefix("sqlite://").split("?")[0]
        if not url.startswith("sqlite://") or path == ":memory:" or Path(path).exists():
            parser.error("--database-url: a postgres:// URL, or a sqlite:// URL of a new file")
    return args


def loop_factory(name: str) -> Any:
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
            return runner.run(measure(receiver_url, database_url, args))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
