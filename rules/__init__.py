"""The rules engine: facts from a plain snapshot of one engagement, findings out.

No database, no HTTP, no clock (time comes in as an argument); only ``rules.engine``
imports ``durable``. The public face is engine-agnostic::

    evaluate(snapshot, as_of) -> tuple[Finding, ...]
"""

from rules.catalogue import CATALOGUE, RuleSpec
from rules.findings import Finding, evaluate
from rules.snapshot import (
    ChangeOrder,
    Deliverable,
    Need,
    OutsideDecision,
    Promise,
    Purchase,
    Role,
    Snapshot,
)
from rules.thresholds import THRESHOLDS, Threshold, Thresholds

__all__ = [
    "CATALOGUE",
    "THRESHOLDS",
    "ChangeOrder",
    "Deliverable",
    "Finding",
    "Need",
    "OutsideDecision",
    "Promise",
    "Purchase",
    "Role",
    "RuleSpec",
    "Snapshot",
    "Threshold",
    "Thresholds",
    "evaluate",
]
