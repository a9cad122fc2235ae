"""Every rule of the catalogue, made to fire and then resolved, on a hand-built engagement.

Each test starts from ``clean()``, an engagement where the four sides agree and nothing is
wrong, changes it as little as it can with ``dataclasses.replace`` so that the rule under
test fires, and then fixes it the way a user would. Where a rule cannot fire on its own
(nothing bought for a promise is always also either an unmet need or an unrequested
promise), the test names the findings that must come with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from rules import (
    CATALOGUE,
    ChangeOrder,
    Deliverable,
    Finding,
    Need,
    OutsideDecision,
    Promise,
    Purchase,
    Role,
    Snapshot,
    Thresholds,
    evaluate,
)

Test = TypeVar("Test", bound=Callable[..., Any])


def at(year: int, month: int, day: int) -> datetime:
    """Noon UTC on a day: the engine works in whole days."""
    return datetime(year, month, day, 12, tzinfo=UTC)


AS_OF = at(2025, 6, 30)
"""A month after everything was due and delivered."""
SIGNED = at(2025, 3, 10)
DUE = date(2025, 5, 31)

# Who is who: each function held by exactly one ACCOUNTABLE person.
SALES, ENGAGEMENT_MANAGER, PROJECT_MANAGER, DELIVERY_EXPERT, SERVICE, SPONSOR = range(101, 107)
LAWYER, BUYER, CONTROLLER, QUALITY_LEAD = range(111, 115)
ROLES = (
    Role(1, SALES, "SALES", "ACCOUNTABLE"),
    Role(2, ENGAGEMENT_MANAGER, "ENGAGEMENT_MANAGEMENT", "ACCOUNTABLE"),
    Role(3, PROJECT_MANAGER, "PROJECT_MANAGEMENT", "ACCOUNTABLE"),
    Role(4, DELIVERY_EXPERT, "DELIVERY", "ACCOUNTABLE"),
    Role(5, SERVICE, "CUSTOMER_SERVICE", "ACCOUNTABLE"),
    Role(6, SPONSOR, "SPONSOR", "ACCOUNTABLE"),
    # An outside client's engagement with deliverables to accept needs these too.
    Role(11, LAWYER, "LEGAL", "ACCOUNTABLE"),
    Role(12, BUYER, "PROCUREMENT", "ACCOUNTABLE"),
    Role(13, CONTROLLER, "FINANCE", "ACCOUNTABLE"),
    Role(14, QUALITY_LEAD, "QUALITY", "ACCOUNTABLE"),
)


def clean() -> Snapshot:
    """A sold engagement with one item ``a`` whose need, promise, purchase and deliverable
    all agree: 10 units quoted and bought for 1000 at a cost of 600 (a 40% margin), due and
    promised for 2025-05-31, delivered the day before and accepted."""
    return Snapshot(
        engagement_id=1,
        status="SOLD",
        currency="EUR",
        roles=ROLES,
        needs=(Need(1, "a", "MUST", validated_at=at(2025, 2, 1)),),
        promises=(
            Promise(
                1,
                "a",
                Decimal(10),
                made_by_id=SALES,
                quoted_amount=Decimal(1000),
                promised_date=DUE,
                made_at=at(2025, 3, 1),
                delivery_signoff_by_id=DELIVERY_EXPERT,
                delivery_signoff_at=at(2025, 3, 1),
            ),
        ),
        purchases=(
            Purchase(
                1,
                "a",
                Decimal(10),
                Decimal(1000),
                estimated_cost=Decimal(600),
                due_date=DUE,
                signed_at=SIGNED,
            ),
        ),
        deliverables=(
            Deliverable(
                1,
                "a",
                Decimal(10),
                "ACCEPTED",
                due_date=DUE,
                delivered_at=at(2025, 5, 30),
                accepted_at=at(2025, 6, 2),
                estimated_cost=Decimal(600),
                actual_cost=Decimal(600),
            ),
        ),
    )


# -- building variations ------------------------------------------------------------------


def amend(snapshot: Snapshot, side: str, index: int = 0, **changes: Any) -> Snapshot:
    """``snapshot`` with the ``index``-th record of ``side`` (``"promises"``...) changed."""
    records = list(getattr(snapshot, side))
    records[index] = replace(records[index], **changes)
    return replace(snapshot, **{side: tuple(records)})


def add(snapshot: Snapshot, side: str, *records: Any) -> Snapshot:
    return replace(snapshot, **{side: (*getattr(snapshot, side), *records)})


def without_function(snapshot: Snapshot, *functions: str) -> Snapshot:
    return replace(snapshot, roles=tuple(r for r in snapshot.roles if r.function not in functions))


def with_thresholds(snapshot: Snapshot, **changes: Any) -> Snapshot:
    return replace(snapshot, thresholds=replace(snapshot.thresholds, **changes))


def approved(item: str, **deltas: Decimal) -> ChangeOrder:
    return ChangeOrder(90, item, "APPROVED", approved_at=at(2025, 6, 1), **deltas)


# -- reading findings ---------------------------------------------------------------------


def rule_ids(snapshot: Snapshot, as_of: datetime = AS_OF) -> list[str]:
    return [f.rule_id for f in evaluate(snapshot, as_of)]


def the_finding(
    snapshot: Snapshot,
    rule_id: str,
    as_of: datetime = AS_OF,
    *,
    alongside: tuple[str, ...] = (),
) -> Finding:
    """The one finding of ``rule_id``, checking nothing else fires but ``alongside``."""
    found = evaluate(snapshot, as_of)
    assert sorted(f.rule_id for f in found) == sorted((rule_id, *alongside))
    (finding,) = (f for f in found if f.rule_id == rule_id)
    return finding


def described(finding: Finding) -> tuple[str, str | None, tuple[str, ...], str]:
    return finding.severity, finding.item, finding.subject_ids, finding.message


FIRES: dict[str, str] = {}
"""Rule id -> the test that makes it fire: filled at import, so a rule without one fails."""
RESOLVES: dict[str, str] = {}
"""Rule id -> the test that resolves it."""


def fires(rule_id: str) -> Callable[[Test], Test]:
    def register(test: Test) -> Test:
        FIRES.setdefault(rule_id, test.__name__)
        return test

    return register


def resolves(rule_id: str) -> Callable[[Test], Test]:
    def register(test: Test) -> Test:
        RESOLVES.setdefault(rule_id, test.__name__)
        return test

    return register


# -- the clean engagement -----------------------------------------------------------------


def test_an_engagement_where_all_four_sides_agree_has_no_findings():
    assert evaluate(clean(), AS_OF) == ()


@pytest.mark.parametrize(
    "as_of",
    [at(2025, 3, 1), at(2025, 4, 15), at(2025, 6, 5), AS_OF, at(2027, 1, 1)],
    ids=lambda as_of: as_of.date().isoformat(),
)
def test_the_clean_engagement_stays_clean_whatever_the_day(as_of):
    assert evaluate(clean(), as_of) == ()


@pytest.mark.parametrize("status", ["PROPOSED", "SOLD", "DELIVERING", "SUPPORTING", "CLOSED"])
def test_the_clean_engagement_is_clean_in_every_status(status):
    assert evaluate(replace(clean(), status=status), AS_OF) == ()


# -- coverage: need, promise, purchase, deliverable ---------------------------------------


def unpromised_need(priority: str) -> Snapshot:
    return add(clean(), "needs", Need(2, "b", priority, validated_at=at(2025, 2, 1)))


@fires("need-not-promised")
def test_a_validated_need_nobody_promised_is_a_warning():
    finding = the_finding(unpromised_need("SHOULD"), "need-not-promised")
    assert described(finding) == (
        "WARNING",
        "b",
        ("need:2",),
        "b: the client needs it (SHOULD) and nobody promised it.",
    )


def test_a_must_need_nobody_promised_is_critical():
    finding = the_finding(unpromised_need("MUST"), "need-not-promised")
    assert described(finding) == (
        "CRITICAL",
        "b",
        ("need:2",),
        "b: the client needs it (MUST) and nobody promised it.",
    )


def test_a_need_not_yet_validated_is_not_reported_as_unpromised():
    snapshot = amend(unpromised_need("MUST"), "needs", 1, validated_at=None)
    assert evaluate(snapshot, AS_OF) == ()


@resolves("need-not-promised")
def test_an_unpromised_need_resolves_once_something_is_promised_for_it():
    snapshot = add(
        unpromised_need("MUST"),
        "promises",
        Promise(2, "b", Decimal(5), SALES, delivery_signoff_by_id=DELIVERY_EXPERT),
    )
    assert "need-not-promised" not in rule_ids(snapshot)


def promised_not_bought() -> Snapshot:
    """Item ``b``: needed, promised with sign-off, and never bought."""
    return add(
        unpromised_need("SHOULD"),
        "promises",
        Promise(
            2,
            "b",
            Decimal(5),
            SALES,
            quoted_amount=Decimal(500),
            promised_date=date(2025, 7, 31),
            made_at=at(2025, 3, 1),
            delivery_signoff_by_id=DELIVERY_EXPERT,
            delivery_signoff_at=at(2025, 3, 1),
        ),
    )


@fires("promised-need-not-bought")
def test_a_promised_need_the_client_has_not_bought_is_critical():
    # A promise nothing bought is always free work as well.
    finding = the_finding(
        promised_not_bought(), "promised-need-not-bought", alongside=("free-work",)
    )
    assert described(finding) == (
        "CRITICAL",
        "b",
        ("need:2", "promise:2"),
        "b: promised to meet a SHOULD need, but the client has not bought it.",
    )


@resolves("promised-need-not-bought")
def test_a_promised_need_resolves_once_the_client_buys_it():
    snapshot = add(
        promised_not_bought(),
        "purchases",
        Purchase(
            2,
            "b",
            Decimal(5),
            Decimal(500),
            estimated_cost=Decimal(300),
            due_date=date(2025, 7, 31),
            signed_at=at(2025, 6, 25),
        ),
    )
    assert evaluate(snapshot, AS_OF) == ()


@fires("free-work")
def test_a_promise_without_purchase_opens_free_work():
    finding = the_finding(
        promised_not_bought(), "free-work", alongside=("promised-need-not-bought",)
    )
    assert described(finding) == (
        "CRITICAL",
        "b",
        ("promise:2",),
        "b: 5 promised and nothing bought.",
    )


def test_a_promise_nobody_asked_for_or_bought_is_free_work_and_overselling():
    snapshot = add(
        clean(),
        "promises",
        Promise(2, "b", Decimal(3), SALES, delivery_signoff_by_id=DELIVERY_EXPERT),
    )
    finding = the_finding(snapshot, "free-work", alongside=("overselling",))
    assert finding.message == "b: 3 promised and nothing bought."


@resolves("free-work")
def test_free_work_resolves_once_an_approved_change_order_buys_the_item():
    change = approved("b", quantity_delta=Decimal(5), amount_delta=Decimal(500))
    snapshot = add(promised_not_bought(), "change_orders", replace(change, cost_delta=Decimal(300)))
    assert evaluate(snapshot, AS_OF) == ()


def test_free_work_stands_while_the_change_order_is_only_proposed():
    change = ChangeOrder(90, "b", "PROPOSED", Decimal(5), Decimal(500), Decimal(300))
    snapshot = add(promised_not_bought(), "change_orders", change)
    assert sorted(rule_ids(snapshot)) == ["free-work", "promised-need-not-bought"]


def test_nothing_bought_is_not_reported_before_the_sale():
    snapshot = replace(promised_not_bought(), status="PROPOSED")
    assert evaluate(snapshot, AS_OF) == ()


def oversold() -> Snapshot:
    return replace(clean(), needs=())


@fires("overselling")
def test_a_promise_no_need_asks_for_is_overselling():
    finding = the_finding(oversold(), "overselling")
    assert described(finding) == (
        "WARNING",
        "a",
        ("promise:1",),
        "a: 10 promised that no need asks for.",
    )


@resolves("overselling")
def test_overselling_resolves_once_the_need_is_recorded():
    snapshot = add(oversold(), "needs", Need(7, "a", "SHOULD"))
    assert evaluate(snapshot, AS_OF) == ()


PLANNING_LATE = at(2025, 4, 1)
"""Past the 14 planning days after signing (2025-03-24), before anything is due."""


def unplanned() -> Snapshot:
    return replace(clean(), deliverables=())


@fires("purchase-unplanned")
def test_a_purchase_with_nothing_planned_after_the_planning_days_is_a_warning():
    finding = the_finding(unplanned(), "purchase-unplanned", PLANNING_LATE)
    assert described(finding) == (
        "WARNING",
        "a",
        ("purchase:1",),
        "a: bought (10) and still no deliverable planned.",
    )


def test_a_purchase_may_go_unplanned_for_the_planning_days():
    assert evaluate(unplanned(), at(2025, 3, 24)) == ()
    assert rule_ids(unplanned(), at(2025, 3, 25)) == ["purchase-unplanned"]


@resolves("purchase-unplanned")
def test_an_unplanned_purchase_resolves_once_a_deliverable_is_planned():
    snapshot = add(unplanned(), "deliverables", Deliverable(5, "a", Decimal(10), due_date=DUE))
    assert evaluate(snapshot, PLANNING_LATE) == ()


def crept() -> Snapshot:
    return add(
        clean(),
        "deliverables",
        Deliverable(2, "b", Decimal(3), "IN_PROGRESS", due_date=date(2025, 7, 15)),
    )


@fires("scope-creep")
def test_a_deliverable_nobody_bought_is_scope_creep():
    finding = the_finding(crept(), "scope-creep")
    assert described(finding) == (
        "WARNING",
        "b",
        ("deliverable:2",),
        "b: 3 being delivered that nobody bought.",
    )


@resolves("scope-creep")
def test_scope_creep_resolves_once_an_approved_change_order_buys_it():
    change = approved("b", quantity_delta=Decimal(3), amount_delta=Decimal(300))
    assert evaluate(add(crept(), "change_orders", change), AS_OF) == ()


def test_scope_creep_stands_when_the_change_order_was_rejected():
    change = ChangeOrder(90, "b", "REJECTED", Decimal(3), Decimal(300))
    assert rule_ids(add(crept(), "change_orders", change)) == ["scope-creep"]


def short_bought() -> Snapshot:
    """10 promised for 1000, but the purchase is for 8 (at the same 1000)."""
    return amend(clean(), "purchases", quantity=Decimal(8))


@fires("promised-above-bought")
def test_more_promised_than_bought_is_critical():
    finding = the_finding(short_bought(), "promised-above-bought")
    assert described(finding) == (
        "CRITICAL",
        "a",
        ("item:a",),
        "a: 10 promised but only 8 bought.",
    )


@resolves("promised-above-bought")
def test_an_approved_change_order_covering_the_difference_is_not_a_mismatch():
    snapshot = add(short_bought(), "change_orders", approved("a", quantity_delta=Decimal(2)))
    assert evaluate(snapshot, AS_OF) == ()


def test_a_proposed_change_order_does_not_cover_the_difference():
    change = ChangeOrder(90, "a", "PROPOSED", quantity_delta=Decimal(2))
    snapshot = add(short_bought(), "change_orders", change)
    assert the_finding(snapshot, "promised-above-bought").message == (
        "a: 10 promised but only 8 bought."
    )


def test_an_approved_change_order_that_descopes_the_purchase_counts_against_the_promise():
    snapshot = add(clean(), "change_orders", approved("a", quantity_delta=Decimal(-3)))
    assert the_finding(snapshot, "promised-above-bought").message == (
        "a: 10 promised but only 7 bought."
    )


def under_delivered() -> Snapshot:
    return amend(clean(), "deliverables", quantity=Decimal(7))


@fires("under-delivered")
def test_less_delivered_than_bought_past_the_due_date_is_a_warning():
    finding = the_finding(under_delivered(), "under-delivered")
    assert described(finding) == (
        "WARNING",
        "a",
        ("item:a",),
        "a: 7 delivered of 10 bought, past the due date.",
    )


def test_under_delivery_waits_for_the_due_date_plus_the_grace_days():
    # Due 2025-05-31 with 5 grace days: 2025-06-05 is the last day of grace.
    assert evaluate(under_delivered(), at(2025, 6, 5)) == ()
    assert rule_ids(under_delivered(), at(2025, 6, 6)) == ["under-delivered"]


@resolves("under-delivered")
def test_under_delivery_resolves_once_the_rest_is_delivered():
    rest = Deliverable(
        2,
        "a",
        Decimal(3),
        "ACCEPTED",
        due_date=DUE,
        delivered_at=at(2025, 5, 31),
        accepted_at=at(2025, 6, 2),
        actual_cost=Decimal(180),
    )
    assert evaluate(add(under_delivered(), "deliverables", rest), AS_OF) == ()


def test_a_delivered_deliverable_counts_as_delivered_before_acceptance():
    snapshot = amend(clean(), "deliverables", status="DELIVERED", accepted_at=None)
    assert "under-delivered" not in rule_ids(snapshot, at(2025, 6, 6))


def mispriced() -> Snapshot:
    return amend(clean(), "promises", quoted_amount=Decimal(1100))


@fires("price-mismatch")
def test_a_quote_different_from_the_purchase_is_a_price_mismatch():
    finding = the_finding(mispriced(), "price-mismatch")
    assert described(finding) == (
        "CRITICAL",
        "a",
        ("item:a",),
        "a: quoted 1100 but bought for 1000.",
    )


@resolves("price-mismatch")
def test_a_price_mismatch_resolves_once_an_approved_change_order_covers_the_difference():
    snapshot = add(mispriced(), "change_orders", approved("a", amount_delta=Decimal(100)))
    assert evaluate(snapshot, AS_OF) == ()


def test_a_quote_within_the_tolerance_is_not_a_mismatch():
    # 2% of 1000 is 20: 1020 is within, 1021 is not.
    assert evaluate(amend(clean(), "promises", quoted_amount=Decimal(1020)), AS_OF) == ()
    assert evaluate(amend(clean(), "promises", quoted_amount=Decimal(980)), AS_OF) == ()
    assert rule_ids(amend(clean(), "promises", quoted_amount=Decimal(1021))) == ["price-mismatch"]


# -- time ---------------------------------------------------------------------------------

EARLY_MAY = at(2025, 5, 10)


def overdue() -> Snapshot:
    """A milestone due 2025-05-01 (before the purchase is due) still in progress."""
    return amend(
        clean(),
        "deliverables",
        status="IN_PROGRESS",
        due_date=date(2025, 5, 1),
        delivered_at=None,
        accepted_at=None,
    )


@fires("deliverable-overdue")
def test_a_deliverable_not_delivered_past_its_due_date_and_grace_is_overdue():
    finding = the_finding(overdue(), "deliverable-overdue", EARLY_MAY)
    assert described(finding) == (
        "WARNING",
        "a",
        ("deliverable:1",),
        "a: due 2025-05-01 and not delivered.",
    )


def test_a_deliverable_is_not_overdue_within_the_grace_days():
    assert evaluate(overdue(), at(2025, 5, 6)) == ()
    assert rule_ids(overdue(), at(2025, 5, 7)) == ["deliverable-overdue"]


@resolves("deliverable-overdue")
def test_an_overdue_deliverable_resolves_once_delivered():
    snapshot = amend(overdue(), "deliverables", status="DELIVERED", delivered_at=at(2025, 5, 9))
    assert evaluate(snapshot, EARLY_MAY) == ()


def delivered_late() -> Snapshot:
    return amend(clean(), "deliverables", delivered_at=at(2025, 6, 3), accepted_at=at(2025, 6, 5))


@fires("delivered-late")
def test_a_deliverable_delivered_after_the_promised_date_is_late():
    finding = the_finding(delivered_late(), "delivered-late")
    assert described(finding) == (
        "WARNING",
        "a",
        ("deliverable:1", "promise:1"),
        "a: delivered 2025-06-03, promised for 2025-05-31.",
    )


def test_a_deliverable_delivered_on_the_promised_day_is_on_time():
    snapshot = amend(
        clean(), "deliverables", delivered_at=datetime(2025, 5, 31, 23, 59, tzinfo=UTC)
    )
    assert evaluate(snapshot, AS_OF) == ()


@resolves("delivered-late")
def test_a_late_delivery_resolves_once_the_promised_date_is_renegotiated():
    snapshot = amend(delivered_late(), "promises", promised_date=date(2025, 6, 3))
    assert evaluate(snapshot, AS_OF) == ()


MID_MAY = at(2025, 5, 15)


def planned_late() -> Snapshot:
    return amend(
        clean(),
        "deliverables",
        status="PLANNED",
        due_date=date(2025, 6, 15),
        delivered_at=None,
        accepted_at=None,
    )


@fires("planned-after-promised")
def test_a_deliverable_planned_after_the_promised_date_is_a_warning():
    finding = the_finding(planned_late(), "planned-after-promised", MID_MAY)
    assert described(finding) == (
        "WARNING",
        "a",
        ("deliverable:1", "promise:1"),
        "a: planned for 2025-06-15, promised for 2025-05-31.",
    )


@resolves("planned-after-promised")
def test_a_late_plan_resolves_once_replanned_for_the_promised_date():
    snapshot = amend(planned_late(), "deliverables", due_date=DUE)
    assert evaluate(snapshot, MID_MAY) == ()


def awaiting_acceptance() -> Snapshot:
    return amend(clean(), "deliverables", status="DELIVERED", accepted_at=None)


@fires("acceptance-pending")
def test_a_deliverable_waiting_too_long_for_acceptance_is_a_warning():
    finding = the_finding(awaiting_acceptance(), "acceptance-pending")
    assert described(finding) == (
        "WARNING",
        "a",
        ("deliverable:1",),
        "a: delivered 2025-05-30 and still not accepted.",
    )


def test_a_deliverable_may_wait_the_acceptance_days():
    # Delivered 2025-05-30 with 10 acceptance days: 2025-06-09 is the last day.
    assert evaluate(awaiting_acceptance(), at(2025, 6, 9)) == ()
    assert rule_ids(awaiting_acceptance(), at(2025, 6, 10)) == ["acceptance-pending"]


@resolves("acceptance-pending")
def test_pending_acceptance_resolves_once_the_client_accepts():
    snapshot = amend(awaiting_acceptance(), "deliverables", status="ACCEPTED", accepted_at=AS_OF)
    assert evaluate(snapshot, AS_OF) == ()


# -- quality and money --------------------------------------------------------------------

BEFORE_GRACE_ENDS = at(2025, 6, 3)
"""Past the promised date, within the purchase's grace days: a rejection is news."""


