"""The four sides and change orders through GraphQL: created, changed, lined up, priced."""

import pytest

from tests.support import seed_engagement

ALIGNMENT = (
    "alignment { item needed { priority } promised { quantity amount } "
    "bought { quantity amount } delivered { quantity accepted } }"
)
FINANCIALS = "financials { currency revenue estimatedCost actualCost margin marginPct }"


async def add(client, mutation: str, field: str, input: dict, selection: str = "id") -> dict:
    payload = await client.mutate(mutation, input, f"{field} {{ {selection} }}")
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload[field]


async def test_alignment_lines_up_the_four_sides_per_item(client):
    ids = await seed_engagement(client)
    e = ids["engagement"]
    await add(
        client,
        "createNeed",
        "need",
        {
            "engagementId": e,
            "item": "data-migration",
            "description": "Orders since 2015",
            "priority": "SHOULD",
        },
    )
    await add(
        client,
        "createNeed",
        "need",
        {
            "engagementId": e,
            "item": "data-migration",
            "description": "Customer master",
            "priority": "MUST",
        },
    )
    await add(
        client,
        "createNeed",
        "need",
        {"engagementId": e, "item": "reporting", "description": "Board pack", "priority": "COULD"},
    )
    await add(
        client,
        "createPromise",
        "promise",
        {
            "engagementId": e,
            "item": "data-migration",
            "description": "Migration",
            "quantity": "40",
            "quotedAmount": "40000",
            "madeById": ids["seller"],
        },
    )
    await add(
        client,
        "createPurchase",
        "purchase",
        {
            "engagementId": e,
            "item": "data-migration",
            "description": "Migration",
            "quantity": "30",
            "amount": "30000.00",
            "estimatedCost": "18000",
        },
    )
    await add(
        client,
        "createChangeOrder",
        "changeOrder",
        {
            "engagementId": e,
            "item": "data-migration",
            "description": "Ten more days",
            "quantityDelta": "10",
            "amountDelta": "9500.50",
            "costDelta": "6000",
            "status": "APPROVED",
            "approvedById": ids["sponsor"],
        },
    )
    await add(
        client,
        "createChangeOrder",
        "changeOrder",
        {
            "engagementId": e,
            "item": "data-migration",
            "description": "Not yet agreed",
            "quantityDelta": "99",
            "amountDelta": "99999",
        },
    )
    await add(
        client,
        "createDeliverable",
        "deliverable",
        {
            "engagementId": e,
            "item": "data-migration",
            "description": "Wave 1",
            "quantity": "25",
            "status": "ACCEPTED",
            "acceptedById": ids["sponsor"],
            "acceptedAt": "2026-11-20T10:00:00+01:00",
            "actualCost": "15000.25",
        },
    )
    await add(
        client,
        "createDeliverable",
        "deliverable",
        {
            "engagementId": e,
            "item": "data-migration",
            "description": "Wave 2",
            "quantity": "10",
            "status": "DELIVERED",
            "actualCost": "7000",
        },
    )
    await add(
        client,
        "createDeliverable",
        "deliverable",
        {
            "engagementId": e,
            "item": "training",
            "description": "Unbought training",
            "quantity": "2",
        },
    )
    data = await client.data(
        f"query($id: ID!) {{ engagement(id: $id) {{ {ALIGNMENT} {FINANCIALS} }} }}", {"id": e}
    )
    assert data["engagement"]["alignment"] == [
        {
            "item": "data-migration",
            "needed": {"priority": "MUST"},
            "promised": {"quantity": "40.00", "amount": "40000.00"},
            "bought": {"quantity": "40.00", "amount": "39500.50"},
            "delivered": {"quantity": "35.00", "accepted": "25.00"},
        },
        {
            "item": "reporting",
            "needed": {"priority": "COULD"},
            "promised": None,
            "bought": None,
            "delivered": None,
        },
        {
            "item": "training",
            "needed": None,
            "promised": None,
            "bought": None,
            "delivered": {"quantity": "0.00", "accepted": "0.00"},
        },
    ]
    assert data["engagement"]["financials"] == {
        "currency": "EUR",
        "revenue": "39500.50",
        "estimatedCost": "24000.00",
        "actualCost": "22000.25",
        "margin": "15500.50",
        "marginPct": "0.3924",
    }


