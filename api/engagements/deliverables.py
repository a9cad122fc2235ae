"""Deliverables: what delivery plans, hands over, and the client accepts or rejects."""

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
from models import Deliverable as DeliverableModel
from models.enums import DeliverableStatus
from services.engagements import deliverables as service

strawberry.enum(DeliverableStatus)


@strawberry.type(description="What delivery planned or handed over for a scope item.")
class Deliverable(Node, OnEngagement):
    model = DeliverableModel  # the rows node(id:) loads (api.core.relay.Node)
    item: str
    description: str
    quantity: Decimal
    due_date: dt.date | None
    status: DeliverableStatus
    delivered_at: dt.datetime | None
    accepted_at: dt.datetime | None
    rejection_reason: str | None
    estimated_cost: Decimal | None
    actual_cost: Decimal | None
    created_at: dt.datetime
    updated_at: dt.datetime
    accepted_by_pk: strawberry.Private[int | None]

    from_model = FromRow(DeliverableModel)

    @strawberry.field(description="The client's person who accepted it, if accepted.")
    def accepted_by(self, info: Info) -> Person | None:
        return maybe_person_of(info, self.accepted_by_pk)


@strawberry.input(description="A deliverable, planned or handed over.")
class CreateDeliverableInput:
    engagement_id: EngagementId
    item: str = strawberry.field(
        description="The scope item's key, a slug such as 'data-migration'."
    )
    description: str
    quantity: Decimal = strawberry.field(description="Hours, days or units; not negative.")
    due_date: dt.date | None = strawberry.UNSET
    status: DeliverableStatus | None = strawberry.field(
        default=strawberry.UNSET, description="PLANNED when left out."
    )
    delivered_at: dt.datetime | None = strawberry.UNSET
    accepted_by_id: PersonId | None = strawberry.UNSET
    accepted_at: dt.datetime | None = strawberry.UNSET
    rejection_reason: str | None = strawberry.UNSET
    estimated_cost: Decimal | None = strawberry.UNSET
    actual_cost: Decimal | None = strawberry.UNSET


DeliverableMutation = mutation_type(
    "DeliverableMutation",
    crud(
        type_name="Deliverable",
        field="deliverable",
        node_type=Deliverable,
        build=Deliverable.from_model,
        create_input=CreateDeliverableInput,
        create=service.create_deliverable,
        update=service.update_deliverable,
        delete=service.delete_deliverable,
        label="deliverable",
    ),
)
