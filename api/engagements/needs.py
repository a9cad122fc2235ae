"""Needs: what the client really requires."""

from __future__ import annotations

import datetime as dt

import strawberry

from api.core.context import Info
from api.core.mutations import crud, mutation_type
from api.core.presented import FromRow
from api.core.relay import EngagementId, Node, PersonId
from api.engagements.on_engagement import OnEngagement
from api.parties.people import Person, maybe_person_of
from models import Need as NeedModel
from models.enums import Priority
from services.engagements import needs as service

strawberry.enum(Priority, description="How much the client needs an item.")


@strawberry.type(description="What the client really requires for a scope item.")
class Need(Node, OnEngagement):
    model = NeedModel  # the rows node(id:) loads (api.core.relay.Node)
    item: str
    description: str
    priority: Priority
    validated_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    raised_by_pk: strawberry.Private[int | None]

    from_model = FromRow(NeedModel)

    @strawberry.field
    def raised_by(self, info: Info) -> Person | None:
        return maybe_person_of(info, self.raised_by_pk)


@strawberry.input(description="A need of the client.")
class CreateNeedInput:
    engagement_id: EngagementId
    item: str = strawberry.field(
        description="The scope item's key, a slug such as 'data-migration'."
    )
    description: str
    priority: Priority
    raised_by_id: PersonId | None = strawberry.UNSET
    validated_at: dt.datetime | None = strawberry.UNSET


NeedMutation = mutation_type(
    "NeedMutation",
    crud(
        type_name="Need",
        field="need",
        node_type=Need,
        build=Need.from_model,
        create_input=CreateNeedInput,
        create=service.create_need,
        update=service.update_need,
        delete=service.delete_need,
        label="need",
    ),
)