async def test_money_and_times_round_trip_exactly(client):
    ids = await seed_engagement(client)
    promise = await add(
        client,
        "createPromise",
        "promise",
        {
            "engagementId": ids["engagement"],
            "item": "audit",
            "description": "Security audit",
            "quantity": "2.5",
            "quotedAmount": "1234.5",
            "madeById": ids["seller"],
            "madeAt": "2026-11-26T10:30:00+02:00",
            "promisedDate": "2026-12-31",
            "deliverySignoffById": ids["sponsor"],
            "deliverySignoffAt": "2026-11-26T09:00:00Z",
        },
        "id quantity quotedAmount madeAt promisedDate deliverySignoffAt madeBy { name } "
        "deliverySignoffBy { name } engagement { name }",
    )
    assert promise["quantity"] == "2.50"
    assert promise["quotedAmount"] == "1234.50"
    assert promise["madeAt"] == "2026-11-26T08:30:00+00:00"
    assert promise["deliverySignoffAt"] == "2026-11-26T09:00:00+00:00"
    assert promise["promisedDate"] == "2026-12-31"
    assert promise["madeBy"] == {"name": "Sam Seller"}
    assert promise["deliverySignoffBy"] == {"name": "Ada Sponsor"}
    assert promise["engagement"] == {"name": "ERP rollout"}


async def test_currency_minor_units_decide_the_precision_of_amounts(client):
    ids = await seed_engagement(client, currency="BHD")
    purchase = await client.mutate(
        "createPurchase",
        {
            "engagementId": ids["engagement"],
            "item": "audit",
            "description": "Audit",
            "quantity": "1",
            "amount": "100.125",
        },
        "purchase { amount }",
    )
    assert purchase["userErrors"] == []
    assert purchase["purchase"]["amount"] == "100.125"


async def test_update_keeps_left_out_fields_and_null_clears_nullable_ones(client):
    ids = await seed_engagement(client)
    purchase = await add(
        client,
        "createPurchase",
        "purchase",
        {
            "engagementId": ids["engagement"],
            "item": "audit",
            "description": "Audit",
            "quantity": "1",
            "amount": "500",
            "contractRef": "C-17",
            "dueDate": "2027-01-15",
        },
    )
    changed = await client.mutate(
        "updatePurchase",
        {"id": purchase["id"], "amount": "650.00", "contractRef": None},
        "purchase { amount contractRef dueDate description }",
    )
    assert changed["userErrors"] == []
    assert changed["purchase"] == {
        "amount": "650.00",
        "contractRef": None,
        "dueDate": "2027-01-15",
        "description": "Audit",
    }


@pytest.mark.parametrize("engagement_id", ["other", None])
async def test_a_side_cannot_move_to_another_engagement(client, engagement_id):
    ids = await seed_engagement(client)
    other = await add(
        client,
        "createEngagement",
        "engagement",
        {"name": "Other", "clientId": ids["client"], "currency": "EUR"},
    )
    e = ids["engagement"]
    sides = {
        "Need": {"priority": "MUST"},
        "Promise": {"quantity": "1", "madeById": ids["seller"]},
        "Purchase": {"quantity": "1", "amount": "1"},
        "Deliverable": {"quantity": "1"},
        "ChangeOrder": {},
    }
    for type_name, required in sides.items():
        field = type_name[0].lower() + type_name[1:]
        node = await add(
            client,
            f"create{type_name}",
            field,
            {"engagementId": e, "item": "a", "description": "d", **required},
        )
        moved = await client.mutate(
            f"update{type_name}",
            {
                "id": node["id"],
                "description": "moved",
                "engagementId": other["id"] if engagement_id else None,
            },
            f"{field} {{ id }}",
        )
        assert moved[field] is None
        assert moved["userErrors"] == [
            {
                "field": ["input", "engagementId"],
                "message": "engagementId cannot be changed; delete this and create it on the "
                "other engagement",
                "code": "VALIDATION",
            }
        ]
        kept = await client.data(
            f"query($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ description "
            f"engagement {{ id }} }} }} }}",
            {"id": node["id"]},
        )
        assert kept["node"] == {"description": "d", "engagement": {"id": e}}


