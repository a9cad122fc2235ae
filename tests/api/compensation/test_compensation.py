"""Commission plans, plan assignments and sale credits through GraphQL."""

import pytest

from models import AuditEntry
from tests.api.compensation.test_signals import _sale
from tests.support import dump_database, hold_sales, seed_engagement

PLAN = (
    "commissionPlan { id name rateOnMargin marginFloorPct holdRules holdSeverities "
    "reducingAttributions clawbackWindowDays isDefault }"
)


async def _plan(client, name: str, **extra) -> dict:
    payload = await client.mutate(
        "createCommissionPlan",
        {"name": name, "rateOnMargin": "0.10", "marginFloorPct": "0.20", **extra},
        PLAN,
    )
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["commissionPlan"]


async def test_a_plan_takes_the_sales_critical_mismatches_as_holds_by_default(client):
    plan = await _plan(client, "Standard")
    assert plan["rateOnMargin"] == "0.10"
    assert plan["holdRules"] == sorted(
        [
            "free-work",
            "margin-below-floor",
            "price-mismatch",
            "promise-without-signoff",
            "promised-need-not-bought",
        ]
    )
    assert plan["holdSeverities"] == ["CRITICAL"]
    assert plan["reducingAttributions"] == ["SALES_UNDERESTIMATE"]
    assert plan["clawbackWindowDays"] == 365


async def test_only_one_plan_is_the_default(client):
    first = await _plan(client, "Standard", isDefault=True)
    second = await _plan(client, "Senior", isDefault=True, rateOnMargin="0.12")
    plans = (await client.data("{ commissionPlans { name isDefault } }"))["commissionPlans"]
    assert plans == [
        {"name": "Senior", "isDefault": True},
        {"name": "Standard", "isDefault": False},
    ]
    changed = await client.mutate(
        "updateCommissionPlan", {"id": first["id"], "isDefault": True}, PLAN
    )
    assert changed["commissionPlan"]["isDefault"] is True
    again = (await client.data("{ commissionPlans { id isDefault } }"))["commissionPlans"]
    assert again == [
        {"id": first["id"], "isDefault": True},
        {"id": second["id"], "isDefault": False},
    ]


async def test_a_salesperson_is_put_on_a_plan(client):
    ids = await seed_engagement(client)
    plan = await _plan(client, "Senior")
    assigned = await client.mutate(
        "assignCommissionPlan",
        {"personId": ids["seller"], "planId": plan["id"]},
        "assignment { plan { name } person { name } }",
    )
    assert assigned["assignment"] == {"plan": {"name": "Senior"}, "person": {"name": "Sam Seller"}}


async def test_credits_replace_each_other_and_must_sum_to_one(client):
    ids = await seed_engagement(client)
    await hold_sales(client, ids["engagement"], ids["seller"], ids["sponsor"])
    selection = "credits { splitPct salesperson { name } }"
    split = await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [
                {"personId": ids["seller"], "splitPct": "0.6"},
                {"personId": ids["sponsor"], "splitPct": "0.4"},
            ],
        },
        selection,
    )
    assert split["userErrors"] == []
    assert split["credits"] == [
        {"splitPct": "0.60", "salesperson": {"name": "Sam Seller"}},
        {"splitPct": "0.40", "salesperson": {"name": "Ada Sponsor"}},
    ]
    refused = await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [
                {"personId": ids["seller"], "splitPct": "0.6"},
                {"personId": ids["sponsor"], "splitPct": "0.3"},
            ],
        },
        selection,
    )
    assert refused["credits"] is None
    assert refused["userErrors"] == [
        {
            "field": ["input", "credits"],
            "message": "credits splits must sum to 1 (100%); they sum to 0.9",
            "code": "VALIDATION",
        }
    ]
    alone = await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [{"personId": ids["seller"], "splitPct": "1"}],
        },
        selection,
    )
    assert alone["credits"] == [{"splitPct": "1.00", "salesperson": {"name": "Sam Seller"}}]


