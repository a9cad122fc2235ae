"""Deal approval called directly: whose approvals each decision model waits for, and the
approval that moves an engagement to SOLD."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from models import AuditEntry, DealApproval, Engagement, Event
from models.enums import DecisionModel, EngagementFunction, EngagementStatus, Raci
from services.core.errors import Conflict, ErrorCode, FieldError, Invalid
from services.core.wire import to_global_id
from services.engagements.deals import approve_deal, deal_state, state_of
from services.engagements.engagements import update_engagement
from services.parties.people import create_person
from tests.services.scenarios import Scene, as_person, give_role, scene
from tests.support import dump_database

F = EngagementFunction
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _approval(person_id: int | None, minutes: int) -> DealApproval:
    """An approval as the state reads it (unsaved: the ORM needs its models loaded)."""
    return DealApproval(person_id=person_id, approved_at=T0 + timedelta(minutes=minutes))


async def test_each_model_waits_for_its_share_of_the_accountable_deciders(database_url):
    holders = [
        (1, F.ENGAGEMENT_MANAGEMENT, Raci.ACCOUNTABLE),
        (2, F.SPONSOR, Raci.ACCOUNTABLE),
        (3, F.SPONSOR, Raci.ACCOUNTABLE),
        (4, F.SPONSOR, Raci.RESPONSIBLE),  # not counted while someone is ACCOUNTABLE
        (5, F.DELIVERY, Raci.ACCOUNTABLE),  # not a deciding function
    ]
    approvals = [_approval(1, 1), _approval(3, 2)]

    authority = deal_state(DecisionModel.AUTHORITY, holders, approvals)
    majority = deal_state(DecisionModel.MAJORITY, holders, approvals)
    consensus = deal_state(DecisionModel.CONSENSUS, holders, approvals)

    assert authority.required == (1, 2, 3)
    assert (authority.needed, authority.decided_at) == (1, T0 + timedelta(minutes=1))
    assert (majority.needed, majority.decided_at) == (2, T0 + timedelta(minutes=2))
    assert (consensus.needed, consensus.decided_at, consensus.pending) == (3, None, (2,))


async def test_people_credited_on_the_sale_are_not_waited_for(database_url):
    holders = [
        (1, F.ENGAGEMENT_MANAGEMENT, Raci.RESPONSIBLE),
        (2, F.SPONSOR, Raci.RESPONSIBLE),
    ]

    state = deal_state(DecisionModel.CONSENSUS, holders, [_approval(2, 0)], frozenset({1}))

    assert state.required == (2,)
    assert state.decided_at == T0


async def test_an_approval_by_no_person_decides_alone(database_url):
    holders = [(1, F.SPONSOR, Raci.ACCOUNTABLE), (2, F.SPONSOR, Raci.ACCOUNTABLE)]

    state = deal_state(DecisionModel.CONSENSUS, holders, [_approval(None, 5)])

    assert (state.decided_at, state.pending) == (T0 + timedelta(minutes=5), ())


async def _deciders(s: Scene) -> int:
    """The lead (ENGAGEMENT_MANAGEMENT) and the client's person (SPONSOR) decide, both
    ACCOUNTABLE; a third, Tia, is SPONSOR too. Returns Tia's id."""
    tia = await create_person(
        name="Tia Treasurer", email="tia@acme.example", organization_id=s.client
    )
    await give_role(s.engagement, s.lead, F.ENGAGEMENT_MANAGEMENT, Raci.ACCOUNTABLE)
    await give_role(s.engagement, s.client_person, F.SPONSOR, Raci.ACCOUNTABLE)
    await give_role(s.engagement, tia.id, F.SPONSOR, Raci.ACCOUNTABLE)
    return tia.id