def rejected() -> Snapshot:
    return amend(clean(), "deliverables", status="REJECTED", accepted_at=None)


@fires("deliverable-rejected")
def test_a_rejected_deliverable_is_a_warning():
    finding = the_finding(rejected(), "deliverable-rejected", BEFORE_GRACE_ENDS)
    assert described(finding) == (
        "WARNING",
        "a",
        ("deliverable:1",),
        "a: the client rejected the deliverable.",
    )


def test_a_rejected_deliverable_does_not_count_as_delivered():
    assert sorted(rule_ids(rejected(), AS_OF)) == ["deliverable-rejected", "under-delivered"]


@resolves("deliverable-rejected")
def test_a_rejection_resolves_once_the_reworked_deliverable_is_accepted():
    snapshot = amend(rejected(), "deliverables", status="ACCEPTED", accepted_at=at(2025, 6, 2))
    assert evaluate(snapshot, BEFORE_GRACE_ENDS) == ()


def uncosted() -> Snapshot:
    return amend(clean(), "deliverables", actual_cost=None)


@fires("actual-cost-missing")
def test_an_accepted_deliverable_without_its_actual_cost_is_a_warning():
    finding = the_finding(uncosted(), "actual-cost-missing")
    assert described(finding) == (
        "WARNING",
        "a",
        ("deliverable:1",),
        "a: accepted without an actual cost; the sale's final pay is worked out once every "
        "accepted deliverable has one.",
    )