async def test_a_bad_credit_names_its_place_in_the_list(client):
    ids = await seed_engagement(client)
    payload = await client.mutate(
        "setEngagementCredits",
        {
            "engagementId": ids["engagement"],
            "credits": [
                {"personId": ids["seller"], "splitPct": "0.5"},
                {"personId": "nonsense", "splitPct": "0.5"},
            ],
        },
        "credits { splitPct }",
    )
    assert payload["userErrors"] == [
        {
            "field": ["input", "credits", "1", "personId"],
            "message": "'nonsense' is not a valid id",
            "code": "VALIDATION",
        }
    ]


async def test_a_plan_nobody_is_on_can_be_deleted(client):
    plan = await _plan(client, "Temporary")
    deleted = await client.mutate(
        "deleteCommissionPlan", {"id": plan["id"]}, "deletedId commissionPlan { name }"
    )
    assert deleted["userErrors"] == []
    assert deleted["deletedId"] == plan["id"]
    assert (await client.data("{ commissionPlans { id } }"))["commissionPlans"] == []


async def _refused_and_nothing_written(client, mutation: str, input: dict) -> dict:
    """Run a mutation that must be refused with a CONFLICT; prove it wrote nothing."""
    before = await dump_database()
    payload = await client.mutate(mutation, input, "commissionPlan { id }")
    assert payload["commissionPlan"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "CONFLICT"
    assert await dump_database() == before
    return error


async def test_the_default_plan_cannot_be_deleted(client):
    plan = await _plan(client, "Standard", isDefault=True)
    error = await _refused_and_nothing_written(client, "deleteCommissionPlan", {"id": plan["id"]})
    assert error["field"] == ["input", "id"]
    assert "make another plan the default" in error["message"]


async def test_a_plan_someone_is_on_cannot_be_deleted(client):
    ids = await seed_engagement(client)
    await _plan(client, "Standard", isDefault=True)
    senior = await _plan(client, "Senior")
    await client.mutate(
        "assignCommissionPlan",
        {"personId": ids["seller"], "planId": senior["id"]},
        "assignment { plan { name } }",
    )
    error = await _refused_and_nothing_written(client, "deleteCommissionPlan", {"id": senior["id"]})
    assert "assignCommissionPlan" in error["message"]


async def test_a_plan_pay_was_computed_under_cannot_be_deleted(client):
    await _sale(client)  # booked under the default plan, "Standard"
    [standard] = (await client.data("{ commissionPlans { id name } }"))["commissionPlans"]
    # Another plan becomes the default: nobody is on "Standard" now, but the ledger was.
    await _plan(client, "Senior", isDefault=True)
    error = await _refused_and_nothing_written(
        client, "deleteCommissionPlan", {"id": standard["id"]}
    )
    assert "computed under this plan" in error["message"]


@pytest.mark.parametrize("others", [0, 1])
async def test_the_default_cannot_be_unset_only_replaced(client, others):
    plan = await _plan(client, "Standard", isDefault=True)
    for n in range(others):
        await _plan(client, f"Other {n}")
    error = await _refused_and_nothing_written(
        client, "updateCommissionPlan", {"id": plan["id"], "isDefault": False}
    )
    assert error["field"] == ["input", "isDefault"]
    assert "make another plan the default" in error["message"]
    replaced = await _plan(client, "Senior", isDefault=True)
    plans = (await client.data("{ commissionPlans { id isDefault } }"))["commissionPlans"]
    assert [p["id"] for p in plans if p["isDefault"]] == [replaced["id"]]


async def test_a_plan_that_is_not_the_default_may_say_so_again(client):
    await _plan(client, "Standard", isDefault=True)
    other = await _plan(client, "Other")
    payload = await client.mutate(
        "updateCommissionPlan", {"id": other["id"], "isDefault": False}, "commissionPlan { id }"
    )
    assert payload["userErrors"] == []


async def test_an_unused_plan_that_is_not_the_default_is_deleted_and_audited(client):
    await _sale(client)
    spare = await _plan(client, "Spare")
    deleted = await client.mutate("deleteCommissionPlan", {"id": spare["id"]}, "deletedId")
    assert deleted == {"deletedId": spare["id"], "userErrors": []}
    names = (await client.data("{ commissionPlans { name } }"))["commissionPlans"]
    assert names == [{"name": "Standard"}]
    assert await AuditEntry.filter(action="commission_plan.deleted").count() == 1
