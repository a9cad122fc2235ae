"""``node(id:)`` and ``nodes(ids:)``: any object by its global id.

Node types register themselves when their modules are imported (``api.core.relay.Node``); the
schema imports every one before it serves a request, so there is no list here to extend.
"""

from __future__ import annotations

import strawberry

from api.core.access import may_read_type
from api.core.context import Info
from api.core.inputs import check_argument
from api.core.relay import NODE_TYPES, BadUserInput, Node, from_global_id


async def resolve_node(info: Info, global_id: str) -> Node | None:
    """The object behind ``global_id``, or None when it names nothing (any more)."""
    try:
        type_name, pk = from_global_id(global_id)
    except ValueError as exc:
        raise BadUserInput(str(exc)) from None
    principal = info.context.principal
    node_type = NODE_TYPES.get(type_name)
    if node_type is None or not may_read_type(principal, type_name):
        return None  # what a key may not read, it cannot tell from what does not exist
    row = await info.context.loaders.by_id(node_type.model).load(pk)  # type: ignore[attr-defined]
    if row is None or not node_type.visible_to(principal, row):
        return None
    return node_type.from_model(row)  # type: ignore[attr-defined,no-any-return]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when it does not exist.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="Objects by global id, in the order asked (null where none).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        check_argument(ids, "ids")
        return [await resolve_node(info, i) for i in ids]
