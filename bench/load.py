"""Load benchmark: a mixed read and write workload against one API process, then two.

    python bench/load.py [--engagements 20] [--items 5] [--concurrency 16] [--seconds 20]
                         [--warmup 3] [--write-share 0.3] [--rounds 2] [--pool-size 10]
                         [--database-url URL]

Set up once: a fresh PostgreSQL database (``--database-url``, by default
``fourway_load_bench`` on 127.0.0.1; dropped and recreated first, dropped again at the
end), migrated by ``fourway migrate``, with an ADMIN key from ``fourway apikey create``;
the webhook receiver of bench/webhooks.py in its own process (it answers 200); one
``fourway worker`` that delivers every webhook (``FOURWAY_WEBHOOKS_DISPATCH_IN_SERVE=false``,
and the sweep is off); then, over GraphQL through a ``fourway serve``, the seed: a firm and
three clients, their people, a default commission plan assigned to two salespeople, one
webhook endpoint on the receiver for ``alert.*``, ``engagement.*`` and ``compensation.*``,
and ``--engagements`` sold engagements, each with roles, credits and ``--items`` items that
agree on all four sides (a need, a signed-off promise of 10, a purchase of 10, a
deliverable in progress).

Each round runs both configurations on that same database, one after the other:

- one API process: ``fourway serve`` on one port;
- two API processes: two ``fourway serve`` on two ports, the generator sending its
  requests to them in turn (round-robin). Two ports rather than ``fourway serve --workers
  2``: uvicorn's workers share one listening socket, and the kernel decides which of them
  accepts each of the generator's keep-alive connections, so one process could hold most
  of them and the ratio would measure that draw; with two ports the split is exact, and
  both configurations run the very same single-process ``fourway serve``.

Nothing is reset or re-seeded between configurations: the outbox, deliveries, alerts,
signals and audit trail keep growing, so the order alternates from round to round (1 then
2, then 2 then 1) and growth favours neither. After each configuration the bench waits
(bounded) until the worker has delivered what is pending, so each starts without a backlog.

In each configuration ``--concurrency`` clients loop for ``--warmup`` seconds (untimed) and
then ``--seconds`` (timed). Each request is a read (the engagement query of
bench/read_path.py, with the engagement's open alerts) or, with probability
``--write-share``, a write: ``updatePromise`` moving one promise's quantity between 10 and
12 with 10 bought, so that ``promised-above-bought`` opens or resolves, pay is held or
released, and events flow to the receiver. Each client flips promises of its own, so every
write changes something (and its answer can be checked); writes to one engagement still
queue on its row lock. A request counts when it completes within the timed window;
throughput counts the requests that succeeded. A transport failure, an answer other than
200, a GraphQL error, a userError or a wrong answer is an error, and a run with any error
is flagged (exit status 1). Deliveries are counted in SQL at the start and end of the
window (delivered, made, and pending at the end).

PostgreSQL only: a SQLite URL is refused. Several processes on one SQLite file take its
write lock in turn (and SQLite has no ``FOR UPDATE`` or ``SKIP LOCKED``), so a second API
process adds contention rather than capacity and the ratio would measure the lock.

The generator runs in this process (httpx on uvloop) and shares the machine's cores with
the API processes, the worker, PostgreSQL and the receiver; the output says how many cores
each of them, and the machine as a whole, used in the window (from /proc). The scaling
ratio is therefore a floor for what a second process adds, not a ceiling. Everything
talks to 127.0.0.1, every wait is bounded, and every process started is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
from bench.read_path import (  # noqa: E402
    bearer,
    loop_factory,
    run_fourway,
    running_server,
    server_env,
)
from bench.webhooks import (  # noqa: E402
    ReceiverControl,
    is_postgres,
    running_receiver,
)
from tests.processes import log_tail, start_fourway, stop  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fourway_load_bench"
REQUEST_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
SEED_CONCURRENCY = 4
BOUGHT = Decimal("10")
FLIPPED = Decimal("12")
EVENT_TYPES = ["alert.*", "engagement.*", "compensation.*"]
# The default hold rules and the one a write flips, so that writes hold and release pay too.
HOLD_RULES = [
    "free-work",
    "margin-below-floor",
    "price-mismatch",
    "promise-without-signoff",
    "promised-above-bought",
    "promised-need-not-bought",
]
SETTINGS = {
    # Delivery is the worker's alone; the sweep would add evaluations nobody asked for.
    "FOURWAY_WEBHOOKS_DISPATCH_IN_SERVE": "false",
    "FOURWAY_SWEEP_INTERVAL_SECONDS": "0",
    # The receiver is on loopback, which the service refuses unless told otherwise.
    "FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true",
}

READ_QUERY = """
query Load($id: ID!) {
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
    alerts(first: 100, status: [OPEN]) {
      totalCount
      edges { node { id ruleId severity item message } }
    }
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

WRITE_QUERY = """
mutation Flip($input: UpdatePromiseInput!) {
  updatePromise(input: $input) {
    promise { id quantity }
    alertsOpened { id ruleId }
    alertsResolved { id ruleId }
    userErrors { field message code }
  }
}
"""


# --- the database -----------------------------------------------------------------------------


def asyncpg_url(url: str) -> str:
    """``url`` as asyncpg spells it (Tortoise also takes ``asyncpg://``)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


async def recreate_database(url: str, *, create: bool = True) -> None:
    from tests.support import recreate_postgres_database

    await recreate_postgres_database(url, create=create)


@dataclass(frozen=True)
class Deliveries:
    """Rows of webhook_delivery by status, and all of them."""

    delivered: int
    pending: int
    failed: int
    made: int


async def count_deliveries(connection: Any) -> Deliveries:
    row = await connection.fetchrow(
        "SELECT count(*) FILTER (WHERE status = 'DELIVERED') AS delivered,"
        " count(*) FILTER (WHERE status = 'PENDING') AS pending,"
        " count(*) FILTER (WHERE status = 'FAILED') AS failed,"
        " count(*) AS made FROM webhook_delivery"
    )
    return Deliveries(
        delivered=row["delivered"], pending=row["pending"], failed=row["failed"], made=row["made"]
    )


async def drain(
    connection: Any, worker: subprocess.Popen[bytes], worker_log: Path, timeout: float
) -> tuple[float, int]:
    """Wait until nothing is pending, at most ``timeout`` s; the seconds waited and what is
    still pending."""
    started = time.monotonic()
    while True:
        pending = (await count_deliveries(connection)).pending
        waited = time.monotonic() - started
        if pending == 0 or waited > timeout:
            return waited, pending
        if worker.poll() is not None:
            raise BenchError(
                f"the worker exited with {worker.returncode} while {pending} deliveries "
                f"were pending:\n{log_tail(worker_log)}"
            )
        await asyncio.sleep(0.2)


# --- the worker -----------------------------------------------------------------------------


@contextmanager
def running_worker(database_url: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``fourway worker``; yield the process; stop it afterwards (SIGTERM: its sends
    in flight finish first)."""
    process = start_fourway("worker", env={"DATABASE_URL": database_url}, log=log_path)
    try:
        yield process
    finally:
        stop(process, grace=STOP_TIMEOUT_S)


# --- the seed ---------------------------------------------------------------------------------


async def mutate(
    http: httpx.AsyncClient, name: str, input: dict[str, Any], selection: str = ""
) -> dict[str, Any]:
    """Run mutation ``name``; its payload, or BenchError on any error."""
    query = (
        f"mutation($input: {name[0].upper()}{name[1:]}Input!) "
        f"{{ {name}(input: $input) {{ {selection} userErrors {{ field message code }} }} }}"
    )
    response = await http.post("/graphql", json={"query": query, "variables": {"input": input}})
    if response.status_code != 200:
        raise BenchError(f"seeding, {name}: HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    if body.get("errors"):
        raise BenchError(f"seeding, {name}: {json.dumps(body['errors'])[:1000]}")
    payload: dict[str, Any] = body["data"][name]
    if payload["userErrors"]:
        raise BenchError(f"seeding, {name}: {payload['userErrors']}")
    return payload


@dataclass
class Seeded:
    engagements: list[str]
    promises: list[str]
    """Every promise, engagement after engagement; each at the bought quantity."""


async def seed(http: httpx.AsyncClient, hooks_url: str, engagements: int, items: int) -> Seeded:
    async def make(name: str, input: dict[str, Any], field: str) -> str:
        return str((await mutate(http, name, input, f"{field} {{ id }}"))[field]["id"])

    firm = await make(
        "createOrganization", {"name": "Fourway Consulting", "kind": "PROVIDER"}, "organization"
    )
    clients = [
        await make("createOrganization", {"name": f"Client {n}", "kind": "CLIENT"}, "organization")
        for n in range(1, 4)
    ]

    async def person(name: str, organization: str) -> str:
        email = f"{name.lower().replace(' ', '.')}@load.example"
        return await make(
            "createPerson", {"name": name, "email": email, "organizationId": organization}, "person"
        )

    sellers = [await person("Sam Seller", firm), await person("Sue Seller", firm)]
    lead = await person("Dee Delivery", firm)
    manager = await person("Pat Manager", firm)
    sponsors = [await person(f"Ada Sponsor {n}", c) for n, c in enumerate(clients, 1)]
    plan = await make(
        "createCommissionPlan",
        {"name": "Standard", "rateOnMargin": "0.10", "marginFloorPct": "0.20"}
        | {"holdRules": HOLD_RULES, "isDefault": True},
        "commissionPlan",
    )
    for seller in sellers:
        await mutate(http, "assignCommissionPlan", {"personId": seller, "planId": plan})
    await mutate(
        http,
        "createWebhookEndpoint",
        {"url": hooks_url, "eventTypes": EVENT_TYPES, "description": "load bench"},
        "webhookEndpoint { id } secret",
    )

    due = (datetime.now(UTC) + timedelta(days=365)).date().isoformat()
    gate = asyncio.Semaphore(SEED_CONCURRENCY)

    async def engagement(n: int) -> tuple[str, list[str]]:
        seller, sponsor = sellers[n % len(sellers)], sponsors[n % len(sponsors)]
        async with gate:
            e = await make(
                "createEngagement",
                {"name": f"Load {n + 1:03d}", "clientId": clients[n % len(clients)]}
                | {"currency": "EUR"},
                "engagement",
            )
            for who, function, raci in (
                (seller, "SALES", "ACCOUNTABLE"),
                (sponsor, "SPONSOR", "ACCOUNTABLE"),
                (manager, "PROJECT_MANAGEMENT", "ACCOUNTABLE"),
                (lead, "DELIVERY", "RESPONSIBLE"),
            ):
                await mutate(
                    http,
                    "createRoleAssignment",
                    {"engagementId": e, "personId": who, "function": function, "raci": raci},
                )
            await mutate(
                http,
                "setEngagementCredits",
                {"engagementId": e, "credits": [{"personId": seller, "splitPct": "1"}]},
            )
            promises = []
            for i in range(1, items + 1):
                item = {"engagementId": e, "item": f"item-{i}", "description": f"Item {i}"}
                await mutate(http, "createNeed", item | {"priority": "MUST", "raisedById": sponsor})
                await mutate(
                    http,
                    "createPurchase",
                    item
                    | {"quantity": str(BOUGHT), "amount": "10000", "estimatedCost": "6000"}
                    | {"dueDate": due},
                )
                promises.append(
                    await make(
                        "createPromise",
                        item
                        | {"quantity": str(BOUGHT), "quotedAmount": "10000", "madeById": seller}
                        | {"deliverySignoffById": lead},
                        "promise",
                    )
                )
                await mutate(
                    http,
                    "createDeliverable",
                    item
                    | {"quantity": str(BOUGHT), "status": "IN_PROGRESS", "dueDate": due}
                    | {"estimatedCost": "6000"},
                )
            # The load's ADMIN key is tied to no person: it approves alone, with a note.
            await mutate(http, "approveDeal", {"engagementId": e, "note": "Approved"})
            return e, promises

    made = await asyncio.gather(*(engagement(n) for n in range(engagements)))
    return Seeded(engagements=[e for e, _ in made], promises=[p for _, ps in made for p in ps])


# --- the load ---------------------------------------------------------------------------------


@dataclass
class Tally:
    """One kind of request within the timed window."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    problems: dict[str, int] = field(default_factory=dict)

    def add(self, latency: float, problem: str | None) -> None:
        if problem is None:
            self.latencies.append(latency)
        else:
            self.errors += 1
            key = problem[:300]
            self.problems[key] = self.problems.get(key, 0) + 1

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) if self.latencies else float("nan")


class Workload:
    """What the clients send: which engagement a read asks for, which promise a write flips.
    Each client owns every ``concurrency``-th promise and flips them in turn; what it set
    last is remembered across windows, so every write changes the quantity."""

    def __init__(self, seeded: Seeded, concurrency: int, write_share: float) -> None:
        self.write_share = write_share
        self.reads = [
            json.dumps({"query": READ_QUERY, "variables": {"id": e}}).encode()
            for e in seeded.engagements
        ]
        self.owned = [seeded.promises[n::concurrency] for n in range(concurrency)]
        self.turn = [0] * concurrency
        self.quantity = dict.fromkeys(seeded.promises, BOUGHT)

    def write(self, client: int) -> tuple[str, Decimal, bytes]:
        owned = self.owned[client]
        promise = owned[self.turn[client] % len(owned)]
        self.turn[client] += 1
        target = FLIPPED if self.quantity[promise] == BOUGHT else BOUGHT
        variables = {"input": {"id": promise, "quantity": str(target)}}
        return promise, target, json.dumps({"query": WRITE_QUERY, "variables": variables}).encode()


def judge_read(response: httpx.Response) -> str | None:
    body, problem = decode(response)
    if problem is not None:
        return problem
    if not (body.get("data") or {}).get("engagement"):
        return "read: no engagement in the answer"
    return None


def judge_write(response: httpx.Response, target: Decimal) -> tuple[str | None, int, int]:
    """The problem with a write's answer, if any; alerts it opened and resolved."""
    body, problem = decode(response)
    if problem is not None:
        return problem, 0, 0
    payload = (body.get("data") or {}).get("updatePromise") or {}
    if payload.get("userErrors"):
        return f"write: userErrors {json.dumps(payload['userErrors'])}", 0, 0
    promise = payload.get("promise")
    if promise is None or Decimal(promise["quantity"]) != target:
        return f"write: sent quantity {target}, answered {json.dumps(promise)}", 0, 0
    return None, len(payload["alertsOpened"]), len(payload["alertsResolved"])


def decode(response: httpx.Response) -> tuple[dict[str, Any], str | None]:
    if response.status_code != 200:
        return {}, f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        return {}, f"not JSON: {response.text[:200]}"
    if body.get("errors"):
        return body, f"GraphQL errors: {json.dumps(body['errors'])[:300]}"
    return body, None


CPU_GROUPS = ("generator", "API", "worker", "receiver", "PostgreSQL")
"""Who used the CPU: this process, its children by what they run, and the PostgreSQL
backends connected to the bench's database."""


def cpu_seconds(pid: int) -> tuple[int, float] | None:
    """The parent pid of ``pid`` and the CPU time it used so far (Linux only)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> dict[int, tuple[str, float]]:
    """This process's children, grouped by what they run, and their CPU seconds."""
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        seen = cpu_seconds(int(entry.name))
        if seen is None or seen[0] != os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        group = "API" if b"serve" in argv else "worker" if b"worker" in argv else "receiver"
        found[int(entry.name)] = (group, seen[1])
    return found


async def cpu_by_process(connection: Any) -> dict[int, tuple[str, float]]:
    found = children_cpu()
    found[os.getpid()] = ("generator", time.process_time())
    backends = await connection.fetch(
        "SELECT pid FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    for row in backends:
        seen = cpu_seconds(row["pid"])
        if seen is not None:
            found[row["pid"]] = ("PostgreSQL", seen[1])
    return found


def cpu_ticks() -> tuple[int, int] | None:
    """The machine's busy and total CPU time in ticks, from /proc/stat (Linux only)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(f) for f in fields[:8]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


@dataclass
class Snapshot:
    at: float
    machine: tuple[int, int] | None
    deliveries: Deliveries
    cpu: dict[int, tuple[str, float]]


async def snapshot_at(moment: float, connection: Any) -> Snapshot:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))
    deliveries = await count_deliveries(connection)
    cpu = await cpu_by_process(connection)
    return Snapshot(time.monotonic(), cpu_ticks(), deliveries, cpu)


@dataclass
class Window:
    """One configuration's timed window in one round."""

    processes: int
    round: int
    seconds: float
    reads: Tally
    writes: Tally
    opened: int
    resolved: int
    start: Snapshot
    end: Snapshot
    drain_s: float = 0.0
    left_pending: int = 0

    @property
    def ok(self) -> int:
        return len(self.reads.latencies) + len(self.writes.latencies)

    @property
    def errors(self) -> int:
        return self.reads.errors + self.writes.errors

    @property
    def rps(self) -> float:
        return self.ok / self.seconds

    def _rate(self, attribute: str) -> float:
        delta = getattr(self.end.deliveries, attribute) - getattr(self.start.deliveries, attribute)
        return delta / (self.end.at - self.start.at)

    @property
    def delivered_per_s(self) -> float:
        return self._rate("delivered")

    @property
    def made_per_s(self) -> float:
        return self._rate("made")

    def cores(self, group: str) -> float:
        """The cores ``group`` used in the window (a process that ended in it is missed;
        one that began in it counts from its start)."""
        used = 0.0
        for pid, (name, seconds) in self.end.cpu.items():
            if name == group:
                used += seconds - self.start.cpu.get(pid, (name, 0.0))[1]
        return used / (self.end.at - self.start.at)

    @property
    def machine_cores(self) -> float:
        """The cores the whole machine used in the window (other work included)."""
        if self.start.machine is None or self.end.machine is None:
            return float("nan")
        busy = self.end.machine[0] - self.start.machine[0]
        total = self.end.machine[1] - self.start.machine[1]
        return busy / total * (os.cpu_count() or 1) if total else float("nan")


async def run_load(
    bases: list[str],
    key: str,
    workload: Workload,
    connection: Any,
    args: argparse.Namespace,
    processes: int,
    round_number: int,
) -> Window:
    """``--concurrency`` clients for ``--warmup`` + ``--seconds``, requests spread over
    ``bases`` in turn; the figures of the timed part."""
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    headers = {**bearer(key), "content-type": "application/json"}
    https = [
        httpx.AsyncClient(
            base_url=base,
            timeout=REQUEST_TIMEOUT_S,
            limits=limits,
            trust_env=False,
            headers=headers,
        )
        for base in bases
    ]
    turn = itertools.count()
    reads, writes = Tally(), Tally()
    alerts = {"opened": 0, "resolved": 0}
    begin = time.monotonic()
    window_start = begin + args.warmup
    window_end = window_start + args.seconds

    async def client(n: int) -> None:
        # The mix of each client is the same in every window: differences are the servers'.
        rng = random.Random(n)
        while time.monotonic() < window_end:
            http = https[next(turn) % len(https)]
            writing = rng.random() < workload.write_share
            promise, target = "", BOUGHT
            if writing:
                promise, target, content = workload.write(n)
            else:
                content = workload.reads[rng.randrange(len(workload.reads))]
            started = time.perf_counter()
            problem: str | None
            opened = resolved = 0
            try:
                response = await http.post("/graphql", content=content)
                if writing:
                    problem, opened, resolved = judge_write(response, target)
                else:
                    problem = judge_read(response)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            latency = time.perf_counter() - started
            if writing and problem is None:
                workload.quantity[promise] = target
            if window_start <= time.monotonic() <= window_end:
                (writes if writing else reads).add(latency, problem)
                alerts["opened"] += opened
                alerts["resolved"] += resolved

    clients = asyncio.gather(*(client(n) for n in range(args.concurrency)))
    try:
        start, end = await asyncio.wait_for(
            asyncio.gather(
                snapshot_at(window_start, connection), snapshot_at(window_end, connection)
            ),
            timeout=args.warmup + args.seconds + REQUEST_TIMEOUT_S,
        )
        # Requests in flight at the end finish (each within the request timeout), uncounted.
        await asyncio.wait_for(clients, timeout=REQUEST_TIMEOUT_S + 10.0)
    finally:
        if not clients.done():
            clients.cancel()
            with suppress(asyncio.CancelledError):
                await clients
        for http in https:
            await http.aclose()
    return Window(
        processes=processes,
        round=round_number,
        seconds=args.seconds,
        reads=reads,
        writes=writes,
        opened=alerts["opened"],
        resolved=alerts["resolved"],
        start=start,
        end=end,
    )


# --- reporting --------------------------------------------------------------------------------


def label(processes: int) -> str:
    return "1 API process" if processes == 1 else f"{processes} API processes"


def latency_row(name: str, windows: list[Window]) -> tuple[str, ...]:
    def median(value: Any) -> float:
        return statistics.median(value(w) for w in windows)

    return (
        name,
        f"{median(lambda w: w.rps):.1f}",
        f"{median(lambda w: len(w.reads.latencies) / w.seconds):.1f}",
        f"{median(lambda w: len(w.writes.latencies) / w.seconds):.1f}",
        ms(median(lambda w: w.reads.p(50))),
        ms(median(lambda w: w.reads.p(99))),
        ms(median(lambda w: w.writes.p(50))),
        ms(median(lambda w: w.writes.p(99))),
        str(sum(w.errors for w in windows)),
    )


def delivery_row(name: str, windows: list[Window]) -> tuple[str, ...]:
    def median(value: Any) -> float:
        return statistics.median(value(w) for w in windows)

    return (
        name,
        f"{median(lambda w: w.made_per_s):.1f}",
        f"{median(lambda w: w.delivered_per_s):.1f}",
        f"{median(lambda w: w.end.deliveries.pending):.0f}",
        f"{median(lambda w: w.drain_s):.1f}",
        f"{median(lambda w: (w.opened + w.resolved) / w.seconds):.1f}",
    )


def cpu_row(name: str, windows: list[Window]) -> tuple[str, ...]:
    def median(value: Any) -> float:
        return statistics.median(value(w) for w in windows)

    ours = [median(lambda w, g=group: w.cores(g)) for group in CPU_GROUPS]
    machine = median(lambda w: w.machine_cores)
    rest = median(lambda w: w.machine_cores - sum(w.cores(g) for g in CPU_GROUPS))
    # What one request costs the API processes, whatever share of the cores they got.
    per_request = median(lambda w: w.cores("API") / w.rps if w.rps else float("nan"))
    return (
        name,
        *(f"{c:.2f}" for c in ours),
        f"{rest:.2f}",
        f"{machine:.2f}",
        ms(per_request),
    )


LATENCY_HEADER = (
    "configuration",
    "ok req/s",
    "reads/s",
    "writes/s",
    "read p50 ms",
    "read p99 ms",
    "write p50 ms",
    "write p99 ms",
    "errors",
)
DELIVERY_HEADER = (
    "configuration",
    "deliveries made/s",
    "delivered/s",
    "backlog at end",
    "drain s",
    "alerts flipped/s",
)


def report(windows: dict[int, list[Window]], args: argparse.Namespace) -> None:
    every = sorted((w for ws in windows.values() for w in ws), key=lambda w: (w.round, w.start.at))
    print()
    print(f"each window, {args.seconds:g} s timed after {args.warmup:g} s of warm-up:")
    print_table(
        ("round: configuration", *LATENCY_HEADER[1:]),
        [latency_row(f"{w.round}: {label(w.processes)}", [w]) for w in every],
    )
    print()
    print(f"medians over {args.rounds} round(s):")
    print_table(LATENCY_HEADER, [latency_row(label(p), ws) for p, ws in sorted(windows.items())])
    print()
    print_table(DELIVERY_HEADER, [delivery_row(label(p), ws) for p, ws in sorted(windows.items())])
    print()
    print(
        f"CPU used in the window, in cores of {os.cpu_count()} (medians; PostgreSQL: the "
        "backends of this database; anything else: the rest of the machine, other work "
        "and PostgreSQL's own background processes included):"
    )
    print_table(
        ("configuration", *CPU_GROUPS, "anything else", "machine", "API CPU ms/req"),
        [cpu_row(label(p), ws) for p, ws in sorted(windows.items())],
    )


def print_problems(windows: dict[int, list[Window]]) -> None:
    for kind in ("reads", "writes"):
        problems: dict[str, int] = {}
        for w in (w for ws in windows.values() for w in ws):
            for problem, count in getattr(w, kind).problems.items():
                problems[problem] = problems.get(problem, 0) + count
        for problem, count in sorted(problems.items(), key=lambda p: -p[1])[:5]:
            print(f"  {kind}, {count} x: {problem}")


# --- the run ----------------------------------------------------------------------------------


class Run:
    """The processes and paths of one run, set up in ``main``."""

    def __init__(
        self,
        args: argparse.Namespace,
        workdir: Path,
        key: str,
        receiver_url: str,
        worker: subprocess.Popen[bytes],
    ) -> None:
        self.args = args
        self.workdir = workdir
        self.key = key
        self.receiver_url = receiver_url
        self.worker = worker
        self.worker_log = workdir / "worker.log"

    @contextmanager
    def servers(self, count: int, tag: str) -> Iterator[list[str]]:
        """``count`` ``fourway serve`` processes, each on its own port; their base URLs."""
        with ExitStack() as stack:
            yield [
                stack.enter_context(
                    running_server(
                        self.args.database_url, self.workdir / f"serve-{tag}-{n}.log", self.key
                    )
                )
                for n in range(count)
            ]

    async def drain(self, connection: Any, after: str) -> tuple[float, int]:
        waited, pending = await drain(
            connection, self.worker, self.worker_log, self.args.drain_timeout
        )
        if pending:
            print(
                f"  note: {pending} deliveries still pending {waited:.0f} s after {after}; "
                "the next window starts with a backlog",
                flush=True,
            )
        return waited, pending

    async def __call__(self) -> int:
        import asyncpg

        args = self.args
        receiver = ReceiverControl(self.receiver_url)
        connection = await asyncpg.connect(asyncpg_url(args.database_url))
        try:
            started = time.monotonic()
            with self.servers(1, "seed") as (base,):
                async with httpx.AsyncClient(
                    base_url=base,
                    timeout=REQUEST_TIMEOUT_S,
                    trust_env=False,
                    headers=bearer(self.key),
                ) as http:
                    seeded = await seed(http, receiver.hooks_url, args.engagements, args.items)
            waited, _ = await self.drain(connection, "seeding")
            after_seed = await count_deliveries(connection)
            print(
                f"seeded:   {len(seeded.engagements)} engagements, {len(seeded.promises)} "
                f"promises, {after_seed.made} deliveries made and {after_seed.delivered} "
                f"delivered by the worker, in {time.monotonic() - started:.1f} s "
                f"(drained {waited:.1f} s)",
                flush=True,
            )
            workload = Workload(seeded, args.concurrency, args.write_share)
            windows: dict[int, list[Window]] = {1: [], 2: []}
            ratios: list[float] = []
            for number in range(1, args.rounds + 1):
                order = (1, 2) if number % 2 else (2, 1)
                done: dict[int, Window] = {}
                for processes in order:
                    with self.servers(processes, f"r{number}-{processes}p") as bases:
                        window = await run_load(
                            bases, self.key, workload, connection, args, processes, number
                        )
                    window.drain_s, window.left_pending = await self.drain(
                        connection, f"round {number}, {label(processes)}"
                    )
                    done[processes] = window
                    windows[processes].append(window)
                    print(
                        f"round {number}/{args.rounds}, {label(processes)}: "
                        f"{window.rps:.1f} ok req/s, {window.errors} errors, "
                        f"{window.delivered_per_s:.1f} delivered/s, backlog "
                        f"{window.end.deliveries.pending}, drained in {window.drain_s:.1f} s",
                        flush=True,
                    )
                ratios.append(done[2].rps / done[1].rps if done[1].rps else float("nan"))
            requests, distinct = await receiver.stats()
            final = await count_deliveries(connection)
        finally:
            await connection.close()
            await receiver.aclose()

        settings = "; ".join(f"{k}={v}" for k, v in SETTINGS.items())
        print()
        print(f"database      {redact(args.database_url)}")
        print(
            f"seed          {args.engagements} engagements x {args.items} items "
            f"({len(seeded.promises)} promises), one webhook endpoint ({', '.join(EVENT_TYPES)})"
        )
        print(
            f"load          {args.concurrency} clients in this process (httpx, "
            f"{type(asyncio.get_running_loop()).__module__}), {args.write_share:.0%} writes "
            f"(updatePromise 10 <-> 12), the rest reads of one engagement"
        )
        print(
            f"processes     fourway serve x1 or x2 (two ports, round-robin), pool "
            f"{args.pool_size} connections each; one fourway worker; the receiver"
        )
        print(f"settings      {settings}")
        report(windows, args)
        print()
        ratio = statistics.median(ratios)
        print(
            "scaling ratio (2-process / 1-process ok req/s, per round): "
            f"{', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f}"
        )
        print(
            f"note: this machine has {os.cpu_count()} cores, shared by the load generator, the "
            "API processes, the worker, PostgreSQL and the receiver (and whatever else runs "
            "here): the ratio is a floor, not a ceiling."
        )
        print(
            f"receiver: {requests} requests for {distinct} distinct webhook-ids; "
            f"{final.delivered} deliveries DELIVERED, {final.pending} pending, "
            f"{final.failed} failed in the database"
        )
        errors = sum(w.errors for ws in windows.values() for w in ws)
        if errors:
            print(f"FLAGGED: {errors} request(s) failed within the timed windows:")
            print_problems(windows)
            return 1
        print("no request failed within the timed windows")
        return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engagements", type=int, default=20, help="engagements seeded (20)")
    parser.add_argument("--items", type=int, default=5, help="items per engagement (5)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds (20)")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="untimed seconds before each window (3)"
    )
    parser.add_argument(
        "--write-share", type=float, default=0.3, help="the share of writes, 0 to 1 (0.3)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of 1 and 2 API processes (2)")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=10,
        help="FOURWAY_DB_POOL_MAX_SIZE of each API process and the worker (10)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the worker to deliver what is pending (120)",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="a PostgreSQL database that is dropped, recreated, and dropped at the end "
        f"({redact(DEFAULT_DATABASE_URL)})",
    )
    args = parser.parse_args(argv)
    bounds = {
        "engagements": (1, 1000),
        "items": (1, 50),
        "concurrency": (1, 1000),
        "rounds": (1, 20),
        "pool_size": (1, 100),
    }
    for name, (low, high) in bounds.items():
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name.replace('_', '-')} must be between {low} and {high}")
    if not 0 < args.seconds <= 3600 or not 0 <= args.warmup <= 600:
        parser.error("--seconds must be in (0, 3600] and --warmup in [0, 600]")
    if not 0 <= args.write_share <= 1:
        parser.error("--write-share must be between 0 and 1")
    if not 0 < args.drain_timeout <= 3600:
        parser.error("--drain-timeout must be in (0, 3600]")
    if args.write_share > 0 and args.engagements * args.items < args.concurrency:
        parser.error(
            "each client flips promises of its own: --engagements x --items must be at "
            "least --concurrency"
        )
    if not is_postgres(args.database_url):
        parser.error(
            "--database-url must be a PostgreSQL URL (postgres://...): on SQLite, API "
            "processes take the file's write lock in turn, so a second one adds no capacity "
            "and the scaling ratio would measure the lock"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.update(SETTINGS)
    os.environ["FOURWAY_DB_POOL_MAX_SIZE"] = str(args.pool_size)
    url = args.database_url
    env = server_env(url)
    workdir = Path(tempfile.mkdtemp(prefix="fourway-bench-load-"))
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(recreate_database(url))
            try:
                print(f"migrate:  {run_fourway(['migrate'], env).splitlines()[-1]}", flush=True)
                key = run_fourway(
                    ["apikey", "create", "--role", "ADMIN", "--name", "load-bench"], env
                ).splitlines()[-1]
                with (
                    running_receiver() as receiver_url,
                    running_worker(url, workdir / "worker.log") as worker,
                ):
                    print(f"receiver: {receiver_url}/hooks, in its own process", flush=True)
                    return runner.run(Run(args, workdir, key, receiver_url, worker)())
            finally:
                runner.run(recreate_database(url, create=False))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
