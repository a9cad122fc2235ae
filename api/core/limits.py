"""What one request may ask for beyond its document's shape: the nodes its connections may
return (refused above a budget, reported in ``extensions.cost``), and whether errors may
suggest the schema's names.

Depth, aliases and tokens are bounded by validation rules (``api.schema``), which see the
document alone and are cached with it. The node budget also needs the request's variables
(``first: $n``), so it is checked as execution starts; what it needs of the document is
planned once per (query, operation name) and kept, leaving a request to plug in variables.

The rule, as GitHub's: a connection field asks for ``first`` or ``last`` nodes (the default
page when neither is given, never more than the maximum page), times the page of every
connection around it; a request asks for the sum over its connection fields, each selection
counted as written (fragments, inline fragments and repeated fields included). A field that
fetches by ids (``nodes(ids:)``) counts like a connection whose page is its number of ids.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.execution import ExecutionResult, Executor
from strawberry.extensions import SchemaExtension

from api.core.execution import PlainLeavesExecutor

# --- suggestions ------------------------------------------------------------------------


class HideSuggestions(ValidationRule):
    """Keep "Did you mean ...?" out of validation errors, so that they name nothing of the
    schema the client did not write.

    graphql-core takes this only as an argument of ``validate()``, which strawberry does
    not pass. Every rule is built with the shared context before the document is visited,
    so this one sets the flag for all of them; being one fixed class, it keeps the
    validation cache hitting.
    """

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        context._hide_suggestions = True


class QuietExecutor(PlainLeavesExecutor):
    """Executes without suggestions in request errors (an enum variable's "Did you mean")."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> list[GraphQLError] | Executor[Any]:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)


# --- the node budget ----------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """A page size given as ``$name``, with the operation's default for it."""

    name: str
    default: int | None


# How a document gives `first` or `last`: a number, a variable, or not at all (or null).
PageArgument = int | Variable | None


@dataclass(frozen=True, eq=False)
class ConnectionField:
    first: PageArgument
    last: PageArgument
    inner: Selections


@dataclass(frozen=True, eq=False)
class IdsField:
    """``nodes(ids:)``: one node per id, each with what is selected under it. ``count`` is
    the number of ids when the document lists them, else the variable that holds them."""

    count: int | Variable | None
    inner: Selections


@dataclass(frozen=True, eq=False)
class Selections:
    """The connections one selection set asks for: its own, and those under its plain
    fields and fragments. A fragment's are planned once and shared wherever it is spread."""

    connections: tuple[ConnectionField | IdsField, ...]
    nested: tuple[Selections, ...]


NOTHING = Selections((), ())


@dataclass(frozen=True)
class Plan:
    selections: Selections
    fixed: int | None
    """The count when the document gives every page size as a number; else None."""


def _int(value: object) -> int | None:
    """A page size as JSON may give it; None for what graphql-core will refuse as an Int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _literal(value: ValueNode | None) -> int | None:
    return int(value.value) if isinstance(value, IntValueNode) else None


def _lists_ids(field: GraphQLField) -> bool:
    """A field that fetches one object per id it is given (``nodes(ids:)``)."""
    return "ids" in field.args and isinstance(
        get_named_type(field.args["ids"].type), GraphQLScalarType
    )


def _is_connection(field: GraphQLField) -> bool:
    named = get_named_type(field.type)
    return (
        "first" in field.args
        and "last" in field.args
        and isinstance(named, GraphQLObjectType)
        and "edges" in named.fields
        and "pageInfo" in named.fields
    )


class _Planner:
    """Walks one operation of a validated document once; fragments are planned once each."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        defaults: Mapping[str, int | None],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.defaults = defaults
        self.planned: dict[str, Selections] = {}
        self.uses_variables = False

    def argument(self, node: FieldNode, name: str) -> PageArgument:
        for argument in node.arguments or ():
            if argument.name.value == name:
                if isinstance(argument.value, VariableNode):
                    self.uses_variables = True
                    variable = argument.value.name.value
                    return Variable(variable, self.defaults.get(variable))
                return _literal(argument.value)
        return None

    def ids(self, node: FieldNode) -> int | Variable | None:
        for argument in node.arguments or ():
            if argument.name.value == "ids":
                if isinstance(argument.value, VariableNode):
                    self.uses_variables = True
                    return Variable(argument.value.name.value, None)
                if isinstance(argument.value, ListValueNode):
                    return len(argument.value.values)
                return 1  # a single id stands for a list of one
        return None

    def fragment(self, name: str) -> Selections:
        if name in self.planned:
            return self.planned[name]
        definition = self.fragments.get(name)
        self.planned[name] = NOTHING  # validation refuses cycles; this ends one regardless
        if definition is None:
            return NOTHING
        planned = self.selections(
            definition.selection_set, self.schema.get_type(definition.type_condition.name.value)
        )
        self.planned[name] = planned
        return planned

    def selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> Selections:
        if selection_set is None or parent is None:
            return NOTHING
        connections: list[ConnectionField | IdsField] = []
        nested: list[Selections] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                field = (
                    parent.fields.get(selection.name.value)
                    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
                    else None
                )
                if field is None:
                    continue  # __typename and introspection: no connections
                inner = self.selections(selection.selection_set, get_named_type(field.type))
                if _is_connection(field):
                    first = self.argument(selection, "first")
                    last = self.argument(selection, "last")
                    connections.append(ConnectionField(first, last, inner))
                elif _lists_ids(field):
                    connections.append(IdsField(self.ids(selection), inner))
                else:
                    nested.append(inner)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                scope = self.schema.get_type(condition.name.value) if condition else parent
                nested.append(self.selections(selection.selection_set, scope))
            elif isinstance(selection, FragmentSpreadNode):
                nested.append(self.fragment(selection.name.value))
        kept = tuple(s for s in nested if s is not NOTHING)
        if not connections and not kept:
            return NOTHING
        if not connections and len(kept) == 1:
            return kept[0]
        return Selections(tuple(connections), kept)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    chosen = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (name is None or (d.name is not None and d.name.value == name))
    ]
    return chosen[0] if len(chosen) == 1 else None


