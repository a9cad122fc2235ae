"""Whether each party to an engagement has reason to be satisfied, read from its live alerts.

The article names the parties: the client (the sides match), the sponsor (value at the
expected cost) and the performers (no overdue, unaccepted or rejected work piling up). Each
rule says whose satisfaction it speaks to (``rules.catalogue``); a party is satisfied while
no live alert speaks against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from models import Alert
from models.enums import Severity
from rules.catalogue import BY_ID

PARTIES = ("client", "sponsor", "performers")


@dataclass(frozen=True)
class Verdict:
    satisfied: bool
    reasons: tuple[str, ...]
    """The messages of the live alerts that say otherwise, oldest first."""


@dataclass(frozen=True)
class Health:
    open_alerts: dict[Severity, int]
    """Live alerts by severity, every severity present."""
    verdicts: dict[str, Verdict]
    """By party (``PARTIES``)."""


def _stakeholder(rule_id: str) -> str | None:
    """Whose satisfaction the rule speaks to; None for a rule no longer in the catalogue."""
    spec = BY_ID.get(rule_id)
    return spec.stakeholder if spec else None


def health(live: Iterable[Alert]) -> Health:
    """The engagement at a glance, from its live (open or acknowledged) alerts."""
    alerts = list(live)
    verdicts = {}
    for party in PARTIES:
        reasons = tuple(a.message for a in alerts if _stakeholder(a.rule_id) == party)
        verdicts[party] = Verdict(satisfied=not reasons, reasons=reasons)
    return Health(
        open_alerts={s: sum(a.severity == s for a in alerts) for s in Severity},
        verdicts=verdicts,
    )
