"""Change orders called directly: proposing one, approving it as a decision, and how an
approved one moves the baseline the sale is paid on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import AuditEntry, ChangeOrder, CompensationSignal, DecisionTaken
from models.enums import ChangeOrderStatus, EngagementFunction, Raci, SignalKind
from services.core.errors import ErrorCode, FieldError, Invalid, NotFound
from services.engagements.change_orders import (
    create_change_order,
    delete_change_order,
    update_change_order,
)
from services.engagements.deals import approve_deal
from services.engagements.decisions import Refused
from tests.services.scenarios import SIGNED, Scene, as_person, give_role, sale, scene
from tests.support import dump_database


async def _proposed(s: Scene, **values: object) -> int:
    made = await create_change_order(
        engagement_id=s.engagement, item="build", description="More reports", **values
    )
    return made.record.id


async def test_a_change_order_starts_proposed_with_no_change(database_url):
    s = await scene()

    order = await ChangeOrder.get(id=await _proposed(s))

    assert order.status == ChangeOrderStatus.PROPOSED
    assert (order.quantity_delta, order.amount_delta, order.cost_delta) == (0, 0, 0)
    entry = await AuditEntry.get(action="change_order.created")
    assert (entry.decision, entry.engagement_id) == (None, s.engagement)


async def test_deltas_may_be_negative_but_no_finer_than_the_currency(database_url):
    s = await scene(currency="JPY")
    made = await _proposed(s, quantity_delta=Decimal("-2"), amount_delta=Decimal("-5000"))
    assert (await ChangeOrder.get(id=made)).amount_delta == Decimal(-5000)
    before = await dump_database()

    with pytest.raises(Invalid) as refused:
        await _proposed(s, cost_delta=Decimal("-0.5"))

    assert refused.value.errors == (
        FieldError("cost_delta", "must have at most 0 digits after the decimal point in JPY"),
    )
    assert await dump_database() == before


async def test_an_approved_change_order_names_its_approver(database_url):
    s = await scene()
    before = await dump_database()

    with pytest.raises(Invalid) as refused:
        await _proposed(s, status=ChangeOrderStatus.APPROVED)

    assert refused.value.errors == (
        FieldError("approved_by_id", "is required when the status is APPROVED"),
    )
    assert await dump_database() == before


async def test_the_clients_sponsor_approves_and_the_decision_is_on_record(database_url):
    s = await scene()
    await give_role(s.engagement, s.client_person, EngagementFunction.SPONSOR, Raci.ACCOUNTABLE)
    order_id = await _proposed(s, amount_delta=Decimal(1000))

    with as_person(s.client_person):
        await update_change_order(
            id=order_id,
            status=ChangeOrderStatus.APPROVED,
            approved_by_id=s.client_person,
            approved_at=SIGNED,
        )

    taken = await DecisionTaken.get(subject_type="ChangeOrder", subject_id=order_id)
    assert (taken.decision, taken.person_id, taken.function) == (
        "approve-change-order",
        s.client_person,
        EngagementFunction.SPONSOR,
    )
    entry = await AuditEntry.get(action="change_order.updated")
    assert (entry.decision, entry.actor_function) == ("approve-change-order", "SPONSOR")
    assert entry.changed_fields == ["approvedAt", "approvedBy", "status"]


async def test_someone_outside_the_table_may_not_approve_and_nothing_is_written(database_url):
    s = await scene()
    await give_role(s.engagement, s.lead, EngagementFunction.DELIVERY)
    order_id = await _proposed(s, amount_delta=Decimal(1000))
    before = await dump_database()

    with as_person(s.lead), pytest.raises(Refused) as refused:
        await update_change_order(
            id=order_id, status=ChangeOrderStatus.APPROVED, approved_by_id=s.lead
        )

    [error] = refused.value.errors
    assert (error.field, error.code) == ("approved_by_id", ErrorCode.FORBIDDEN)
    assert "may not approve a change order" in error.message
    assert await dump_database() == before


async def test_changing_an_approved_orders_deltas_is_approving_it_again(database_url):
    s = await scene()
    await give_role(s.engagement, s.lead, EngagementFunction.ENGAGEMENT_MANAGEMENT)
    await give_role(s.engagement, s.client_person, EngagementFunction.DELIVERY)
    with as_person(s.lead):
        order_id = await _proposed(
            s, status=ChangeOrderStatus.APPROVED, approved_by_id=s.lead, approved_at=SIGNED
        )

    with as_person(s.client_person), pytest.raises(Refused):
        await update_change_order(id=order_id, amount_delta=Decimal(99999))
    with as_person(s.client_person):
        await update_change_order(id=order_id, description="More reports, monthly")

    stored = await ChangeOrder.get(id=order_id)
    assert (stored.amount_delta, stored.description) == (0, "More reports, monthly")
    assert await DecisionTaken.filter(subject_id=order_id).count() == 1


async def test_an_approved_change_order_moves_what_the_sale_books(database_url):
    s = await scene()
    await sale(s)
    await approve_deal(engagement_id=s.engagement, note="Approved by the test")
    await give_role(s.engagement, s.lead, EngagementFunction.ENGAGEMENT_MANAGEMENT)
    order_id = await _proposed(s, amount_delta=Decimal(10000), cost_delta=Decimal(5000))
    assert await CompensationSignal.all().count() == 1  # proposed: no change yet

    with as_person(s.lead):
        await update_change_order(
            id=order_id, status=ChangeOrderStatus.APPROVED, approved_by_id=s.lead
        )

    latest = await CompensationSignal.all().order_by("-id").first()
    assert latest is not None
    assert (latest.kind, latest.amount, latest.revenue, latest.cost) == (
        SignalKind.BOOKED,
        Decimal(500),
        Decimal(110000),
        Decimal(65000),
    )


async def test_a_change_order_stays_on_its_engagement_and_a_missing_one_is_not_found(
    database_url,
):
    s = await scene()
    order_id = await _proposed(s)

    with pytest.raises(Invalid) as moved:
        await update_change_order(id=order_id, engagement_id=s.engagement + 1)
    with pytest.raises(NotFound) as missing:
        await delete_change_order(id=99999)

    assert moved.value.errors[0].field == "engagement_id"
    assert missing.value.errors == (
        FieldError("id", "No change order with this id.", ErrorCode.NOT_FOUND),
    )
    await delete_change_order(id=order_id)
    assert not await ChangeOrder.all().exists()
    assert await AuditEntry.filter(action="change_order.deleted").count() == 1