def test_a_deliverable_not_yet_accepted_needs_no_actual_cost():
    delivered = amend(uncosted(), "deliverables", status="DELIVERED", accepted_at=None)
    assert "actual-cost-missing" not in rule_ids(delivered, at(2025, 6, 1))


@resolves("actual-cost-missing")
def test_a_missing_cost_resolves_once_it_is_recorded():
    assert evaluate(amend(uncosted(), "deliverables", actual_cost=Decimal(600)), AS_OF) == ()


def overrun() -> Snapshot:
    return amend(clean(), "deliverables", actual_cost=Decimal(700))


@fires("cost-overrun")
def test_actual_cost_above_the_estimate_beyond_the_tolerance_is_an_overrun():
    finding = the_finding(overrun(), "cost-overrun")
    assert described(finding) == (
        "WARNING",
        "a",
        ("deliverable:1",),
        "a: cost 700 against an estimate of 600.",
    )


def test_actual_cost_within_the_tolerance_is_not_an_overrun():
    # 10% over 600 is 660.
    assert evaluate(amend(clean(), "deliverables", actual_cost=Decimal(660)), AS_OF) == ()
    assert rule_ids(amend(clean(), "deliverables", actual_cost=Decimal("660.01"))) == [
        "cost-overrun"
    ]


