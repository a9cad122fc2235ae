"""The rule catalogue: what each rule means, how grave it is, and what its finding says.

The conditions live in ``rules.engine`` (the one module that speaks durable_rules); here is
everything a reader needs to know about each rule without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Matched = Mapping[str, Mapping[str, Any]]
"""The facts a rule matched, by the names the rule gives them (``promise``, ``item``...)."""


@dataclass(frozen=True)
class RuleSpec:
    id: str
    severity: str
    description: str
    subjects: tuple[str, ...]
    """Names of the matched facts the finding is about (its fingerprint); the rest is context."""
    message: Callable[[Matched], str]
    escalate: Callable[[Matched], bool] | None = None
    """When true for a match, the finding is CRITICAL whatever the default severity."""


def _item(m: Matched) -> str:
    for fact in m.values():
        if "item" in fact:
            return str(fact["item"])
    return ""


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def _fig(m: Matched, name: str) -> str:
    return str(m["item"]["figures"][name])


CATALOGUE: tuple[RuleSpec, ...] = (
    # coverage
    RuleSpec(
        "need-not-promised",
        "WARNING",
        "A validated need nobody promised (critical when the need is a MUST).",
        ("need",),
        lambda m: (
            f"{_item(m)}: the client needs it ({m['need']['priority']}) and nobody promised it."
        ),
        escalate=lambda m: bool(m["need"]["must"]),
    ),
    RuleSpec(
        "promised-need-not-bought",
        "CRITICAL",
        "A need that was promised but not bought.",
        ("need", "promise"),
        lambda m: (
            f"{_item(m)}: promised to meet a {m['need']['priority']} need, "
            "but the client has not bought it."
        ),
    ),
    RuleSpec(
        "free-work",
        "CRITICAL",
        "A promise no purchase backs: work given away.",
        ("promise",),
        lambda m: f"{_item(m)}: {m['promise']['quantity']} promised and nothing bought.",
    ),
    RuleSpec(
        "overselling",
        "WARNING",
        "A promise no need asks for.",
        ("promise",),
        lambda m: f"{_item(m)}: {m['promise']['quantity']} promised that no need asks for.",
    ),
    RuleSpec(
        "purchase-unplanned",
        "WARNING",
        "A purchase with no deliverable planned some days after signing.",
        ("purchase",),
        lambda m: (
            f"{_item(m)}: bought ({m['purchase']['quantity']}) and still no deliverable planned."
        ),
    ),
    RuleSpec(
        "scope-creep",
        "WARNING",
        "A deliverable nobody bought.",
        ("deliverable",),
        lambda m: f"{_item(m)}: {m['deliverable']['quantity']} being delivered that nobody bought.",
    ),
    RuleSpec(
        "promised-above-bought",
        "CRITICAL",
        "More promised than bought (approved change orders count as bought).",
        ("item",),
        lambda m: (
            f"{_item(m)}: {_fig(m, 'promised')} promised but only {_fig(m, 'bought')} bought."
        ),
    ),
    RuleSpec(
        "under-delivered",
        "WARNING",
        "Less delivered than bought once the purchase is due.",
        ("item",),
        lambda m: (
            f"{_item(m)}: {_fig(m, 'delivered')} delivered of {_fig(m, 'bought')} "
            "bought, past the due date."
        ),
    ),
    RuleSpec(
        "price-mismatch",
        "CRITICAL",
        "The quoted amount differs from the purchased amount beyond the tolerance.",
        ("item",),
        lambda m: (
            f"{_item(m)}: quoted {_fig(m, 'quoted')} but bought for {_fig(m, 'bought_amount')}."
        ),
    ),
    # time
    RuleSpec(
        "deliverable-overdue",
        "WARNING",
        "A deliverable not delivered by its due date plus the grace days.",
        ("deliverable",),
        lambda m: f"{_item(m)}: due {_date(m['deliverable']['due_day'])} and not delivered.",
    ),
    RuleSpec(
        "delivered-late",
        "WARNING",
        "A deliverable delivered after the date promised.",
        ("deliverable", "promise"),
        lambda m: (
            f"{_item(m)}: delivered {_date(m['deliverable']['delivered_day'])}, "
            f"promised for {_date(m['promise']['promised_day'])}."
        ),
    ),
    RuleSpec(
        "planned-after-promised",
        "WARNING",
        "A deliverable planned for later than the date promised.",
        ("deliverable", "promise"),
        lambda m: (
            f"{_item(m)}: planned for {_date(m['deliverable']['due_day'])}, "
            f"promised for {_date(m['promise']['promised_day'])}."
        ),
    ),
    RuleSpec(
        "acceptance-pending",
        "WARNING",
        "A deliverable delivered but not accepted after some days.",
        ("deliverable",),
        lambda m: (
            f"{_item(m)}: delivered {_date(m['deliverable']['delivered_day'])} "
            "and still not accepted."
        ),
    ),
    # quality and money
    RuleSpec(
        "deliverable-rejected",
        "WARNING",
        "A deliverable the client rejected.",
        ("deliverable",),
        lambda m: f"{_item(m)}: the client rejected the deliverable.",
    ),
    RuleSpec(
        "actual-cost-missing",
        "WARNING",
        "A deliverable accepted without its actual cost: the sale's final pay waits for it.",
        ("deliverable",),
        lambda m: (
            f"{_item(m)}: accepted without an actual cost; the sale's final pay is worked "
            "out once every accepted deliverable has one."
        ),
    ),
    RuleSpec(
        "cost-overrun",
        "WARNING",
        "Actual cost above the estimate beyond the tolerance.",
        ("deliverable",),
        lambda m: (
            f"{_item(m)}: cost {m['deliverable']['actual_cost']} against an estimate "
            f"of {m['deliverable']['estimated_cost']}."
        ),
    ),
    RuleSpec(
        "margin-below-floor",
        "CRITICAL",
        "The engagement's projected margin is below the floor.",
        ("engagement",),
        lambda m: (
            f"Projected margin {m['engagement']['margin_pct']} is below the floor of "
            f"{m['engagement']['margin_floor_pct']} (revenue {m['engagement']['revenue']}, "
            f"estimated cost {m['engagement']['estimated_cost']})."
        ),
    ),
    # process
    RuleSpec(
        "promise-without-signoff",
        "CRITICAL",
        "A promise made without a delivery expert signing off scope and price.",
        ("promise",),
        lambda m: f"{_item(m)}: promised without delivery sign-off.",
    ),
    RuleSpec(
        "promise-after-signing",
        "WARNING",
        "A promise made after the sale was signed, with no change order (not rejected) "
        "for its item.",
        ("promise",),
        lambda m: f"{_item(m)}: promised after the sale was signed, with no change order.",
    ),
    RuleSpec(
        "function-unassigned",
        "WARNING",
        "No one holds a function the engagement needs (sales, engagement management and "
        "delivery; legal, procurement and finance when not in house; quality once a "
        "deliverable awaits acceptance), so the project manager answers for it (critical "
        "when there is no project manager either).",
        ("function",),
        lambda m: (
            f"Nobody holds {m['function']['function']}"
            + (
                ": the project manager answers for it by default."
                if m["engagement"]["has_pm"]
                else ", and there is no project manager to answer for it either."
            )
        ),
        escalate=lambda m: not m["engagement"]["has_pm"],
    ),
    RuleSpec(
        "no-accountable",
        "WARNING",
        "A function whose people include no one ACCOUNTABLE.",
        ("function",),
        lambda m: (
            f"{m['function']['function']} has {_people(m['function']['assigned'])} and "
            "no one accountable."
        ),
    ),
    RuleSpec(
        "many-accountable",
        "WARNING",
        "A function with more than one ACCOUNTABLE person.",
        ("function",),
        lambda m: (
            f"{m['function']['function']} has {_people(m['function']['accountable'])} "
            "accountable; one should be."
        ),
    ),
    RuleSpec(
        "decision-model-unfit",
        "WARNING",
        "The decision model cannot work with who decides: CONSENSUS or MAJORITY with a "
        "single accountable decider, or AUTHORITY with none (deciders hold engagement "
        "management or sponsor).",
        ("engagement",),
        lambda m: (
            f"Decided by {m['engagement']['decision_model']}, but only one person is "
            "accountable for engagement management or sponsorship: one person decides alone."
            if m["engagement"]["deciders_accountable"]
            else "Decided by AUTHORITY, but nobody is accountable for engagement management "
            "or sponsorship: nobody holds the final say."
        ),
    ),
    RuleSpec(
        "decided-outside-the-engagement",
        "WARNING",
        "A decision that stands (a deal approval, a delivery sign-off, an acceptance, a "
        "change order approval, a waiver or acknowledgement of an alert that holds pay) "
        "taken by an ADMIN key acting for no person: nobody holding the function on the "
        "engagement took it. A person who may take it confirms it by taking it again; "
        "otherwise acknowledge or waive this.",
        ("decision",),
        lambda m: (
            f"Decided outside the engagement: {m['decision']['what']} "
            f"({m['decision']['subject']}) was done on {_date(m['decision']['taken_day'])} "
            f"by the key {m['decision']['key_prefix'] or '(unknown)'}, which acts for no person."
        ),
    ),
    RuleSpec(
        "no-sponsor",
        "WARNING",
        "No sponsor on the engagement.",
        ("function",),
        lambda m: "Nobody sponsors the engagement.",
    ),
)

BY_ID: dict[str, RuleSpec] = {spec.id: spec for spec in CATALOGUE}


def _date(day_number: Any) -> str:
    from datetime import date

    return date.fromordinal(int(day_number)).isoformat()


# Whose satisfaction each rule speaks to: the client (the sides match), the sponsor (value
# at the expected cost), the performers (no overdue or rejected work piling up), or the
# way the engagement is run.
STAKEHOLDER: dict[str, str] = {
    "need-not-promised": "client",
    "promised-need-not-bought": "client",
    "free-work": "sponsor",
    "overselling": "client",
    "purchase-unplanned": "client",
    "scope-creep": "sponsor",
    "promised-above-bought": "client",
    "under-delivered": "client",
    "price-mismatch": "client",
    "deliverable-overdue": "performers",
    "delivered-late": "client",
    "planned-after-promised": "client",
    "acceptance-pending": "performers",
    "deliverable-rejected": "performers",
    "actual-cost-missing": "sponsor",
    "cost-overrun": "sponsor",
    "margin-below-floor": "sponsor",
    "promise-without-signoff": "process",
    "promise-after-signing": "process",
    "function-unassigned": "process",
    "no-accountable": "process",
    "many-accountable": "process",
    "no-sponsor": "process",
    "decision-model-unfit": "process",
    "decided-outside-the-engagement": "process",
}

# The thresholds (rules.snapshot.Thresholds fields) each rule reads.
THRESHOLDS_USED: dict[str, tuple[str, ...]] = {
    "purchase-unplanned": ("planning_days",),
    "under-delivered": ("grace_days",),
    "price-mismatch": ("quote_tolerance_pct",),
    "deliverable-overdue": ("grace_days",),
    "acceptance-pending": ("acceptance_days",),
    "cost-overrun": ("cost_tolerance_pct",),
    "margin-below-floor": ("margin_floor_pct",),
}
