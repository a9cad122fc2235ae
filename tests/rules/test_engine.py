"""The engine's guarantees around durable_rules' traps: order, sessions, threads, strays."""

import random
import threading
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import (
    ChangeOrder,
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


def messy_snapshot() -> Snapshot:
    """An engagement with something wrong on every side, so many rules fire at once."""
    return Snapshot(
        engagement_id=7,
        status="DELIVERING",
        currency="EUR",
        roles=(
            Role(1, 10, "SALES", "ACCOUNTABLE"),
            Role(2, 11, "SALES", "ACCOUNTABLE"),
            Role(3, 12, "DELIVERY", "RESPONSIBLE"),
        ),
        needs=(
            Need(1, "a", "MUST", SIGNED),
            Need(2, "b", "SHOULD", SIGNED),
            Need(3, "d", "MUST", SIGNED),
        ),
        promises=(
            Promise(
                1, "a", Decimal(10), 10, quoted_amount=Decimal(1000), promised_date=date(2026, 3, 1)
            ),
            Promise(2, "c", Decimal(3), 10, made_at=datetime(2026, 2, 1, tzinfo=UTC)),
            Promise(3, "d", Decimal(1), 10, delivery_signoff_by_id=12),
        ),
        purchases=(
            Purchase(
                1,
                "a",
                Decimal(8),
                Decimal(900),
                Decimal(850),
                due_date=date(2026, 2, 1),
                signed_at=SIGNED,
            ),
            Purchase(2, "e", Decimal(2), Decimal(200), signed_at=SIGNED),
        ),
        deliverables=(
            Deliverable(1, "a", Decimal(4), "IN_PROGRESS", due_date=date(2026, 3, 10)),
            Deliverable(2, "z", Decimal(1), "REJECTED"),
            Deliverable(
                3,
                "a",
                Decimal(2),
                "DELIVERED",
                delivered_at=datetime(2026, 4, 1, tzinfo=UTC),
                estimated_cost=Decimal(100),
                actual_cost=Decimal(150),
            ),
        ),
        change_orders=(ChangeOrder(1, "e", "PROPOSED", quantity_delta=Decimal(1)),),
    )


def test_a_messy_engagement_trips_many_rules_at_once():
    findings = evaluate(messy_snapshot(), AS_OF)
    assert len({f.rule_id for f in findings}) >= 15
    assert len({(f.rule_id, f.subject_ids) for f in findings}) == len(findings)


def _shuffled(snapshot: Snapshot, rng: random.Random) -> Snapshot:
    def mix(values: tuple) -> tuple:
        values = list(values)
        rng.shuffle(values)
        return tuple(values)

    return replace(
        snapshot,
        roles=mix(snapshot.roles),
        needs=mix(snapshot.needs),
        promises=mix(snapshot.promises),
        purchases=mix(snapshot.purchases),
        deliverables=mix(snapshot.deliverables),
        change_orders=mix(snapshot.change_orders),
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_shuffling_the_snapshot_never_changes_the_findings(seed):
    snapshot = messy_snapshot()
    assert evaluate(_shuffled(snapshot, random.Random(seed)), AS_OF) == evaluate(snapshot, AS_OF)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_the_order_facts_reach_the_engine_never_changes_its_matches(seed):
    built = facts.build(messy_snapshot(), AS_OF)
    shuffled = list(built.facts)
    random.Random(seed).shuffle(shuffled)

    def key(match: engine.Match) -> str:
        return repr(match)

    assert sorted(engine.run(shuffled, built.barrier), key=key) == sorted(
        engine.run(list(built.facts), built.barrier), key=key
    )


def test_more_evaluations_than_durable_rules_keeps_sessions_leave_no_trace():
    # A ruleset holds at most 1024 live sessions: each evaluation must clean up after itself.
    snapshot = messy_snapshot()
    first = evaluate(snapshot, AS_OF)
    for _ in range(1500):
        evaluate(snapshot, AS_OF)
    assert evaluate(snapshot, AS_OF) == first


def test_evaluating_starts_no_threads():
    before = threading.active_count()
    evaluate(messy_snapshot(), AS_OF)
    assert threading.active_count() == before
    assert not [t for t in threading.enumerate() if isinstance(t, threading.Timer)]


def test_an_empty_engagement_is_evaluated_without_error():
    findings = evaluate(Snapshot(engagement_id=1, status="PROPOSED", currency="EUR"), AS_OF)
    assert {f.rule_id for f in findings} == {"function-unassigned", "no-sponsor"}


def test_findings_carry_the_facts_that_caused_them():
    findings = {f.rule_id: f for f in evaluate(messy_snapshot(), AS_OF)}
    over = findings["promised-above-bought"]
    assert over.item == "a"
    assert over.facts["item"]["figures"]["promised"] == "10"
    assert over.facts["item"]["figures"]["bought"] == "8"
