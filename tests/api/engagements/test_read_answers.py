"""The engagement page answers what the rows hold, field by field, on the demo portfolio.

The expected answer is built here straight from the ORM's rows and the wire format
(``services.core.wire``), not from the resolvers, so whatever shortcut the read path takes
(people resolved without an await, plain attribute reads) must still answer exactly this.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from demo.portfolio import load_demo
from models import (
    ChangeOrder,
    Deliverable,
    Engagement,
    Need,
    Organization,
    Person,
    Promise,
    Purchase,
    RoleAssignment,
)
from services.core.wire import format_datetime, format_decimal, to_global_id
from tests.support import GraphQLClient

PAGE = """
query Page($id: ID!) {
  engagement(id: $id) {
    id name status currency inHouse decisionModel createdAt evaluatedAt
    client { id name kind }
    roles { id function raci person { id name email organization { name } } }
    needs(first: 100) {
      totalCount
      edges { cursor node { id item description priority validatedAt raisedBy { id name } } }
    }
    promises(first: 100) {
      totalCount
      edges { node { id item quantity quotedAmount promisedDate madeAt
                     madeBy { id name } deliverySignoffAt deliverySignoffBy { id name } } }
    }
    purchases(first: 100) {
      totalCount edges { node { id item quantity amount estimatedCost dueDate } }
    }
    deliverables(first: 100) {
      totalCount
      edges { node { id item quantity status dueDate deliveredAt acceptedAt
                     estimatedCost actualCost acceptedBy { id name } } }
    }
    changeOrders(first: 100) {
      totalCount
      edges { node { id item quantityDelta amountDelta costDelta approvedAt
                     approvedBy { id name } } }
    }
  }
}
"""


def money(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal(value)


def moment(value: Any) -> str | None:
    return None if value is None else format_datetime(value)


def day(value: Any) -> str | None:
    return None if value is None else value.isoformat()


async def expected_page(engagement: Engagement) -> dict[str, Any]:
    people = {p.pk: p for p in await Person.all()}
    organizations = {o.pk: o for o in await Organization.all()}

    def person(pk: int | None) -> dict[str, Any] | None:
        if pk is None:
            return None
        return {"id": to_global_id("Person", pk), "name": people[pk].name}

    def connection(nodes: list[dict[str, Any]]) -> dict[str, Any]:
        return {"totalCount": len(nodes), "edges": [{"node": n} for n in nodes]}

    pk = engagement.pk
    roles = await RoleAssignment.filter(engagement_id=pk).order_by("id")
    needs = await Need.filter(engagement_id=pk).order_by("id")
    promises = await Promise.filter(engagement_id=pk).order_by("id")
    purchases = await Purchase.filter(engagement_id=pk).order_by("id")
    deliverables = await Deliverable.filter(engagement_id=pk).order_by("id")
    change_orders = await ChangeOrder.filter(engagement_id=pk).order_by("id")
    client = organizations[engagement.client_id]
    return {
        "id": to_global_id("Engagement", pk),
        "name": engagement.name,
        "status": engagement.status.value,
        "currency": engagement.currency,
        "inHouse": engagement.in_house,
        "decisionModel": engagement.decision_model.value,
        "createdAt": moment(engagement.created_at),
        "evaluatedAt": moment(engagement.evaluated_at),
        "client": {
            "id": to_global_id("Organization", client.pk),
            "name": client.name,
            "kind": client.kind.value,
        },
        "roles": [
            {
                "id": to_global_id("RoleAssignment", r.pk),
                "function": r.function.value,
                "raci": r.raci.value,
                "person": {
                    "id": to_global_id("Person", r.person_id),
                    "name": people[r.person_id].name,
                    "email": people[r.person_id].email,
                    "organization": {
                        "name": organizations[people[r.person_id].organization_id].name
                    },
                },
            }
            for r in roles
        ],
        # Needs carry their cursors too: each names its row (keyset paging).
        "needs": {
            "totalCount": len(needs),
            "edges": [
                {
                    "cursor": base64.b64encode(f"cursor:{n.pk}".encode()).decode(),
                    "node": {
                        "id": to_global_id("Need", n.pk),
                        "item": n.item,
                        "description": n.description,
                        "priority": n.priority.value,
                        "validatedAt": moment(n.validated_at),
                        "raisedBy": person(n.raised_by_id),
                    },
                }
                for n in needs
            ],
        },
        "promises": connection(
            [
                {
                    "id": to_global_id("Promise", p.pk),
                    "item": p.item,
                    "quantity": money(p.quantity),
                    "quotedAmount": money(p.quoted_amount),
                    "promisedDate": day(p.promised_date),
                    "madeAt": moment(p.made_at),
                    "madeBy": person(p.made_by_id),
                    "deliverySignoffAt": moment(p.delivery_signoff_at),
                    "deliverySignoffBy": person(p.delivery_signoff_by_id),
                }
                for p in promises
            ]
        ),
        "purchases": connection(
            [
                {
                    "id": to_global_id("Purchase", p.pk),
                    "item": p.item,
                    "quantity": money(p.quantity),
                    "amount": money(p.amount),
                    "estimatedCost": money(p.estimated_cost),
                    "dueDate": day(p.due_date),
                }
                for p in purchases
            ]
        ),
        "deliverables": connection(
            [
                {
                    "id": to_global_id("Deliverable", d.pk),
                    "item": d.item,
                    "quantity": money(d.quantity),
                    "status": d.status.value,
                    "dueDate": day(d.due_date),
                    "deliveredAt": moment(d.delivered_at),
                    "acceptedAt": moment(d.accepted_at),
                    "estimatedCost": money(d.estimated_cost),
                    "actualCost": money(d.actual_cost),
                    "acceptedBy": person(d.accepted_by_id),
                }
                for d in deliverables
            ]
        ),
        "changeOrders": connection(
            [
                {
                    "id": to_global_id("ChangeOrder", c.pk),
                    "item": c.item,
                    "quantityDelta": money(c.quantity_delta),
                    "amountDelta": money(c.amount_delta),
                    "costDelta": money(c.cost_delta),
                    "approvedAt": moment(c.approved_at),
                    "approvedBy": person(c.approved_by_id),
                }
                for c in change_orders
            ]
        ),
    }


async def test_every_demo_engagement_page_answers_what_its_rows_hold(
    client: GraphQLClient,
) -> None:
    await load_demo()
    engagements = await Engagement.all().order_by("id")
    assert len(engagements) >= 5
    for engagement in engagements:
        data = await client.data(PAGE, {"id": to_global_id("Engagement", engagement.pk)})
        expected = await expected_page(engagement)
        answered = data["engagement"]
        for field, value in expected.items():
            assert answered[field] == value, (engagement.name, field)
