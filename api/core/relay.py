"""Relay plumbing: opaque global ids, the Node interface, cursor connections, page limits.

Lists page by id (keyset): a cursor names the last row seen, so a page stays stable while
rows are added elsewhere. ``first``/``last`` default to 20 and may not exceed 100.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError
from tortoise.queryset import QuerySet

from models.base import MAX_ID
from services.core.wire import to_global_id as to_global_id  # re-exported for the types
from settings import get_settings

T = TypeVar("T")


class BadUserInput(GraphQLError):
    """A request the client can fix (a bad cursor, id or page size): shown, never masked."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT"})


def from_global_id(global_id: str) -> tuple[str, int]:
    """Return (type name, primary key); raise ValueError when ``global_id`` is not one of ours."""
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _, pk = decoded.partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeError, ValueError):
        raise ValueError(f"'{global_id[:60]}' is not a valid id") from None
    if not type_name.isidentifier() or not 0 < number <= MAX_ID or str(number) != pk:
        raise ValueError(f"'{global_id[:60]}' is not a valid id")
    return type_name, number


def id_argument(global_id: object, expected: str | None, argument: str) -> tuple[str, int]:
    """The (type, primary key) an argument's global id names. A malformed id, or one of
    another type than ``expected`` (when given), is the client's mistake, said naming
    ``argument``."""
    try:
        type_name, pk = from_global_id(str(global_id))
    except ValueError as exc:
        raise BadUserInput(f"{argument} {exc}") from None
    if expected is not None and type_name != expected:
        raise BadUserInput(f"{argument} names no {expected}.")
    return type_name, pk


def filter_id(global_id: object, expected: str, argument: str) -> int:
    """The primary key a list filter names; an id of anything else is the client's mistake
    (a filter that can match nothing), not an empty page."""
    return id_argument(global_id, expected, f"filter: {argument}")[1]


@strawberry.interface(description="An object with a global id, fetchable with `node(id:)`.")
class Node:
    """A type with a global id. A subclass that says which ``model`` its rows are (a plain
    class attribute, not a field) registers itself in ``NODE_TYPES`` when it is defined, so
    that ``node(id:)`` finds it with no list to extend; it builds itself with
    ``from_model(row)``, and may narrow who sees a row with ``visible_to``."""

    id: strawberry.ID = strawberry.field(description="The object's opaque global id.")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            NODE_TYPES[cls.__name__] = cls

    @classmethod
    def visible_to(cls, principal: Any, row: Any) -> bool:
        """Whether ``principal``, who may read the type, may see this row of it."""
        return True


NODE_TYPES: dict[str, type[Node]] = {}
"""Every node type by its GraphQL name, in the order they were defined."""


@dataclass(frozen=True)
class IdOf:
    """Says which node type an input's ``ID`` field names: its global id is decoded as that
    type's, and one of another type is refused naming the field. Every ID field of an
    input carries one (``api.core.inputs`` refuses an input type without)."""

    type_name: str


EngagementId = Annotated[strawberry.ID, IdOf("Engagement")]
OrganizationId = Annotated[strawberry.ID, IdOf("Organization")]
PersonId = Annotated[strawberry.ID, IdOf("Person")]
CommissionPlanId = Annotated[strawberry.ID, IdOf("CommissionPlan")]
WebhookEndpointId = Annotated[strawberry.ID, IdOf("WebhookEndpoint")]
WebhookDeliveryId = Annotated[strawberry.ID, IdOf("WebhookDelivery")]
AlertId = Annotated[strawberry.ID, IdOf("Alert")]
RoleAssignmentId = Annotated[strawberry.ID, IdOf("RoleAssignment")]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="How many items the whole list holds.")

    @strawberry.field(description="The nodes of this page, without their cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


@lru_cache(maxsize=65536)  # the same rows' cursors, request after request
def _cursor(pk: int) -> str:
    return base64.b64encode(f"cursor:{pk}".encode()).decode()


def _cursor_pk(cursor: str, argument: str) -> int:
    try:
        prefix, _, pk = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeError, ValueError):
        number, prefix = -1, ""
    if prefix != "cursor" or not 0 <= number <= MAX_ID:
        raise BadUserInput(f"`{argument}` is not a cursor this API gave out.")
    return number


@dataclass(frozen=True)
class Window:
    """A validated page request: how many, from where, in which direction."""

    size: int
    after: int | None
    before: int | None
    backward: bool


def window(first: int | None, after: str | None, last: int | None, before: str | None) -> Window:
    settings = get_settings()
    if first is not None and last is not None:
        raise BadUserInput("Pass `first` or `last`, not both.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= settings.max_page_size:
            raise BadUserInput(
                f"`{name}` must be between 0 and {settings.max_page_size}; "
                f"page through longer lists with cursors."
            )
    backward = last is not None
    size = last if last is not None else first if first is not None else settings.default_page_size
    return Window(
        size=size,
        after=_cursor_pk(after, "after") if after is not None else None,
        before=_cursor_pk(before, "before") if before is not None else None,
        backward=backward,
    )


def _connection(
    rows: Sequence[Any], w: Window, total: int, build: Callable[[Any], T], has_more: bool
) -> Connection[T]:
    edges = [Edge(node=build(row), cursor=_cursor(row.id)) for row in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_more if not w.backward else w.before is not None,
            has_previous_page=has_more if w.backward else w.after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )


def page_of_list(rows: Sequence[Any], w: Window, build: Callable[[Any], T]) -> Connection[T]:
    """Page rows already in memory (sorted by id), as a nested list on a parent."""
    selected = [
        r
        for r in rows
        if (w.after is None or r.id > w.after) and (w.before is None or r.id < w.before)
    ]
    if w.backward:
        page, has_more = selected[-w.size :] if w.size else [], len(selected) > w.size
    else:
        page, has_more = selected[: w.size], len(selected) > w.size
    return _connection(page, w, len(rows), build, has_more)


async def page_of_query(
    query: QuerySet[Any], w: Window, build: Callable[[Any], T]
) -> Connection[T]:
    """Page a query in the database: one statement for the rows, one for the count."""
    total = await query.count()
    sliced = query
    if w.after is not None:
        sliced = sliced.filter(id__gt=w.after)
    if w.before is not None:
        sliced = sliced.filter(id__lt=w.before)
    rows = list(await sliced.order_by("-id" if w.backward else "id").limit(w.size + 1))
    has_more = len(rows) > w.size
    rows = rows[: w.size]
    if w.backward:
        rows.reverse()
    return _connection(rows, w, total, build, has_more)
