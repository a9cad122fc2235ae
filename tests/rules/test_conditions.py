"""Rules written as data: the catalogue compiles to the ruleset it always had, and the
compiler refuses, naming the rule and the place, what nobody declared."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rules import CATALOGUE, engine
from rules.catalogue import BY_ID, RuleSpec
from rules.engine import RuleError, compile_rules, compile_ruleset

BEFORE = Path(__file__).with_name("ruleset_before.json")


def spec(**changes) -> RuleSpec:
    """A rule that compiles, to break one piece at a time."""
    base = RuleSpec(
        "test-rule",
        "WARNING",
        "A purchase nobody planned a deliverable for in time.",
        stakeholder="client",
        thresholds=("planning_days",),
        when=(
            {"fact": "clock"},
            {
                "fact": "purchase",
                "where": [["plan_by", "<", {"field": "today", "of": "clock"}]],
            },
            {"none": "deliverable", "where": [["item", "==", {"field": "item", "of": "purchase"}]]},
        ),
        subjects=("purchase",),
        message="{item}: late.",
    )
    return replace(base, **changes)


def refusal(**changes) -> RuleError:
    with pytest.raises(RuleError) as raised:
        compile_ruleset([spec(**changes)])
    assert raised.value.rule_id == "test-rule"
    assert str(raised.value).startswith(f"rule 'test-rule', at {raised.value.path}: ")
    return raised.value


# -- the catalogue ------------------------------------------------------------------------


def test_the_catalogue_compiles_to_the_ruleset_durable_rules_was_given_before():
    # Captured from durable.lang's define() before the conditions became data; durable.lang
    # named the rules r_0, r_1, ... where they are now named by their ids.
    before = json.loads(BEFORE.read_text())
    assert list(before) == [f"r_{n}" for n in range(len(CATALOGUE) + 1)]
    assert list(engine.RULESET.values()) == list(before.values())
    assert list(engine.RULESET) == [*(spec.id for spec in CATALOGUE), "_any_fact"]


def test_every_rule_puts_the_barrier_first_and_a_catch_all_comes_last():
    rules = list(engine.RULESET.values())
    assert all(rule["all"][0] == {"barrier": {"kind": "barrier"}} for rule in rules[:-1])
    assert rules[-1] == {"all": [{"m": {"$ex": {"kind": 1}}}]}


def test_the_catalogue_and_its_compiled_form_are_plain_json():
    assert json.loads(json.dumps(engine.RULESET)) == engine.RULESET
    for rule in CATALOGUE:
        stored = json.loads(json.dumps(list(rule.when)))
        assert (
            compile_ruleset([replace(rule, when=tuple(stored))])[rule.id]
            == (engine.RULESET[rule.id])
        )


def test_a_condition_stored_as_json_with_its_keys_reordered_compiles_the_same():
    # PostgreSQL's jsonb keeps no key order: only lists may carry meaning by their order.
    rule = BY_ID["decision-model-unfit"]
    reordered = json.loads(json.dumps(list(rule.when), sort_keys=True))
    assert compile_ruleset([replace(rule, when=tuple(reordered))]) == compile_ruleset([rule])


def test_each_rule_names_exactly_the_thresholds_its_condition_reads():
    # The compiler refuses a rule that reads more than it names; the catalogue names no more.
    for rule in CATALOGUE:
        for name in rule.thresholds:
            with pytest.raises(RuleError, match=name):
                compile_ruleset([replace(rule, thresholds=tuple(set(rule.thresholds) - {name}))])


def test_every_operator_compiles_to_durable_rules_own():
    compiled = compile_ruleset(
        [
            spec(
                thresholds=(),
                when=(
                    {
                        "fact": "item",
                        "as": "line",
                        "where": [
                            ["promised", "!=", 0],
                            ["promised", "<=", {"field": "bought"}],
                            ["delivered", ">=", 1.5],
                            {"any": [["item", "in", ["a", "b"]], ["has_purchase", "==", False]]},
                        ],
                    },
                ),
                subjects=("line",),
            )
        ]
    )
    assert compiled["test-rule"]["all"][1] == {
        "line": {
            "$and": [
                {"kind": "item"},
                {"$neq": {"promised": 0}},
                {"$lte": {"promised": {"$m": "bought"}}},
                {"$gte": {"delivered": 1.5}},
                {"$or": [{"$or": [{"item": "a"}, {"item": "b"}]}, {"has_purchase": False}]},
            ]
        }
    }


def test_every_rule_survives_a_round_trip_through_json_whole():
    for rule in CATALOGUE:
        stored = json.loads(json.dumps(rule.to_json(), sort_keys=True))
        assert RuleSpec.from_json(stored) == rule


def test_the_catalogue_read_back_from_json_compiles_to_the_ruleset_it_always_had():
    before = json.loads(BEFORE.read_text())
    stored = json.loads(json.dumps([rule.to_json() for rule in CATALOGUE]))
    read_back = compile_ruleset([RuleSpec.from_json(rule) for rule in stored])
    assert read_back == engine.RULESET
    assert list(read_back.values()) == list(before.values())


def test_a_rule_as_json_is_a_copy_changing_it_changes_no_rule():
    rule = BY_ID["need-not-promised"]
    stored = rule.to_json()
    stored["when"][0]["where"].clear()
    stored["escalate"][0]["of"] = "promise"
    assert rule.when[0]["where"] == [["validated", "==", True]]
    assert RuleSpec.from_json(rule.to_json()) == rule


def test_a_rule_stored_with_a_part_missing_unknown_or_misshapen_is_refused():
    stored = spec().to_json()
    with pytest.raises(RuleError, match="a rule has no part 'colour'") as unknown:
        RuleSpec.from_json({**stored, "colour": "red"})
    assert unknown.value.path == "$.colour"
    with pytest.raises(RuleError, match="a rule has message: this one has not"):
        RuleSpec.from_json({k: v for k, v in stored.items() if k != "message"})
    with pytest.raises(RuleError, match="must be a list") as misshapen:
        RuleSpec.from_json({**stored, "subjects": "purchase"})
    assert (misshapen.value.rule_id, misshapen.value.path) == ("test-rule", "$.subjects")
    with pytest.raises(RuleError, match="must be a string"):
        RuleSpec.from_json({**stored, "message": ["late"]})


def test_a_finding_carries_its_subjects_then_its_context():
    assert BY_ID["function-unassigned"].carries == ("function", "engagement")
    assert BY_ID["delivered-late"].carries == ("deliverable", "promise")


# -- refusals -----------------------------------------------------------------------------


def test_a_rule_matching_an_unknown_kind_of_fact_is_refused():
    error = refusal(when=({"fact": "invoice"},), subjects=(), thresholds=())
    assert error.path == "$.when[0].fact"
    assert "no fact is of kind 'invoice'" in str(error)


def test_a_rule_asking_for_the_absence_of_an_unknown_kind_is_refused():
    when = (*spec().when[:2], {"none": "delivery"})
    assert refusal(when=when).path == "$.when[2].none"


def test_a_rule_reading_a_field_its_fact_does_not_have_is_refused():
    when = (spec().when[0], {"fact": "purchase", "where": [["plan_byy", ">", 0]]})
    error = refusal(when=when)
    assert error.path == "$.when[1].where[0][0]"
    assert "a purchase fact has no field 'plan_byy'" in str(error)


def test_a_rule_comparing_with_a_field_another_fact_does_not_have_is_refused():
    when = (
        {"fact": "clock"},
        {"fact": "purchase", "where": [["plan_by", "<", {"field": "now", "of": "clock"}]]},
    )
    error = refusal(when=when)
    assert error.path == "$.when[1].where[0][2].field"
    assert "a clock fact has no field 'now'" in str(error)


def test_a_rule_comparing_with_a_fact_no_earlier_pattern_names_is_refused():
    when = ({"fact": "purchase", "where": [["plan_by", "<", {"field": "today", "of": "clock"}]]},)
    error = refusal(when=when)
    assert error.path == "$.when[0].where[0][2].of"


def test_a_field_deep_inside_any_and_all_is_checked_with_its_path():
    when = (
        {"fact": "clock"},
        {
            "fact": "purchase",
            "where": [
                ["plan_by", ">", 0],
                {"any": [["signed_day", ">", 0], {"all": [["amount_due", "==", "0"]]}]},
            ],
        },
    )
    assert refusal(when=when).path == "$.when[1].where[1].any[1].all[0][0]"


def test_a_rule_reading_an_undeclared_threshold_is_refused():
    error = refusal(thresholds=("planning_days", "patience_days"))
    assert error.path == "$.thresholds[1]"
    assert "no threshold is named 'patience_days'" in str(error)


def test_a_rule_reading_a_threshold_through_a_fact_without_naming_it_is_refused():
    error = refusal(thresholds=())
    assert error.path == "$.thresholds"
    assert "reads planning_days" in str(error)


@pytest.mark.parametrize(
    ("test", "path", "problem"),
    [
        (["plan_by", "~", 0], "[1]", "'~' is none of"),
        (["item", "<", "b"], "[1]", "item is a text, which has no order"),
        (["plan_by", ">", "0"], "[2]", "'0' is no day"),
        (["plan_by", "==", None], "[2]", "never null"),
        (["amount", ">", {"field": "plan_by"}], "[1]", "has no order"),
        (["item", "==", {"field": "plan_by"}], "[2]", "a text is not compared with a day"),
        (["item", "in", []], "[2]", "one constant or more"),
        (["item", "=="], "", "a test is"),
    ],
)
def test_a_test_that_cannot_mean_anything_is_refused(test, path, problem):
    when = (spec().when[0], {"fact": "purchase", "where": [["plan_by", ">", 0], test]})
    error = refusal(when=when)
    assert error.path == f"$.when[1].where[1]{path}"
    assert problem in error.problem


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("{item}: {purchse.quantity}", "{purchse.quantity}: the finding carries no fact named"),
        ("{item}: {clock.today|date}", "the finding carries no fact named 'clock'"),
        ("{item}: {purchase.quantiy}", "a purchase fact has no field 'quantiy'"),
        ("{item}: {purchase.quantity.total}", "quantity is a decimal"),
        ("{item}: {purchase.signed_day|people}", "people writes a count, and signed_day is a day"),
        ("{if purchase.quantit}{item}{end}", "at character 4, {purchase.quantit}: a purchase"),
        ("{if purchase.quantity}{item}", "at character 0: an {if} with no {end}"),
        ("{item}: {purchase}", "{purchase} is none of"),
        ("{item}: {purchase.quantity|money}", "'money' is none of the helpers"),
        ("{item}: 100% {done}", "{done} is none of"),
        ("{item}: {", "a lone '{'"),
    ],
)
def test_a_message_reading_what_the_finding_does_not_carry_is_refused(message, problem):
    error = refusal(message=message)
    assert error.path == "$.message"
    assert problem in error.problem


def test_a_message_showing_an_object_field_names_one_of_its_figures():
    line = dict(thresholds=(), when=({"fact": "item", "as": "line"},), subjects=("line",))
    assert "one of promised, bought" in refusal(**line, message="{line.figures}").problem
    assert "one of promised, bought" in refusal(**line, message="{line.figures.cost}").problem
    rule = spec(**line, message="{item}: {line.figures.bought}")
    figures = {"bought": "5"}
    matched = {"line": {"item": "a", "figures": figures}}
    assert compile_rules([rule])["test-rule"].says(matched) == "a: 5"


def test_a_message_naming_the_item_of_a_finding_about_no_item_is_refused():
    error = refusal(
        thresholds=(), when=({"fact": "engagement"},), subjects=("engagement",), message="{item}"
    )
    assert (error.path, error.problem) == (
        "$.message",
        "{item}: the finding carries no fact with an item",
    )


def test_a_message_reading_a_threshold_the_rule_does_not_name_is_refused():
    error = refusal(
        thresholds=(),
        when=({"fact": "purchase"},),
        message="{item}: plan by {purchase.plan_by|date}",
    )
    assert error.path == "$.thresholds"
    assert "reads planning_days" in error.problem


@pytest.mark.parametrize(
    ("escalate", "path", "problem"),
    [
        ([{"of": "clock", "where": [["today", ">", 0]]}], ".of", "carries no fact named 'clock'"),
        ([{"of": "deliverable", "where": [["open", "==", True]]}], ".of", "no fact named"),
        ([{"of": "purchase", "where": [["plan_byy", ">", 0]]}], ".where[0][0]", "no field"),
        (
            [{"of": "purchase", "where": [["plan_by", "<", {"field": "today", "of": "clock"}]]}],
            ".where[0][2].of",
            "carries no fact named 'clock'",
        ),
        (
            [{"of": "purchase", "where": [{"any": [["item", "<", "b"]]}]}],
            ".where[0].any[0][1]",
            "item is a text, which has no order",
        ),
        ([{"of": "purchase", "where": []}], ".where", "one test or more"),
        ([{"fact": "purchase", "where": [["plan_by", ">", 0]]}], "", "a check is"),
        ([["plan_by", ">", 0]], "", "a check is"),
    ],
)
def test_an_escalation_testing_what_the_finding_does_not_carry_is_refused(escalate, path, problem):
    error = refusal(escalate=tuple(escalate))
    assert error.path == f"$.escalate[0]{path}"
    assert problem in error.problem


def test_an_escalation_reading_a_threshold_the_rule_does_not_name_is_refused():
    error = refusal(
        thresholds=(),
        when=({"fact": "purchase"},),
        escalate=({"of": "purchase", "where": [["plan_by", ">", 0]]},),
    )
    assert error.path == "$.thresholds"
    assert "reads planning_days" in error.problem


def test_a_finding_about_a_fact_the_rule_does_not_name_is_refused():
    assert refusal(subjects=("promise",)).path == "$.subjects[0]"
    assert refusal(context=("engagement",)).path == "$.context[0]"


def test_two_facts_of_one_rule_under_one_name_are_refused():
    when = (*spec().when, {"fact": "purchase"})
    assert refusal(when=when).path == "$.when[3].as"


@pytest.mark.parametrize("name", ["barrier", "s", "m", "post", "Promise"])
def test_a_fact_named_what_the_engine_already_answers_to_is_refused(name):
    when = ({"fact": "promise", "as": name},)
    assert refusal(when=when, subjects=(), thresholds=()).path == "$.when[0].as"


def test_a_pattern_neither_fact_nor_none_is_refused():
    when = ({"fact": "promise", "none": "need"},)
    assert refusal(when=when, subjects=(), thresholds=()).path == "$.when[0]"


def test_an_unknown_severity_or_stakeholder_is_refused():
    assert refusal(severity="SEVERE").path == "$.severity"
    assert refusal(stakeholder="board").path == "$.stakeholder"


def test_two_rules_with_one_id_are_refused():
    with pytest.raises(RuleError, match="another rule has this id"):
        compile_ruleset([spec(), spec()])


def test_the_readme_example_is_the_rule_it_names():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### How a rule is written", 1)[1]
    example = section.split("```json", 1)[1].split("```", 1)[0]
    assert json.loads(example) == list(BY_ID["purchase-unplanned"].when)
