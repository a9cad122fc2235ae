"""The rule catalogue: every rule declared once, its condition as data.

A rule is one :class:`RuleSpec`: its id, severity, description, stakeholder, the
thresholds it reads, its condition (``when``), what its finding is about (``subjects``)
and says (``message``). Adding a rule is one entry in :data:`CATALOGUE` plus its tests
(``tests/rules/test_catalogue.py`` asks for one that fires it and one that resolves it).

The condition is plain JSON-able data over the facts ``rules.facts`` derives (its
``FACTS`` names every kind and field); ``rules.engine`` checks and compiles it to
durable_rules' own ruleset form, refusing, with the rule and the JSON path, a kind, field,
name or threshold it does not know. ``when`` is a list of patterns, all holding at once:

- ``{"fact": KIND, "as": NAME, "where": TESTS}``: a fact of KIND for which every test
  holds, known as NAME (KIND when left out) to later patterns, ``subjects``, ``context``
  and the message;
- ``{"none": KIND, "where": TESTS}``: no fact of KIND for which every test holds.

``where`` (optional) is a list of tests, all of which must hold:

- ``[FIELD, OP, OPERAND]``, OP one of ``== != < <= > >=`` (order only on counts, days and
  numbers); OPERAND a constant (string, number, true, false, null), ``{"field": F}``
  (another field of the same fact) or ``{"field": F, "of": NAME}`` (a field of a fact an
  earlier pattern named: ``["item", "==", {"field": "item", "of": "need"}]`` is the same
  item as the need);
- ``[FIELD, "in", [CONSTANT, ...]]``: equal to one of the constants;
- ``{"all": TESTS}`` and ``{"any": TESTS}``: every one, or at least one, holds.

Money and thresholds never appear in a condition: ``rules.facts`` compares them exactly and
gives the outcome as a flag or a day (``cost_overrun``, ``plan_by``), and a rule reading
such a field names the threshold it applies in ``thresholds``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Test = list[Any] | dict[str, Any]
"""One test of a pattern's ``where``: ``[FIELD, OP, OPERAND]``, or ``{"all"|"any": [...]}``."""
Pattern = dict[str, Any]
"""One pattern of a rule's ``when``: ``{"fact": KIND, ...}`` or ``{"none": KIND, ...}``."""
SEVERITIES = ("INFO", "WARNING", "CRITICAL")
STAKEHOLDERS = ("client", "sponsor", "performers", "process")
Matched = Mapping[str, Mapping[str, Any]]
"""The facts a rule matched, by the names the rule gives them (``promise``, ``item``...)."""


@dataclass(frozen=True)
class RuleSpec:
    """One rule, whole: what it means, whom it speaks to, what it reads and when it fires."""

    id: str
    severity: str
    """INFO, WARNING or CRITICAL."""
    description: str
    stakeholder: str
    """Whose satisfaction it speaks to: the client (the sides match), the sponsor (value at
    the expected cost), the performers (no overdue or rejected work piling up), or the way
    the engagement is run (process)."""
    when: tuple[Pattern, ...]
    """Its condition, as data (the module's docstring): every pattern holds at once."""
    subjects: tuple[str, ...]
    """Names of the matched facts the finding is about (its fingerprint)."""
    message: Callable[[Matched], str]
    context: tuple[str, ...] = ()
    """Names of other matched facts the finding carries, for its message; the rest of what
    the rule matched (the clock, a sold engagement) only gates it."""
    thresholds: tuple[str, ...] = ()
    """The thresholds (rules.thresholds) it reads, through the fact fields that apply them."""
    escalate: Callable[[Matched], bool] | None = None
    """When true for a match, the finding is CRITICAL whatever the default severity."""

    @property
    def carries(self) -> tuple[str, ...]:
        """The names of the matched facts a finding keeps: its subjects, then its context."""
        return self.subjects + self.context


def _same_item(name: str) -> Test:
    """The test that a fact is about the same item as the fact ``name``."""
    return ["item", "==", {"field": "item", "of": name}]


def _item(m: Matched) -> str:
    for fact in m.values():
        if "item" in fact:
            return str(fact["item"])
    return ""


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def _fig(m: Matched, name: str) -> str:
    return str(m["item"]["figures"][name])


