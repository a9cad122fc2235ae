"""The rule catalogue: every rule declared once, wholly as data.

A rule is one :class:`RuleSpec`: its id, severity, description, stakeholder, the
thresholds it reads, its condition (``when``), what its finding is about (``subjects``),
says (``message``) and when it is CRITICAL whatever its severity (``escalate``). Every part
is plain JSON-able data (:meth:`RuleSpec.to_json`, :meth:`RuleSpec.from_json`), so a rule
can be stored and edited as data. Adding a rule is one entry in :data:`CATALOGUE` plus its
tests (``tests/rules/test_catalogue.py`` asks for one that fires it and one that resolves
it).

The condition is over the facts ``rules.facts`` derives (its ``FACTS`` names every kind and
field); ``rules.engine`` checks and compiles it to durable_rules' own ruleset form, refusing,
with the rule and the JSON path, a kind, field, name or threshold it does not know, in the
condition, the message or the escalation alike. ``when`` is a list of patterns, all holding
at once:

- ``{"fact": KIND, "as": NAME, "where": TESTS}``: a fact of KIND for which every test
  holds, known as NAME (KIND when left out) to later patterns, ``subjects``, ``context``,
  the message and ``escalate``;
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

The message and ``escalate`` read only the facts a finding carries (``subjects`` and
``context``): the rest of a match only gates it.

``message`` is a template (rules.messages), rendered once per finding:

- text stands for itself; ``{{`` and ``}}`` are a literal brace;
- ``{item}``: the finding's item;
- ``{NAME.FIELD}``: a field of the fact called NAME, as ``str`` writes it;
  ``{NAME.FIELD.KEY}``: one figure of an object field (``{item.figures.bought}``);
- ``{NAME.FIELD|date}``: a day as ``2025-05-31``; ``{NAME.FIELD|people}``: a count as
  ``1 person`` or ``3 people``;
- ``{if NAME.FIELD}A{else}B{end}``: A when the field is true (not false, 0, empty or null),
  else B; ``{else}B`` may be left out; no ``if`` inside another.

``escalate`` is a list of checks, ``{"of": NAME, "where": TESTS}``: TESTS as in ``when``,
on the carried fact called NAME (an operand's ``of`` names a carried fact too). When every
check holds (and there is one at least), the finding is CRITICAL:
``[{"of": "need", "where": [["must", "==", true]]}]``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

Test = list[Any] | dict[str, Any]
"""One test of a pattern's ``where``: ``[FIELD, OP, OPERAND]``, or ``{"all"|"any": [...]}``."""
Pattern = dict[str, Any]
"""One pattern of a rule's ``when``: ``{"fact": KIND, ...}`` or ``{"none": KIND, ...}``."""
Check = dict[str, Any]
"""One check of a rule's ``escalate``: ``{"of": NAME, "where": [...]}``."""
SEVERITIES = ("INFO", "WARNING", "CRITICAL")
STAKEHOLDERS = ("client", "sponsor", "performers", "process")
Matched = Mapping[str, Mapping[str, Any]]
"""The facts a rule matched, by the names the rule gives them (``promise``, ``item``...)."""


class RuleError(ValueError):
    """A rule that cannot be read or compiled: which one, where in it (a JSON path), and why."""

    def __init__(self, rule_id: str, path: str, problem: str) -> None:
        super().__init__(f"rule {rule_id!r}, at {path}: {problem}")
        self.rule_id = rule_id
        self.path = path
        self.problem = problem


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
    message: str
    """What its finding says: a template over the facts it carries (the module's docstring)."""
    context: tuple[str, ...] = ()
    """Names of other matched facts the finding carries, for its message; the rest of what
    the rule matched (the clock, a sold engagement) only gates it."""
    thresholds: tuple[str, ...] = ()
    """The thresholds (rules.thresholds) it reads, through the fact fields that apply them."""
    escalate: tuple[Check, ...] = ()
    """When every check holds for a match (and there is one), the finding is CRITICAL
    whatever the default severity."""

    @property
    def carries(self) -> tuple[str, ...]:
        """The names of the matched facts a finding keeps: its subjects, then its context."""
        return self.subjects + self.context

    def to_json(self) -> dict[str, Any]:
        """The rule as a JSON object, every part of it (a copy: changing it changes no rule)."""
        return {
            f.name: copy.deepcopy(list(value) if isinstance(value, tuple) else value)
            for f in fields(self)
            for value in (getattr(self, f.name),)
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleSpec:
        """The rule ``data`` (:meth:`to_json`'s form) describes. Raises RuleError for a part
        missing, unknown or of the wrong shape; rules.engine checks the rest."""
        rule_id = str(data.get("id", "?")) if isinstance(data, Mapping) else "?"
        if not isinstance(data, Mapping):
            raise RuleError(rule_id, "$", "a rule is a JSON object")
        parts = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(parts))
        if unknown:
            raise RuleError(rule_id, f"$.{unknown[0]}", f"a rule has no part {unknown[0]!r}")
        missing = [name for name in _REQUIRED if name not in data]
        if missing:
            raise RuleError(rule_id, "$", f"a rule has {', '.join(missing)}: this one has not")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in _LISTS:
                if not isinstance(value, list | tuple):
                    raise RuleError(rule_id, f"$.{name}", "must be a list")
                values[name] = tuple(copy.deepcopy(list(value)))
            elif not isinstance(value, str):
                raise RuleError(rule_id, f"$.{name}", "must be a string")
            else:
                values[name] = value
        return cls(**values)


