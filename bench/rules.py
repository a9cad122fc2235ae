"""Rules benchmark: fourway's evaluation against bare durable_rules, and at scale.

    python bench/rules.py [--repeat 20] [--others 10000]

1. For engagements of 10, 100 and 1,000 items: the time of ``rules.evaluate`` (build the
   facts, run the catalogue, write the findings) and of asserting the same, already built
   facts into the same durable_rules ruleset with nothing else around it, and the ratio
   (goal: fourway within 2x of bare durable_rules).
2. On a fresh SQLite database: evaluating one engagement through the service (lock, load,
   evaluate, reconcile alerts) with 1 and with ``--others`` other engagements stored
   (goal: within 1.3x).
3. A sweep over those engagements: engagements/s, and the peak memory it allocates while
   sweeping a tenth of them and all of them (goal: flat, not growing with the number swept).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rules import (  # noqa: E402
    Deliverable,
    Need,
    Promise,
    Purchase,
    Role,
    Snapshot,
    engine,
    evaluate,
    facts,
)

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
SIGNED = datetime(2026, 1, 5, tzinfo=UTC)
GOAL = 2.0


def engagement(items: int) -> Snapshot:
    """An engagement of ``items`` items, the four sides present, about a third mismatched."""
    needs, promises, purchases, deliverables = [], [], [], []
    for n in range(items):
        item = f"item-{n}"
        due = date(2026, 2, 1) + timedelta(days=n % 120)
        needs.append(Need(n + 1, item, ("MUST", "SHOULD", "COULD")[n % 3], SIGNED))
        promises.append(
            Promise(
                n + 1,
                item,
                Decimal(10 + n % 3),
                10,
                quoted_amount=Decimal(1000),
                promised_date=due,
                delivery_signoff_by_id=12 if n % 4 else None,
            )
        )
        purchases.append(
            Purchase(
                n + 1,
                item,
                Decimal(10),
                Decimal(1000 if n % 5 else 900),
                Decimal(600),
                due_date=due,
                signed_at=SIGNED,
            )
        )
        deliverables.append(
            Deliverable(
                n + 1,
                item,
                Decimal(10),
                ("ACCEPTED", "IN_PROGRESS", "DELIVERED")[n % 3],
                due_date=due,
                delivered_at=SIGNED + timedelta(days=n % 90),
            )
        )
    return Snapshot(
        engagement_id=1,
        status="DELIVERING",
        currency="EUR",
        roles=(
            Role(1, 10, "SALES", "ACCOUNTABLE"),
            Role(2, 11, "PROJECT_MANAGEMENT", "ACCOUNTABLE"),
        ),
        needs=tuple(needs),
        promises=tuple(promises),
        purchases=tuple(purchases),
        deliverables=tuple(deliverables),
    )


def timed(run: Callable[[], object], repeat: int) -> float:
    """The median seconds of ``repeat`` runs, after one to warm up."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare(built: facts.Facts) -> Callable[[], object]:
    """Assert the built facts and the barrier into the ruleset, nothing else (new session)."""
    host, name = engine._host, engine._name
    sessions = iter(range(10**9, 2 * 10**9))

    def run() -> object:
        sid = str(next(sessions))
        host.assert_facts(name, [{**fact, "sid": sid} for fact in built.facts])
        host.assert_fact(name, {**built.barrier, "sid": sid})
        engine._matches.clear()
        host.delete_state(name, sid)
        return None

    return run


async def _store(others: int, folder: str) -> tuple[int, Callable[[], Any]]:
    """A migrated SQLite database with one target engagement of 20 items; its id, and a
    function that stores ``others`` more engagements of four rows each."""
    from tortoise import Tortoise

    from models import Deliverable as D
    from models import Engagement, Organization, Person
    from models import Need as N
    from models import Promise as P
    from models import Purchase as Pu
    from models.db import apply_migrations, tortoise_config

    url = f"sqlite://{folder}/rules-bench.db"
    await apply_migrations(url)
    await Tortoise.init(config=tortoise_config(url))
    client = await Organization.create(name="Bench client", kind="CLIENT")
    seller = await Person.create(name="Seller", email="seller@bench.example", organization=client)

    async def engagement_with(items: int, name: str) -> int:
        e = await Engagement.create(name=name, client=client, currency="EUR", status="DELIVERING")
        due = date(2026, 3, 1)
        await N.bulk_create(
            [
                N(
                    engagement=e,
                    item=f"i-{n}",
                    description="d",
                    priority="MUST",
                    validated_at=SIGNED,
                )
                for n in range(items)
            ]
        )
        await P.bulk_create(
            [
                P(
                    engagement=e,
                    item=f"i-{n}",
                    description="d",
                    quantity=10,
                    made_by=seller,
                    promised_date=due,
                )
                for n in range(items)
            ]
        )
        await Pu.bulk_create(
            [
                Pu(
                    engagement=e,
                    item=f"i-{n}",
                    description="d",
                    quantity=8,
                    amount=800,
                    estimated_cost=500,
                    due_date=due,
                    signed_at=SIGNED,
                )
                for n in range(items)
            ]
        )
        await D.bulk_create(
            [
                D(engagement=e, item=f"i-{n}", description="d", quantity=8, due_date=due)
                for n in range(items)
            ]
        )
        return int(e.id)

    target = await engagement_with(20, "Target")

    async def add_others() -> None:
        for n in range(others):
            await engagement_with(1, f"Other {n}")

    return target, add_others