@resolves("cost-overrun")
def test_a_cost_overrun_resolves_once_the_estimate_is_revised():
    snapshot = amend(overrun(), "deliverables", estimated_cost=Decimal(700))
    assert evaluate(snapshot, AS_OF) == ()


def thin_margin() -> Snapshot:
    return amend(clean(), "purchases", estimated_cost=Decimal(850))


@fires("margin-below-floor")
def test_a_projected_margin_below_the_floor_is_critical():
    finding = the_finding(thin_margin(), "margin-below-floor")
    assert described(finding) == (
        "CRITICAL",
        None,
        ("engagement:1",),
        "Projected margin 0.1500 is below the floor of 0.20 (revenue 1000, estimated cost 850).",
    )


def test_a_margin_exactly_at_the_floor_is_not_below_it():
    assert evaluate(amend(clean(), "purchases", estimated_cost=Decimal(800)), AS_OF) == ()


@resolves("margin-below-floor")
def test_a_thin_margin_resolves_once_an_approved_change_order_takes_cost_out():
    snapshot = add(thin_margin(), "change_orders", approved("a", cost_delta=Decimal(-100)))
    assert evaluate(snapshot, AS_OF) == ()


def test_a_proposed_change_order_does_not_move_the_margin():
    change = ChangeOrder(90, "a", "PROPOSED", cost_delta=Decimal(-100))
    assert rule_ids(add(thin_margin(), "change_orders", change)) == ["margin-below-floor"]


