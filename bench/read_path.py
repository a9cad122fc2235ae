"""Read-path benchmark: the real server over HTTP against the same query run in process.

    python bench/read_path.py [--requests 300] [--concurrency 8] [--database-url URL]

It makes a fresh database (a temporary SQLite file unless ``--database-url`` names one;
a PostgreSQL URL must name an empty database), runs ``fourway migrate`` and ``fourway demo``
against it, starts ``fourway serve`` on a free port of 127.0.0.1 and measures:

(a) ``{ __typename }`` over HTTP, concurrent clients;
(b) a realistic read of the demo's 50-item engagement over HTTP, concurrent clients and,
    separately, one client at a time;
(c) the same query executed in process by the same schema, its DataLoaders primed with the
    engagement's rows and the ORM's connections closed, so no database is touched.

The server's result cache is given one byte (``--result-cache-bytes``): it looks every
read up and keeps none, so (b) is the cold path with the cache's own work included. The
ratio (b)/(c) compares one request at a time on both sides; the goal is at most 2.0.
Everything talks to 127.0.0.1 only, and every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from tests.processes import (  # noqa: E402  (after the path is set)
    FOURWAY,
    NotServing,
    free_port,
    start_fourway,
    stop,
    wait_until_up,
)

GOAL_RATIO = 2.0
START_TIMEOUT_S = 30.0
COMMAND_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 30.0
ENGAGEMENT_NAME = "Nordic retail platform rollout"
EXPECTED_ITEMS = 50

TRIVIAL_QUERY = "{ __typename }"

FIND_QUERY = """
query Find($search: String!) {
  engagements(filter: {search: $search}) { edges { node { id name } } }
}
"""

READ_QUERY = """
query ReadPath($id: ID!) {
  engagement(id: $id) {
    name
    status
    client { name }
    roles { function raci person { name email } }
    needs(first: 100) { totalCount edges { node { id item description priority } } }
    promises(first: 100) {
      edges { node { id item quantity quotedAmount madeBy { name } } }
    }
    purchases(first: 100) { edges { node { id item quantity amount estimatedCost } } }
    deliverables(first: 100) { edges { node { id item quantity status dueDate } } }
    alignment {
      item
      needed { priority }
      promised { quantity amount }
      bought { quantity amount }
      delivered { quantity accepted }
    }
    financials { revenue estimatedCost actualCost margin marginPct }
  }
}
"""


@dataclass
class Figures:
    label: str
    requests: int
    concurrency: int
    wall_s: float
    latencies_s: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s if self.wall_s else math.inf

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in seconds."""
        return percentile(self.latencies_s, p)

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.latencies_s)


# --- the database and the server ----------------------------------------------------------


