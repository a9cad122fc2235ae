"""Purchases: contract lines, what the client bought."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from api.core.mutations import crud, mutation_type
from api.core.presented import FromRow
from api.core.relay import EngagementId, Node
from api.engagements.on_engagement import OnEngagement
from models import Purchase as PurchaseModel
from services.engagements import purchases as service


@strawberry.type(description="A contract line: what the client bought for a scope item.")
class Purchase(Node, OnEngagement):
    model = PurchaseModel  # the rows node(id:) loads (api.core.relay.Node)
    item: str
    description: str
    quantity: Decimal
    amount: Decimal = strawberry.field(description="Revenue, in the engagement's currency.")
    estimated_cost: Decimal | None
    due_date: dt.date | None
    signed_at: dt.datetime | None
    contract_ref: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    from_model = FromRow(PurchaseModel)


@strawberry.input(description="A contract line.")
class CreatePurchaseInput:
    engagement_id: EngagementId
    item: str = strawberry.field(
        description="The scope item's key, a slug such as 'data-migration'."
    )
    description: str
    quantity: Decimal = strawberry.field(description="Hours, days or units; not negative.")
    amount: Decimal = strawberry.field(description="Revenue, in the engagement's currency.")
    estimated_cost: Decimal | None = strawberry.UNSET
    due_date: dt.date | None = strawberry.UNSET
    signed_at: dt.datetime | None = strawberry.UNSET
    contract_ref: str | None = strawberry.UNSET


PurchaseMutation = mutation_type(
    "PurchaseMutation",
    crud(
        type_name="Purchase",
        field="purchase",
        node_type=Purchase,
        build=Purchase.from_model,
        create_input=CreatePurchaseInput,
        create=service.create_purchase,
        update=service.update_purchase,
        delete=service.delete_purchase,
        label="contract line",
    ),
)
