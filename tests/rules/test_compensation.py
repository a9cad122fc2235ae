"""Compensation arithmetic, with worked examples and exact figures."""

from decimal import Decimal

from rules.compensation import (
    Attribution,
    Basis,
    ItemCost,
    Plan,
    attribute,
    earned,
    realized_basis,
    round_money,
)

PLAN = Plan(rate_on_margin=Decimal("0.10"), margin_floor_pct=Decimal("0.20"))
BOOKED = Basis(revenue=Decimal(100_000), cost=Decimal(60_000))


def test_a_sale_of_100000_at_60000_cost_books_4000_at_ten_percent_of_margin():
    booked = earned(BOOKED, PLAN, split=Decimal(1), minor_unit=2)
    assert booked.amount == Decimal("4000.00")
    assert str(booked.amount) == "4000.00"
    assert BOOKED.margin == Decimal(40_000)
    assert BOOKED.margin_pct == Decimal("0.4000")


def test_splits_share_the_earning_and_round_half_up_once():
    sixty = earned(BOOKED, PLAN, split=Decimal("0.6"), minor_unit=2)
    forty = earned(BOOKED, PLAN, split=Decimal("0.4"), minor_unit=2)
    assert (sixty.amount, forty.amount) == (Decimal("2400.00"), Decimal("1600.00"))
    odd = Basis(revenue=Decimal("1000.05"), cost=Decimal("0"))
    third = earned(odd, PLAN, split=Decimal("0.3333"), minor_unit=2)
    # 1000.05 x 0.10 x 0.3333 = 33.3316665: one rounding, half up, to cents.
    assert third.amount == Decimal("33.33")
    assert round_money(Decimal("0.125"), 2) == Decimal("0.13")
    assert round_money(Decimal("1234.5"), 0) == Decimal("1235")


def test_a_margin_below_the_floor_earns_nothing_and_says_why():
    thin = Basis(revenue=Decimal(100_000), cost=Decimal(85_000))
    result = earned(thin, PLAN, split=Decimal(1), minor_unit=2)
    assert result.amount == Decimal("0.00")
    assert result.reason == "margin 0.1500 below the floor 0.20"
    at_floor = Basis(revenue=Decimal(100_000), cost=Decimal(80_000))
    assert earned(at_floor, PLAN, split=Decimal(1), minor_unit=2).amount == Decimal("2000.00")


def test_a_delivery_overrun_on_signed_off_items_leaves_pay_unchanged_by_default():
    variances = attribute(
        [ItemCost("build", estimated=Decimal(60_000), actual=Decimal(75_000), signed_off=True)]
    )
    assert [(v.amount, v.attribution) for v in variances] == [
        (Decimal(15_000), Attribution.DELIVERY_OVERRUN)
    ]
    realized = realized_basis(BOOKED, variances, PLAN)
    adjusted = earned(realized, PLAN, split=Decimal(1), minor_unit=2)
    assert adjusted.amount - Decimal("4000.00") == Decimal("0.00")


def test_the_same_overrun_on_items_promised_without_signoff_adjusts_pay_by_minus_1500():
    variances = attribute(
        [ItemCost("build", estimated=Decimal(60_000), actual=Decimal(75_000), signed_off=False)]
    )
    assert variances[0].attribution == Attribution.SALES_UNDERESTIMATE
    realized = realized_basis(BOOKED, variances, PLAN)
    adjusted = earned(realized, PLAN, split=Decimal(1), minor_unit=2)
    assert adjusted.amount - Decimal("4000.00") == Decimal("-1500.00")


def test_cost_covered_by_an_approved_change_order_is_nobodys_variance():
    variances = attribute(
        [
            ItemCost(
                "build",
                estimated=Decimal(60_000),
                actual=Decimal(70_000),
                approved_change=Decimal(10_000),
                signed_off=False,
            )
        ]
    )
    assert [(v.amount, v.attribution) for v in variances] == [
        (Decimal(0), Attribution.APPROVED_CHANGE)
    ]
    assert realized_basis(BOOKED, variances, PLAN) == BOOKED


def test_a_plan_may_charge_delivery_overruns_to_sales_too():
    strict = Plan(
        rate_on_margin=Decimal("0.10"),
        margin_floor_pct=Decimal("0.20"),
        reducing=frozenset({Attribution.SALES_UNDERESTIMATE, Attribution.DELIVERY_OVERRUN}),
    )
    variances = attribute(
        [ItemCost("build", estimated=Decimal(60_000), actual=Decimal(75_000), signed_off=True)]
    )
    adjusted = earned(
        realized_basis(BOOKED, variances, strict), strict, split=Decimal(1), minor_unit=2
    )
    assert adjusted.amount == Decimal("2500.00")
