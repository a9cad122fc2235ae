"""Assembles the schema from each concept's queries and mutations; nothing else lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError, GraphQLObjectType
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.field import StrawberryField

from api.alerts.alerts import AlertMutation, AlertQuery
from api.audit.audit import AuditQuery
from api.compensation.compensation import (
    CompensationMutation,
    CompensationQuery,
)
from api.core.access import Authorize
from api.core.errors import MASKED_MESSAGE, should_mask
from api.core.execution import PlainLeavesExecutor, mark_plain_leaf
from api.core.limits import CountNodes, HideSuggestions, NodeBudget, QuietExecutor
from api.core.measure import MeasureOperations
from api.core.nodes import NodeQuery
from api.core.relay import NODE_TYPES
from api.core.scalars import SCALAR_OVERRIDES
from api.core.shape import CheckShapeThenValidate, ParseOnce, ShapeLimits
from api.engagements.change_orders import ChangeOrderMutation
from api.engagements.deliverables import DeliverableMutation
from api.engagements.engagements import EngagementMutation, EngagementQuery
from api.engagements.needs import NeedMutation
from api.engagements.promises import PromiseMutation
from api.engagements.purchases import PurchaseMutation
from api.engagements.roles import RoleAssignmentMutation
from api.live.subscriptions import LiveSubscription
from api.parties.organizations import OrganizationMutation, OrganizationQuery
from api.parties.people import PersonMutation, PersonQuery
from api.webhooks.webhooks import (
    WebhookMutation,
    WebhookQuery,
)
from settings import get_settings
from webhooks.wiring import AnnounceEvents

Query = merge_types(
    "Query",
    (
        NodeQuery,
        EngagementQuery,
        OrganizationQuery,
        PersonQuery,
        AlertQuery,
        CompensationQuery,
        WebhookQuery,
        AuditQuery,
    ),
)
Subscription = merge_types("Subscription", (LiveSubscription,))
Mutation = merge_types(
    "Mutation",
    (
        OrganizationMutation,
        PersonMutation,
        EngagementMutation,
        RoleAssignmentMutation,
        NeedMutation,
        PromiseMutation,
        PurchaseMutation,
        DeliverableMutation,
        ChangeOrderMutation,
        AlertMutation,
        CompensationMutation,
        WebhookMutation,
    ),
)

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def _limits() -> list[type[ASTValidationRule]]:
    """The validation rules added to graphql-core's: introspection and suggestions switched
    off when the settings say so. (Depth, aliases and fields are measured before
    validation, by ``api.core.shape``.)"""
    settings = get_settings()
    rules: list[type[ASTValidationRule]] = []
    if not settings.graphql_introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    if not settings.graphql_suggestions:
        rules.append(HideSuggestions)
    return rules


class Schema(strawberry.Schema):
    """The schema, logging only what failed unexpectedly (at ERROR, with its traceback).

    A client's own mistakes (syntax, validation, bad input, refusals) are answered to the
    client and counted by the request's log line and metrics; logged at ERROR too, as
    strawberry does by default, they would bury the failures that need a look.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        super().process_errors([e for e in errors if should_mask(e)], execution_context)


def build_schema(*, debug: bool = False) -> strawberry.Schema:
    """The schema with its caches and limits; unexpected errors are masked unless ``debug``."""
    # Factories, not instances: strawberry makes the extensions anew per request. The two
    # caches live at module level all the same, so graphql-core's ~1 ms of parsing and
    # validating a realistic query is paid once per distinct query text.
    settings = get_settings()
    limits = _limits()
    max_tokens = settings.graphql_max_tokens
    # Holds the plans of recent documents, so it is made once, like the caches.
    budget = NodeBudget(
        max_nodes=settings.graphql_max_nodes,
        default_page_size=settings.default_page_size,
        max_page_size=settings.max_page_size,
    )
    shape = ShapeLimits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_fields=settings.graphql_max_fields,
        max_repeats=settings.graphql_max_repeats,
    )
    extensions: list[object] = [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: AddValidationRules(limits),
        ParseOnce,  # the parse cache, shared with the result cache
        # In place of strawberry's ValidationCache: the shape first, then validation.
        lambda: CheckShapeThenValidate(shape),
        Authorize,
        # After Authorize: a forbidden operation is refused as such, whatever it costs.
        lambda: CountNodes(budget),
        AnnounceEvents,
        MeasureOperations,
    ]
    if not debug:
        extensions.append(
            lambda: MaskErrors(should_mask_error=should_mask, error_message=MASKED_MESSAGE)
        )
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Types reached only through the Node interface must still be in the schema.
        types=list(NODE_TYPES.values()),
        scalar_overrides=SCALAR_OVERRIDES,
        extensions=extensions,  # type: ignore[arg-type]
        execution_context_class=PlainLeavesExecutor
        if settings.graphql_suggestions
        else QuietExecutor,
        config=StrawberryConfig(relay_max_results=100),
    )
    read_plain_fields_directly(schema)
    return schema


def read_plain_fields_directly(schema: strawberry.Schema) -> None:
    """Resolve each field that is a plain attribute (no resolver, no extension) with one
    ``getattr`` instead of strawberry's two wrappers around it.

    A fifty-item engagement page resolves about a thousand such leaves; in a profile the
    wrappers were about a tenth of its execution. Fields with a resolver or an extension
    keep strawberry's. Those whose type is a scalar or an enum are also marked for
    ``api.core.execution``, which completes them without graphql-core's per-field work.
    """
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for name, graphql_field in graphql_type.fields.items():
            definition = (graphql_field.extensions or {}).get(
                GraphQLCoreConverter.DEFINITION_BACKREF
            )
            if (
                isinstance(definition, StrawberryField)
                and definition.is_basic_field
                and getattr(graphql_field.resolve, "_is_default", False)
            ):
                graphql_field.resolve = _attribute_reader(definition.python_name)
                mark_plain_leaf(graphql_type, name, graphql_field, definition.python_name)


def _attribute_reader(name: str) -> Any:
    def read(source: object, _info: object) -> object:
        return getattr(source, name)

    return read


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
