"""What an evaluation finds: one Finding per rule and subject, in a stable order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules import engine, facts
from rules.catalogue import BY_ID
from rules.snapshot import Snapshot


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str
    item: str | None
    subject_ids: tuple[str, ...]
    """The ids of the facts the finding is about (``promise:42``): with the rule and the
    engagement, what identifies it from one evaluation to the next."""
    message: str
    facts: dict[str, dict[str, Any]]
    """The matched facts, by the names the rule gives them: what caused the finding."""


def evaluate(snapshot: Snapshot, as_of: datetime) -> tuple[Finding, ...]:
    """Every finding of the catalogue on ``snapshot`` as of ``as_of``.

    The same snapshot and time always give the same findings, in the same order.
    """
    built = facts.build(snapshot, as_of)
    by_id = built.by_id()
    found: dict[tuple[str, tuple[str, ...]], Finding] = {}
    for rule_id, matched_ids in engine.run(built.facts, built.barrier):
        spec = BY_ID[rule_id]
        matched = {name: by_id[fact_id] for name, fact_id in matched_ids.items()}
        subjects = tuple(matched_ids[name] for name in spec.subjects)
        severity = "CRITICAL" if spec.escalate and spec.escalate(matched) else spec.severity
        items = [f["item"] for f in matched.values() if "item" in f]
        found[(rule_id, subjects)] = Finding(
            rule_id=rule_id,
            severity=severity,
            item=items[0] if items else None,
            subject_ids=subjects,
            message=spec.message(matched),
            facts={name: dict(fact) for name, fact in matched.items()},
        )
    return tuple(found[key] for key in sorted(found))
