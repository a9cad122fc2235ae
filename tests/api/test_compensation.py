"""Commission plans, plan assignments and sale credits through GraphQL."""

from tests.support import seed_engagement

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
