from tests.support import approve_deal_input, seed_engagement

ENGAGEMENT_FIELDS = "engagement { id name status currency inHouse decisionModel client { name } }"


async def test_create_engagement_defaults_to_proposed_authority_and_contracted(client):
    ids = await seed_engagement(client)
    data = await client.data(
        "query($id: ID!) { engagement(id: $id) { name status inHouse decisionModel currency "
        "client { id name kind } } }",
        {"id": ids["engagement"]},
    )
    assert data["engagement"] == {
        "name": "ERP rollout",
        "status": "PROPOSED",
        "inHouse": False,
        "decisionModel": "AUTHORITY",
        "currency": "EUR",
        "client": {"id": ids["client"], "name": "Acme", "kind": "CLIENT"},
    }


async def test_update_engagement_changes_only_the_given_fields(client):
    ids = await seed_engagement(client)
    await client.mutate("approveDeal", approve_deal_input(ids["engagement"]), "")
    payload = await client.mutate(
        "updateEngagement",
        {"id": ids["engagement"], "status": "DELIVERING", "decisionModel": "CONSENSUS"},
        ENGAGEMENT_FIELDS,
    )
    assert payload["userErrors"] == []
    assert payload["engagement"]["status"] == "DELIVERING"
    assert payload["engagement"]["decisionModel"] == "CONSENSUS"
    assert payload["engagement"]["name"] == "ERP rollout"


async def test_status_never_moves_backwards(client):
    ids = await seed_engagement(client)
    await client.mutate("approveDeal", approve_deal_input(ids["engagement"]), "")
    await client.mutate("updateEngagement", {"id": ids["engagement"], "status": "DELIVERING"}, "")
    payload = await client.mutate(
        "updateEngagement", {"id": ids["engagement"], "status": "SOLD"}, ENGAGEMENT_FIELDS
    )
    assert payload["engagement"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "status"],
            "message": "The engagement is DELIVERING; its status only moves forward "
            "(next: SUPPORTING, CLOSED).",
            "code": "CONFLICT",
        }
    ]
    data = await client.data(
        "query($id: ID!) { engagement(id: $id) { status } }", {"id": ids["engagement"]}
    )
    assert data["engagement"]["status"] == "DELIVERING"


async def test_currency_is_fixed_once_money_is_recorded(client):
    ids = await seed_engagement(client)
    changed = await client.mutate(
        "updateEngagement", {"id": ids["engagement"], "currency": "usd"}, "engagement { currency }"
    )
    assert changed["engagement"] == {"currency": "USD"}
    await client.mutate(
        "createPurchase",
        {
            "engagementId": ids["engagement"],
            "item": "training",
            "description": "Two training days",
            "quantity": "2",
            "amount": "3000.00",
        },
        "purchase { id }",
    )
    refused = await client.mutate(
        "updateEngagement", {"id": ids["engagement"], "currency": "EUR"}, "engagement { currency }"
    )
    assert refused["engagement"] is None
    assert refused["userErrors"][0]["code"] == "CONFLICT"
    assert refused["userErrors"][0]["field"] == ["input", "currency"]


async def test_engagement_client_must_be_a_client_organization(client):
    ids = await seed_engagement(client)
    payload = await client.mutate(
        "createEngagement",
        {"name": "Internal tooling", "clientId": ids["firm"], "currency": "EUR"},
        "engagement { id }",
    )
    assert payload["engagement"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "clientId"],
            "message": "clientId must name a CLIENT organization",
            "code": "VALIDATION",
        }
    ]


async def test_deleting_an_engagement_deletes_its_sides_and_roles(client):
    ids = await seed_engagement(client)
    need = await client.mutate(
        "createNeed",
        {
            "engagementId": ids["engagement"],
            "item": "reporting",
            "description": "Monthly reports",
            "priority": "MUST",
        },
        "need { id }",
    )
    await client.mutate(
        "createRoleAssignment",
        {
            "engagementId": ids["engagement"],
            "personId": ids["seller"],
            "function": "SALES",
            "raci": "ACCOUNTABLE",
        },
        "roleAssignment { id }",
    )
    deleted = await client.mutate(
        "deleteEngagement", {"id": ids["engagement"]}, "deletedId engagement { name }"
    )
    assert deleted["userErrors"] == []
    assert deleted["deletedId"] == ids["engagement"]
    assert deleted["engagement"]["name"] == "ERP rollout"
    data = await client.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [ids["engagement"], need["need"]["id"]]},
    )
    assert data["nodes"] == [None, None]


async def test_engagements_filter_by_status_client_salesperson_item_and_search(client):
    ids = await seed_engagement(client)
    other_client = await client.mutate(
        "createOrganization", {"name": "Globex", "kind": "CLIENT"}, "organization { id }"
    )
    other = await client.mutate(
        "createEngagement",
        {
            "name": "Data warehouse",
            "clientId": other_client["organization"]["id"],
            "currency": "USD",
        },
        "engagement { id }",
    )
    other_id = other["engagement"]["id"]
    await client.mutate("approveDeal", approve_deal_input(other_id), "")
    await client.mutate(
        "createPromise",
        {
            "engagementId": other_id,
            "item": "data-migration",
            "description": "Migrate ten years of orders",
            "quantity": "40",
            "madeById": ids["seller"],
        },
        "promise { id }",
    )
    query = (
        "query($f: EngagementFilter) { engagements(filter: $f) { totalCount "
        "edges { node { id } } } }"
    )

    async def matching(filter: dict) -> list[str]:
        data = await client.data(query, {"f": filter})
        assert data["engagements"]["totalCount"] == len(data["engagements"]["edges"])
        return [e["node"]["id"] for e in data["engagements"]["edges"]]

    assert await matching({}) == [ids["engagement"], other_id]
    assert await matching({"status": ["SOLD"]}) == [other_id]
    assert await matching({"clientId": ids["client"]}) == [ids["engagement"]]
    assert await matching({"salespersonId": ids["seller"]}) == [other_id]
    assert await matching({"salespersonId": ids["sponsor"]}) == []
    assert await matching({"item": "data-migration"}) == [other_id]
    assert await matching({"search": "erp"}) == [ids["engagement"]]
    assert await matching({"status": ["SOLD", "PROPOSED"], "search": "data"}) == [other_id]


async def test_engagements_filter_with_a_malformed_id_is_a_bad_user_input(client):
    body = await client.execute('{ engagements(filter: {clientId: "nonsense"}) { totalCount } }')
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not a valid id" in body["errors"][0]["message"]


async def test_a_filter_naming_the_wrong_kind_of_object_is_a_bad_user_input(client):
    ids = await seed_engagement(client)
    body = await client.execute(
        "query($f: EngagementFilter) { engagements(filter: $f) { totalCount } }",
        {"f": {"clientId": ids["seller"]}},
    )
    assert body["data"] is None
    assert body["errors"][0]["message"] == "filter: clientId names no Organization."
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_an_engagement_pay_was_computed_from_cannot_be_deleted(client):
    from tests.api.compensation.test_signals import _sale

    ids = await _sale(client)
    refused = await client.mutate("deleteEngagement", {"id": ids["engagement"]}, "deletedId")
    assert refused["deletedId"] is None
    [error] = refused["userErrors"]
    assert (error["field"], error["code"]) == (["input", "id"], "CONFLICT")
    still = await client.data(
        "query($id: ID!) { engagement(id: $id) { compensationSignals { totalCount } } }",
        {"id": ids["engagement"]},
    )
    assert still["engagement"]["compensationSignals"]["totalCount"] > 0
