"""The shape of a document, measured in one walk before it is validated: how deep it nests,
how many aliases and fields it selects, and how many fields land at one place in the response.
A document over any limit is refused before graphql-core's validation sees it.

Why before, and why one walk: fragments let a short document stand for an enormous one
(25 fragments that each spread the one before ten times are 1.5 KB and select 10^24
fields), and both a walk that follows every spread and graphql-core's check that
same-named fields can be merged (which compares them in pairs) take time in what the
document stands for, not in what it is. Here each fragment is measured once and its
figures are reused wherever it is spread, so the walk costs time linear in the document's
size; and the pairwise comparison only runs on documents whose fields, counted wherever
their fragments are spread, and whose repeats of one field in one selection set are both
bounded.

What is counted: a field's depth is the number of fields with selections above and
including it (introspection's ``__`` fields are not counted, as before); aliases and
fields are counted as written, each fragment's as many times as it is spread; the fields
at one place in the response are those that share a response path, however they got there
(repeated parents, inline fragments, fragments).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document


@dataclass(frozen=True)
class ShapeLimits:
    max_depth: int
    max_aliases: int
    max_fields: int
    max_repeats: int


@dataclass(frozen=True)
class Size:
    """What a selection set (with everything under it) adds up to."""

    depth: int
    aliases: int
    fields: int


def _response_name(field: FieldNode) -> str:
    return field.alias.value if field.alias else field.name.value


class _Sizes:
    """Depth, aliases and fields of selection sets; each fragment measured once.

    A fragment spread while it is being measured (a cycle, which validation refuses)
    counts as empty, so the walk ends whatever the document says.
    """

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.measured: dict[str, Size] = {}

    def fragment(self, name: str) -> Size:
        known = self.measured.get(name)
        if known is not None:
            return known
        self.measured[name] = Size(0, 0, 0)  # in progress: a cycle ends here
        definition = self.fragments.get(name)
        size = self.selections(definition.selection_set) if definition else Size(0, 0, 0)
        self.measured[name] = size
        return size

    def selections(self, selection_set: SelectionSetNode | None) -> Size:
        depth = aliases = fields = 0
        if selection_set is None:
            return Size(0, 0, 0)
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.selections(selection.selection_set)
                fields += 1 + inner.fields
                aliases += (1 if selection.alias else 0) + inner.aliases
                if selection.selection_set and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner.depth)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = self.selections(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
            else:  # pragma: no cover - the grammar has no other selection
                continue
            depth = max(depth, inner.depth)
            aliases += inner.aliases
            fields += inner.fields
        return Size(depth, aliases, fields)


class _Repeats:
    """The most fields selected at one place in the response: the fields that share a
        response path (``organizations.nodes.engagements``), through repeated parents,
        inline fragments and spread fragments.

        graphql-core's check that fields merge compares the fields at each place in pairs, so
        its work grows with the square of this count, and compounds when repeated fields
        repeat their children: five ``engagements`` each selecting five ``engagements`` are
        twenty-five at the inner place. Walking the document place by place visits each field
        once per place it lands, which the field limit already bounds; the walk also stops
        there, so a fragment spread inside its own fields (refused by validation) cannot keep it
    going.
    """

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], budget: int) -> None:
        self.fragments = fragments
        self.budget = budget
        self.most = 0
        self.most_name = ""

    def _collect(
        self,
        selection_set: SelectionSetNode,
        into: dict[str, list[FieldNode]],
        spread: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                into.setdefault(_response_name(selection), []).append(selection)
                self.budget -= 1
            elif isinstance(selection, InlineFragmentNode):
                self._collect(selection.selection_set, into, spread)
            elif isinstance(selection, FragmentSpreadNode):
                # A fragment lands once at a place however often it is spread there, as
                # graphql-core compares (and executes) it; that also ends a cycle.
                name = selection.name.value
                definition = self.fragments.get(name)
                if definition is not None and name not in spread:
                    spread.add(name)
                    self._collect(definition.selection_set, into, spread)

    def walk(self, root: SelectionSetNode) -> None:
        """Count the fields at each place under ``root``, place by place (breadth first, so
        a cycle runs out of budget rather than out of stack)."""
        places: deque[tuple[list[SelectionSetNode], str]] = deque([([root], "")])
        while places and self.budget >= 0:
            place, path = places.popleft()
            fields: dict[str, list[FieldNode]] = {}
            spread: set[str] = set()
            for selection_set in place:
                self._collect(selection_set, fields, spread)
            for name, same in fields.items():
                if len(same) > self.most:
                    self.most, self.most_name = len(same), f"{path}{name}"
                inner = [f.selection_set for f in same if f.selection_set is not None]
                if inner:
                    places.append((inner, f"{path}{name}."))


class ShapeLimitExceeded(GraphQLError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


def shape_errors(document: DocumentNode, limits: ShapeLimits) -> list[GraphQLError]:
    """The limits the document goes over, each as one error; none when it is within them."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    sizes = _Sizes(fragments)
    errors: list[GraphQLError] = []
    aliases = fields = 0
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        size = sizes.selections(operation.selection_set)
        aliases += size.aliases
        fields += size.fields
        if size.depth > limits.max_depth:
            name = operation.name.value if operation.name else "anonymous"
            errors.append(
                ShapeLimitExceeded(
                    f"'{name}' exceeds maximum operation depth of {limits.max_depth}",
                    "MAX_DEPTH_EXCEEDED",
                )
            )
    if aliases > limits.max_aliases:
        errors.append(
            ShapeLimitExceeded(
                f"{aliases} aliases found. Allowed: {limits.max_aliases}", "MAX_ALIASES_EXCEEDED"
            )
        )
    if fields > limits.max_fields:
        errors.append(
            ShapeLimitExceeded(
                f"The document selects {fields} fields, counting a fragment's fields wherever "
                f"it is spread; the limit is {limits.max_fields}. Select fewer fields, or "
                "spread fragments fewer times.",
                "MAX_FIELDS_EXCEEDED",
            )
        )
    if errors:
        return errors
    for operation in operations:
        repeats = _Repeats(fragments, budget=limits.max_fields)
        repeats.walk(operation.selection_set)
        if repeats.most <= limits.max_repeats:
            continue
        errors.append(
            ShapeLimitExceeded(
                f"`{repeats.most_name}` is selected {repeats.most} times at one place in the "
                f"response (repeated parents and fragments included); the limit is "
                f"{limits.max_repeats}. Select it once, or give each selection its own alias.",
                "MAX_REPEATS_EXCEEDED",
            )
        )
    return errors