async def _at_scale(others: int, repeat: int) -> None:
    from tortoise import Tortoise

    from models import Engagement
    from services.alerts.sweep import sweep
    from services.engagements.engagements import evaluate_engagement

    async def evaluation_ms() -> float:
        await evaluate_engagement(id=target)  # warm up
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            await evaluate_engagement(id=target)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    with tempfile.TemporaryDirectory() as folder:
        target, add_others = await _store(others, folder)
        try:
            alone = await evaluation_ms()
            start = time.perf_counter()
            await add_others()
            stored_s = time.perf_counter() - start
            crowded = await evaluation_ms()
            print(
                f"\none engagement of 20 items, evaluated through the service (lock, load, "
                f"evaluate, reconcile), median of {repeat}:"
            )
            print(f"  with 1 engagement stored:      {alone:8.2f} ms")
            print(
                f"  with {others + 1} engagements stored: {crowded:8.2f} ms "
                f"(stored in {stored_s:.1f} s)"
            )
            ratio = crowded / alone
            print(
                f"  ratio {ratio:.2f} -> goal within 1.3x: {'met' if ratio <= 1.3 else 'NOT met'}"
            )

            tenth = (others + 1) // 10
            ids = [e["id"] for e in await Engagement.all().order_by("id").values("id")]
            peaks = {}
            for count in (tenth, others + 1):
                await Engagement.filter(id__in=ids[count:]).update(status="CLOSED")
                await Engagement.filter(id__in=ids[:count]).update(status="DELIVERING")
                start = time.perf_counter()
                summary = await sweep()
                rate = summary.evaluated / (time.perf_counter() - start)
                # Memory on a second pass, traced (tracing slows it, so it is not timed).
                gc.collect()
                tracemalloc.start()
                await sweep()
                peaks[count] = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                print(
                    f"sweep of {count:>6} engagements: {rate:8.1f} engagements/s "
                    f"({summary.opened} alerts opened); peak allocated on a second pass "
                    f"{peaks[count]:6.2f} MiB"
                )
            growth = peaks[others + 1] / peaks[tenth]
            print(
                f"  peak memory, all / a tenth: {growth:.2f} -> goal flat (about 1): "
                f"{'met' if growth <= 1.5 else 'NOT met'}"
            )
        finally:
            await Tortoise.close_connections()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--others", type=int, default=10_000)
    args = parser.parse_args()
    print(
        f"{'items':>6} {'facts':>6} {'findings':>8} {'fourway ms':>11} {'bare ms':>8} {'ratio':>6}"
    )
    worst = 0.0
    for items in (10, 100, 1000):
        snapshot = engagement(items)
        built = facts.build(snapshot, AS_OF)
        findings = evaluate(snapshot, AS_OF)
        repeat = max(3, args.repeat if items < 1000 else args.repeat // 4)
        ours = timed(lambda snapshot=snapshot: evaluate(snapshot, AS_OF), repeat)
        theirs = timed(bare(built), repeat)
        ratio = ours / theirs
        worst = max(worst, ratio)
        print(
            f"{items:>6} {len(built.facts) + 1:>6} {len(findings):>8} {ours * 1000:>11.2f} "
            f"{theirs * 1000:>8.2f} {ratio:>6.2f}"
        )
    print(
        f"goal: fourway within {GOAL}x of bare durable_rules -> "
        f"{'met' if worst <= GOAL else 'NOT met'} (worst ratio {worst:.2f})"
    )
    asyncio.run(_at_scale(args.others, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