def test_an_approved_change_order_that_adds_cost_can_sink_the_margin():
    snapshot = add(clean(), "change_orders", approved("a", cost_delta=Decimal(300)))
    finding = the_finding(snapshot, "margin-below-floor")
    assert finding.message == (
        "Projected margin 0.1000 is below the floor of 0.20 (revenue 1000, estimated cost 900)."
    )


# -- process ------------------------------------------------------------------------------


def unsigned_off() -> Snapshot:
    return amend(clean(), "promises", delivery_signoff_by_id=None, delivery_signoff_at=None)


@fires("promise-without-signoff")
def test_a_promise_without_delivery_signoff_is_critical():
    finding = the_finding(unsigned_off(), "promise-without-signoff")
    assert described(finding) == (
        "CRITICAL",
        "a",
        ("promise:1",),
        "a: promised without delivery sign-off.",
    )


@resolves("promise-without-signoff")
def test_a_missing_signoff_resolves_once_a_delivery_expert_signs_off():
    snapshot = amend(
        unsigned_off(),
        "promises",
        delivery_signoff_by_id=DELIVERY_EXPERT,
        delivery_signoff_at=at(2025, 6, 20),
    )
    assert evaluate(snapshot, AS_OF) == ()


def promised_after_signing() -> Snapshot:
    return amend(clean(), "promises", made_at=at(2025, 3, 15), delivery_signoff_at=at(2025, 3, 15))


