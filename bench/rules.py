"""Rules benchmark: fourway's evaluation against the same facts in bare durable_rules.

    python bench/rules.py [--repeat 20]

For engagements of 10, 100 and 1,000 items it prints the time of ``rules.evaluate`` (build
the facts, run the catalogue, write the findings) and of asserting the same, already built
facts and barrier into the same durable_rules ruleset with nothing else around it, and the
ratio of the two (goal: fourway within 2x of bare durable_rules).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rules import (  # noqa: E402  # noqa: E402
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
