"""What an evaluation finds: one Finding per rule and subject, in a stable order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules import engine, facts, messages
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
        rule = engine.COMPILED[rule_id]
        matched = {name: by_id[fact_id] for name, fact_id in matched_ids.items()}
        subjects = tuple(matched_ids[name] for name in rule.spec.subjects)
        item = messages.item_of(matched)
        found[(rule_id, subjects)] = Finding(
            rule_id=rule_id,
            severity=rule.severity(matched),
            item=item,
            subject_ids=subjects,
            message=rule.message.render(matched, item),
            facts={name: dict(fact) for name, fact in matched.items()},
        )
    return tuple(found[key] for key in sorted(found))
