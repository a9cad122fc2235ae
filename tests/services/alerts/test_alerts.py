"""Alerts called directly: acknowledging and waiving, the decision a held alert takes, and
which alerts criteria select."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models import Alert, AuditEntry, DecisionTaken, Event
from models.enums import AlertStatus, EngagementFunction, Severity
from services.alerts.alerts import AlertCriteria, acknowledge_alert, alerts_matching, waive_alert
from services.compensation.commission_plans import create_commission_plan, set_engagement_credits
from services.core.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from services.engagements.decisions import Refused
from services.engagements.promises import create_promise
from tests.services.scenarios import Scene, as_person, give_role, scene
from tests.support import dump_database


async def _overselling(s: Scene, item: str = "build") -> Alert:
    """A promise no need asks for opens an ``overselling`` alert (WARNING)."""
    await create_promise(
        engagement_id=s.engagement,
        item=item,
        description="Promised",
        quantity=Decimal(1),
        made_by_id=s.seller,
    )
    return await Alert.get(engagement_id=s.engagement, rule_id="overselling", item=item)


async def _holding(s: Scene) -> Alert:
    """An overselling alert that holds the seller's pay: the seller is credited on the sale
    and the default plan holds pay while an overselling alert is live."""
    await create_commission_plan(
        name="Strict",
        rate_on_margin=Decimal("0.10"),
        margin_floor_pct=Decimal("0.20"),
        hold_rules=["overselling"],
        hold_severities=[Severity.WARNING],
        is_default=True,
    )
    await give_role(s.engagement, s.seller, EngagementFunction.SALES)
    await set_engagement_credits(
        engagement_id=s.engagement, credits=[{"person_id": s.seller, "split_pct": Decimal(1)}]
    )
    return await _overselling(s)


async def test_acknowledging_keeps_the_alert_live_with_the_comment_and_announces_it(
    database_url,
):
    s = await scene()
    alert = await _overselling(s)

    with as_person(s.lead):
        acknowledged = await acknowledge_alert(id=alert.id, comment="Asking the client")

    stored = await Alert.get(id=alert.id)
    assert stored.status == AlertStatus.ACKNOWLEDGED == acknowledged.status
    assert stored.comment == "Asking the client"
    assert stored.acknowledged_at is not None
    event = await Event.filter(engagement_id=s.engagement).order_by("-id").first()
    assert event is not None and event.type == "alert.acknowledged"
    assert json.loads(event.body)["data"]["object"]["status"] == "ACKNOWLEDGED"
    entry = await AuditEntry.get(action="alert.acknowledged", target_id=alert.id)
    assert entry.changed_fields == ["acknowledgedAt", "comment", "status"]
    assert entry.actor_person_id == s.lead
    assert entry.decision is None  # it holds nobody's pay: no decision was taken


async def test_waiving_closes_the_alert_with_its_reason(database_url):
    s = await scene()
    alert = await _overselling(s)

    waived = await waive_alert(id=alert.id, reason="Sold as a gift")

    assert waived.status == AlertStatus.WAIVED
    stored = await Alert.get(id=alert.id)
    assert (stored.status, stored.waiver_reason) == (AlertStatus.WAIVED, "Sold as a gift")
    assert stored.waived_at is not None
    assert await Event.filter(type="alert.waived", engagement_id=s.engagement).count() == 1


async def test_a_closed_alert_cannot_be_moved_again_and_nothing_is_written(database_url):
    s = await scene()
    alert = await _overselling(s)
    await waive_alert(id=alert.id, reason="Sold as a gift")
    before = await dump_database()

    with pytest.raises(Conflict) as refused:
        await acknowledge_alert(id=alert.id, comment="Too late")

    assert refused.value.errors == (
        FieldError(
            "id",
            "The alert is WAIVED: only a live alert can be acknowledged.",
            ErrorCode.CONFLICT,
        ),
    )
    assert await dump_database() == before


async def test_a_blank_reason_and_a_missing_alert_are_refused_on_their_fields(database_url):
    s = await scene()
    alert = await _overselling(s)

    with pytest.raises(Invalid) as blank:
        await waive_alert(id=alert.id, reason="   ")
    with pytest.raises(NotFound) as missing:
        await acknowledge_alert(id=99999, comment="Seen")

    assert blank.value.errors == (FieldError("reason", "must not be blank"),)
    assert missing.value.errors == (
        FieldError("id", "No alert with this id.", ErrorCode.NOT_FOUND),
    )
    assert (await Alert.get(id=alert.id)).status == AlertStatus.OPEN


async def test_the_seller_may_not_waive_an_alert_that_holds_their_own_pay(database_url):
    s = await scene()
    alert = await _holding(s)
    before = await dump_database()

    with as_person(s.seller), pytest.raises(Refused) as refused:
        await waive_alert(id=alert.id, reason="Not my fault")

    [error] = refused.value.errors
    assert (error.field, error.code) == ("id", ErrorCode.CONFLICT_OF_INTEREST)
    assert "Sam Seller is whose pay this alert holds" in error.message
    assert await dump_database() == before


async def test_only_finance_or_engagement_management_waive_an_alert_that_holds_pay(database_url):
    s = await scene()
    alert = await _holding(s)
    await give_role(s.engagement, s.lead, EngagementFunction.DELIVERY)

    with as_person(s.lead), pytest.raises(Refused) as refused:
        await waive_alert(id=alert.id, reason="Delivery says fine")

    [error] = refused.value.errors
    assert error.code == ErrorCode.FORBIDDEN
    assert "that takes ENGAGEMENT_MANAGEMENT or FINANCE" in error.message
    assert (await Alert.get(id=alert.id)).status == AlertStatus.OPEN
    assert not await DecisionTaken.all().exists()


async def test_waiving_an_alert_that_holds_pay_is_a_decision_on_record(database_url):
    s = await scene()
    alert = await _holding(s)
    await give_role(s.engagement, s.lead, EngagementFunction.FINANCE)

    with as_person(s.lead):
        await waive_alert(id=alert.id, reason="Finance accepts the risk")

    taken = await DecisionTaken.get(subject_type="Alert", subject_id=alert.id)
    assert (taken.decision, taken.person_id, taken.function) == (
        "waive-holding-alert",
        s.lead,
        EngagementFunction.FINANCE,
    )
    entry = await AuditEntry.get(action="alert.waived", target_id=alert.id)
    assert (entry.decision, entry.actor_function, entry.actor_person_id) == (
        "waive-holding-alert",
        "FINANCE",
        s.lead,
    )


async def test_criteria_select_alerts_by_engagement_rule_item_status_and_time(database_url):
    s = await scene()
    first = await _overselling(s, "build")
    second = await _overselling(s, "train")
    await waive_alert(id=second.id, reason="Gift")
    opened = (await Alert.get(id=first.id)).opened_at

    async def ids(**criteria: object) -> list[int]:
        query = alerts_matching(AlertCriteria(**criteria))  # type: ignore[arg-type]
        return [a.id for a in await query.filter(rule_id="overselling").order_by("id")]

    assert await ids(engagement_id=s.engagement) == [first.id, second.id]
    assert await ids(engagement_id=s.engagement + 1) == []
    assert await ids(item="train") == [second.id]
    assert await ids(status=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)) == [first.id]
    assert await ids(severity=(Severity.CRITICAL,)) == []
    assert await ids(severity=(Severity.WARNING,), rule_id="overselling") == [first.id, second.id]
    assert await ids(opened_after=opened + timedelta(days=1)) == []
    assert await ids(opened_before=opened) == []
    assert await ids(opened_before=datetime.now(UTC) + timedelta(days=1)) == [first.id, second.id]
