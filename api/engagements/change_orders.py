"""Change orders: approved changes to what was bought, which move the baseline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from api.core.context import Info
from api.core.mutations import crud, mutation_type
from api.core.presented import FromRow
from api.core.relay import EngagementId, Node, PersonId
from api.engagements.on_engagement import OnEngagement
from api.parties.people import Person, maybe_person_of
from models import ChangeOrder as ChangeOrderModel
from models.enums import ChangeOrderStatus
from services.engagements import change_orders as service

strawberry.enum(ChangeOrderStatus)


@strawberry.type(description="A change to the bought quantity, amount or cost of an item.")
class ChangeOrder(Node, OnEngagement):
    model = ChangeOrderModel  # the rows node(id:) loads (api.core.relay.Node)
    item: str
    description: str
    quantity_delta: Decimal
    amount_delta: Decimal
    cost_delta: Decimal
    status: ChangeOrderStatus
    approved_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    approved_by_pk: strawberry.Private[int | None]

    from_model = FromRow(ChangeOrderModel)

    @strawberry.field
    def approved_by(self, info: Info) -> Person | None:
        return maybe_person_of(info, self.approved_by_pk)


@strawberry.input(description="A change to an item's bought quantity, amount or cost.")
class CreateChangeOrderInput:
    engagement_id: EngagementId
    item: str = strawberry.field(
        description="The scope item's key, a slug such as 'data-migration'."
    )
    description: str
    quantity_delta: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="0 when left out."
    )
    amount_delta: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="0 when left out."
    )
    cost_delta: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="0 when left out."
    )
    status: ChangeOrderStatus | None = strawberry.field(
        default=strawberry.UNSET, description="PROPOSED when left out."
    )
    approved_by_id: PersonId | None = strawberry.UNSET
    approved_at: dt.datetime | None = strawberry.UNSET


ChangeOrderMutation = mutation_type(
    "ChangeOrderMutation",
    crud(
        type_name="ChangeOrder",
        field="change_order",
        node_type=ChangeOrder,
        build=ChangeOrder.from_model,
        create_input=CreateChangeOrderInput,
        create=service.create_change_order,
        update=service.update_change_order,
        delete=service.delete_change_order,
        label="change order",
    ),
)