async def test_the_approval_that_completes_consensus_sells_the_engagement(database_url):
    s = await scene()
    tia = await _deciders(s)
    await update_engagement(id=s.engagement, decision_model=DecisionModel.CONSENSUS)

    for person in (s.lead, s.client_person):
        with as_person(person):
            partial = await approve_deal(engagement_id=s.engagement)
        assert partial.record.status == EngagementStatus.PROPOSED
    state = await state_of(s.engagement, DecisionModel.CONSENSUS)
    assert (state.needed, state.pending) == (3, (tia,))
    seen = await Event.filter(engagement_id=s.engagement).count()

    with as_person(tia):
        done = await approve_deal(engagement_id=s.engagement, note="Budget is there")

    assert done.record.status == EngagementStatus.SOLD
    written = await Event.filter(engagement_id=s.engagement).order_by("id").offset(seen)
    types = [e.type for e in written]
    assert types[:2] == ["engagement.updated", "engagement.status_changed"]
    assert types[-1] == "engagement.deal_approved"
    entry = await AuditEntry.filter(action="engagement.deal_approved").order_by("-id").first()
    assert entry is not None and entry.after is not None
    assert entry.after["approval"]["person"] == {"id": to_global_id("Person", tia)}
    assert entry.after["approval"]["note"] == "Budget is there"
    assert entry.after["approval"]["function"] == "SPONSOR"
    assert (entry.decision, entry.actor_function, entry.actor_person_id) == (
        "approve-deal",
        "SPONSOR",
        tia,
    )
    assert entry.changed_fields == ["approval", "status"]
    status_changed = json.loads(written[1].body)["data"]
    assert status_changed["previous_attributes"] == {"status": "PROPOSED"}


async def test_a_majority_sells_with_two_of_three(database_url):
    s = await scene()
    await _deciders(s)
    await update_engagement(id=s.engagement, decision_model=DecisionModel.MAJORITY)

    with as_person(s.client_person):
        first = await approve_deal(engagement_id=s.engagement)
    with as_person(s.lead):
        second = await approve_deal(engagement_id=s.engagement)

    assert (first.record.status, second.record.status) == (
        EngagementStatus.PROPOSED,
        EngagementStatus.SOLD,
    )


async def test_a_person_approves_once(database_url):
    s = await scene()
    await _deciders(s)
    await update_engagement(id=s.engagement, decision_model=DecisionModel.CONSENSUS)
    with as_person(s.lead):
        await approve_deal(engagement_id=s.engagement)
    before = await dump_database()

    with as_person(s.lead), pytest.raises(Conflict) as refused:
        await approve_deal(engagement_id=s.engagement)

    assert refused.value.errors == (
        FieldError(
            "engagement_id", "This person has approved the deal already.", ErrorCode.CONFLICT
        ),
    )
    assert await dump_database() == before


async def test_a_decided_deal_is_not_approved_again(database_url):
    s = await scene()
    await approve_deal(engagement_id=s.engagement, note="Approved by the test")

    with pytest.raises(Conflict) as refused:
        await approve_deal(engagement_id=s.engagement, note="Again")

    assert refused.value.errors[0].field == "engagement_id"
    assert refused.value.errors[0].message == (
        "The engagement is SOLD: its deal was decided already."
    )
    assert await DealApproval.filter(engagement_id=s.engagement).count() == 1


async def test_an_admin_key_for_no_person_approves_only_with_a_note(database_url):
    s = await scene()
    before = await dump_database()

    with as_person(None, role="ADMIN"), pytest.raises(Invalid) as refused:
        await approve_deal(engagement_id=s.engagement, note="  ")

    assert refused.value.errors == (FieldError("note", "must not be blank"),)
    with as_person(None, role="ADMIN"), pytest.raises(Invalid) as missing:
        await approve_deal(engagement_id=s.engagement)
    assert missing.value.errors == (
        FieldError("note", "is required when a key tied to no person approves a deal"),
    )
    assert await dump_database() == before
    assert (await Engagement.get(id=s.engagement)).status == EngagementStatus.PROPOSED