async def test_a_deliverable_is_planned_until_told_otherwise_and_can_be_rejected(client):
    ids = await seed_engagement(client)
    deliverable = await add(
        client,
        "createDeliverable",
        "deliverable",
        {
            "engagementId": ids["engagement"],
            "item": "audit",
            "description": "Report",
            "quantity": "1",
            "dueDate": "2026-12-01",
        },
        "id status",
    )
    assert deliverable["status"] == "PLANNED"
    rejected = await client.mutate(
        "updateDeliverable",
        {
            "id": deliverable["id"],
            "status": "REJECTED",
            "rejectionReason": "Missing findings",
            "deliveredAt": "2026-11-30T17:00:00+00:00",
        },
        "deliverable { status rejectionReason deliveredAt }",
    )
    assert rejected["userErrors"] == []
    assert rejected["deliverable"] == {
        "status": "REJECTED",
        "rejectionReason": "Missing findings",
        "deliveredAt": "2026-11-30T17:00:00+00:00",
    }


async def test_each_side_can_be_deleted_and_is_gone_afterwards(client):
    ids = await seed_engagement(client)
    e = ids["engagement"]
    created = {
        "Need": await add(
            client,
            "createNeed",
            "need",
            {"engagementId": e, "item": "a", "description": "d", "priority": "MUST"},
        ),
        "Promise": await add(
            client,
            "createPromise",
            "promise",
            {
                "engagementId": e,
                "item": "a",
                "description": "d",
                "quantity": "1",
                "madeById": ids["seller"],
            },
        ),
        "Purchase": await add(
            client,
            "createPurchase",
            "purchase",
            {"engagementId": e, "item": "a", "description": "d", "quantity": "1", "amount": "1"},
        ),
        "Deliverable": await add(
            client,
            "createDeliverable",
            "deliverable",
            {"engagementId": e, "item": "a", "description": "d", "quantity": "1"},
        ),
        "ChangeOrder": await add(
            client,
            "createChangeOrder",
            "changeOrder",
            {"engagementId": e, "item": "a", "description": "d"},
        ),
    }
    for type_name, node in created.items():
        field = type_name[0].lower() + type_name[1:]
        deleted = await client.mutate(
            f"delete{type_name}", {"id": node["id"]}, f"deletedId {field} {{ item }}"
        )
        assert deleted["userErrors"] == []
        assert deleted["deletedId"] == node["id"]
        assert deleted[field] == {"item": "a"}
    data = await client.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [n["id"] for n in created.values()]},
    )
    assert data["nodes"] == [None] * 5


async def test_roles_are_listed_and_removed_by_person_and_function(client):
    ids = await seed_engagement(client)
    e = ids["engagement"]
    for person, function, raci in (
        ("seller", "SALES", "ACCOUNTABLE"),
        ("sponsor", "SPONSOR", "ACCOUNTABLE"),
        ("seller", "ENGAGEMENT_MANAGEMENT", "RESPONSIBLE"),
    ):
        await add(
            client,
            "createRoleAssignment",
            "roleAssignment",
            {"engagementId": e, "personId": ids[person], "function": function, "raci": raci},
        )
    changed = await client.mutate(
        "deleteRoleAssignment",
        {"engagementId": e, "personId": ids["seller"], "function": "ENGAGEMENT_MANAGEMENT"},
        "roleAssignment { function raci person { name } }",
    )
    assert changed["userErrors"] == []
    data = await client.data(
        "query($id: ID!) { engagement(id: $id) { roles { function raci person { name } } } }",
        {"id": e},
    )
    assert data["engagement"]["roles"] == [
        {"function": "SALES", "raci": "ACCOUNTABLE", "person": {"name": "Sam Seller"}},
        {"function": "SPONSOR", "raci": "ACCOUNTABLE", "person": {"name": "Ada Sponsor"}},
    ]
