"""Per-request DataLoaders: each relation a page asks for costs one query, whatever its size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

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

M = TypeVar("M", bound=Model)


class ById(DataLoader[int, M | None], Generic[M]):
    """Rows by primary key (None where there is none)."""

    def __init__(self, model: type[M]) -> None:
        async def load(keys: Sequence[int]) -> list[M | None]:
            found = {row.pk: row for row in await model.filter(id__in=set(keys))}
            return [found.get(key) for key in keys]

        super().__init__(load_fn=load)


class ByEngagement(DataLoader[int, list[M]], Generic[M]):
    """An engagement's rows of one kind, in id order (an empty list where it has none)."""

    def __init__(self, model: type[M]) -> None:
        async def load(keys: Sequence[int]) -> list[list[M]]:
            grouped: dict[int, list[M]] = {key: [] for key in keys}
            for row in await model.filter(engagement_id__in=set(keys)).order_by("id"):
                grouped[row.engagement_id].append(row)  # type: ignore[attr-defined]
            return [grouped[key] for key in keys]

        super().__init__(load_fn=load)


class Loaders:
    """The loaders of one request; made fresh per request so nothing leaks between them."""

    def __init__(self) -> None:
        self.organization = ById(Organization)
        self.person = ById(Person)
        self.engagement = ById(Engagement)
        self.role = ById(RoleAssignment)
        self.need = ById(Need)
        self.promise = ById(Promise)
        self.purchase = ById(Purchase)
        self.deliverable = ById(Deliverable)
        self.change_order = ById(ChangeOrder)
        self.roles_of = ByEngagement(RoleAssignment)
        self.needs_of = ByEngagement(Need)
        self.promises_of = ByEngagement(Promise)
        self.purchases_of = ByEngagement(Purchase)
        self.deliverables_of = ByEngagement(Deliverable)
        self.change_orders_of = ByEngagement(ChangeOrder)

    def prime_all(self, loader: DataLoader[int, Any], rows: Sequence[Model]) -> None:
        for row in rows:
            loader.prime(row.pk, row)
