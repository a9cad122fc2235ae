"""Promises: what sales promised, and whether delivery signed off on it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from api.core.context import Info
from api.core.mutations import crud, mutation_type
from api.core.presented import FromRow
from api.core.relay import EngagementId, Node, PersonId
from api.engagements.on_engagement import OnEngagement
from api.parties.people import Person, maybe_person_of, person_of
from models import Promise as PromiseModel
from services.engagements import promises as service


@strawberry.type(description="What a salesperson promised the client for a scope item.")
class Promise(Node, OnEngagement):
    model = PromiseModel  # the rows node(id:) loads (api.core.relay.Node)
    item: str
    description: str
    quantity: Decimal
    promised_date: dt.date | None
    quoted_amount: Decimal | None
    made_at: dt.datetime | None
    delivery_signoff_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    made_by_pk: strawberry.Private[int]
    delivery_signoff_by_pk: strawberry.Private[int | None]

    from_model = FromRow(PromiseModel)

    @strawberry.field(description="The salesperson who made the promise.")
    def made_by(self, info: Info) -> Person:
        return person_of(info, self.made_by_pk)

    @strawberry.field(description="The delivery expert who reviewed scope and price, if any.")
    def delivery_signoff_by(self, info: Info) -> Person | None:
        return maybe_person_of(info, self.delivery_signoff_by_pk)


@strawberry.input(description="A promise made to the client.")
class CreatePromiseInput:
    engagement_id: EngagementId
    item: str = strawberry.field(
        description="The scope item's key, a slug such as 'data-migration'."
    )
    description: str
    quantity: Decimal = strawberry.field(description="Hours, days or units; not negative.")
    made_by_id: PersonId = strawberry.field(description="The salesperson.")
    promised_date: dt.date | None = strawberry.UNSET
    quoted_amount: Decimal | None = strawberry.UNSET
    made_at: dt.datetime | None = strawberry.UNSET
    delivery_signoff_by_id: PersonId | None = strawberry.UNSET
    delivery_signoff_at: dt.datetime | None = strawberry.UNSET


PromiseMutation = mutation_type(
    "PromiseMutation",
    crud(
        type_name="Promise",
        field="promise",
        node_type=Promise,
        build=Promise.from_model,
        create_input=CreatePromiseInput,
        create=service.create_promise,
        update=service.update_promise,
        delete=service.delete_promise,
        label="promise",
    ),
)