class NodeBudget:
    """The budget of one schema, with the plans of the documents it has seen lately."""

    def __init__(
        self, *, max_nodes: int, default_page_size: int, max_page_size: int, plans: int = 512
    ) -> None:
        self.max_nodes = max_nodes
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self._size = plans
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()

    def requested(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        query: str | None,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int | None:
        """How many nodes the operation asks for; None when there is no one operation to
        run (graphql-core answers that itself)."""
        plan = self._plan(schema, document, query, operation_name)
        if plan is None:
            return None
        if plan.fixed is not None:
            return plan.fixed
        return self._count(plan.selections, variables or {}, {})

    def _plan(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        query: str | None,
        operation_name: str | None,
    ) -> Plan | None:
        if query is None:
            return self._make_plan(schema, document, operation_name)
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        plan = self._make_plan(schema, document, operation_name)
        self._plans[key] = plan
        if len(self._plans) > self._size:
            self._plans.popitem(last=False)
        return plan

    def _make_plan(
        self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
    ) -> Plan | None:
        operation = _operation(document, operation_name)
        if operation is None:
            return None
        root = {
            OperationType.QUERY: schema.query_type,
            OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type,
        }[operation.operation]
        planner = _Planner(
            schema,
            {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            },
            {
                v.variable.name.value: _literal(v.default_value)
                for v in operation.variable_definitions or ()
            },
        )
        selections = planner.selections(operation.selection_set, root)
        fixed = None if planner.uses_variables else self._count(selections, {}, {})
        return Plan(selections, fixed)

    def _page(self, argument: PageArgument, variables: Mapping[str, Any]) -> int | None:
        if isinstance(argument, Variable):
            return (
                _int(variables[argument.name]) if argument.name in variables else argument.default
            )
        return argument

    def _ids(self, count: int | Variable | None, variables: Mapping[str, Any]) -> int:
        if isinstance(count, Variable):
            value = variables.get(count.name)
            count = len(value) if isinstance(value, list) else 1 if value is not None else 0
        # More ids than a page holds are refused by the field itself.
        return min(count or 0, self.max_page_size)

    def _count(
        self, selections: Selections, variables: Mapping[str, Any], counted: dict[int, int]
    ) -> int:
        # A fragment's selections are shared wherever it is spread: counted once each.
        known = counted.get(id(selections))
        if known is not None:
            return known
        total = 0
        for connection in selections.connections:
            if isinstance(connection, IdsField):
                ids = self._ids(connection.count, variables)
                total += ids * (1 + self._count(connection.inner, variables, counted))
                continue
            given = [
                size
                for size in (
                    self._page(connection.first, variables),
                    self._page(connection.last, variables),
                )
                if size is not None
            ]
            # Beyond the maximum a page is refused, so it can return no more than that.
            page = min(max(max(given) if given else self.default_page_size, 0), self.max_page_size)
            total += page * (1 + self._count(connection.inner, variables, counted))
        for inner in selections.nested:
            total += self._count(inner, variables, counted)
        counted[id(selections)] = total
        return total


class NodeLimitExceeded(GraphQLError):
    def __init__(self, requested: int, limit: int) -> None:
        super().__init__(
            f"This request may return up to {requested} nodes across its connections, "
            f"more than the limit of {limit}. Ask for smaller pages (`first`/`last`) or "
            "fewer nested connections, and page through the rest with cursors.",
            extensions={"code": "MAX_NODE_LIMIT_EXCEEDED"},
        )


class CountNodes(SchemaExtension):
    """Refuse, before any resolver runs, an operation that asks for more nodes than the
    budget; tell every operation that runs what it asked for, in ``extensions.cost``."""

    def __init__(self, budget: NodeBudget) -> None:
        self.budget = budget
        self.requested: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            self.requested = self.budget.requested(
                context.schema._schema,
                document,
                context.query,
                context.operation_name,
                context.variables,
            )
            if (
                self.requested is not None
                and self.requested > self.budget.max_nodes
                and context.result is None  # already refused (FORBIDDEN) stays so
            ):
                context.result = ExecutionResult(
                    data=None, errors=[NodeLimitExceeded(self.requested, self.budget.max_nodes)]
                )
        yield

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        return {"cost": {"requestedNodes": self.requested, "maxNodes": self.budget.max_nodes}}
