"""Who may do what: the one table of access, and where it is enforced.

Every top-level field of a query or mutation names the roles that may use it; an
operation that asks for a field its key's role may not use is refused whole, before it
runs, with the code FORBIDDEN. Below the root, the types some roles may not read (pay,
webhooks, the audit trail) are refused wherever a field returns them, except where the
field shows each key only what it may read: objects reached by global id (``node``/
``nodes``) follow the read rule of their type, and compensation signals have one read
path (``api.compensation.compensation.visible_entries``), which keeps a salesperson to their own.
The README shows the same table.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)
from graphql.execution import ExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.core.principal import Principal
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
    # A salesperson sees their own signals and statement only (see visible_entries).
    "compensationSignals": frozenset({ADMIN, FINANCE, SALES}),
    "compensationStatement": frozenset({ADMIN, FINANCE, SALES}),
    "compensationPeriods": frozenset({ADMIN, FINANCE, SALES}),
    "webhookEndpoints": frozenset({ADMIN}),
    "webhookDeliveries": frozenset({ADMIN}),
    # Changes to types a role may not read are left out of its trail (see api.audit.audit).
    "auditLog": frozenset({ADMIN, FINANCE}),
}

MUTATIONS: dict[str, frozenset[Role]] = {
    **_crud("Organization", frozenset({ADMIN, SALES})),
    **_crud("Person", frozenset({ADMIN, SALES})),
    **_crud("Engagement", frozenset({ADMIN, SALES})),
    "deleteEngagement": frozenset({ADMIN}),
    # Narrowed by the decision table to those holding ENGAGEMENT_MANAGEMENT or SPONSOR.
    "approveDeal": frozenset({ADMIN, SALES, FINANCE, DELIVERY}),
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
    "closeCompensationPeriod": frozenset({ADMIN, FINANCE}),
    "repriceEngagement": frozenset({ADMIN, FINANCE}),
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

# The object types only some roles may read, wherever they are reached: as a root field's
# result, nested in another object, through ``node``/``nodes``, in a payload or in a
# subscription's message. Types not listed are readable by everyone; a type's connection
# and edge follow the type. ``Authorize`` refuses an operation that selects a field
# returning a type its role may not read, unless the field narrows itself (NARROWED).
TYPES: dict[str, frozenset[Role]] = {
    "CommissionPlan": QUERIES["commissionPlans"],
    "PlanAssignment": QUERIES["commissionPlans"],
    "CommissionPlanVersion": QUERIES["commissionPlans"],
    "CompensationPeriod": QUERIES["compensationPeriods"],
    # SALES: their own share only (see own_signals_only).
    "Credit": frozenset({ADMIN, FINANCE, SALES}),
    "CompensationSignal": QUERIES["compensationSignals"],
    "CompensationStatement": QUERIES["compensationStatement"],
    "KindTotal": QUERIES["compensationStatement"],
    "WebhookEndpoint": QUERIES["webhookEndpoints"],
    "WebhookDelivery": QUERIES["webhookDeliveries"],
    "DeliveryAttempt": QUERIES["webhookDeliveries"],
    "AuditEntry": QUERIES["auditLog"],
    "AuditActor": QUERIES["auditLog"],
    # Keys have no GraphQL type; their changes show in the audit trail, to admins only.
    "ApiKey": frozenset({ADMIN}),
}

# Fields that reach restricted types for every role and show each key only what it may
# read, instead of being refused: null for an object it may not read (node, nodes), empty
# or its own for a list (signals through visible_entries; credits).
NARROWED = frozenset(
    {"Query.node", "Query.nodes", "Engagement.compensationSignals", "Engagement.credits"}
)


class Forbidden(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "FORBIDDEN"})


def readers(type_name: str) -> frozenset[Role]:
    """The roles that may read objects of ``type_name`` (or its connection or edge)."""
    for suffix in ("Connection", "Edge"):
        base = type_name.removesuffix(suffix)
        if base != type_name and base in TYPES:
            return TYPES[base]
    return TYPES.get(type_name, EVERYONE)


def may_read_type(principal: Principal | None, type_name: str) -> bool:
    return principal is not None and principal.role in readers(type_name)


def own_signals_only(principal: Principal | None) -> int | None:
    """The person whose pay (signals, credits) alone ``principal`` may see, or None when it
    may see all.

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


class _Crossings(Visitor):
    """Collects, in document order, each field that returns a type not everyone may read,
    as (``Parent.field``, parent type, returned type)."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: list[tuple[str, str, str]] = []

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent, definition = self.type_info.get_parent_type(), self.type_info.get_field_def()
        if parent is None or definition is None:
            return  # an unknown field: validation has answered already
        returned = get_named_type(definition.type).name
        if readers(returned) != EVERYONE:
            self.found.append((f"{parent.name}.{node.name.value}", parent.name, returned))


# The parser cache hands out one document object per query text, so what the walk finds
# (it costs about as much as validating) is kept per document and schema.
_CROSSINGS_KEPT = 512
_crossings_seen: OrderedDict[
    tuple[int, int], tuple[DocumentNode, GraphQLSchema, list[tuple[str, str, str]]]
] = OrderedDict()


def _crossings(document: DocumentNode, schema: GraphQLSchema) -> list[tuple[str, str, str]]:
    key = (id(document), id(schema))
    seen = _crossings_seen.get(key)
    if seen is not None and seen[0] is document and seen[1] is schema:
        _crossings_seen.move_to_end(key)
        return seen[2]
    type_info = TypeInfo(schema)
    collector = _Crossings(type_info)
    visit(document, TypeInfoVisitor(type_info, collector))
    _crossings_seen[key] = (document, schema, collector.found)
    if len(_crossings_seen) > _CROSSINGS_KEPT:
        _crossings_seen.popitem(last=False)
    return collector.found


def _nested_refusal(document: DocumentNode, schema: GraphQLSchema, role: Role) -> str | None:
    """The first field that returns a type the role may not read from one it may (deeper
    fields are reached only through such a field, or a narrowed one)."""
    for name, parent, returned in _crossings(document, schema):
        if name not in NARROWED and role in readers(parent) and role not in readers(returned):
            return f"A {role.value} key may not read `{name}`."
    return None


def refusal(
    document: DocumentNode,
    operation_name: str | None,
    principal: Principal | None,
    schema: GraphQLSchema | None = None,
) -> str | None:
    """Why ``principal`` may not run the operation, or None when it may. With ``schema``,
    nested fields are checked against TYPES as well as root fields against their table."""
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
    return _nested_refusal(document, schema, principal.role) if schema is not None else None


class Authorize(SchemaExtension):
    """Refuse, before it runs, an operation that asks for what its key's role may not use,
    over HTTP and websockets alike."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        principal: Any = getattr(context.context, "principal", None)
        if document is not None:
            reason = refusal(document, context.operation_name, principal, context.schema._schema)
            if reason is not None:
                if context.operation_type is OperationType.SUBSCRIPTION:
                    # A subscription runs whatever result is set: only raising stops it.
                    raise Forbidden(reason)
                context.result = ExecutionResult(data=None, errors=[Forbidden(reason)])
        yield
