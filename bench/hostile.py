"""Hostile documents: does a stream of good requests keep its latency while other clients
send documents that stand for far more than they are?

    python bench/hostile.py [--seconds 10] [--concurrency 4] [--hostile-clients 2]

It makes a temporary SQLite database with the demo portfolio, starts ``fourway serve``
on a free port of 127.0.0.1 and, with a VIEWER key (any key will do for an attacker):

(a) sends the realistic read of the demo's 50-item engagement from ``--concurrency``
    clients for ``--seconds``, alone;
(b) does the same while ``--hostile-clients`` more clients send, back to back, the
    documents the limits refuse (fragment chains, one field repeated, repeats of repeats);

and prints both passes' p50, p99 and req/s, the hostile documents refused per second, the
ratio of (b) to (a) (the goal: p99 within 2x, when the machine has a core to spare for the
hostile clients), and the server's CPU per refusal. Every refusal is checked to carry the
limit's code, and every good answer to hold the engagement.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

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
)
from bench.read_path import (  # noqa: E402
    READ_QUERY,
    bearer,
    find_engagement,
    loop_factory,
    run_fourway,
    running_server,
    server_env,
)


def _fragment_chain(levels: int, fan_out: int) -> str:
    fragments = ["fragment F0 on Query { __typename }"]
    fragments += [
        f"fragment F{n} on Query {{ {' '.join([f'...F{n - 1}'] * fan_out)} }}"
        for n in range(1, levels)
    ]
    return f"{{ ...F{levels - 1} }}\n" + "\n".join(fragments)


def _nested_repeats(repeats: int, levels: int) -> str:
    inner = "name"
    for _ in range(levels):
        inner = " ".join([f"engagements {{ nodes {{ name client {{ {inner} }} }} }}"] * repeats)
    return f"{{ organizations {{ nodes {{ {inner} }} }} }}"


HOSTILE = [
    (_fragment_chain(25, 10), "MAX_FIELDS_EXCEEDED"),
    (_fragment_chain(19, 2), "MAX_FIELDS_EXCEEDED"),
    ("{ " + " ".join(["rules { id }"] * 400) + " }", "MAX_REPEATS_EXCEEDED"),
    (_nested_repeats(5, 3), "MAX_REPEATS_EXCEEDED"),
]
GOAL_P99_RATIO = 2.0


async def good_clients(
    base_url: str, key: str, engagement_id: str, clients: int, seconds: float
) -> list[float]:
    """Latencies of the realistic read, from ``clients`` clients for ``seconds``."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    payload = {"query": READ_QUERY, "variables": {"id": engagement_id}}

    async def one(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await client.post("/graphql", json=payload)
            latencies.append(time.perf_counter() - started)
            body = response.json()
            if response.status_code != 200 or "errors" in body or not body["data"]["engagement"]:
                raise BenchError(f"a good request failed: {response.status_code} {body}")

    async with httpx.AsyncClient(
        base_url=base_url, headers=bearer(key), timeout=30.0, trust_env=False
    ) as client:
        await asyncio.gather(*(one(client) for _ in range(clients)))
    return latencies


async def hostile_clients(base_url: str, key: str, clients: int, stop: asyncio.Event) -> int:
    """Send the hostile documents back to back until ``stop``; how many were refused."""
    refused = 0

    async def one(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal refused
        n = offset
        while not stop.is_set():
            document, code = HOSTILE[n % len(HOSTILE)]
            n += 1
            body = (await client.post("/graphql", json={"query": document})).json()
            codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
            if codes != [code]:
                raise BenchError(f"a hostile document was not refused with {code}: {body}")
            refused += 1

    async with httpx.AsyncClient(
        base_url=base_url, headers=bearer(key), timeout=300.0, trust_env=False
    ) as client:
        await asyncio.gather(*(one(client, i) for i in range(clients)))
    return refused


async def measure(base_url: str, key: str, pid: int, args: argparse.Namespace) -> int:
    async with httpx.AsyncClient(
        base_url=base_url, headers=bearer(key), timeout=30.0, trust_env=False
    ) as client:
        engagement_id = await find_engagement(client)

    # The server's CPU per refusal, alone.
    cpu_before = process_cpu_seconds(pid)
    stop = asyncio.Event()
    sending = asyncio.create_task(hostile_clients(base_url, key, 1, stop))
    await asyncio.sleep(min(args.seconds, 3.0))
    stop.set()
    alone_refusals = await sending
    cpu_per_refusal = (process_cpu_seconds(pid) - cpu_before) / max(alone_refusals, 1)

    await good_clients(base_url, key, engagement_id, args.concurrency, 1.0)  # warm up
    calm = await good_clients(base_url, key, engagement_id, args.concurrency, args.seconds)
    stop = asyncio.Event()
    sending = asyncio.create_task(hostile_clients(base_url, key, args.hostile_clients, stop))
    under_attack = await good_clients(base_url, key, engagement_id, args.concurrency, args.seconds)
    stop.set()
    refused = await sending

    rows = [
        (
            label,
            str(len(values)),
            ms(percentile(values, 50)),
            ms(percentile(values, 99)),
            f"{len(values) / args.seconds:.1f}",
        )
        for label, values in (("good reads alone", calm), ("good reads under attack", under_attack))
    ]
    print_table(("pass", "requests", "p50 ms", "p99 ms", "req/s"), rows)
    ratio = percentile(under_attack, 99) / percentile(calm, 99)
    print(f"hostile documents refused: {refused} ({refused / args.seconds:.1f}/s)")
    print(f"server CPU per refusal:    {cpu_per_refusal * 1000:.2f} ms")
    print(f"p99 under attack / alone:  {ratio:.2f} (goal <= {GOAL_P99_RATIO})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="each pass (10)")
    parser.add_argument("--concurrency", type=int, default=4, help="good clients (4)")
    parser.add_argument("--hostile-clients", type=int, default=2, help="hostile clients (2)")
    args = parser.parse_args(argv)
    if not 0.5 <= args.seconds <= 600 or not 1 <= args.concurrency <= 64:
        parser.error("--seconds must be 0.5-600 and --concurrency 1-64")
    if not 1 <= args.hostile_clients <= 64:
        parser.error("--hostile-clients must be 1-64")
    workdir = Path(tempfile.mkdtemp(prefix="fourway-bench-"))
    try:
        database_url = f"sqlite://{workdir / 'bench.db'}"
        env = server_env(database_url)
        run_fourway(["demo"], env)
        key = run_fourway(["apikey", "create", "--role", "VIEWER", "--name", "bench"], env)
        key = key.splitlines()[-1]
        pids: list[int] = []
        with (
            running_server(database_url, workdir / "server.log", key, pids) as base_url,
            asyncio.Runner(loop_factory=loop_factory()) as runner,
        ):
            return runner.run(measure(base_url, key, pids[0], args))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