@fires("promise-after-signing")
def test_a_promise_made_after_the_sale_was_signed_without_a_change_order_is_a_warning():
    finding = the_finding(promised_after_signing(), "promise-after-signing")
    assert described(finding) == (
        "WARNING",
        "a",
        ("promise:1",),
        "a: promised after the sale was signed, with no change order.",
    )


@resolves("promise-after-signing")
def test_a_late_promise_resolves_once_a_change_order_is_raised_for_its_item():
    change = ChangeOrder(90, "a", "PROPOSED")
    assert evaluate(add(promised_after_signing(), "change_orders", change), AS_OF) == ()


def test_a_change_order_for_another_item_does_not_cover_a_late_promise():
    change = ChangeOrder(90, "z", "PROPOSED")
    snapshot = add(promised_after_signing(), "change_orders", change)
    assert rule_ids(snapshot) == ["promise-after-signing"]


REQUIRED = [
    "SALES",
    "ENGAGEMENT_MANAGEMENT",
    "DELIVERY",
    "LEGAL",
    "PROCUREMENT",
    "FINANCE",
    "QUALITY",
]


@fires("function-unassigned")
@pytest.mark.parametrize("function", REQUIRED)
def test_nobody_holding_a_required_function_leaves_it_to_the_project_manager(function):
    finding = the_finding(without_function(clean(), function), "function-unassigned")
    assert described(finding) == (
        "WARNING",
        None,
        (f"function:{function}",),
        f"Nobody holds {function}: the project manager answers for it by default.",
    )


def test_nobody_holding_a_function_without_a_project_manager_is_critical():
    snapshot = without_function(clean(), "LEGAL", "PROJECT_MANAGEMENT")
    finding = the_finding(snapshot, "function-unassigned")
    assert described(finding) == (
        "CRITICAL",
        None,
        ("function:LEGAL",),
        "Nobody holds LEGAL, and there is no project manager to answer for it either.",
    )


def test_an_in_house_engagement_needs_no_legal_procurement_or_finance():
    snapshot = replace(without_function(clean(), "LEGAL", "PROCUREMENT", "FINANCE"), in_house=True)
    assert evaluate(snapshot, AS_OF) == ()


def test_quality_is_needed_only_once_there_are_deliverables_to_accept():
    snapshot = without_function(clean(), "QUALITY")
    assert evaluate(replace(snapshot, deliverables=()), AS_OF) != ()  # other sides miss it
    assert "function-unassigned" not in {
        f.rule_id for f in evaluate(replace(snapshot, deliverables=()), AS_OF)
    }


def test_functions_outside_the_table_are_not_required():
    assert (
        evaluate(without_function(clean(), "CUSTOMER_SERVICE", "FUNCTIONAL_MANAGEMENT"), AS_OF)
        == ()
    )


def test_each_function_left_to_the_project_manager_is_its_own_finding():
    snapshot = without_function(clean(), "LEGAL", "ENGAGEMENT_MANAGEMENT")
    assert sorted(f.subject_ids for f in evaluate(snapshot, AS_OF)) == [
        ("function:ENGAGEMENT_MANAGEMENT",),
        ("function:LEGAL",),
    ]


@resolves("function-unassigned")
def test_a_function_left_to_the_project_manager_resolves_once_someone_holds_it():
    snapshot = add(
        without_function(clean(), "LEGAL"),
        "roles",
        Role(9, 109, "LEGAL", "ACCOUNTABLE"),
    )
    assert evaluate(snapshot, AS_OF) == ()


def nobody_accountable() -> Snapshot:
    return amend(clean(), "roles", 0, raci="RESPONSIBLE")


@fires("no-accountable")
def test_a_function_whose_people_include_no_one_accountable_is_a_warning():
    finding = the_finding(nobody_accountable(), "no-accountable")
    assert described(finding) == (
        "WARNING",
        None,
        ("function:SALES",),
        "SALES has 1 person and no one accountable.",
    )


@resolves("no-accountable")
def test_no_one_accountable_resolves_once_someone_is_made_accountable():
    snapshot = add(nobody_accountable(), "roles", Role(9, 109, "SALES", "ACCOUNTABLE"))
    assert evaluate(snapshot, AS_OF) == ()


