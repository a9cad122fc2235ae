"""The decision table and its check, called directly: who may decide what on an engagement,
what a refusal names, and what a decision taken leaves on record."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import DecisionTaken, Engagement, Promise
from models.enums import EngagementFunction, EngagementStatus, Raci
from services.compensation.commission_plans import set_engagement_credits
from services.core.audit import COMMAND, acting_as
from services.core.errors import ErrorCode
from services.engagements.deals import approve_deal
from services.engagements.decisions import (
    TABLE,
    Decision,
    Refused,
    Standing,
    check,
    outside_decisions,
    qualifying_function,
    refusal,
    standing,
)
from services.engagements.promises import create_promise
from tests.services.scenarios import SIGNED, Scene, as_person, give_role, scene
from tests.support import dump_database

F = EngagementFunction


def _standing(*holds: tuple[F, Raci], of_client: bool = False, credited: bool = False) -> Standing:
    return Standing(
        person_id=1, name="Pat", of_client=of_client, holds=frozenset(holds), credited=credited
    )


def test_the_table_says_who_may_approve_a_deal():
    approve = Decision.APPROVE_DEAL
    assert refusal(approve, _standing((F.SPONSOR, Raci.ACCOUNTABLE))) is None
    assert refusal(approve, _standing((F.ENGAGEMENT_MANAGEMENT, Raci.RESPONSIBLE))) is None
    consulted = refusal(approve, _standing((F.SPONSOR, Raci.CONSULTED)))
    assert consulted is not None and consulted[0] is ErrorCode.FORBIDDEN
    assert consulted[1] == (
        "Pat may not approve the deal (move the engagement to SOLD) on this engagement: "
        "that takes ENGAGEMENT_MANAGEMENT or SPONSOR (ACCOUNTABLE or RESPONSIBLE) "
        "(decision rule approve-deal)."
    )


def test_a_person_credited_on_the_sale_never_decides_on_it():
    credited = _standing((F.ENGAGEMENT_MANAGEMENT, Raci.ACCOUNTABLE), credited=True)

    why = refusal(Decision.APPROVE_DEAL, credited)

    assert why is not None and why[0] is ErrorCode.CONFLICT_OF_INTEREST
    assert "credited on this sale" in why[1]
    # Being credited is itself no conflict.
    assert (
        refusal(Decision.BE_CREDITED, _standing((F.SALES, Raci.RESPONSIBLE), credited=True)) is None
    )


def test_the_client_accepts_deliverables_and_its_sponsor_approves_change_orders():
    client_person = _standing(of_client=True)
    assert refusal(Decision.ACCEPT_DELIVERABLE, client_person) is None
    assert refusal(Decision.APPROVE_CHANGE_ORDER, client_person) is not None
    client_sponsor = _standing((F.SPONSOR, Raci.INFORMED), of_client=True)
    assert qualifying_function(TABLE[Decision.APPROVE_CHANGE_ORDER], client_sponsor) == F.SPONSOR
    provider_sponsor = _standing((F.SPONSOR, Raci.ACCOUNTABLE))
    assert refusal(Decision.APPROVE_CHANGE_ORDER, provider_sponsor) is not None


async def test_standing_reads_roles_credits_and_side_from_the_database(database_url):
    s = await scene()
    await give_role(s.engagement, s.seller, F.SALES, Raci.ACCOUNTABLE)
    await give_role(s.engagement, s.client_person, F.SPONSOR, Raci.ACCOUNTABLE)
    await set_engagement_credits(
        engagement_id=s.engagement, credits=[{"person_id": s.seller, "split_pct": Decimal(1)}]
    )
    engagement = await Engagement.get(id=s.engagement)

    seller = await standing(engagement, s.seller)
    client = await standing(engagement, s.client_person, subject_pays=[s.client_person])

    assert (seller.name, seller.of_client, seller.credited) == ("Sam Seller", False, True)
    assert seller.holds == frozenset({(F.SALES, Raci.ACCOUNTABLE)})
    assert (client.of_client, client.credited, client.paid_from_subject) == (True, False, True)


async def _check(s: Scene, decision: Decision, **options: object) -> object:
    engagement = await Engagement.get(id=s.engagement)
    return await check(decision, engagement=engagement, field="id", **options)  # type: ignore[arg-type]


async def test_the_service_itself_is_not_checked_but_a_key_without_a_person_is(database_url):
    s = await scene()

    with acting_as(COMMAND):
        decided = await _check(s, Decision.APPROVE_DEAL)
    assert decided.outside is False and decided.person_id is None  # type: ignore[attr-defined]

    with as_person(None, role="SALES"), pytest.raises(Refused) as refused:
        await _check(s, Decision.APPROVE_DEAL)
    [error] = refused.value.errors
    assert (error.field, error.code) == ("id", ErrorCode.FORBIDDEN)
    assert "This key acts for no person" in error.message

    with as_person(None, role="ADMIN", key_id=11):
        admin = await _check(s, Decision.APPROVE_DEAL)
    assert (admin.outside, admin.key_id, admin.key_prefix) == (True, 11, "fw_test")  # type: ignore[attr-defined]


async def test_a_named_person_credited_on_the_sale_is_refused_on_their_own_field(database_url):
    s = await scene()
    await give_role(s.engagement, s.seller, F.SALES)
    await give_role(s.engagement, s.lead, F.DELIVERY)
    await set_engagement_credits(
        engagement_id=s.engagement, credits=[{"person_id": s.seller, "split_pct": Decimal(1)}]
    )
    before = await dump_database()

    with as_person(s.lead), pytest.raises(Refused) as refused:
        await create_promise(
            engagement_id=s.engagement,
            item="build",
            description="Build it",
            quantity=Decimal(1),
            made_by_id=s.seller,
            delivery_signoff_by_id=s.seller,
            delivery_signoff_at=SIGNED,
        )

    [error] = refused.value.errors
    assert (error.field, error.code) == (
        "delivery_signoff_by_id",
        ErrorCode.CONFLICT_OF_INTEREST,
    )
    assert await dump_database() == before


async def test_a_sign_off_by_someone_from_delivery_is_a_decision_on_record(database_url):
    s = await scene()
    await give_role(s.engagement, s.lead, F.PROJECT_MANAGEMENT)

    with as_person(s.lead):
        made = await create_promise(
            engagement_id=s.engagement,
            item="build",
            description="Build it",
            quantity=Decimal(1),
            made_by_id=s.seller,
            delivery_signoff_by_id=s.lead,
            delivery_signoff_at=SIGNED,
        )

    taken = await DecisionTaken.get(subject_type="Promise", subject_id=made.record.id)
    assert (taken.decision, taken.person_id, taken.function, taken.outside) == (
        "sign-off-delivery",
        s.lead,
        F.PROJECT_MANAGEMENT,
        False,
    )
    assert await Promise.filter(delivery_signoff_by_id=s.lead).count() == 1


async def test_a_decision_taken_outside_the_engagement_stands_until_undone(database_url):
    s = await scene()

    with as_person(None, role="ADMIN", key_id=11):
        await approve_deal(engagement_id=s.engagement, note="Signed by the board")

    [standing_decision] = await outside_decisions(await Engagement.get(id=s.engagement))
    assert standing_decision.decision == "approve-deal"
    assert standing_decision.subject == f"engagement:{s.engagement}"
    assert standing_decision.key_prefix == "fw_test"
    assert (await Engagement.get(id=s.engagement)).status == EngagementStatus.SOLD


async def test_a_decision_by_a_person_in_their_function_is_not_outside(database_url):
    s = await scene()
    await give_role(s.engagement, s.lead, F.ENGAGEMENT_MANAGEMENT, Raci.ACCOUNTABLE)

    with as_person(s.lead):
        await approve_deal(engagement_id=s.engagement)

    assert await outside_decisions(await Engagement.get(id=s.engagement)) == ()
    taken = await DecisionTaken.get(engagement_id=s.engagement)
    assert (taken.person_id, taken.function, taken.outside) == (
        s.lead,
        F.ENGAGEMENT_MANAGEMENT,
        False,
    )