_SOLD: Pattern = {"fact": "engagement", "where": [["sold", "==", True]]}
_CLOCK: Pattern = {"fact": "clock"}


def _none_approved_change(name: str) -> Pattern:
    return {"none": "change_order", "where": [_same_item(name), ["approved", "==", True]]}


CATALOGUE: tuple[RuleSpec, ...] = (
    # coverage
    RuleSpec(
        "need-not-promised",
        "WARNING",
        "A validated need nobody promised (critical when the need is a MUST).",
        stakeholder="client",
        when=(
            {"fact": "need", "where": [["validated", "==", True]]},
            {"none": "promise", "where": [_same_item("need")]},
        ),
        subjects=("need",),
        message=lambda m: (
            f"{_item(m)}: the client needs it ({m['need']['priority']}) and nobody promised it."
        ),
        escalate=lambda m: bool(m["need"]["must"]),
    ),
    RuleSpec(
        "promised-need-not-bought",
        "CRITICAL",
        "A need that was promised but not bought.",
        stakeholder="client",
        when=(
            _SOLD,
            {"fact": "need"},
            {"fact": "promise", "where": [_same_item("need")]},
            {"none": "purchase", "where": [_same_item("need")]},
            _none_approved_change("need"),
        ),
        subjects=("need", "promise"),
        message=lambda m: (
            f"{_item(m)}: promised to meet a {m['need']['priority']} need, "
            "but the client has not bought it."
        ),
    ),
    RuleSpec(
        "free-work",
        "CRITICAL",
        "A promise no purchase backs: work given away.",
        stakeholder="sponsor",
        when=(
            _SOLD,
            {"fact": "promise"},
            {"none": "purchase", "where": [_same_item("promise")]},
            _none_approved_change("promise"),
        ),
        subjects=("promise",),
        message=lambda m: f"{_item(m)}: {m['promise']['quantity']} promised and nothing bought.",
    ),
    RuleSpec(
        "overselling",
        "WARNING",
        "A promise no need asks for.",
        stakeholder="client",
        when=(
            {"fact": "promise"},
            {"none": "need", "where": [_same_item("promise")]},
        ),
        subjects=("promise",),
        message=lambda m: f"{_item(m)}: {m['promise']['quantity']} promised that no need asks for.",
    ),
    RuleSpec(
        "purchase-unplanned",
        "WARNING",
        "A purchase with no deliverable planned some days after signing.",
        stakeholder="client",
        thresholds=("planning_days",),
        when=(
            _CLOCK,
            {
                "fact": "purchase",
                "where": [
                    ["plan_by", ">", 0],
                    ["plan_by", "<", {"field": "today", "of": "clock"}],
                ],
            },
            {"none": "deliverable", "where": [_same_item("purchase")]},
        ),
        subjects=("purchase",),
        message=lambda m: (
            f"{_item(m)}: bought ({m['purchase']['quantity']}) and still no deliverable planned."
        ),
    ),
    RuleSpec(
        "scope-creep",
        "WARNING",
        "A deliverable nobody bought.",
        stakeholder="sponsor",
        when=(
            {"fact": "deliverable"},
            {"none": "purchase", "where": [_same_item("deliverable")]},
            _none_approved_change("deliverable"),
        ),
        subjects=("deliverable",),
        message=lambda m: (
            f"{_item(m)}: {m['deliverable']['quantity']} being delivered that nobody bought."
        ),
    ),
    RuleSpec(
        "promised-above-bought",
        "CRITICAL",
        "More promised than bought (approved change orders count as bought).",
        stakeholder="client",
        when=(
            {
                "fact": "item",
                "where": [["has_purchase", "==", True], ["promised", ">", {"field": "bought"}]],
            },
        ),
        subjects=("item",),
        message=lambda m: (
            f"{_item(m)}: {_fig(m, 'promised')} promised but only {_fig(m, 'bought')} bought."
        ),
    ),
    RuleSpec(
        "under-delivered",
        "WARNING",
        "Less delivered than bought once the purchase is due.",
        stakeholder="client",
        thresholds=("grace_days",),
        when=(
            _CLOCK,
            {
                "fact": "item",
                "where": [
                    ["has_purchase", "==", True],
                    ["due_from", ">", 0],
                    ["due_from", "<", {"field": "today", "of": "clock"}],
                    ["delivered", "<", {"field": "bought"}],
                ],
            },
        ),
        subjects=("item",),
        message=lambda m: (
            f"{_item(m)}: {_fig(m, 'delivered')} delivered of {_fig(m, 'bought')} "
            "bought, past the due date."
        ),
    ),
    RuleSpec(
        "price-mismatch",
        "CRITICAL",
        "The quoted amount differs from the purchased amount beyond the tolerance.",
        stakeholder="client",
        thresholds=("quote_tolerance_pct",),
        when=({"fact": "item", "where": [["quote_off", "==", True]]},),
        subjects=("item",),
        message=lambda m: (
            f"{_item(m)}: quoted {_fig(m, 'quoted')} but bought for {_fig(m, 'bought_amount')}."
        ),
    ),
    # time
    RuleSpec(
        "deliverable-overdue",
        "WARNING",
        "A deliverable not delivered by its due date plus the grace days.",
        stakeholder="performers",
        thresholds=("grace_days",),
        when=(
            _CLOCK,
            {
                "fact": "deliverable",
                "where": [
                    ["open", "==", True],
                    ["overdue_from", ">", 0],
                    ["overdue_from", "<", {"field": "today", "of": "clock"}],
                ],
            },
        ),
        subjects=("deliverable",),
        message=lambda m: (
            f"{_item(m)}: due {_date(m['deliverable']['due_day'])} and not delivered."
        ),
    ),
    RuleSpec(
        "delivered-late",
        "WARNING",
        "A deliverable delivered after the date promised.",
        stakeholder="client",
        when=(
            {"fact": "promise", "where": [["promised_day", ">", 0]]},
            {
                "fact": "deliverable",
                "where": [
                    _same_item("promise"),
                    ["delivered_day", ">", {"field": "promised_day", "of": "promise"}],
                ],
            },
        ),
        subjects=("deliverable", "promise"),
        message=lambda m: (
            f"{_item(m)}: delivered {_date(m['deliverable']['delivered_day'])}, "
            f"promised for {_date(m['promise']['promised_day'])}."
        ),
    ),
    RuleSpec(
        "planned-after-promised",
        "WARNING",
        "A deliverable planned for later than the date promised.",
        stakeholder="client",
        when=(
            {"fact": "promise", "where": [["promised_day", ">", 0]]},
            {
                "fact": "deliverable",
                "where": [
                    _same_item("promise"),
                    ["open", "==", True],
                    ["due_day", ">", {"field": "promised_day", "of": "promise"}],
                ],
            },
        ),
        subjects=("deliverable", "promise"),
        message=lambda m: (
            f"{_item(m)}: planned for {_date(m['deliverable']['due_day'])}, "
            f"promised for {_date(m['promise']['promised_day'])}."
        ),
    ),
    RuleSpec(
        "acceptance-pending",
        "WARNING",
        "A deliverable delivered but not accepted after some days.",
        stakeholder="performers",
        thresholds=("acceptance_days",),
        when=(
            _CLOCK,
            {
                "fact": "deliverable",
                "where": [
                    ["awaiting_acceptance", "==", True],
                    ["accept_by", ">", 0],
                    ["accept_by", "<", {"field": "today", "of": "clock"}],
                ],
            },
        ),
        subjects=("deliverable",),
        message=lambda m: (
            f"{_item(m)}: delivered {_date(m['deliverable']['delivered_day'])} "
            "and still not accepted."
        ),
    ),
    # quality and money
    RuleSpec(
        "deliverable-rejected",
        "WARNING",
        "A deliverable the client rejected.",
        stakeholder="performers",
        when=({"fact": "deliverable", "where": [["rejected", "==", True]]},),
        subjects=("deliverable",),
        message=lambda m: f"{_item(m)}: the client rejected the deliverable.",
    ),
    RuleSpec(
        "actual-cost-missing",
        "WARNING",
        "A deliverable accepted without its actual cost: the sale's final pay waits for it.",
        stakeholder="sponsor",
        when=({"fact": "deliverable", "where": [["cost_missing", "==", True]]},),
        subjects=("deliverable",),
        message=lambda m: (
            f"{_item(m)}: accepted without an actual cost; the sale's final pay is worked "
            "out once every accepted deliverable has one."
        ),
    ),
    RuleSpec(
        "cost-overrun",
        "WARNING",
        "Actual cost above the estimate beyond the tolerance.",
        stakeholder="sponsor",
        thresholds=("cost_tolerance_pct",),
        when=({"fact": "deliverable", "where": [["cost_overrun", "==", True]]},),
        subjects=("deliverable",),
        message=lambda m: (
            f"{_item(m)}: cost {m['deliverable']['actual_cost']} against an estimate "
            f"of {m['deliverable']['estimated_cost']}."
        ),
    ),
    RuleSpec(
        "margin-below-floor",
        "CRITICAL",
        "The engagement's projected margin is below the floor.",
        stakeholder="sponsor",
        thresholds=("margin_floor_pct",),
        when=({"fact": "engagement", "where": [["margin_low", "==", True]]},),
        subjects=("engagement",),
        message=lambda m: (
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
        stakeholder="process",
        when=({"fact": "promise", "where": [["signed_off", "==", False]]},),
        subjects=("promise",),
        message=lambda m: f"{_item(m)}: promised without delivery sign-off.",
    ),
    RuleSpec(
        "promise-after-signing",
        "WARNING",
        "A promise made after the sale was signed, with no change order (not rejected) "
        "for its item.",
        stakeholder="process",
        when=(
            {"fact": "promise", "where": [["after_signing", "==", True]]},
            {"none": "change_order", "where": [_same_item("promise"), ["rejected", "==", False]]},
        ),
        subjects=("promise",),
        message=lambda m: f"{_item(m)}: promised after the sale was signed, with no change order.",
    ),
    RuleSpec(
        "function-unassigned",
        "WARNING",
        "No one holds a function the engagement needs (sales, engagement management and "
        "delivery; legal, procurement and finance when not in house; quality once a "
        "deliverable awaits acceptance), so the project manager answers for it (critical "
        "when there is no project manager either).",
        stakeholder="process",
        when=(
            {"fact": "engagement"},
            {"fact": "function", "where": [["required", "==", True], ["assigned", "==", 0]]},
        ),
        subjects=("function",),
        context=("engagement",),
        message=lambda m: (
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
        stakeholder="process",
        when=({"fact": "function", "where": [["assigned", ">", 0], ["accountable", "==", 0]]},),
        subjects=("function",),
        message=lambda m: (
            f"{m['function']['function']} has {_people(m['function']['assigned'])} and "
            "no one accountable."
        ),
    ),
    RuleSpec(
        "many-accountable",
        "WARNING",
        "A function with more than one ACCOUNTABLE person.",
        stakeholder="process",
        when=({"fact": "function", "where": [["accountable", ">", 1]]},),
        subjects=("function",),
        message=lambda m: (
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
        stakeholder="process",
        when=(
            {
                "fact": "engagement",
                "where": [
                    {
                        "any": [
                            {
                                "all": [
                                    ["decision_model", "in", ["CONSENSUS", "MAJORITY"]],
                                    ["deciders_accountable", "==", 1],
                                ]
                            },
                            {
                                "all": [
                                    ["decision_model", "==", "AUTHORITY"],
                                    ["deciders", ">", 0],
                                    ["deciders_accountable", "==", 0],
                                ]
                            },
                        ]
                    }
                ],
            },
        ),
        subjects=("engagement",),
        message=lambda m: (
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
        stakeholder="process",
        when=({"fact": "decision", "where": [["outside", "==", True]]},),
        subjects=("decision",),
        message=lambda m: (
            f"Decided outside the engagement: {m['decision']['what']} "
            f"({m['decision']['subject']}) was done on {_date(m['decision']['taken_day'])} "
            f"by the key {m['decision']['key_prefix'] or '(unknown)'}, which acts for no person."
        ),
    ),
    RuleSpec(
        "no-sponsor",
        "WARNING",
        "No sponsor on the engagement.",
        stakeholder="process",
        when=(
            {"fact": "function", "where": [["function", "==", "SPONSOR"], ["assigned", "==", 0]]},
        ),
        subjects=("function",),
        message=lambda m: "Nobody sponsors the engagement.",
    ),
)

BY_ID: dict[str, RuleSpec] = {spec.id: spec for spec in CATALOGUE}


def _date(day_number: Any) -> str:
    from datetime import date

    return date.fromordinal(int(day_number)).isoformat()
