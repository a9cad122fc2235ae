"""What a rule says and when it escalates, on a representative match of every rule.

The texts are part of the API (alerts carry them, webhooks send them): the expected
messages below are what the rules said when their messages were still Python code, kept
as literal strings so that rewriting a message cannot change a byte of it unnoticed.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from rules.catalogue import BY_ID, CATALOGUE, Matched, RuleSpec
from rules.engine import compile_rules
from rules.messages import parse


def day(year: int, month: int, on: int) -> int:
    return date(year, month, on).toordinal()


def need(priority: str) -> dict[str, Any]:
    return {
        "id": "need:1",
        "kind": "need",
        "item": "data-migration",
        "priority": priority,
        "must": priority == "MUST",
        "validated": True,
    }


PROMISE = {
    "id": "promise:2",
    "kind": "promise",
    "item": "data-migration",
    "quantity": "3.5",
    "quoted_amount": "1000",
    "promised_day": day(2025, 5, 20),
    "signed_off": False,
    "after_signing": True,
    "made_by_id": 101,
}
PURCHASE = {
    "id": "purchase:3",
    "kind": "purchase",
    "item": "training",
    "quantity": "12",
    "amount": "900",
    "signed_day": day(2025, 3, 10),
    "plan_by": day(2025, 3, 24),
}
DELIVERABLE = {
    "id": "deliverable:4",
    "kind": "deliverable",
    "item": "reports",
    "status": "DELIVERED",
    "quantity": "2",
    "open": False,
    "rejected": False,
    "cost_missing": False,
    "awaiting_acceptance": True,
    "due_day": day(2025, 5, 31),
    "overdue_from": day(2025, 6, 5),
    "delivered_day": day(2025, 6, 12),
    "accept_by": day(2025, 6, 26),
    "cost_overrun": True,
    "estimated_cost": "600",
    "actual_cost": "750.50",
}
ITEM = {
    "id": "item:a",
    "kind": "item",
    "item": "a",
    "promised": 10.0,
    "bought": 5.0,
    "delivered": 2.5,
    "has_purchase": True,
    "quote_off": True,
    "due_from": day(2025, 6, 5),
    "figures": {
        "promised": "10",
        "bought": "5",
        "delivered": "2.5",
        "quoted": "1000",
        "bought_amount": "500.00",
    },
}


def engagement(**changes: Any) -> dict[str, Any]:
    return {
        "id": "engagement:1",
        "kind": "engagement",
        "status": "SOLD",
        "sold": True,
        "has_pm": True,
        "decision_model": "CONSENSUS",
        "deciders": 2,
        "deciders_accountable": 1,
        "margin_low": True,
        "revenue": "1000",
        "estimated_cost": "800.01",
        "margin_pct": "0.1999",
        "margin_floor_pct": "0.20",
        **changes,
    }


def function(name: str, assigned: int, accountable: int) -> dict[str, Any]:
    return {
        "id": f"function:{name}",
        "kind": "function",
        "function": name,
        "assigned": assigned,
        "accountable": accountable,
        "required": True,
    }


def decision(key_prefix: str | None) -> dict[str, Any]:
    return {
        "id": "decision:deal:1:approve",
        "kind": "decision",
        "decision": "approve",
        "what": "the deal approval",
        "subject": "deal 1",
        "outside": True,
        "key_prefix": key_prefix,
        "taken_day": day(2025, 4, 2),
    }


# (rule id, the facts it matched by name, whether it escalates, what it says)
SAID: list[tuple[str, Matched, bool, str]] = [
    (
        "need-not-promised",
        {"need": need("MUST")},
        True,
        "data-migration: the client needs it (MUST) and nobody promised it.",
    ),
    (
        "need-not-promised",
        {"need": need("SHOULD")},
        False,
        "data-migration: the client needs it (SHOULD) and nobody promised it.",
    ),
    (
        "promised-need-not-bought",
        {"need": need("COULD"), "promise": PROMISE},
        False,
        "data-migration: promised to meet a COULD need, but the client has not bought it.",
    ),
    ("free-work", {"promise": PROMISE}, False, "data-migration: 3.5 promised and nothing bought."),
    (
        "overselling",
        {"promise": PROMISE},
        False,
        "data-migration: 3.5 promised that no need asks for.",
    ),
    (
        "purchase-unplanned",
        {"purchase": PURCHASE},
        False,
        "training: bought (12) and still no deliverable planned.",
    ),
    (
        "scope-creep",
        {"deliverable": DELIVERABLE},
        False,
        "reports: 2 being delivered that nobody bought.",
    ),
    ("promised-above-bought", {"item": ITEM}, False, "a: 10 promised but only 5 bought."),
    ("under-delivered", {"item": ITEM}, False, "a: 2.5 delivered of 5 bought, past the due date."),
    ("price-mismatch", {"item": ITEM}, False, "a: quoted 1000 but bought for 500.00."),
    (
        "deliverable-overdue",
        {"deliverable": DELIVERABLE},
        False,
        "reports: due 2025-05-31 and not delivered.",
    ),
    (
        "delivered-late",
        {"deliverable": DELIVERABLE, "promise": PROMISE},
        False,
        "reports: delivered 2025-06-12, promised for 2025-05-20.",
    ),
    (
        "planned-after-promised",
        {"deliverable": DELIVERABLE, "promise": PROMISE},
        False,
        "reports: planned for 2025-05-31, promised for 2025-05-20.",
    ),
    (
        "acceptance-pending",
        {"deliverable": DELIVERABLE},
        False,
        "reports: delivered 2025-06-12 and still not accepted.",
    ),
    (
        "deliverable-rejected",
        {"deliverable": DELIVERABLE},
        False,
        "reports: the client rejected the deliverable.",
    ),
    (
        "actual-cost-missing",
        {"deliverable": DELIVERABLE},
        False,
        "reports: accepted without an actual cost; the sale's final pay is worked out once "
        "every accepted deliverable has one.",
    ),
    (
        "cost-overrun",
        {"deliverable": DELIVERABLE},
        False,
        "reports: cost 750.50 against an estimate of 600.",
    ),
    (
        "margin-below-floor",
        {"engagement": engagement()},
        False,
        "Projected margin 0.1999 is below the floor of 0.20 (revenue 1000, estimated cost 800.01).",
    ),
    (
        "margin-below-floor",
        {"engagement": engagement(margin_pct=None)},
        False,
        "Projected margin None is below the floor of 0.20 (revenue 1000, estimated cost 800.01).",
    ),
    (
        "promise-without-signoff",
        {"promise": PROMISE},
        False,
        "data-migration: promised without delivery sign-off.",
    ),
    (
        "promise-after-signing",
        {"promise": PROMISE},
        False,
        "data-migration: promised after the sale was signed, with no change order.",
    ),
    (
        "function-unassigned",
        {"function": function("LEGAL", 0, 0), "engagement": engagement()},
        False,
        "Nobody holds LEGAL: the project manager answers for it by default.",
    ),
    (
        "function-unassigned",
        {"function": function("LEGAL", 0, 0), "engagement": engagement(has_pm=False)},
        True,
        "Nobody holds LEGAL, and there is no project manager to answer for it either.",
    ),
    (
        "no-accountable",
        {"function": function("DELIVERY", 1, 0)},
        False,
        "DELIVERY has 1 person and no one accountable.",
    ),
    (
        "no-accountable",
        {"function": function("DELIVERY", 3, 0)},
        False,
        "DELIVERY has 3 people and no one accountable.",
    ),
    (
        "many-accountable",
        {"function": function("SALES", 2, 2)},
        False,
        "SALES has 2 people accountable; one should be.",
    ),
    (
        "decision-model-unfit",
        {"engagement": engagement(decision_model="MAJORITY")},
        False,
        "Decided by MAJORITY, but only one person is accountable for engagement management "
        "or sponsorship: one person decides alone.",
    ),
    (
        "decision-model-unfit",
        {"engagement": engagement(decision_model="AUTHORITY", deciders_accountable=0)},
        False,
        "Decided by AUTHORITY, but nobody is accountable for engagement management or "
        "sponsorship: nobody holds the final say.",
    ),
    (
        "decided-outside-the-engagement",
        {"decision": decision("fw_3kq9")},
        False,
        "Decided outside the engagement: the deal approval (deal 1) was done on 2025-04-02 "
        "by the key fw_3kq9, which acts for no person.",
    ),
    (
        "decided-outside-the-engagement",
        {"decision": decision(None)},
        False,
        "Decided outside the engagement: the deal approval (deal 1) was done on 2025-04-02 "
        "by the key (unknown), which acts for no person.",
    ),
    (
        "no-sponsor",
        {"function": function("SPONSOR", 0, 0)},
        False,
        "Nobody sponsors the engagement.",
    ),
]


def said(rule: RuleSpec, matched: Matched) -> tuple[str, bool]:
    """What ``rule`` says of ``matched``, and whether it escalates it to CRITICAL."""
    compiled = compile_rules([rule])[rule.id]
    return compiled.says(matched), compiled.escalates(matched)


def test_every_rule_has_a_representative_match():
    assert [rule_id for rule_id, *_ in SAID if rule_id not in BY_ID] == []
    assert {rule_id for rule_id, *_ in SAID} == {rule.id for rule in CATALOGUE}


@pytest.mark.parametrize(("rule_id", "matched", "critical", "message"), SAID)
def test_a_rule_says_word_for_word_what_it_always_said(rule_id, matched, critical, message):
    rule = BY_ID[rule_id]
    assert tuple(matched) == rule.carries
    assert said(rule, matched) == (message, critical)


def test_a_rule_read_back_from_json_says_the_same():
    for rule_id, matched, critical, message in SAID:
        stored = json.loads(json.dumps(BY_ID[rule_id].to_json()))
        assert said(RuleSpec.from_json(stored), matched) == (message, critical)


# -- the template language ----------------------------------------------------------------


def rule(message: str = "", escalate: tuple[Any, ...] = ()) -> RuleSpec:
    """A rule about an item's totals, the engagement carried along, to read and escalate."""
    return RuleSpec(
        "test-rule",
        "WARNING",
        "A test.",
        stakeholder="client",
        when=({"fact": "engagement"}, {"fact": "item", "as": "line"}),
        subjects=("line",),
        context=("engagement",),
        message=message,
        escalate=escalate,
    )