def two_accountable() -> Snapshot:
    return add(clean(), "roles", Role(9, 109, "SALES", "ACCOUNTABLE"))


@fires("many-accountable")
def test_a_function_with_two_accountable_people_is_a_warning():
    finding = the_finding(two_accountable(), "many-accountable")
    assert described(finding) == (
        "WARNING",
        None,
        ("function:SALES",),
        "SALES has 2 people accountable; one should be.",
    )


@resolves("many-accountable")
def test_many_accountable_resolves_once_one_steps_back_to_responsible():
    snapshot = amend(two_accountable(), "roles", len(ROLES), raci="RESPONSIBLE")
    assert evaluate(snapshot, AS_OF) == ()


def unsponsored() -> Snapshot:
    return without_function(clean(), "SPONSOR")


@fires("no-sponsor")
def test_an_engagement_without_a_sponsor_is_a_warning():
    finding = the_finding(unsponsored(), "no-sponsor")
    assert described(finding) == (
        "WARNING",
        None,
        ("function:SPONSOR",),
        "Nobody sponsors the engagement.",
    )


@resolves("no-sponsor")
def test_a_missing_sponsor_resolves_once_someone_sponsors_it():
    snapshot = add(unsponsored(), "roles", Role(9, 109, "SPONSOR", "ACCOUNTABLE"))
    assert evaluate(snapshot, AS_OF) == ()


def decided_by(model: str, *roles: Role) -> Snapshot:
    """``clean()`` under ``model``, with ``roles`` as its only deciders (engagement
    management and sponsors)."""
    kept = without_function(clean(), "ENGAGEMENT_MANAGEMENT", "SPONSOR")
    return replace(kept, decision_model=model, roles=(*kept.roles, *roles))


@fires("decision-model-unfit")
@pytest.mark.parametrize("model", ["CONSENSUS", "MAJORITY"])
def test_consensus_or_majority_with_one_accountable_decider_is_a_warning(model):
    snapshot = decided_by(
        model,
        Role(7, SPONSOR, "SPONSOR", "ACCOUNTABLE"),
        # The same person in both functions is still one decider; a RESPONSIBLE one does not count.
        Role(8, SPONSOR, "ENGAGEMENT_MANAGEMENT", "ACCOUNTABLE"),
        Role(9, 109, "SPONSOR", "RESPONSIBLE"),
    )
    finding = the_finding(snapshot, "decision-model-unfit")
    assert described(finding) == (
        "WARNING",
        None,
        ("engagement:1",),
        f"Decided by {model}, but only one person is accountable for engagement management "
        "or sponsorship: one person decides alone.",
    )


def test_authority_with_deciders_but_none_accountable_is_a_warning():
    snapshot = decided_by(
        "AUTHORITY",
        Role(7, SPONSOR, "SPONSOR", "RESPONSIBLE"),
        Role(8, ENGAGEMENT_MANAGER, "ENGAGEMENT_MANAGEMENT", "CONSULTED"),
    )
    # Neither function has anyone accountable, which no-accountable says of each.
    finding = the_finding(
        snapshot, "decision-model-unfit", alongside=("no-accountable", "no-accountable")
    )
    assert finding.message == (
        "Decided by AUTHORITY, but nobody is accountable for engagement management or "
        "sponsorship: nobody holds the final say."
    )


@resolves("decision-model-unfit")
def test_consensus_works_once_a_second_decider_is_accountable():
    snapshot = decided_by(
        "CONSENSUS",
        Role(7, SPONSOR, "SPONSOR", "ACCOUNTABLE"),
        Role(8, ENGAGEMENT_MANAGER, "ENGAGEMENT_MANAGEMENT", "ACCOUNTABLE"),
    )
    assert evaluate(snapshot, AS_OF) == ()


def test_authority_with_one_accountable_decider_raises_nothing():
    assert evaluate(replace(clean(), decision_model="AUTHORITY"), AS_OF) == ()


# -- thresholds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("firing", "as_of", "loosened"),
    [
        pytest.param(
            mispriced, AS_OF, {"quote_tolerance_pct": Decimal("0.10")}, id="price-mismatch"
        ),
        pytest.param(under_delivered, at(2025, 6, 6), {"grace_days": 6}, id="under-delivered"),
        pytest.param(overdue, EARLY_MAY, {"grace_days": 9}, id="deliverable-overdue"),
        pytest.param(awaiting_acceptance, AS_OF, {"acceptance_days": 31}, id="acceptance-pending"),
        pytest.param(unplanned, PLANNING_LATE, {"planning_days": 22}, id="purchase-unplanned"),
        pytest.param(overrun, AS_OF, {"cost_tolerance_pct": Decimal("0.20")}, id="cost-overrun"),
        pytest.param(
            thin_margin, AS_OF, {"margin_floor_pct": Decimal("0.15")}, id="margin-below-floor"
        ),
    ],
)
def test_looser_thresholds_stop_a_finding(request, firing, as_of, loosened):
    rule_id = request.node.callspec.id
    assert rule_ids(firing(), as_of) == [rule_id]
    assert evaluate(with_thresholds(firing(), **loosened), as_of) == ()


