"""Who may do what: the one table of access, and where it is enforced.

Every top-level field of a query or mutation names the roles that may use it; an
operation that asks for a field its key's role may not use is refused whole, before it
runs, with the code FORBIDDEN. Objects reached by global id (``node``/``nodes``) follow
the read rule of their type. Compensation signals have one read path
(``api.compensation.signals_query``), which keeps a salesperson to their own.
The README shows the same table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.execution import ExecutionResult
from strawberry.extensions import SchemaExtension

from api.auth import Principal
from models.enums import Role

ADMIN, FINANCE, SALES, DELIVERY, VIEWER = (
    Role.ADMIN,
    Role.FINANCE,
    Role.SALES,
    Role.DELIVERY,
    Role.VIEWER,
)
EVERYONE = frozenset(Role)


def _crud(type_name: str, roles: frozenset[Role]) -> dict[str, frozenset[Role]]:
    return {f"{verb}{type_name}": roles for verb in ("create", "update", "delete")}


QUERIES: dict[str, frozenset[Role]] = {
    "engagements": EVERYONE,
    "engagement": EVERYONE,
    "organizations": EVERYONE,
    "people": EVERYONE,
    "alerts": EVERYONE,
    "rules": EVERYONE,
    "node": EVERYONE,
    "nodes": EVERYONE,
    "commissionPlans": frozenset({ADMIN, FINANCE}),
    # A salesperson sees their own signals and statement only (see signals_query).
    "compensationSignals": frozenset({ADMIN, FINANCE, SALES}),
    "compensationStatement": frozenset({ADMIN, FINANCE, SALES}),
    "webhookEndpoints": frozenset({ADMIN}),
    "webhookDeliveries": frozenset({ADMIN}),
    # Changes to types a role may not read are left out of its trail (see api.audit).
    "auditLog": frozenset({ADMIN, FINANCE}),
}

MUTATIONS: dict[str, frozenset[Role]] = {
    **_crud("Organization", frozenset({ADMIN, SALES})),
    **_crud("Person", frozenset({ADMIN, SALES})),
    **_crud("Engagement", frozenset({ADMIN, SALES})),
    "deleteEngagement": frozenset({ADMIN}),
    **_crud("RoleAssignment", frozenset({ADMIN, SALES})),
    **_crud("Need", frozenset({ADMIN, SALES})),
    **_crud("Promise", frozenset({ADMIN, SALES})),
    **_crud("Purchase", frozenset({ADMIN, SALES, FINANCE})),
    **_crud("Deliverable", frozenset({ADMIN, DELIVERY})),
    **_crud("ChangeOrder", frozenset({ADMIN, SALES, DELIVERY})),
    "acknowledgeAlert": frozenset({ADMIN, SALES, DELIVERY}),
    "waiveAlert": frozenset({ADMIN, SALES, DELIVERY}),
    "evaluateEngagement": frozenset({ADMIN, SALES, DELIVERY}),
    **_crud("CommissionPlan", frozenset({ADMIN, FINANCE})),
    "assignCommissionPlan": frozenset({ADMIN, FINANCE}),
    "setEngagementCredits": frozenset({ADMIN, FINANCE}),
    **_crud("WebhookEndpoint", frozenset({ADMIN})),
    "rotateWebhookSecret": frozenset({ADMIN}),
    "redeliver": frozenset({ADMIN}),
    "sendTestEvent": frozenset({ADMIN}),
}

# Subscriptions show what the queries do: alerts and engagements, readable by everyone.
SUBSCRIPTIONS: dict[str, frozenset[Role]] = {
    "alertEvents": EVERYONE,
    "engagementChanged": EVERYONE,
}

# Objects fetched by global id: the types not listed are readable by everyone.
NODE_TYPES: dict[str, frozenset[Role]] = {
    "CommissionPlan": QUERIES["commissionPlans"],
    "CompensationSignal": QUERIES["compensationSignals"],
    "WebhookEndpoint": QUERIES["webhookEndpoints"],
    "WebhookDelivery": QUERIES["webhookDeliveries"],
    "AuditEntry": QUERIES["auditLog"],
    # Keys have no GraphQL type; their changes show in the audit trail, to admins only.
    "ApiKey": frozenset({ADMIN}),
}


class Forbidden(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "FORBIDDEN"})


def may_read_type(principal: Principal | None, type_name: str) -> bool:
    return principal is not None and principal.role in NODE_TYPES.get(type_name, EVERYONE)


def own_signals_only(principal: Principal | None) -> int | None:
    """The person whose signals alone ``principal`` may see, or None when it may see all.

    A SALES key sees its own person's; one tied to no person sees none (person 0).
    """
    if principal is None or principal.role in (ADMIN, FINANCE):
        return None
    return principal.person_id or 0


def _root_fields(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, fragments)


def refusal(
    document: DocumentNode, operation_name: str | None, principal: Principal | None
) -> str | None:
    """Why ``principal`` may not run the operation, or None when it may."""
    if principal is None:
        return "No API key."
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    if len(chosen) != 1:
        return None  # graphql-core answers an ambiguous or unknown operation itself
    operation = chosen[0]
    table = {"mutation": MUTATIONS, "subscription": SUBSCRIPTIONS}.get(
        operation.operation.value, QUERIES
    )
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    for name in _root_fields(operation.selection_set, fragments):
        if name.startswith("__"):
            continue  # __typename, introspection
        if principal.role not in table.get(name, frozenset()):
            return f"A {principal.role.value} key may not use `{name}`."
    return None


class Authorize(SchemaExtension):
    """Refuse, before it runs, an operation that asks for what its key's role may not use."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        principal: Any = getattr(context.context, "principal", None)
        if document is not None:
            reason = refusal(document, context.operation_name, principal)
            if reason is not None:
                context.result = ExecutionResult(data=None, errors=[Forbidden(reason)])
        yield
