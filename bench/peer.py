"""fourway against PostGraphile: the same engagement page from the same PostgreSQL database.

    python bench/peer.py --database-url postgres://USER@HOST:5432/EMPTY_DB [--rounds 3]

A frontend team could point PostGraphile at fourway's tables and get a GraphQL API for
free (without the rules, alignment or pay). This bench is the figure fourway's reads are
judged by against that choice. It installs PostGraphile (pinned) from npm into a scratch
folder once (``--peer-dir``, kept between runs), migrates the named empty database and
loads the demo portfolio into it, starts two ``fourway serve`` and PostGraphile on it, one
process each, and then measures them in turn (A B C A B C, ``--rounds`` rounds) on:

- the like-for-like read: the demo's 50-item engagement with its client, roles and their
  people, and its four sides (fourway's realistic read without ``alignment`` and
  ``financials``, which PostGraphile cannot compute), one client and 8 clients;
- ``{ __typename }``, one client and 8 clients (fourway authenticates every request and
  logs as in production; PostGraphile runs without a query log).

The two fourway processes differ in their result cache alone: ``fourway cold`` runs with
it off (``FOURWAY_RESULT_CACHE_BYTES=0``), so every request runs the query, and
``fourway warm`` with the default, so the repeated read is answered from the cache (its
hits and misses are printed from its ``/metrics``); the goal for warm is at most half of
PostGraphile's p50 on the like-for-like read. PostGraphile has no result cache.

For each it prints p50, p99, requests per second and the server's CPU time per request
(from ``/proc``), pooled over the rounds, and the ratio of each fourway to PostGraphile. Before
timing, it checks that both answers hold the same values, leaf by leaf (fourway's global
ids decoded to row ids, decimals compared as numbers).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    BenchError,
    ms,
    percentile,
    print_table,
    process_cpu_seconds,
    redact,
)
from bench.read_path import (  # noqa: E402
    ENGAGEMENT_NAME,
    EXPECTED_ITEMS,
    FIND_QUERY,
    TRIVIAL_QUERY,
    bearer,
    count_leaves,
    loop_factory,
    run_fourway,
    running_server,
    server_env,
)
from tests.processes import free_port  # noqa: E402

POSTGRAPHILE_VERSION = "4.14.1"
COLD = "fourway cold"
WARM = "fourway warm"
START_TIMEOUT_S = 60.0
INSTALL_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 30.0

FOURWAY_QUERY = """
query Page($id: ID!) {
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
  }
}
"""

# The same selection in PostGraphile's default inflection, aliased to fourway's names.
PEER_QUERY = """
query Page($id: Int!) {
  engagement: engagementById(id: $id) {
    name
    status
    client: organizationByClientId { name }
    roles: roleAssignmentsByEngagementId(orderBy: ID_ASC) {
      nodes { function raci person: personByPersonId { name email } }
    }
    needs: needsByEngagementId(first: 100, orderBy: ID_ASC) {
      totalCount nodes { id item description priority }
    }
    promises: promisesByEngagementId(first: 100, orderBy: ID_ASC) {
      nodes { id item quantity quotedAmount madeBy: personByMadeById { name } }
    }
    purchases: purchasesByEngagementId(first: 100, orderBy: ID_ASC) {
      nodes { id item quantity amount estimatedCost }
    }
    deliverables: deliverablesByEngagementId(first: 100, orderBy: ID_ASC) {
      nodes { id item quantity status dueDate }
    }
  }
}
"""


@dataclass
class Figures:
    """One server on one scenario, pooled over the rounds."""

    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_s)

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s if self.wall_s else math.inf

    @property
    def cpu_per_request(self) -> float:
        return self.cpu_s / self.requests

    def p(self, q: float) -> float:
        return percentile(self.latencies_s, q)


@dataclass
class Server:
    name: str
    base_url: str
    pid: int
    headers: dict[str, str]
    read: dict[str, Any]


# --- PostGraphile -------------------------------------------------------------------------


def install_peer(peer_dir: Path) -> Path:
    """PostGraphile's command, installed into ``peer_dir`` unless already there."""
    command = peer_dir / "node_modules" / ".bin" / "postgraphile"
    installed = peer_dir / "node_modules" / "postgraphile" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == POSTGRAPHILE_VERSION:
        return command
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BenchError("PostGraphile needs Node.js and npm on the PATH")
    peer_dir.mkdir(parents=True, exist_ok=True)
    package = peer_dir / "package.json"
    if not package.exists():
        package.write_text('{"name": "fourway-peer", "private": true}\n')
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", f"postgraphile@{POSTGRAPHILE_VERSION}"],
        cwd=peer_dir,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"npm install failed:\n{done.stderr[-3000:]}")
    return command


