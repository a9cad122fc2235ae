"""Per-request DataLoaders: each relation a page asks for costs one query, whatever its size."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar, cast

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from models import (
    Alert,
    ChangeOrder,
    CommissionPlan,
    Credit,
    Deliverable,
    DeliveryAttempt,
    Engagement,
    Event,
    Need,
    Organization,
    Person,
    Promise,
    Purchase,
    RoleAssignment,
    WebhookDelivery,
    WebhookEndpoint,
)

M = TypeVar("M", bound=Model)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")


def soon(loader: DataLoader[K, V], key: K, build: Callable[[V], R]) -> R:
    """``build`` of the loader's value for ``key``, for a resolver to return as it is.

    When the loader already holds the value (``FactsOf`` primes every person a page's rows
    name) this is the built value itself, with no coroutine for graphql-core to schedule
    and await: a fifty-item page went from 137 callbacks on the event loop to 13.
    Otherwise it is an awaitable of the same, which graphql-core awaits like an async
    resolver's result: the type says what the field finally holds.
    """
    future = loader.cache_map.get(key) if loader.cache else None
    if (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        return build(future.result())

    async def later() -> R:
        return build(await loader.load(key))

    return cast(R, later())


class ById(DataLoader[int, M | None], Generic[M]):
    """Rows by primary key (None where there is none)."""

    def __init__(self, model: type[M]) -> None:
        async def load(keys: Sequence[int]) -> list[M | None]:
            found = {row.pk: row for row in await model.filter(id__in=set(keys))}
            return [found.get(key) for key in keys]

        super().__init__(load_fn=load)


@dataclass(frozen=True)
class Facts:
    """Everything recorded on one engagement, each list in id order."""

    roles: list[RoleAssignment]
    needs: list[Need]
    promises: list[Promise]
    purchases: list[Purchase]
    deliverables: list[Deliverable]
    change_orders: list[ChangeOrder]

    def people_ids(self) -> set[int]:
        ids: set[int | None] = {r.person_id for r in self.roles}
        ids |= {n.raised_by_id for n in self.needs}
        ids |= {p.made_by_id for p in self.promises}
        ids |= {p.delivery_signoff_by_id for p in self.promises}
        ids |= {d.accepted_by_id for d in self.deliverables}
        ids |= {c.approved_by_id for c in self.change_orders}
        return {i for i in ids if i is not None}


class FactsOf(DataLoader[int, Facts]):
    """All of an engagement's rows at once, and the people they name primed in ``people``.

    One batch costs the same seven statements for one engagement or a hundred, and it
    never depends on which field asked first: a page's statement count is fixed.
    """

    def __init__(self, people: ById[Person]) -> None:
        async def load(keys: Sequence[int]) -> list[Facts]:
            wanted = set(keys)
            kinds = (RoleAssignment, Need, Promise, Purchase, Deliverable, ChangeOrder)
            # The six statements at once: on PostgreSQL each takes a connection of the
            # pool, so a page waits for one round trip instead of six (on SQLite, and in
            # a transaction, Tortoise sends them one after another all the same).
            fetched: list[list[Any]] = await asyncio.gather(
                *(model.filter(engagement_id__in=wanted).order_by("id") for model in kinds)
            )
            grouped: list[dict[int, list[Any]]] = []
            for rows in fetched:
                by_engagement: dict[int, list[Any]] = {key: [] for key in keys}
                for row in rows:
                    by_engagement[row.engagement_id].append(row)
                grouped.append(by_engagement)
            facts = [Facts(*(g[key] for g in grouped)) for key in keys]
            person_ids = set().union(*(f.people_ids() for f in facts))
            if person_ids:
                for person in await Person.filter(id__in=person_ids):
                    people.prime(person.pk, person)
            return facts

        super().__init__(load_fn=load)


class RowsOf(DataLoader[int, list[M]], Generic[M]):
    """A parent's rows of one kind (an engagement's by default), in id order (empty where
    it has none)."""

    def __init__(self, model: type[M], parent: str = "engagement_id") -> None:
        async def load(keys: Sequence[int]) -> list[list[M]]:
            grouped: dict[int, list[M]] = {key: [] for key in keys}
            for row in await model.filter(**{f"{parent}__in": set(keys)}).order_by("id"):
                grouped[getattr(row, parent)].append(row)
            return [grouped[key] for key in keys]

        super().__init__(load_fn=load)


class Loaders:
    """The loaders of one request; made fresh per request so nothing leaks between them.

    Rows by id come from :meth:`by_id`, one loader per model, made when first asked for
    (the named ones below are the same loaders, for the resolvers that name them). Every
    loader is made when a resolver first asks for it: most requests use a few of them,
    and ``{ __typename }`` none.
    """

    def __init__(self) -> None:
        self._by_id: dict[type[Model], ById[Any]] = {}

    def by_id(self, model: type[M]) -> ById[M]:
        """This request's loader of ``model``'s rows by primary key."""
        loader = self._by_id.get(model)
        if loader is None:
            loader = self._by_id[model] = ById(model)
        return loader

    @cached_property
    def organization(self) -> ById[Organization]:
        return self.by_id(Organization)

    @cached_property
    def person(self) -> ById[Person]:
        return self.by_id(Person)

    @cached_property
    def engagement(self) -> ById[Engagement]:
        return self.by_id(Engagement)

    @cached_property
    def role(self) -> ById[RoleAssignment]:
        return self.by_id(RoleAssignment)

    @cached_property
    def need(self) -> ById[Need]:
        return self.by_id(Need)

    @cached_property
    def promise(self) -> ById[Promise]:
        return self.by_id(Promise)

    @cached_property
    def purchase(self) -> ById[Purchase]:
        return self.by_id(Purchase)

    @cached_property
    def deliverable(self) -> ById[Deliverable]:
        return self.by_id(Deliverable)

    @cached_property
    def change_order(self) -> ById[ChangeOrder]:
        return self.by_id(ChangeOrder)

    @cached_property
    def facts_of(self) -> FactsOf:
        return FactsOf(self.person)

    @cached_property
    def alert(self) -> ById[Alert]:
        return self.by_id(Alert)

    @cached_property
    def commission_plan(self) -> ById[CommissionPlan]:
        return self.by_id(CommissionPlan)

    @cached_property
    def webhook_endpoint(self) -> ById[WebhookEndpoint]:
        return self.by_id(WebhookEndpoint)

    @cached_property
    def alerts_of(self) -> RowsOf[Alert]:
        return RowsOf(Alert)

    @cached_property
    def credits_of(self) -> RowsOf[Credit]:
        return RowsOf(Credit)

    @cached_property
    def webhook_delivery(self) -> ById[WebhookDelivery]:
        return self.by_id(WebhookDelivery)

    @cached_property
    def event(self) -> ById[Event]:
        return self.by_id(Event)

    @cached_property
    def attempts_of(self) -> RowsOf[DeliveryAttempt]:
        return RowsOf(DeliveryAttempt, parent="delivery_id")
