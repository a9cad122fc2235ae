"""People at clients and providers."""

from __future__ import annotations

import strawberry
from tortoise.expressions import Q

from api.core.context import Info
from api.core.inputs import check_argument
from api.core.loaders import soon
from api.core.mutations import crud, mutation_type
from api.core.presented import FromRow
from api.core.relay import Connection, Node, OrganizationId, page_of_query, window
from api.parties.organizations import Organization
from models import Person as PersonModel
from services.parties import people as service


@strawberry.type(description="Someone at a client or provider.")
class Person(Node):
    model = PersonModel  # the rows node(id:) loads (api.core.relay.Node)
    name: str
    email: str
    pk: strawberry.Private[int]
    organization_pk: strawberry.Private[int]

    from_model = FromRow(PersonModel)

    @strawberry.field
    async def organization(self, info: Info) -> Organization:
        row = await info.context.loaders.organization.load(self.organization_pk)
        assert row is not None  # the foreign key guarantees it
        return Organization.from_model(row)


def _built(row: PersonModel | None) -> Person:
    assert row is not None  # callers name people by foreign keys, which guarantee them
    return Person.from_model(row)


def person_of(info: Info, pk: int) -> Person:
    """The person with primary key ``pk``, for a resolver to return: at once when the
    request's loader holds them, else an awaitable (see :func:`api.core.loaders.soon`)."""
    return soon(info.context.loaders.person, pk, _built)


def maybe_person_of(info: Info, pk: int | None) -> Person | None:
    """:func:`person_of`, or None for None."""
    return None if pk is None else person_of(info, pk)


async def person_or_none(info: Info, pk: int | None) -> Person | None:
    """The person with primary key ``pk`` through the request's loader (None for None)."""
    if pk is None:
        return None
    row = await info.context.loaders.person.load(pk)
    return Person.from_model(row) if row is not None else None


@strawberry.input(description="A new person.")
class CreatePersonInput:
    name: str
    email: str
    organization_id: OrganizationId


@strawberry.type
class PersonQuery:
    @strawberry.field(description="All people, in order of creation.")
    async def people(
        self,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        search: str | None = None,
    ) -> Connection[Person]:
        query = PersonModel.all()
        check_argument(search, "search")
        if search:
            query = query.filter(Q(name__icontains=search) | Q(email__icontains=search))
        return await page_of_query(query, window(first, after, last, before), Person.from_model)


PersonMutation = mutation_type(
    "PersonMutation",
    crud(
        type_name="Person",
        field="person",
        node_type=Person,
        build=Person.from_model,
        create_input=CreatePersonInput,
        create=service.create_person,
        update=service.update_person,
        delete=service.delete_person,
        label="person",
        evaluates=False,
    ),
)
