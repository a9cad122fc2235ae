"""Engagements called directly: open, change, evaluate, delete, and which ones criteria select."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from models import Alert, AuditEntry, Engagement, Event
from models.enums import AlertStatus, EngagementFunction, EngagementStatus, OrganizationKind
from services.alerts.evaluation import ENGAGEMENT_DELETED
from services.compensation.commission_plans import create_commission_plan, set_engagement_credits
from services.core.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from services.core.wire import to_global_id
from services.engagements.deals import approve_deal
from services.engagements.engagements import (
    EngagementCriteria,
    create_engagement,
    delete_engagement,
    engagements_matching,
    evaluate_engagement,
    functions_needed,
    update_engagement,
)
from services.engagements.promises import create_promise
from services.engagements.purchases import create_purchase
from services.parties.organizations import create_organization
from tests.services.scenarios import SIGNED, as_person, audit_actions, event_types, give_role, scene
from tests.support import dump_database


async def _promise(engagement_id: int, seller: int, item: str = "build") -> int:
    made = await create_promise(
        engagement_id=engagement_id,
        item=item,
        description="Promised",
        quantity=Decimal(1),
        made_by_id=seller,
    )
    return made.record.id


async def test_a_new_engagement_is_proposed_audited_and_announced(database_url):
    s = await scene()

    engagement = await Engagement.get(id=s.engagement)

    assert engagement.status == EngagementStatus.PROPOSED
    assert engagement.currency == "EUR"
    entry = await AuditEntry.get(action="engagement.created", target_id=s.engagement)
    assert entry.engagement_id == s.engagement
    assert entry.after is not None and entry.after["name"] == "ERP"
    assert entry.after["client"] == {"id": to_global_id("Organization", s.client)}
    created = await Event.get(engagement_id=s.engagement, type="engagement.created")
    assert created.sequence == 1
    assert json.loads(created.body)["data"]["object"]["status"] == "PROPOSED"


async def test_a_new_engagement_for_a_provider_is_refused_and_writes_nothing(database_url):
    s = await scene()
    before = await dump_database()

    with pytest.raises(Invalid) as refused:
        await create_engagement(name="Outsourcing", client_id=s.provider, currency="EUR")

    assert refused.value.errors == (FieldError("client_id", "must name a CLIENT organization"),)
    assert await dump_database() == before


async def test_a_new_engagement_names_every_bad_field_at_once(database_url):
    s = await scene()

    with pytest.raises(Invalid) as refused:
        await create_engagement(name="  ", client_id=s.client, currency="XYZ")

    assert {(e.field, e.message) for e in refused.value.errors} == {
        ("name", "must not be blank"),
        ("currency", "must be an ISO 4217 currency code such as 'EUR' or 'USD'"),
    }


async def test_a_new_engagement_for_a_missing_client_is_not_found(database_url):
    with pytest.raises(Invalid) as refused:
        await create_engagement(name="ERP", client_id=99999, currency="EUR")

    assert refused.value.errors == (
        FieldError("client_id", "No organization with this id.", ErrorCode.NOT_FOUND),
    )
    assert not await Engagement.all().exists()


async def test_a_new_engagement_cannot_start_sold(database_url):
    s = await scene()

    with pytest.raises(Conflict) as refused:
        await create_engagement(
            name="Shortcut", client_id=s.client, currency="EUR", status=EngagementStatus.SOLD
        )

    assert refused.value.errors[0].field == "status"
    assert refused.value.errors[0].code == ErrorCode.CONFLICT
    assert await Engagement.all().count() == 1


async def test_a_rename_records_the_changed_field_against_the_acting_person(database_url):
    s = await scene()

    with as_person(s.seller):
        changed = await update_engagement(id=s.engagement, name="ERP rollout")

    assert changed.record.name == "ERP rollout"
    entry = await AuditEntry.get(action="engagement.updated", target_id=s.engagement)
    assert entry.changed_fields == ["name"]
    assert entry.before is not None and entry.before["name"] == "ERP"
    assert entry.after is not None and entry.after["name"] == "ERP rollout"
    assert (entry.actor_kind, entry.actor_person_id, entry.actor_key_id) == ("API_KEY", s.seller, 7)
    assert (await event_types(s.engagement))[-1] == "engagement.updated"


async def test_an_unchanged_update_announces_nothing(database_url):
    s = await scene()
    before = await event_types(s.engagement)

    await update_engagement(id=s.engagement, name="ERP")

    assert await event_types(s.engagement) == before
    entry = await AuditEntry.get(action="engagement.updated")
    assert entry.changed_fields == []


async def test_updating_a_missing_engagement_is_not_found_on_its_id(database_url):
    with pytest.raises(NotFound) as refused:
        await update_engagement(id=4242, name="Ghost")

    assert refused.value.errors == (
        FieldError("id", "No engagement with this id.", ErrorCode.NOT_FOUND),
    )


async def test_status_only_moves_forward(database_url):
    s = await scene()
    await approve_deal(engagement_id=s.engagement, note="Approved by the test")
    await update_engagement(id=s.engagement, status=EngagementStatus.DELIVERING)
    before = await dump_database()

    with pytest.raises(Conflict) as refused:
        await update_engagement(id=s.engagement, status=EngagementStatus.SOLD)

    assert refused.value.errors[0].field == "status"
    assert refused.value.errors[0].message == (
        "The engagement is DELIVERING; its status only moves forward (next: SUPPORTING, CLOSED)."
    )
    assert await dump_database() == before


async def test_an_engagement_is_not_sold_before_its_deal_is_approved(database_url):
    s = await scene()
    await give_role(s.engagement, s.lead, EngagementFunction.ENGAGEMENT_MANAGEMENT)

    with pytest.raises(Conflict) as refused:
        await update_engagement(id=s.engagement, status=EngagementStatus.SOLD)

    assert refused.value.errors[0].field == "status"
    assert "needs approveDeal by Dee Lead (AUTHORITY: 1 of 1)" in refused.value.errors[0].message
    assert (await Engagement.get(id=s.engagement)).status == EngagementStatus.PROPOSED


async def test_the_currency_changes_only_while_no_money_is_recorded(database_url):
    s = await scene()
    await update_engagement(id=s.engagement, currency="usd")
    assert (await Engagement.get(id=s.engagement)).currency == "USD"
    await create_purchase(
        engagement_id=s.engagement,
        item="build",
        description="Bought",
        quantity=Decimal(1),
        amount=Decimal(100),
    )

    with pytest.raises(Conflict) as refused:
        await update_engagement(id=s.engagement, currency="EUR", name="Renamed")

    assert refused.value.errors[0].field == "currency"
    assert "already has amounts recorded in USD" in refused.value.errors[0].message
    stored = await Engagement.get(id=s.engagement)
    assert (stored.currency, stored.name) == ("USD", "ERP")


async def test_threshold_overrides_merge_and_a_null_drops_one(database_url):
    s = await scene()
    await update_engagement(
        id=s.engagement, thresholds={"grace_days": 7, "cost_tolerance_pct": Decimal("0.05")}
    )
    await update_engagement(id=s.engagement, thresholds={"grace_days": None, "acceptance_days": 3})

    stored = await Engagement.get(id=s.engagement)
    assert stored.thresholds == {"cost_tolerance_pct": "0.05", "acceptance_days": "3"}

    await update_engagement(id=s.engagement, thresholds=None)
    assert (await Engagement.get(id=s.engagement)).thresholds == {}


async def test_an_unknown_threshold_is_refused(database_url):
    s = await scene()

    with pytest.raises(Invalid) as refused:
        await update_engagement(id=s.engagement, thresholds={"patience_days": 3})

    assert refused.value.errors == (
        FieldError("thresholds", "has no threshold named patience_days"),
    )


async def test_functions_needed_follow_the_table_and_the_engagements_own_answers(database_url):
    s = await scene()
    await update_engagement(id=s.engagement, required_functions={"legal": False, "QUALITY": True})

    needs = {n.function: n for n in await functions_needed(await Engagement.get(id=s.engagement))}

    assert needs[EngagementFunction.SALES].required and needs[EngagementFunction.SALES].by_default
    legal = needs[EngagementFunction.LEGAL]
    assert (legal.required, legal.by_default, legal.overridden) == (False, True, True)
    quality = needs[EngagementFunction.QUALITY]
    assert (quality.required, quality.by_default, quality.overridden) == (True, False, True)
    assert not needs[EngagementFunction.SPONSOR].required


async def test_evaluating_records_the_alerts_it_opened(database_url):
    s = await scene()
    await _promise(s.engagement, s.seller)
    await Alert.all().delete()

    evaluated = await evaluate_engagement(id=s.engagement)

    opened = {a.rule_id for a in evaluated.alerts.opened}
    assert "overselling" in opened
    entry = await AuditEntry.filter(action="engagement.evaluated").order_by("-id").first()
    assert entry is not None and entry.after is not None
    assert len(entry.after["alertsOpened"]) == len(evaluated.alerts.opened)
    assert entry.after["alertsResolved"] == []


async def test_deleting_resolves_its_live_alerts_and_announces_them_first(database_url):
    s = await scene()
    await _promise(s.engagement, s.seller)
    live = await Alert.filter(engagement_id=s.engagement, status=AlertStatus.OPEN).count()
    assert live > 0
    seen = len(await event_types(s.engagement))

    await delete_engagement(id=s.engagement)

    assert not await Engagement.filter(id=s.engagement).exists()
    written = (await event_types(s.engagement))[seen:]
    assert written == ["alert.resolved"] * live + ["engagement.deleted"]
    assert await audit_actions(action="engagement.deleted") == ["engagement.deleted"]
    last = await Event.filter(engagement_id=s.engagement, type="alert.resolved").first()
    assert last is not None
    assert ENGAGEMENT_DELETED in last.body


async def test_an_engagement_that_paid_someone_is_not_deleted(database_url):
    s = await scene()
    await create_commission_plan(
        name="Standard",
        rate_on_margin=Decimal("0.10"),
        margin_floor_pct=Decimal("0.20"),
        is_default=True,
    )
    await give_role(s.engagement, s.seller, EngagementFunction.SALES)
    await set_engagement_credits(
        engagement_id=s.engagement, credits=[{"person_id": s.seller, "split_pct": Decimal(1)}]
    )
    await create_purchase(
        engagement_id=s.engagement,
        item="build",
        description="Bought",
        quantity=Decimal(1),
        amount=Decimal(1000),
        estimated_cost=Decimal(500),
        signed_at=SIGNED,
    )
    await approve_deal(engagement_id=s.engagement, note="Approved by the test")
    before = await dump_database()

    with pytest.raises(Conflict) as refused:
        await delete_engagement(id=s.engagement)

    assert refused.value.errors[0].field == "id"
    assert "close the engagement instead" in refused.value.errors[0].message
    assert await dump_database() == before


async def test_criteria_select_by_status_client_seller_item_and_name(database_url):
    s = await scene()
    other_client = await create_organization(name="Initech", kind=OrganizationKind.CLIENT)
    crm = (
        await create_engagement(name="CRM Rollout", client_id=other_client.id, currency="EUR")
    ).record.id
    await _promise(crm, s.seller, item="gateway")
    await approve_deal(engagement_id=crm, note="Approved by the test")

    async def names(**criteria: object) -> list[str]:
        query = engagements_matching(EngagementCriteria(**criteria))  # type: ignore[arg-type]
        return [e.name for e in await query.order_by("id")]

    assert await names() == ["ERP", "CRM Rollout"]
    assert await names(status=(EngagementStatus.SOLD,)) == ["CRM Rollout"]
    assert await names(client_id=s.client) == ["ERP"]
    assert await names(salesperson_id=s.seller) == ["CRM Rollout"]
    assert await names(item="gateway") == ["CRM Rollout"]
    assert await names(search="rollout", client_id=s.client) == []
    assert await names(search="rollout") == ["CRM Rollout"]