@pytest.mark.parametrize(
    ("snapshot", "as_of", "tightened"),
    [
        pytest.param(
            clean(), AS_OF, {"margin_floor_pct": Decimal("0.41")}, id="margin-below-floor"
        ),
        pytest.param(under_delivered(), at(2025, 6, 1), {"grace_days": 0}, id="under-delivered"),
        pytest.param(
            amend(clean(), "promises", quoted_amount=Decimal("1000.01")),
            AS_OF,
            {"quote_tolerance_pct": Decimal(0)},
            id="price-mismatch",
        ),
    ],
)
def test_stricter_thresholds_make_a_finding(request, snapshot, as_of, tightened):
    rule_id = request.node.callspec.id
    assert evaluate(snapshot, as_of) == ()
    assert rule_ids(with_thresholds(snapshot, **tightened), as_of) == [rule_id]


def test_the_margin_floor_shows_in_the_message():
    snapshot = with_thresholds(thin_margin(), margin_floor_pct=Decimal("0.25"))
    assert the_finding(snapshot, "margin-below-floor").message == (
        "Projected margin 0.1500 is below the floor of 0.25 (revenue 1000, estimated cost 850)."
    )


def test_default_thresholds_are_the_documented_ones():
    assert clean().thresholds == Thresholds(
        grace_days=5,
        acceptance_days=10,
        planning_days=14,
        quote_tolerance_pct=Decimal("0.02"),
        cost_tolerance_pct=Decimal("0.10"),
        margin_floor_pct=Decimal("0.20"),
    )


# -- determinism --------------------------------------------------------------------------


def everything_wrong() -> Snapshot:
    snapshot = without_function(promised_not_bought(), "SPONSOR", "CUSTOMER_SERVICE")
    snapshot = amend(snapshot, "promises", quoted_amount=Decimal(1100), delivery_signoff_by_id=None)
    snapshot = amend(snapshot, "deliverables", status="REJECTED", actual_cost=Decimal(900))
    return add(snapshot, "deliverables", Deliverable(3, "c", Decimal(1), due_date=date(2025, 6, 1)))


def test_evaluating_the_same_snapshot_twice_gives_equal_findings():
    first = evaluate(everything_wrong(), AS_OF)
    second = evaluate(everything_wrong(), AS_OF)
    assert len(first) >= 8
    assert first == second


def test_findings_come_in_a_stable_order():
    found = evaluate(everything_wrong(), AS_OF)
    keys = [(f.rule_id, f.subject_ids) for f in found]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


# -- known defects ------------------------------------------------------------------------


def bought_only_by_change_order(quantity: int, amount: int) -> Snapshot:
    """Item ``b`` promised (10 for 1000) and bought by an approved change order alone."""
    snapshot = add(
        promised_not_bought(),
        "change_orders",
        approved("b", quantity_delta=Decimal(quantity), amount_delta=Decimal(amount)),
    )
    return amend(snapshot, "promises", 1, quantity=Decimal(10), quoted_amount=Decimal(1000))


def test_more_promised_than_a_change_order_bought_is_still_reported():
    finding = the_finding(bought_only_by_change_order(5, 1000), "promised-above-bought")
    assert finding.message == "b: 10 promised but only 5 bought."


def test_a_quote_different_from_what_a_change_order_bought_is_still_a_mismatch():
    finding = the_finding(bought_only_by_change_order(10, 500), "price-mismatch")
    assert finding.message == "b: quoted 1000 but bought for 500."


def test_an_item_fully_bought_by_a_change_order_is_clean():
    assert evaluate(bought_only_by_change_order(10, 1000), AS_OF) == ()


def decided_outside() -> Snapshot:
    return replace(
        clean(),
        outside_decisions=(
            OutsideDecision(
                decision="sign-off-delivery",
                what="sign off delivery on a promise",
                subject="promise:1",
                key_prefix="fw_abcdefgh",
                taken_at=at(2025, 3, 20),
            ),
        ),
    )


@fires("decided-outside-the-engagement")
def test_a_decision_taken_by_a_key_for_no_person_that_still_stands_is_a_warning():
    finding = the_finding(decided_outside(), "decided-outside-the-engagement")
    assert described(finding) == (
        "WARNING",
        None,
        ("decision:promise:1:sign-off-delivery",),
        "Decided outside the engagement: sign off delivery on a promise (promise:1) was done "
        "on 2025-03-20 by the key fw_abcdefgh, which acts for no person.",
    )


@resolves("decided-outside-the-engagement")
def test_a_decision_outside_the_engagement_resolves_once_it_no_longer_stands():
    assert evaluate(replace(decided_outside(), outside_decisions=()), AS_OF) == ()


def test_an_engagement_may_need_a_function_the_table_does_not_ask_for():
    snapshot = replace(
        without_function(clean(), "CUSTOMER_SERVICE"),
        required_functions=(("CUSTOMER_SERVICE", True),),
    )
    assert the_finding(snapshot, "function-unassigned").subject_ids == (
        "function:CUSTOMER_SERVICE",
    )


def test_an_engagement_may_do_without_a_function_the_table_asks_for():
    snapshot = replace(without_function(clean(), "LEGAL"), required_functions=(("LEGAL", False),))
    assert evaluate(snapshot, AS_OF) == ()


# -- the catalogue is covered -------------------------------------------------------------


def test_every_rule_in_the_catalogue_has_a_test_that_fires_it_and_one_that_resolves_it():
    catalogue = {spec.id for spec in CATALOGUE}
    assert set(FIRES) == catalogue
    assert set(RESOLVES) == catalogue


def test_a_rejected_change_order_does_not_cover_a_late_promise():
    change = ChangeOrder(90, "a", "REJECTED")
    snapshot = add(promised_after_signing(), "change_orders", change)
    assert rule_ids(snapshot) == ["promise-after-signing"]
