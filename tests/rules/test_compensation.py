"""Compensation arithmetic, with worked examples and exact figures: what a sale earns,
when it completes, what it realizes, and whose each variance is."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from rules.compensation import (
    Attribution,
    Basis,
    Plan,
    booked_basis,
    completion,
    earned,
    is_complete,
    missing_costs,
    shares,
)
from rules.money import round_money
from rules.snapshot import ChangeOrder, Deliverable, Purchase
from tests.rules.test_catalogue import DELIVERY_EXPERT, SALES, SIGNED, add, amend, at, clean

PLAN = Plan(rate_on_margin=Decimal("0.10"), margin_floor_pct=Decimal("0.20"))
BOOKED = Basis(revenue=Decimal(100_000), cost=Decimal(60_000))
CREDITED = [SALES]


def test_a_sale_of_100000_at_60000_cost_earns_4000_at_ten_percent_of_margin():
    booked = earned(BOOKED, PLAN, minor_unit=2)
    assert booked.amount == Decimal("4000.00")
    assert str(booked.amount) == "4000.00"
    assert BOOKED.margin == Decimal(40_000)
    assert BOOKED.margin_pct == Decimal("0.4000")


def test_splits_share_what_the_whole_sale_earns_to_the_cent():
    odd = earned(Basis(revenue=Decimal("1000.05"), cost=Decimal(0)), PLAN, minor_unit=2)
    # 1000.05 x 0.10 = 100.005: one rounding, half up, to cents; then split.
    assert odd.amount == Decimal("100.01")
    thirds = shares(odd.amount, [Decimal("0.3333"), Decimal("0.3333"), Decimal("0.3334")], 2)
    assert thirds == [Decimal("33.33"), Decimal("33.33"), Decimal("33.35")]
    assert sum(thirds) == odd.amount
    assert round_money(Decimal("0.125"), 2) == Decimal("0.13")


def test_a_margin_below_the_floor_earns_nothing_and_says_why():
    thin = Basis(revenue=Decimal(100_000), cost=Decimal(85_000))
    result = earned(thin, PLAN, minor_unit=2)
    assert result.amount == Decimal("0.00")
    assert result.reason == "margin 0.1500 below the floor 0.20"
    at_floor = Basis(revenue=Decimal(100_000), cost=Decimal(80_000))
    assert earned(at_floor, PLAN, minor_unit=2).amount == Decimal("2000.00")


# --- completion ---------------------------------------------------------------------------
# clean(): 10 units of item ``a`` bought for 1000 at an estimated 600, signed off by a
# delivery expert before signing, delivered and accepted in full at an actual cost of 600.


def test_everything_bought_accepted_in_full_completes_the_sale():
    assert is_complete(clean())
    done = completion(clean(), salespeople=CREDITED)
    assert done is not None
    assert (done.revenue, done.expected_cost, done.variances) == (
        Decimal(1000),
        Decimal(600),
        (),
    )
    assert earned(done.basis(PLAN), PLAN, minor_unit=2).amount == Decimal("40.00")


def test_a_sale_with_work_still_to_accept_is_not_complete_until_closed():
    partial = amend(clean(), "deliverables", quantity=Decimal(6))
    assert not is_complete(partial)
    assert completion(partial, salespeople=CREDITED) is None
    assert is_complete(replace(partial, status="CLOSED"))


def test_under_delivery_realizes_only_the_accepted_share_and_never_raises_pay():
    # Closed with 6 of 10 days accepted, costing the 6 days' estimate (360).
    closed = replace(
        amend(clean(), "deliverables", quantity=Decimal(6), actual_cost=Decimal(360)),
        status="CLOSED",
    )
    done = completion(closed, salespeople=CREDITED)
    assert done is not None
    assert (done.revenue, done.expected_cost) == (Decimal(600), Decimal(360))
    assert [(v.item, v.amount, v.attribution) for v in done.variances] == [
        ("a", Decimal(400), Attribution.UNDER_DELIVERY)
    ]
    booked = earned(booked_basis(closed), PLAN, minor_unit=2).amount
    realized = earned(done.basis(PLAN), PLAN, minor_unit=2).amount
    # 10% of (1000 - 600) booked; 10% of (600 - 360) realized.
    assert (booked, realized) == (Decimal("40.00"), Decimal("24.00"))


def test_an_accepted_deliverable_without_its_actual_cost_holds_completion_back():
    missing = amend(clean(), "deliverables", actual_cost=None)
    assert is_complete(missing)
    assert missing_costs(missing) == [1]
    assert completion(missing, salespeople=CREDITED) is None


def test_an_overrun_on_an_item_signed_off_before_signing_is_a_delivery_overrun():
    over = amend(clean(), "deliverables", actual_cost=Decimal(750))
    done = completion(over, salespeople=CREDITED)
    assert done is not None
    assert [(v.amount, v.attribution) for v in done.variances] == [
        (Decimal(150), Attribution.DELIVERY_OVERRUN)
    ]
    assert earned(done.basis(PLAN), PLAN, minor_unit=2).amount == Decimal("40.00")


def test_a_sign_off_given_after_signing_or_by_the_seller_is_not_collaborative():
    over = amend(clean(), "deliverables", actual_cost=Decimal(750))
    late = amend(over, "promises", delivery_signoff_at=at(2025, 3, 11))
    by_the_seller = amend(over, "promises", delivery_signoff_by_id=SALES)
    for snapshot in (late, by_the_seller):
        done = completion(snapshot, salespeople=CREDITED)
        assert done is not None
        assert [v.attribution for v in done.variances] == [Attribution.SALES_UNDERESTIMATE]
        # 10% of (1000 - 600 - 150).
        assert earned(done.basis(PLAN), PLAN, minor_unit=2).amount == Decimal("25.00")
    on_the_day = amend(over, "promises", delivery_signoff_at=SIGNED)
    done = completion(on_the_day, salespeople=CREDITED)
    assert done is not None
    assert [v.attribution for v in done.variances] == [Attribution.DELIVERY_OVERRUN]
    assert DELIVERY_EXPERT not in CREDITED


def test_cost_an_approved_change_order_bought_is_never_the_sellers():
    # An item bought only through a change order (no sign-off anywhere), overrun by 50.
    change = ChangeOrder(
        9,
        "b",
        "APPROVED",
        quantity_delta=Decimal(2),
        amount_delta=Decimal(300),
        cost_delta=Decimal(200),
    )
    snapshot = add(
        add(clean(), "change_orders", change),
        "deliverables",
        Deliverable(9, "b", Decimal(2), "ACCEPTED", actual_cost=Decimal(250)),
    )
    done = completion(snapshot, salespeople=CREDITED)
    assert done is not None
    assert [(v.item, v.amount, v.attribution) for v in done.variances] == [
        ("b", Decimal(50), Attribution.DELIVERY_OVERRUN)
    ]
    within = amend(snapshot, "deliverables", 1, actual_cost=Decimal(180))
    done = completion(within, salespeople=CREDITED)
    assert done is not None
    assert [(v.amount, v.attribution) for v in done.variances] == [
        (Decimal(-20), Attribution.APPROVED_CHANGE)
    ]


def test_a_plan_may_charge_delivery_overruns_to_sales_too():
    strict = Plan(
        rate_on_margin=Decimal("0.10"),
        margin_floor_pct=Decimal("0.20"),
        reducing=frozenset({Attribution.SALES_UNDERESTIMATE, Attribution.DELIVERY_OVERRUN}),
    )
    done = completion(amend(clean(), "deliverables", actual_cost=Decimal(750)), salespeople=[])
    assert done is not None
    assert earned(done.basis(strict), strict, minor_unit=2).amount == Decimal("25.00")


def test_work_given_away_unbought_is_a_sales_underestimate():
    free = add(
        clean(),
        "deliverables",
        Deliverable(7, "gift", Decimal(1), "ACCEPTED", actual_cost=Decimal(100)),
    )
    done = completion(free, salespeople=CREDITED)
    assert done is not None
    assert [(v.item, v.amount, v.attribution) for v in done.variances] == [
        ("gift", Decimal(100), Attribution.SALES_UNDERESTIMATE)
    ]
    assert earned(done.basis(PLAN), PLAN, minor_unit=2).amount == Decimal("30.00")
    assert booked_basis(add(free, "purchases", Purchase(8, "x", Decimal(1), Decimal(0)))) == (
        booked_basis(free)
    )