def line(**changes: Any) -> dict[str, Matched]:
    return {"line": {**ITEM, **changes}, "engagement": engagement()}


def says(message: str, matched: Matched) -> str:
    return compile_rules([rule(message)])["test-rule"].says(matched)


def test_a_template_writes_braces_doubled_as_one_and_leaves_other_text_alone():
    assert says("{{{item}}}: 100% {{done}} |date", line()) == "{a}: 100% {done} |date"
    assert parse("}}{{").pieces == ("}{",)


def test_an_if_without_else_writes_nothing_when_its_field_is_false():
    template = "{item}{if line.has_purchase} (bought){end}."
    assert says(template, line()) == "a (bought)."
    assert says(template, line(has_purchase=False)) == "a."


@pytest.mark.parametrize(("value", "written"), [(0, "no"), (1, "yes"), ("", "no"), (None, "no")])
def test_an_if_holds_on_a_true_field_as_python_reads_truth(value, written):
    matched = line(figures={**ITEM["figures"], "bought": value})
    # Only the renderer is asked here: any value may come in a carried fact.
    template = parse("{if line.figures.bought}yes{else}no{end}")
    assert template.render(matched, "a") == written


def test_a_template_is_parsed_once_into_text_and_references():
    template = parse("{item}: {line.delivered} of {line.figures.bought|date}{if x.y}!{end}")
    assert [str(ref) for ref in template.references] == [
        "{line.delivered}",
        "{line.figures.bought|date}",
        "{x.y}",
    ]
    assert template.uses_item