@contextmanager
def running_peer(command: Path, database_url: str, log_path: Path) -> Iterator[Server]:
    node = shutil.which("node")
    assert node is not None  # install_peer checked
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                node,
                str(command.resolve()),
                "--connection",
                database_url,
                "--schema",
                "public",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--disable-query-log",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    raise BenchError(f"PostGraphile exited with {process.returncode}")
                with suppress(httpx.HTTPError):
                    answer = httpx.post(
                        f"{base_url}/graphql", json={"query": TRIVIAL_QUERY}, timeout=2.0
                    )
                    if answer.status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise BenchError("PostGraphile did not answer in time")
                time.sleep(0.2)
            yield Server("PostGraphile", base_url, process.pid, {}, {})
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# --- measuring ----------------------------------------------------------------------------


async def fetch(client: httpx.AsyncClient, server: Server, payload: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json=payload, headers=server.headers)
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise BenchError(f"{server.name}: HTTP {response.status_code}: {response.text[:800]}")
    return body["data"]


async def run_load(
    server: Server, payload: dict[str, Any], total: int, clients: int, into: Figures
) -> None:
    """Send ``total`` requests from ``clients`` workers and add the figures to ``into``."""
    content = json.dumps(payload).encode()
    headers = {"content-type": "application/json", **server.headers}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=REQUEST_TIMEOUT_S, limits=limits, trust_env=False
    ) as client:
        # A connection per client opened, and the server's caches warm, before the clock.
        await asyncio.gather(
            *(client.post("/graphql", content=content, headers=headers) for _ in range(clients))
        )
        remaining = total
        statuses: set[int] = set()

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.post("/graphql", content=content, headers=headers)
                into.latencies_s.append(time.perf_counter() - started)
                statuses.add(response.status_code)

        cpu_before = process_cpu_seconds(server.pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        into.wall_s += time.perf_counter() - started
        into.cpu_s += process_cpu_seconds(server.pid) - cpu_before
    if statuses != {200}:
        raise BenchError(f"{server.name}: answered with HTTP {sorted(statuses)}")


# --- the answers hold the same values -----------------------------------------------------


def decoded_id(value: Any) -> Any:
    """fourway's global id ("Need:12", base64) as the row id PostGraphile shows."""
    if isinstance(value, str):
        with suppress(ValueError, UnicodeDecodeError):
            _, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
            return int(pk)
    return value


def normalized(value: Any, key: str = "") -> Any:
    """A connection's nodes as a list (beside its other fields, if any), ids as row ids,
    numbers as Decimal."""
    if isinstance(value, dict):
        if "edges" in value or "nodes" in value:
            items = [e["node"] for e in value["edges"]] if "edges" in value else value["nodes"]
            rest = {k: v for k, v in value.items() if k not in ("edges", "nodes")}
            listed = [normalized(i) for i in items]
            return {**normalized(rest), "items": listed} if rest else listed
        return {k: normalized(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if key == "id":
        return decoded_id(value)
    if isinstance(value, str):
        with suppress(InvalidOperation):
            if value[:1].isdigit() and "-" not in value:
                return Decimal(value)
    return value


def check_same(fourway: Any, peer: Any) -> None:
    left, right = normalized(fourway), normalized(peer)
    if left != right:
        raise BenchError(
            "the answers differ:\n"
            f"fourway      {json.dumps(left, default=str)[:1500]}\n"
            f"PostGraphile {json.dumps(right, default=str)[:1500]}"
        )


# --- the run ------------------------------------------------------------------------------

SCENARIOS = (
    ("like-for-like, 1 client", "read", 1),
    ("like-for-like, 8 clients", "read", 8),
    ("{ __typename }, 1 client", "trivial", 1),
    ("{ __typename }, 8 clients", "trivial", 8),
)


def print_results(
    servers: list[Server], results: dict[tuple[str, str], Figures], args: argparse.Namespace
) -> None:
    header = ("scenario", "server", "requests", "p50 ms", "p99 ms", "req/s", "CPU ms/req")
    rows = []
    for label, _, _ in SCENARIOS:
        for server in servers:
            f = results[(label, server.name)]
            rows.append(
                (
                    label,
                    server.name,
                    str(f.requests),
                    ms(f.p(50)),
                    ms(f.p(99)),
                    f"{f.rps:.0f}",
                    ms(f.cpu_per_request),
                )
            )
    print_table(header, rows)
    print()
    print(f"ratios fourway / PostGraphile (pooled over {args.rounds} rounds; lower is better):")
    header = ("scenario", "fourway", "p50", "p99", "req/s (peer/fourway)", "CPU per request")
    rows = []
    peer = servers[-1]
    for label, _, _ in SCENARIOS:
        b = results[(label, peer.name)]
        for server in servers[:-1]:
            a = results[(label, server.name)]
            rows.append(
                (
                    label,
                    server.name.removeprefix("fourway "),
                    f"{a.p(50) / b.p(50):.2f}",
                    f"{a.p(99) / b.p(99):.2f}",
                    f"{b.rps / a.rps:.2f}",
                    f"{a.cpu_per_request / b.cpu_per_request:.2f}",
                )
            )
    print_table(header, rows)
    for server in servers[:-1]:
        one = results[("like-for-like, 1 client", server.name)]
        print(f"{server.name} one-client p99 / its own p50: {one.p(99) / one.p(50):.2f}")
    warm = results[("like-for-like, 1 client", WARM)].p(50)
    goal = warm / results[("like-for-like, 1 client", peer.name)].p(50)
    print(
        f"goal: warm like-for-like p50 <= 0.5 x PostGraphile's -> "
        f"{'met' if goal <= 0.5 else 'NOT met'} ({goal:.2f})"
    )


async def cache_counts(server: Server) -> str:
    """The result cache's hits and misses so far, from the server's /metrics."""
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:
        text = (await client.get("/metrics")).text
    counts = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("fourway_result_cache_hits_total", "fourway_result_cache_misses_total"):
            counts[name.split("_")[3]] = int(float(value))
    return f"{counts.get('hits', 0)} hits, {counts.get('misses', 0)} misses"


async def measure(fourway: Server, warm: Server, peer: Server, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(
        base_url=fourway.base_url, timeout=REQUEST_TIMEOUT_S, trust_env=False
    ) as client:
        found = await fetch(
            client, fourway, {"query": FIND_QUERY, "variables": {"search": "Nordic"}}
        )
    matches = [
        e["node"]["id"]
        for e in found["engagements"]["edges"]
        if e["node"]["name"] == ENGAGEMENT_NAME
    ]
    if len(matches) != 1:
        raise BenchError(f"expected one engagement named {ENGAGEMENT_NAME!r}")
    fourway.read = {"query": FOURWAY_QUERY, "variables": {"id": matches[0]}}
    warm.read = fourway.read
    peer.read = {"query": PEER_QUERY, "variables": {"id": decoded_id(matches[0])}}

    answers = []
    for server in (fourway, warm, peer):
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=REQUEST_TIMEOUT_S, trust_env=False
        ) as client:
            answers.append(await fetch(client, server, server.read))
    if len(answers[0]["engagement"]["needs"]["edges"]) != EXPECTED_ITEMS:
        raise BenchError(f"the demo engagement does not hold {EXPECTED_ITEMS} needs")
    check_same(answers[0], answers[2])
    if answers[1] != answers[0]:
        raise BenchError("the two fourway processes answered differently")
    print(
        f"answers       the same {count_leaves(answers[0])} leaf values from both "
        f"(ids decoded, decimals as numbers)"
    )

    servers = [fourway, warm, peer]
    results = {(label, s.name): Figures() for label, _, _ in SCENARIOS for s in servers}
    for round_no in range(1, args.rounds + 1):
        for label, kind, clients in SCENARIOS:
            for server in servers:
                payload = server.read if kind == "read" else {"query": TRIVIAL_QUERY}
                total = args.requests if kind == "read" else args.trivial_requests
                await run_load(server, payload, total, clients, results[(label, server.name)])
        print(f"round {round_no} of {args.rounds} done")
    print()
    print(f"{warm.name}: result cache {await cache_counts(warm)}")
    print_results(servers, results, args)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        required=True,
        help="an empty PostgreSQL database (postgres://...): both servers read it",
    )
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds (3)")
    parser.add_argument(
        "--requests", type=int, default=300, help="like-for-like requests per scenario (300)"
    )
    parser.add_argument(
        "--trivial-requests", type=int, default=1000, help="__typename requests (1000)"
    )
    parser.add_argument(
        "--peer-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "fourway-peer",
        help="scratch folder PostGraphile is installed into (kept between runs)",
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must name a PostgreSQL database")
    for name in ("rounds", "requests", "trivial_requests"):
        if not 1 <= getattr(args, name) <= 100_000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 100000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fourway-peer-"))
    try:
        command = install_peer(args.peer_dir)
        env = server_env(args.database_url)
        print(f"database      {redact(args.database_url)}")
        print(f"migrate       {run_fourway(['migrate'], env).splitlines()[-1]}")
        print(f"demo          {run_fourway(['demo'], env).splitlines()[-1]}")
        key = run_fourway(["apikey", "create", "--role", "VIEWER", "--name", "bench"], env)
        key = key.splitlines()[-1]
        pids: list[int] = []
        off = {"FOURWAY_RESULT_CACHE_BYTES": "0"}
        with (
            running_server(
                args.database_url, workdir / "cold.log", key, pids, extra_env=off
            ) as cold_url,
            running_server(args.database_url, workdir / "warm.log", key, pids) as warm_url,
            running_peer(command, args.database_url, workdir / "peer.log") as peer,
        ):
            fourway = Server(COLD, cold_url, pids[0], bearer(key), {})
            warm = Server(WARM, warm_url, pids[1], bearer(key), {})
            print(
                f"servers       {COLD} at {cold_url}, {WARM} at {warm_url}, "
                f"PostGraphile {POSTGRAPHILE_VERSION} at {peer.base_url}"
            )
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                runner.run(measure(fourway, warm, peer, args))
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
