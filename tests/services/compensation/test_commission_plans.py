"""Commission plans, plan assignments and sale credits, called directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models import (
    AuditEntry,
    CommissionPlan,
    CommissionPlanVersion,
    CompensationSignal,
    Credit,
    PlanAssignment,
)
from models.enums import EngagementFunction, Raci
from services.compensation.commission_plans import (
    DEFAULT_HOLD_RULES,
    assign_commission_plan,
    create_commission_plan,
    delete_commission_plan,
    set_engagement_credits,
    update_commission_plan,
)
from services.compensation.plan_versions import plan_for, version_for
from services.core.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from services.core.wire import to_global_id
from services.engagements.deals import approve_deal
from services.engagements.decisions import Refused
from tests.services.scenarios import give_role, sale, scene
from tests.support import dump_database


async def _plan(name: str, rate: str = "0.10", **optional: object) -> CommissionPlan:
    return await create_commission_plan(
        name=name, rate_on_margin=Decimal(rate), margin_floor_pct=Decimal("0.20"), **optional
    )


async def test_a_new_plan_takes_the_default_terms_and_its_first_version(database_url):
    plan = await _plan("Standard")

    assert plan.hold_rules == sorted(DEFAULT_HOLD_RULES)
    assert (plan.hold_severities, plan.reducing_attributions, plan.clawback_window_days) == (
        ["CRITICAL"],
        ["SALES_UNDERESTIMATE"],
        365,
    )
    [version] = await CommissionPlanVersion.filter(plan_id=plan.id)
    assert (version.version, version.rate_on_margin, version.hold_rules) == (
        1,
        Decimal("0.10"),
        sorted(DEFAULT_HOLD_RULES),
    )
    entry = await AuditEntry.get(action="commission_plan.created")
    assert entry.after is not None and entry.after["rateOnMargin"] == "0.10"


async def test_a_plan_with_bad_terms_names_each_and_writes_nothing(database_url):
    with pytest.raises(Invalid) as refused:
        await create_commission_plan(
            name="Greedy",
            rate_on_margin=Decimal("1.5"),
            margin_floor_pct=Decimal("0.20"),
            hold_rules=["free-work", "bad-vibes"],
            clawback_window_days=5000,
        )

    assert {(e.field, e.message) for e in refused.value.errors} == {
        ("rate_on_margin", "must be a fraction from 0 to 1, such as '0.10' for 10%"),
        ("hold_rules", "names unknown entry: bad-vibes"),
        ("clawback_window_days", "must be from 0 to 3650"),
    }
    assert not await CommissionPlan.all().exists()
    assert not await AuditEntry.all().exists()


async def test_a_plan_name_is_taken_once(database_url):
    await _plan("Standard")

    with pytest.raises(Conflict) as refused:
        await _plan("Standard", rate="0.2")

    assert refused.value.errors == (
        FieldError(
            "name", "A commission plan named 'Standard' already exists.", ErrorCode.CONFLICT
        ),
    )
    assert await CommissionPlan.all().count() == 1


async def test_new_terms_never_take_effect_in_the_past(database_url):
    with pytest.raises(Invalid) as refused:
        await _plan("Backdated", effective_from=datetime.now(UTC) - timedelta(days=2))

    assert refused.value.errors[0].field == "effective_from"
    assert not await CommissionPlan.all().exists()


async def test_one_plan_is_the_default_and_it_is_replaced_never_unset(database_url):
    first = await _plan("Standard", is_default=True)
    second = await _plan("Senior", is_default=True)
    assert [p.name for p in await CommissionPlan.filter(is_default=True)] == ["Senior"]
    before = await dump_database()

    with pytest.raises(Conflict) as refused:
        await update_commission_plan(id=second.id, is_default=False)

    assert refused.value.errors[0].field == "is_default"
    assert await dump_database() == before
    await update_commission_plan(id=first.id, is_default=True)
    assert [p.name for p in await CommissionPlan.filter(is_default=True)] == ["Standard"]


async def test_changing_a_term_makes_a_version_and_a_rename_does_not(database_url):
    plan = await _plan("Standard")
    later = datetime.now(UTC) + timedelta(days=30)

    await update_commission_plan(id=plan.id, name="Standard 2027")
    await update_commission_plan(id=plan.id, rate_on_margin=Decimal("0.12"), effective_from=later)

    versions = await CommissionPlanVersion.filter(plan_id=plan.id).order_by("version")
    assert [(v.version, v.rate_on_margin) for v in versions] == [
        (1, Decimal("0.10")),
        (2, Decimal("0.12")),
    ]
    assert versions[1].effective_from == later
    assert (await CommissionPlan.get(id=plan.id)).name == "Standard 2027"


async def test_a_sale_is_paid_under_the_version_in_force_when_it_was_signed(database_url):
    s = await scene()
    plan = await _plan("Standard", is_default=True)
    later = datetime.now(UTC) + timedelta(days=30)
    await update_commission_plan(id=plan.id, rate_on_margin=Decimal("0.12"), effective_from=later)

    now_terms = await version_for(s.seller, datetime.now(UTC))
    later_terms = await version_for(s.seller, later + timedelta(days=1))
    older_terms = await version_for(s.seller, datetime(2000, 1, 1, tzinfo=UTC))

    assert now_terms is not None and now_terms.version == 1
    assert later_terms is not None and later_terms.version == 2
    assert older_terms is not None and older_terms.version == 1


async def test_updating_a_missing_plan_is_not_found(database_url):
    with pytest.raises(NotFound) as refused:
        await update_commission_plan(id=99999, name="Ghost")

    assert refused.value.errors == (
        FieldError("id", "No commission plan with this id.", ErrorCode.NOT_FOUND),
    )


async def test_a_salesperson_is_moved_from_plan_to_plan_on_record(database_url):
    s = await scene()
    standard = await _plan("Standard", is_default=True)
    senior = await _plan("Senior", rate="0.15")
    assert (await plan_for(s.seller)) == standard

    await assign_commission_plan(person_id=s.seller, plan_id=senior.id)
    await assign_commission_plan(person_id=s.seller, plan_id=standard.id)

    assert await PlanAssignment.filter(person_id=s.seller).count() == 1
    assert (await plan_for(s.seller)) == standard
    first, second = await AuditEntry.filter(action="person.commission_plan_assigned").order_by("id")
    assert first.before is None
    assert second.before == {"commissionPlan": {"id": to_global_id("CommissionPlan", senior.id)}}
    assert second.after == {"commissionPlan": {"id": to_global_id("CommissionPlan", standard.id)}}
    assert (second.target_type, second.target_id) == ("Person", s.seller)


async def test_assigning_names_the_missing_person_and_plan(database_url):
    with pytest.raises(Invalid) as refused:
        await assign_commission_plan(person_id=99999, plan_id=99998)

    assert set(refused.value.errors) == {
        FieldError("person_id", "No person with this id.", ErrorCode.NOT_FOUND),
        FieldError("plan_id", "No commission plan with this id.", ErrorCode.NOT_FOUND),
    }


async def test_credits_are_replaced_whole_and_audited(database_url):
    s = await scene()
    await give_role(s.engagement, s.seller, EngagementFunction.SALES, Raci.ACCOUNTABLE)
    await give_role(s.engagement, s.lead, EngagementFunction.SALES)

    await set_engagement_credits(
        engagement_id=s.engagement,
        credits=[
            {"person_id": s.seller, "split_pct": Decimal("0.6")},
            {"person_id": s.lead, "split_pct": Decimal("0.4")},
        ],
    )
    made = await set_engagement_credits(
        engagement_id=s.engagement, credits=[{"person_id": s.lead, "split_pct": Decimal(1)}]
    )

    assert [(c.person_id, c.split_pct) for c in made.credits] == [(s.lead, Decimal(1))]
    assert [c.person_id for c in await Credit.filter(engagement_id=s.engagement)] == [s.lead]
    last = await AuditEntry.filter(action="engagement.credits_set").order_by("-id").first()
    assert last is not None and last.before is not None and last.after is not None
    assert [c["splitPct"] for c in last.before["credits"]] == ["0.60", "0.40"]
    assert last.after["credits"] == [
        {"person": {"id": to_global_id("Person", s.lead)}, "splitPct": "1.00"}
    ]


@pytest.mark.parametrize(
    ("splits", "field", "message"),
    [
        (["0.6", "0.3"], "credits", "splits must sum to 1 (100%); they sum to 0.9"),
        (["1", "0"], "credits", "every split must be more than 0"),
        (["1.2", "-0.2"], "credits.0.split_pct", "must be a fraction from 0 to 1"),
    ],
)
async def test_credits_must_split_the_whole_sale(database_url, splits, field, message):
    s = await scene()
    await give_role(s.engagement, s.seller, EngagementFunction.SALES)
    await give_role(s.engagement, s.lead, EngagementFunction.SALES)
    before = await dump_database()

    with pytest.raises(Invalid) as refused:
        await set_engagement_credits(
            engagement_id=s.engagement,
            credits=[
                {"person_id": person, "split_pct": Decimal(split)}
                for person, split in zip((s.seller, s.lead), splits, strict=True)
            ],
        )

    assert refused.value.errors[0].field == field
    assert refused.value.errors[0].message.startswith(message)
    assert await dump_database() == before


async def test_a_person_is_credited_once_and_only_while_holding_sales(database_url):
    s = await scene()
    await give_role(s.engagement, s.seller, EngagementFunction.SALES)
    await give_role(s.engagement, s.lead, EngagementFunction.DELIVERY)

    with pytest.raises(Invalid) as twice:
        await set_engagement_credits(
            engagement_id=s.engagement,
            credits=[
                {"person_id": s.seller, "split_pct": Decimal("0.5")},
                {"person_id": s.seller, "split_pct": Decimal("0.5")},
            ],
        )
    with pytest.raises(Refused) as not_selling:
        await set_engagement_credits(
            engagement_id=s.engagement,
            credits=[
                {"person_id": s.seller, "split_pct": Decimal("0.5")},
                {"person_id": s.lead, "split_pct": Decimal("0.5")},
            ],
        )

    assert twice.value.errors == (FieldError("credits", "name each salesperson once"),)
    [error] = not_selling.value.errors
    assert (error.field, error.code) == ("credits.1.person_id", ErrorCode.FORBIDDEN)
    assert "Dee Lead may not be credited with the sale" in error.message
    assert not await Credit.all().exists()


async def test_a_plan_in_use_is_not_deleted(database_url):
    s = await scene()
    standard_id = await sale(s)
    senior = await _plan("Senior", rate="0.15")
    spare = await _plan("Spare")
    await assign_commission_plan(person_id=s.lead, plan_id=senior.id)
    await approve_deal(engagement_id=s.engagement, note="Approved by the test")
    assert await CompensationSignal.filter(plan_id=standard_id).exists()
    await update_commission_plan(id=spare.id, is_default=True)

    with pytest.raises(Conflict) as default:
        await delete_commission_plan(id=spare.id)
    with pytest.raises(Conflict) as assigned:
        await delete_commission_plan(id=senior.id)
    with pytest.raises(Conflict) as paid:
        await delete_commission_plan(id=standard_id)

    assert "This is the default plan" in default.value.errors[0].message
    assert "Salespeople are on this plan" in assigned.value.errors[0].message
    assert "Compensation signals were computed under this plan" in paid.value.errors[0].message
    assert await CommissionPlan.all().count() == 3


async def test_an_unused_plan_is_deleted_with_its_versions(database_url):
    await _plan("Standard", is_default=True)
    spare = await _plan("Spare")

    deleted = await delete_commission_plan(id=spare.id)

    assert deleted.name == "Spare"
    assert not await CommissionPlan.filter(id=spare.id).exists()
    assert not await CommissionPlanVersion.filter(plan_id=spare.id).exists()
    assert await AuditEntry.filter(action="commission_plan.deleted", target_id=spare.id).exists()
    with pytest.raises(NotFound):
        await delete_commission_plan(id=spare.id)