# -- escalation ---------------------------------------------------------------------------


def escalates(checks: list[Any], matched: Matched) -> bool:
    return compile_rules([rule("{item}", tuple(checks))])["test-rule"].escalates(matched)


def test_a_rule_escalates_only_when_every_check_holds():
    checks = [
        {"of": "line", "where": [["has_purchase", "==", True]]},
        {"of": "engagement", "where": [["has_pm", "==", False]]},
    ]
    assert escalates(checks, {**line(), "engagement": engagement(has_pm=False)})
    assert not escalates(checks, line())
    assert not escalates(checks, {**line(has_purchase=False), "engagement": engagement()})
    assert not escalates([], line())


@pytest.mark.parametrize(
    ("test", "holds"),
    [
        (["promised", ">", {"field": "bought"}], True),
        (["promised", "<=", {"field": "bought"}], False),
        (["delivered", ">=", 2.5], True),
        (["delivered", "<", 2.5], False),
        (["delivered", "!=", 2.5], False),
        (["item", "in", ["b", "a"]], True),
        (["item", "in", ["b"]], False),
        (["promised", ">", {"field": "deciders", "of": "engagement"}], True),
        ({"any": [["item", "==", "b"], ["has_purchase", "==", True]]}, True),
        ({"all": [["item", "==", "b"], ["has_purchase", "==", True]]}, False),
    ],
)
def test_an_escalation_test_means_what_it_means_in_a_condition(test, holds):
    assert escalates([{"of": "line", "where": [test]}], line()) is holds


def test_an_escalation_ordering_a_null_does_not_hold():
    check = {"of": "engagement", "where": [["deciders", ">", 0]]}
    assert escalates([check], line())
    assert not escalates([check], {**line(), "engagement": engagement(deciders=None)})