def run_fourway(args: list[str], env: dict[str, str]) -> str:
    try:
        done = subprocess.run(
            [*FOURWAY, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"`fourway {' '.join(args)}` took over {COMMAND_TIMEOUT_S:.0f} s"
        ) from None
    if done.returncode != 0:
        raise BenchError(
            f"`fourway {' '.join(args)}` exited with {done.returncode}:\n"
            f"{done.stdout[-2000:]}{done.stderr[-4000:]}"
        )
    return done.stdout.strip()


def server_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env.pop("FOURWAY_DATABASE_URL", None)
    env.pop("FOURWAY_DEBUG", None)
    env.update(extra or {})
    return env


@contextmanager
def running_server(
    database_url: str,
    log_path: Path,
    key: str,
    pids: list[int] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Start ``fourway serve`` on a free port (with ``extra_env`` on top of the
    environment); yield its base URL once it serves; stop it afterwards. Its process id is
    added to ``pids`` when given (to read its CPU time). ``key`` is the one the bench will
    send (the server has it already: nothing to do with it here)."""
    port = free_port()
    process = start_fourway(
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env={"DATABASE_URL": database_url, **(extra_env or {})},
        log=log_path,
    )
    if pids is not None:
        pids.append(process.pid)
    try:
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base_url, process, log_path, timeout=START_TIMEOUT_S)
        except NotServing as error:
            raise BenchError(f"the server did not start: {error}") from None
        yield base_url
    finally:
        stop(process)


def bench_viewer() -> Any:
    """In process, requests skip the HTTP layer that authenticates: they act as a viewer."""
    from api.core.principal import Principal
    from models.enums import Role

    return Principal(key_id=0, prefix="fw_bench", role=Role.VIEWER, person_id=None)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- load over HTTP -----------------------------------------------------------------------


async def post(client: httpx.AsyncClient, payload: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/graphql", json=payload)
    if response.status_code != 200:
        raise BenchError(f"HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise BenchError(f"GraphQL errors: {json.dumps(body['errors'])[:1000]}")
    return body


async def load(
    client: httpx.AsyncClient,
    label: str,
    payload: dict[str, Any],
    total: int,
    concurrency: int,
    expected: dict[str, Any] | None = None,
) -> Figures:
    """Send ``total`` requests from ``concurrency`` workers; check every answer."""
    content = json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    latencies: list[float] = []
    bodies: list[bytes] = []
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await client.post("/graphql", content=content, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise BenchError(f"{label}: HTTP {response.status_code}: {response.text[:500]}")
            bodies.append(response.content)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    # Checked after the clock stops, so that checking costs the client no time mid-run.
    distinct = set(bodies)
    for raw in distinct:
        body = json.loads(raw)
        if body.get("errors") or (expected is not None and body != expected):
            raise BenchError(f"{label}: unexpected answer {raw[:500]!r}")
    return Figures(label, total, concurrency, wall, latencies)


# --- the same query in process ------------------------------------------------------------


@dataclass
class EngagementRows:
    """Every ORM row the realistic query reads, loaded once."""

    engagement: Any
    organizations: list[Any]
    people: list[Any]
    roles: list[Any]
    needs: list[Any]
    promises: list[Any]
    purchases: list[Any]
    deliverables: list[Any]
    change_orders: list[Any]


async def load_rows(database_url: str, pk: int) -> EngagementRows:
    """Read the engagement's rows with Tortoise, then close every connection."""
    from tortoise import Tortoise

    from models import (
        ChangeOrder,
        Deliverable,
        Engagement,
        Need,
        Organization,
        Person,
        Promise,
        Purchase,
        RoleAssignment,
    )
    from models.db import tortoise_config

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        engagement = await Engagement.get(id=pk)
        roles = await RoleAssignment.filter(engagement_id=pk).order_by("id")
        needs = await Need.filter(engagement_id=pk).order_by("id")
        promises = await Promise.filter(engagement_id=pk).order_by("id")
        purchases = await Purchase.filter(engagement_id=pk).order_by("id")
        deliverables = await Deliverable.filter(engagement_id=pk).order_by("id")
        change_orders = await ChangeOrder.filter(engagement_id=pk).order_by("id")
        person_ids = {
            *(r.person_id for r in roles),
            *(p.made_by_id for p in promises),
            *(p.delivery_signoff_by_id for p in promises),
            *(n.raised_by_id for n in needs),
            *(d.accepted_by_id for d in deliverables),
            *(c.approved_by_id for c in change_orders),
        } - {None}
        people = await Person.filter(id__in=person_ids).order_by("id")
        org_ids = {engagement.client_id, *(p.organization_id for p in people)}
        organizations = await Organization.filter(id__in=org_ids).order_by("id")
    finally:
        await Tortoise.close_connections()
    return EngagementRows(
        engagement=engagement,
        organizations=list(organizations),
        people=list(people),
        roles=list(roles),
        needs=list(needs),
        promises=list(promises),
        purchases=list(purchases),
        deliverables=list(deliverables),
        change_orders=list(change_orders),
    )


def primed_context(rows: EngagementRows) -> Any:
    """A fresh request context whose loaders already hold every row the query reads."""
    from api.core.context import Context

    context = Context(principal=bench_viewer())
    loaders = context.loaders
    pk = rows.engagement.pk
    loaders.engagement.prime(pk, rows.engagement)
    for organization in rows.organizations:
        loaders.organization.prime(organization.pk, organization)
    for person in rows.people:
        loaders.person.prime(person.pk, person)
    from api.core.loaders import Facts

    loaders.facts_of.prime(
        pk,
        Facts(
            roles=rows.roles,
            needs=rows.needs,
            promises=rows.promises,
            purchases=rows.purchases,
            deliverables=rows.deliverables,
            change_orders=rows.change_orders,
        ),
    )
    return context


async def in_process(
    rows: EngagementRows, variables: dict[str, Any], runs: int, warmup: int
) -> tuple[Figures, Figures, Figures, dict[str, Any]]:
    """Execute the query ``runs`` times, one after another, each with a fresh primed context.

    Returns the execution figures, the priming figures (timed apart), the figures of
    execution plus ``json.dumps`` of the response (what the server must also do), and the
    data of the last execution.
    """
    from api.schema import build_schema

    schema = build_schema(debug=False)
    data: dict[str, Any] = {}

    async def once() -> tuple[float, float, float]:
        nonlocal data
        t0 = time.perf_counter()
        context = primed_context(rows)
        t1 = time.perf_counter()
        result = await schema.execute(READ_QUERY, variable_values=variables, context_value=context)
        t2 = time.perf_counter()
        if result.errors:
            raise BenchError(f"in process: {result.errors}")
        json.dumps({"data": result.data})
        t3 = time.perf_counter()
        data = result.data or {}
        return t1 - t0, t2 - t1, t3 - t1

    for _ in range(warmup):
        await once()
    priming: list[float] = []
    executing: list[float] = []
    with_json: list[float] = []
    for _ in range(runs):
        p, e, j = await once()
        priming.append(p)
        executing.append(e)
        with_json.append(j)
    return (
        Figures("(c) realistic, in process", runs, 1, math.fsum(executing), executing),
        Figures("    priming a context (apart)", runs, 1, math.fsum(priming), priming),
        Figures("    (c) + json.dumps", runs, 1, math.fsum(with_json), with_json),
        data,
    )


async def in_process_trivial(runs: int) -> Figures:
    from api.core.context import Context
    from api.schema import build_schema

    schema = build_schema(debug=False)
    latencies: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await schema.execute(
            TRIVIAL_QUERY, context_value=Context(principal=bench_viewer())
        )
        latencies.append(time.perf_counter() - started)
        if result.errors:
            raise BenchError(f"in process: {result.errors}")
    return Figures("(d) __typename, in process", runs, 1, math.fsum(latencies), latencies)


# --- reporting ----------------------------------------------------------------------------


def count_leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(count_leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_leaves(v) for v in value)
    return 1


def print_figures(rows: list[Figures]) -> None:
    header = ("scenario", "requests", "clients", "req/s", "p50 ms", "p99 ms", "mean ms")
    cells = [
        (
            f.label,
            str(f.requests),
            str(f.concurrency),
            f"{f.rps:.0f}",
            ms(f.p50),
            ms(f.p99),
            ms(f.mean),
        )
        for f in rows
    ]
    print_table(header, cells)


# --- the run ------------------------------------------------------------------------------


async def find_engagement(client: httpx.AsyncClient) -> str:
    body = await post(client, {"query": FIND_QUERY, "variables": {"search": "Nordic"}})
    edges = body["data"]["engagements"]["edges"]
    matches = [e["node"]["id"] for e in edges if e["node"]["name"] == ENGAGEMENT_NAME]
    if len(matches) != 1:
        raise BenchError(f"expected one engagement named {ENGAGEMENT_NAME!r}, found {edges}")
    return str(matches[0])


async def measure(base_url: str, key: str, database_url: str, args: argparse.Namespace) -> int:
    from api.core.relay import from_global_id

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=base_url,
        timeout=REQUEST_TIMEOUT_S,
        limits=limits,
        trust_env=False,
        headers=bearer(key),
    ) as client:
        engagement_id = await find_engagement(client)
        variables = {"id": engagement_id}
        read = {"query": READ_QUERY, "variables": variables}
        reference = await post(client, read)
        engagement = reference["data"]["engagement"]
        if engagement is None or len(engagement["needs"]["edges"]) != EXPECTED_ITEMS:
            raise BenchError(f"the demo engagement does not hold {EXPECTED_ITEMS} needs")
        response_bytes = len(json.dumps(reference).encode())

        # The whole answer, as for the realistic read: its data and its extensions (cost).
        trivial_expected = await post(client, {"query": TRIVIAL_QUERY})
        if trivial_expected.get("data") != {"__typename": "Query"}:
            raise BenchError(f"unexpected answer to {TRIVIAL_QUERY}: {trivial_expected}")
        await load(client, "warm-up", {"query": TRIVIAL_QUERY}, args.warmup, args.concurrency)
        await load(client, "warm-up", read, args.warmup, args.concurrency, reference)
        trivial = await load(
            client,
            "(a) __typename, HTTP",
            {"query": TRIVIAL_QUERY},
            args.trivial_requests,
            args.concurrency,
            trivial_expected,
        )
        realistic = await load(
            client,
            "(b) realistic, HTTP",
            read,
            args.requests,
            args.concurrency,
            reference,
        )
        sequential = await load(client, "(b) realistic, HTTP", read, args.requests, 1, reference)
        trivial_sequential = await load(
            client,
            "(a) __typename, HTTP",
            {"query": TRIVIAL_QUERY},
            args.requests,
            1,
            trivial_expected,
        )

    _, pk = from_global_id(engagement_id)
    rows = await load_rows(database_url, pk)
    executed, priming, with_json, data = await in_process(
        rows, variables, args.requests, args.warmup
    )
    if data != reference["data"]:
        raise BenchError("the in-process result differs from the HTTP result")
    trivial_local = await in_process_trivial(args.requests)

    print()
    print(f"database      {redact(database_url)}")
    print(f"event loop    {type(asyncio.get_running_loop()).__module__} (client and in process)")
    print(f"engagement    {ENGAGEMENT_NAME} ({engagement_id}, pk {pk})")
    print(
        f"response      {count_leaves(reference['data'])} fields resolved (leaf values), "
        f"{response_bytes} bytes; in-process data equals the HTTP data"
    )
    print(
        f"primed rows   {len(rows.needs)} needs, {len(rows.promises)} promises, "
        f"{len(rows.purchases)} purchases, {len(rows.deliverables)} deliverables, "
        f"{len(rows.change_orders)} change orders, {len(rows.roles)} roles, "
        f"{len(rows.people)} people, {len(rows.organizations)} organizations "
        f"(ORM connections closed before timing)"
    )
    print()
    print_figures(
        [
            trivial,
            trivial_sequential,
            realistic,
            sequential,
            executed,
            with_json,
            priming,
            trivial_local,
        ]
    )
    print()
    ratio_p50 = sequential.p50 / executed.p50
    ratio_mean = sequential.mean / executed.mean
    concurrent_ratio = (1 / realistic.rps) / executed.mean
    print("ratio (b)/(c), time per request, one request at a time on both sides:")
    print(f"  p50   {ms(sequential.p50)} ms / {ms(executed.p50)} ms = {ratio_p50:.2f}")
    print(f"  mean  {ms(sequential.mean)} ms / {ms(executed.mean)} ms = {ratio_mean:.2f}")
    print(
        f"concurrent: {args.concurrency} clients, {realistic.rps:.0f} req/s, i.e. "
        f"{ms(1 / realistic.rps)} ms of wall time per request "
        f"= {concurrent_ratio:.2f} x (c) mean; p50 latency {ms(realistic.p50)} ms"
    )
    verdict = "met" if ratio_p50 <= GOAL_RATIO else "NOT met"
    print(f"goal: ratio (b)/(c) <= {GOAL_RATIO:.1f} -> {verdict} (p50 ratio {ratio_p50:.2f})")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=300,
        help="realistic requests per pass, and in-process executions (300)",
    )
    parser.add_argument(
        "--trivial-requests", type=int, default=2000, help="__typename requests (2000)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (20)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="database to use (a fresh temporary SQLite file); a PostgreSQL URL must name "
        "an empty database",
    )
    parser.add_argument(
        "--result-cache-bytes",
        type=int,
        default=1,
        help="the server's FOURWAY_RESULT_CACHE_BYTES (1: the cache looks up every read "
        "and no answer fits, so every read is cold, the cache's own work included; 0: the "
        "cache is off; the default size: repeated reads are answered from it)",
    )
    args = parser.parse_args(argv)
    for name in ("requests", "trivial_requests", "concurrency"):
        if not 1 <= getattr(args, name) <= 100_000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 100000")
    if not 0 <= args.warmup <= 10_000:
        parser.error("--warmup must be between 0 and 10000")
    return args


def loop_factory() -> Any:
    """uvloop when installed, as uvicorn itself picks it; else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fourway-bench-"))
    try:
        database_url = args.database_url or f"sqlite://{workdir / 'bench.db'}"
        env = server_env(database_url)
        print(f"migrate: {run_fourway(['migrate'], env).splitlines()[-1]}")
        print(f"demo:    {run_fourway(['demo'], env).splitlines()[-1]}")
        # Every request authenticates, as in production: a VIEWER key reads.
        key = run_fourway(["apikey", "create", "--role", "VIEWER", "--name", "bench"], env)
        key = key.splitlines()[-1]
        cache = {"FOURWAY_RESULT_CACHE_BYTES": str(args.result_cache_bytes)}
        with running_server(database_url, workdir / "server.log", key, extra_env=cache) as base_url:
            print(
                f"server:  fourway serve at {base_url}, result cache of "
                f"{args.result_cache_bytes} bytes"
                + (" (every read misses: the cold path)" if args.result_cache_bytes == 1 else "")
            )
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                return runner.run(measure(base_url, key, database_url, args))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
