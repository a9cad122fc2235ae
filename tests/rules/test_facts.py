"""The facts the engine is given are the ones rules.facts declares, field for field."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from rules import OutsideDecision, Snapshot, facts
from rules.thresholds import BY_NAME
from tests.rules.test_engine import AS_OF, messy_snapshot

TYPES = {
    "flag": (bool,),
    "count": (int,),
    "day": (int,),
    "number": (float,),
    "text": (str,),
    "decimal": (str,),
    "person": (int,),
    "object": (dict,),
}


def check(built: facts.Facts) -> set[str]:
    kinds = set()
    for fact in built.facts:
        declared = facts.FACTS[fact["kind"]]
        assert set(fact) == {"id", "kind", *declared}, fact["id"]
        for name, field in declared.items():
            value = fact[name]
            if value is None:
                assert field.nullable, f"{fact['id']}.{name}"
                continue
            assert isinstance(value, TYPES[field.type]), f"{fact['id']}.{name}"
            if field.type in ("count", "day", "person"):
                assert not isinstance(value, bool), f"{fact['id']}.{name}"
            if field.type == "decimal":
                Decimal(value)
        kinds.add(fact["kind"])
    return kinds


def test_every_fact_built_has_exactly_the_declared_fields_of_its_kind():
    decided = OutsideDecision("ACCEPT", "accept a deliverable", "deliverable:3", None, AS_OF)
    snapshot = replace(messy_snapshot(), outside_decisions=(decided,))
    assert check(facts.build(snapshot, AS_OF)) == set(facts.FACTS)


def test_an_empty_engagement_makes_only_declared_facts():
    empty = Snapshot(engagement_id=1, status="PROPOSED", currency="EUR")
    assert check(facts.build(empty, datetime(2026, 1, 1, tzinfo=UTC))) == {
        "clock",
        "engagement",
        "function",
    }


def test_every_threshold_a_fact_applies_is_declared_and_every_declared_one_is_applied():
    fields_of_facts = [field for kind in facts.FACTS.values() for field in kind.values()]
    applied = {name for field in fields_of_facts for name in field.thresholds}
    assert applied == set(BY_NAME)
