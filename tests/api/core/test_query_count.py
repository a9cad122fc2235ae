"""No N+1: a page of 50 engagements costs the same statements as a page of 1."""

from datetime import UTC, datetime
from decimal import Decimal

from models.enums import EngagementFunction, OrganizationKind, Priority, Raci
from services.engagements.change_orders import create_change_order
from services.engagements.deliverables import create_deliverable
from services.engagements.engagements import create_engagement
from services.engagements.needs import create_need
from services.engagements.promises import create_promise
from services.engagements.purchases import create_purchase
from services.engagements.roles import create_role_assignment
from services.parties.organizations import create_organization
from services.parties.people import create_person
from tests.conftest import ON_POSTGRES
from tests.support import QueryCounter

PAGE = """
query($first: Int!) {
  engagements(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id name status currency client { name kind }
      roles { function raci person { name email organization { name } } }
      needs { totalCount edges { node { item priority raisedBy { name } engagement { name } } } }
      promises { totalCount edges { node { item quantity quotedAmount madeBy { name }
                                           deliverySignoffBy { name } } } }
      purchases { totalCount edges { node { item quantity amount estimatedCost } } }
      deliverables { totalCount edges { node { item status acceptedBy { name } } } }
      changeOrders { totalCount edges { node { item amountDelta approvedBy { name } } } }
      alignment { item needed { priority } promised { quantity amount }
                  bought { quantity amount } delivered { quantity accepted } }
      financials { revenue estimatedCost actualCost margin marginPct }
    } }
  }
}
"""


async def _portfolio(size: int) -> None:
    client = await create_organization(name="Acme", kind=OrganizationKind.CLIENT)
    firm = await create_organization(name="Fourway", kind=OrganizationKind.PROVIDER)
    seller = await create_person(name="Sam", email="sam@fw.example", organization_id=firm.id)
    lead = await create_person(name="Lee", email="lee@fw.example", organization_id=firm.id)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(size):
        e = (await create_engagement(name=f"E{n}", client_id=client.id, currency="EUR")).record
        await create_role_assignment(
            engagement_id=e.id,
            person_id=seller.id,
            function=EngagementFunction.SALES,
            raci=Raci.ACCOUNTABLE,
        )
        await create_role_assignment(
            engagement_id=e.id,
            person_id=lead.id,
            function=EngagementFunction.DELIVERY,
            raci=Raci.RESPONSIBLE,
        )
        for item in ("build", "run"):
            await create_need(
                engagement_id=e.id,
                item=item,
                description="d",
                priority=Priority.MUST,
                raised_by_id=lead.id,
            )
            await create_promise(
                engagement_id=e.id,
                item=item,
                description="d",
                quantity=Decimal(5),
                quoted_amount=Decimal(500),
                made_by_id=seller.id,
                delivery_signoff_by_id=lead.id,
                delivery_signoff_at=now,
            )
            await create_purchase(
                engagement_id=e.id,
                item=item,
                description="d",
                quantity=Decimal(5),
                amount=Decimal(500),
                estimated_cost=Decimal(300),
            )
            await create_deliverable(
                engagement_id=e.id, item=item, description="d", quantity=Decimal(5)
            )
        await create_change_order(
            engagement_id=e.id, item="run", description="d", amount_delta=Decimal(50)
        )


async def test_a_page_of_fifty_engagements_costs_as_many_statements_as_a_page_of_one(client):
    await _portfolio(50)
    # On PostgreSQL the key is looked up once and then trusted for a while; on SQLite it is
    # looked up on every request (one statement more, the same for either page).
    await client.data("{ __typename }")
    counts = {}
    for first in (1, 50):
        with QueryCounter() as queries:
            data = await client.data(PAGE, {"first": first})
        assert len(data["engagements"]["edges"]) == first
        assert all(len(e["node"]["alignment"]) == 2 for e in data["engagements"]["edges"])
        counts[first] = queries.count
    assert 0 < counts[1] == counts[50]
    # Page, count, and one statement per relation: bounded, whatever the page size.
    assert counts[50] <= (11 if ON_POSTGRES else 12), counts