PARSE_CACHE_SIZE = 512


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_document(query: str, max_tokens: int | None = None) -> DocumentNode:
    """``query`` parsed, once per text: the schema's parse and the result cache's look
    at a document share this (raises what graphql-core's parser raises)."""
    return parse(query, max_tokens=max_tokens)


class ParseOnce(SchemaExtension):
    """strawberry's ParserCache over :func:`parse_document`: each text is parsed once,
    whoever asks first (the result cache looks at the document before it runs)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = parse_document(context.query or "", **context.parse_options)
        yield


@lru_cache(maxsize=512)
def _checked(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    limits: ShapeLimits,
) -> list[GraphQLError]:
    return shape_errors(document, limits) or validate_document(schema, document, rules)


def validation_cache_info() -> Any:
    """The hits and misses of the shared check-and-validate cache (for tests and metrics)."""
    return _checked.cache_info()


class CheckShapeThenValidate(SchemaExtension):
    """Measures the document's shape, then (within the limits) validates it; both cached
    per document, so a query text seen before costs a lookup.

    Keyed by the parsed document, which ``ParserCache`` hands out as the same object for
    the same text, and by the rule classes, which are made once per schema.
    """

    def __init__(self, limits: ShapeLimits) -> None:
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            context.pre_execution_errors = _checked(
                context.schema._schema,
                context.graphql_document,
                tuple(context.validation_rules),
                self.limits,
            )
        yield
