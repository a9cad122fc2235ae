"""``node(id:)`` and ``nodes(ids:)``: any object by its global id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry

from api.access import may_read_type, own_signals_only
from api.alerts import Alert
from api.audit import AuditEntry
from api.change_orders import ChangeOrder
from api.compensation import CommissionPlan, CompensationPeriod, CompensationSignal
from api.context import Info
from api.deliverables import Deliverable
from api.engagements import Engagement
from api.inputs import check_argument
from api.loaders import Loaders
from api.needs import Need
from api.organizations import Organization
from api.people import Person
from api.promises import Promise
from api.purchases import Purchase
from api.relay import BadUserInput, Node, from_global_id
from api.roles import RoleAssignment
from api.webhooks import WebhookDelivery, WebhookEndpoint

# Type name → (its loader in a request's Loaders, how to build the type from a row).
_RESOLVERS: dict[str, tuple[Callable[[Loaders], Any], Callable[[Any], Node]]] = {
    "Organization": (lambda loaders: loaders.organization, Organization.from_model),
    "Person": (lambda loaders: loaders.person, Person.from_model),
    "Engagement": (lambda loaders: loaders.engagement, Engagement.from_model),
    "RoleAssignment": (lambda loaders: loaders.role, RoleAssignment.from_model),
    "Need": (lambda loaders: loaders.need, Need.from_model),
    "Promise": (lambda loaders: loaders.promise, Promise.from_model),
    "Purchase": (lambda loaders: loaders.purchase, Purchase.from_model),
    "Deliverable": (lambda loaders: loaders.deliverable, Deliverable.from_model),
    "ChangeOrder": (lambda loaders: loaders.change_order, ChangeOrder.from_model),
    "Alert": (lambda loaders: loaders.alert, Alert.from_model),
    "CommissionPlan": (lambda loaders: loaders.commission_plan, CommissionPlan.from_model),
    "WebhookEndpoint": (lambda loaders: loaders.webhook_endpoint, WebhookEndpoint.from_model),
    "WebhookDelivery": (lambda loaders: loaders.webhook_delivery, WebhookDelivery.from_model),
    "CompensationSignal": (
        lambda loaders: loaders.compensation_signal,
        CompensationSignal.from_model,
    ),
    "AuditEntry": (lambda loaders: loaders.audit_entry, AuditEntry.from_model),
    "CompensationPeriod": (
        lambda loaders: loaders.compensation_period,
        CompensationPeriod.from_model,
    ),
}


async def resolve_node(info: Info, global_id: str) -> Node | None:
    """The object behind ``global_id``, or None when it names nothing (any more)."""
    try:
        type_name, pk = from_global_id(global_id)
    except ValueError as exc:
        raise BadUserInput(str(exc)) from None
    principal = info.context.principal
    if type_name not in _RESOLVERS or not may_read_type(principal, type_name):
        return None  # what a key may not read, it cannot tell from what does not exist
    loader, build = _RESOLVERS[type_name]
    row = await loader(info.context.loaders).load(pk)
    if row is None:
        return None
    own = own_signals_only(principal) if type_name == "CompensationSignal" else None
    if own is not None and row.salesperson_id != own:
        return None
    if type_name == "AuditEntry" and not may_read_type(principal, row.target_type):
        return None
    return build(row)


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when it does not exist.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="Objects by global id, in the order asked (null where none).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        check_argument(ids, "ids")
        return [await resolve_node(info, i) for i in ids]
