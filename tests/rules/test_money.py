"""Money, defined once: the floor gives the same verdict in the margin rule and in pay, a
shown percentage never contradicts it, and splits sum to the whole."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from rules import evaluate
from rules.compensation import Basis, Plan, earned
from rules.money import Financials, allocate, financials, round_money, shown_pct
from rules.snapshot import ChangeOrder, Deliverable, Purchase
from tests.rules.test_catalogue import AS_OF, amend, clean, with_thresholds

FLOOR = Decimal("0.20")
PLAN = Plan(rate_on_margin=Decimal("0.10"), margin_floor_pct=FLOOR)


@pytest.mark.parametrize(
    ("cost", "below"),
    [
        (Decimal("80000.01"), True),  # one cent below the floor
        (Decimal("80004.00"), True),  # 0.19996: shown to four places it used to be 0.2000
        (Decimal("80000.00"), False),  # at the floor
        (Decimal("79999.99"), False),  # one cent above
    ],
)
def test_the_margin_rule_and_pay_agree_one_cent_either_side_of_the_floor(cost, below):
    revenue = Decimal("100000.00")
    snapshot = with_thresholds(
        amend(clean(), "purchases", amount=revenue, estimated_cost=cost), margin_floor_pct=FLOOR
    )
    fired = "margin-below-floor" in {f.rule_id for f in evaluate(snapshot, AS_OF)}
    paid = earned(Basis(revenue, cost), PLAN, minor_unit=2).amount
    assert fired is below
    assert (paid == 0) is below
    assert Financials(revenue, cost).below(FLOOR) is below


def test_a_margin_just_under_the_floor_is_shown_under_it():
    money = Financials(Decimal("100000.00"), Decimal("80004.00"))
    assert money.margin_ratio == Decimal("0.19996")
    assert money.margin_pct == Decimal("0.1999")
    finding = next(
        f
        for f in evaluate(
            amend(clean(), "purchases", amount=money.revenue, estimated_cost=Decimal("80004.00")),
            AS_OF,
        )
        if f.rule_id == "margin-below-floor"
    )
    assert "Projected margin 0.1999 is below the floor of 0.20" in finding.message
    pay = earned(Basis(money.revenue, money.estimated_cost), PLAN, minor_unit=2)
    assert pay.reason == "margin 0.1999 below the floor 0.20"


def test_a_ratio_of_14_99999_percent_is_below_a_15_percent_floor():
    plan = Plan(rate_on_margin=Decimal("0.10"), margin_floor_pct=Decimal("0.15"))
    basis = Basis(Decimal("100000.00"), Decimal("85000.01"))  # 14.99999 %
    assert earned(basis, plan, minor_unit=2).amount == Decimal("0.00")
    assert shown_pct(basis.financials.margin_ratio) == Decimal("0.1499")


def test_negative_margins_are_shown_toward_minus_infinity():
    assert shown_pct(Decimal("-0.00001")) == Decimal("-0.0001")
    assert shown_pct(None) is None


def test_no_revenue_is_never_below_a_floor():
    assert Financials(Decimal(0), Decimal(10)).below(FLOOR) is False
    assert Financials(Decimal(0), Decimal(10)).margin_pct is None


def test_financials_add_up_contract_lines_approved_changes_and_actual_cost_per_item():
    purchases = [
        Purchase(1, "a", Decimal(1), Decimal("100.00"), estimated_cost=Decimal("60.00")),
        Purchase(2, "b", Decimal(1), Decimal("50.00")),  # no estimate yet: counts as nothing
    ]
    changes = [
        ChangeOrder(1, "a", "APPROVED", amount_delta=Decimal("10"), cost_delta=Decimal("5")),
        ChangeOrder(2, "a", "PROPOSED", amount_delta=Decimal("999"), cost_delta=Decimal("999")),
    ]
    deliverables = [
        Deliverable(1, "a", Decimal(1), actual_cost=Decimal("70.00")),
        Deliverable(2, "b", Decimal(1)),
    ]
    whole = financials(purchases, changes, deliverables)
    assert (whole.revenue, whole.estimated_cost, whole.actual_cost) == (
        Decimal("160.00"),
        Decimal("65.00"),
        Decimal("70.00"),
    )
    assert whole.margin == Decimal("95.00")
    item_a = financials(purchases, changes, deliverables, item="a")
    assert (item_a.revenue, item_a.estimated_cost, item_a.actual_cost) == (
        Decimal("110.00"),
        Decimal("65.00"),
        Decimal("70.00"),
    )
    assert replace(item_a, actual_cost=Decimal(0)).margin == item_a.margin  # margin is projected


@pytest.mark.parametrize(
    ("amount", "shares", "minor_unit", "parts"),
    [
        # Two halves of an odd cent: the earlier share takes the cent on a tie.
        (Decimal("0.01"), ["0.5", "0.5"], 2, ["0.01", "0.00"]),
        (Decimal("100.01"), ["0.5", "0.5"], 2, ["50.01", "50.00"]),
        # Thirds, in each minor unit: 0, 2 and 3 digits.
        (Decimal("100"), ["0.3333", "0.3333", "0.3334"], 0, ["33", "33", "34"]),
        (Decimal("100.00"), ["0.3333", "0.3333", "0.3334"], 2, ["33.33", "33.33", "33.34"]),
        (Decimal("10.000"), ["0.3333", "0.3333", "0.3334"], 3, ["3.333", "3.333", "3.334"]),
        (Decimal("1"), ["0.3333", "0.3333", "0.3334"], 0, ["0", "0", "1"]),
        # A clawback is split the same way, away from zero by largest remainder.
        (Decimal("-0.05"), ["0.5", "0.5"], 2, ["-0.03", "-0.02"]),
        (Decimal("-100.000"), ["0.6", "0.4"], 3, ["-60.000", "-40.000"]),
    ],
)
def test_splits_are_allocated_by_largest_remainder_and_sum_to_the_whole(
    amount, shares, minor_unit, parts
):
    allocated = allocate(amount, [Decimal(s) for s in shares], minor_unit)
    assert allocated == [Decimal(p) for p in parts]
    assert sum(allocated, Decimal(0)) == amount


def test_money_is_rounded_half_up_once_to_the_minor_unit():
    assert round_money(Decimal("0.125"), 2) == Decimal("0.13")
    assert round_money(Decimal("-0.125"), 2) == Decimal("-0.13")
    assert round_money(Decimal("1234.5"), 0) == Decimal("1235")
    assert round_money(Decimal("1.0005"), 3) == Decimal("1.001")
