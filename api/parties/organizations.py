"""Organizations: clients and providers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.core.context import Info
from api.core.mutations import crud, mutation_type
from api.core.presented import FromRow
from api.core.relay import Connection, Node, page_of_query, window
from models import Organization as OrganizationModel
from models import Person as PersonModel
from models.enums import OrganizationKind
from services.parties import organizations as service

if TYPE_CHECKING:
    from api.engagements.engagements import Engagement
    from api.parties.people import Person

strawberry.enum(OrganizationKind, description="What an organization is to us.")


@strawberry.type(description="A client that buys engagements or a provider that delivers them.")
class Organization(Node):
    model = OrganizationModel  # the rows node(id:) loads (api.core.relay.Node)
    name: str
    kind: OrganizationKind
    pk: strawberry.Private[int]

    from_model = FromRow(OrganizationModel)

    @strawberry.field(description="People who belong to this organization.")
    async def people(
        self,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Annotated[Person, strawberry.lazy("api.parties.people")]]:
        from api.parties.people import Person

        return await page_of_query(
            PersonModel.filter(organization_id=self.pk),
            window(first, after, last, before),
            Person.from_model,
        )

    @strawberry.field(description="Engagements this organization is the client of.")
    async def engagements(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Annotated[Engagement, strawberry.lazy("api.engagements.engagements")]]:
        from api.engagements.engagements import EngagementFilter, engagements_page

        return await engagements_page(
            info, EngagementFilter(client_id=self.id), window(first, after, last, before)
        )


@strawberry.input(description="A new client or provider.")
class CreateOrganizationInput:
    name: str
    kind: OrganizationKind


@strawberry.type
class OrganizationQuery:
    @strawberry.field(description="All organizations, in order of creation.")
    async def organizations(
        self,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        kind: OrganizationKind | None = None,
    ) -> Connection[Organization]:
        query = OrganizationModel.all()
        if kind is not None:
            query = query.filter(kind=kind)
        return await page_of_query(
            query, window(first, after, last, before), Organization.from_model
        )


OrganizationMutation = mutation_type(
    "OrganizationMutation",
    crud(
        type_name="Organization",
        field="organization",
        node_type=Organization,
        build=Organization.from_model,
        create_input=CreateOrganizationInput,
        create=service.create_organization,
        update=service.update_organization,
        delete=service.delete_organization,
        label="client or provider organization",
        evaluates=False,
    ),
)