_LISTS = frozenset({"when", "subjects", "context", "thresholds", "escalate"})
_REQUIRED = ("id", "severity", "description", "stakeholder", "when", "subjects", "message")


def _same_item(name: str) -> Test:
    """The test that a fact is about the same item as the fact ``name``."""
    return ["item", "==", {"field": "item", "of": name}]


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
        message="{item}: the client needs it ({need.priority}) and nobody promised it.",
        escalate=({"of": "need", "where": [["must", "==", True]]},),
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
        message=(
            "{item}: promised to meet a {need.priority} need, but the client has not bought it."
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
        message="{item}: {promise.quantity} promised and nothing bought.",
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
        message="{item}: {promise.quantity} promised that no need asks for.",
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
        message="{item}: bought ({purchase.quantity}) and still no deliverable planned.",
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
        message="{item}: {deliverable.quantity} being delivered that nobody bought.",
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
        message="{item}: {item.figures.promised} promised but only {item.figures.bought} bought.",
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
        message=(
            "{item}: {item.figures.delivered} delivered of {item.figures.bought} bought, "
            "past the due date."
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
        message="{item}: quoted {item.figures.quoted} but bought for {item.figures.bought_amount}.",
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
        message="{item}: due {deliverable.due_day|date} and not delivered.",
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
        message=(
            "{item}: delivered {deliverable.delivered_day|date}, "
            "promised for {promise.promised_day|date}."
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
        message=(
            "{item}: planned for {deliverable.due_day|date}, "
            "promised for {promise.promised_day|date}."
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
        message="{item}: delivered {deliverable.delivered_day|date} and still not accepted.",
    ),
    # quality and money
    RuleSpec(
        "deliverable-rejected",
        "WARNING",
        "A deliverable the client rejected.",
        stakeholder="performers",
        when=({"fact": "deliverable", "where": [["rejected", "==", True]]},),
        subjects=("deliverable",),
        message="{item}: the client rejected the deliverable.",
    ),
    RuleSpec(
        "actual-cost-missing",
        "WARNING",
        "A deliverable accepted without its actual cost: the sale's final pay waits for it.",
        stakeholder="sponsor",
        when=({"fact": "deliverable", "where": [["cost_missing", "==", True]]},),
        subjects=("deliverable",),
        message=(
            "{item}: accepted without an actual cost; the sale's final pay is worked "
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
        message=(
            "{item}: cost {deliverable.actual_cost} against an estimate "
            "of {deliverable.estimated_cost}."
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
        message=(
            "Projected margin {engagement.margin_pct} is below the floor of "
            "{engagement.margin_floor_pct} (revenue {engagement.revenue}, "
            "estimated cost {engagement.estimated_cost})."
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
        message="{item}: promised without delivery sign-off.",
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
        message="{item}: promised after the sale was signed, with no change order.",
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
        message=(
            "Nobody holds {function.function}{if engagement.has_pm}: the project manager "
            "answers for it by default.{else}, and there is no project manager to answer for "
            "it either.{end}"
        ),
        escalate=({"of": "engagement", "where": [["has_pm", "==", False]]},),
    ),
    RuleSpec(
        "no-accountable",
        "WARNING",
        "A function whose people include no one ACCOUNTABLE.",
        stakeholder="process",
        when=({"fact": "function", "where": [["assigned", ">", 0], ["accountable", "==", 0]]},),
        subjects=("function",),
        message="{function.function} has {function.assigned|people} and no one accountable.",
    ),
    RuleSpec(
        "many-accountable",
        "WARNING",
        "A function with more than one ACCOUNTABLE person.",
        stakeholder="process",
        when=({"fact": "function", "where": [["accountable", ">", 1]]},),
        subjects=("function",),
        message=(
            "{function.function} has {function.accountable|people} accountable; one should be."
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
        message=(
            "{if engagement.deciders_accountable}Decided by {engagement.decision_model}, but "
            "only one person is accountable for engagement management or sponsorship: one "
            "person decides alone.{else}Decided by AUTHORITY, but nobody is accountable for "
            "engagement management or sponsorship: nobody holds the final say.{end}"
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
        message=(
            "Decided outside the engagement: {decision.what} ({decision.subject}) was done on "
            "{decision.taken_day|date} by the key "
            "{if decision.key_prefix}{decision.key_prefix}{else}(unknown){end}, "
            "which acts for no person."
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
        message="Nobody sponsors the engagement.",
    ),
)

BY_ID: dict[str, RuleSpec] = {spec.id: spec for spec in CATALOGUE}
