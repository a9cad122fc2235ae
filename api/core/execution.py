"""Execution with a short path for plain leaves: a scalar or enum field that is a plain
attribute of its object (no resolver, no extension) is read and coerced in place, without
graphql-core's per-field machinery.

graphql-core gives every field the same treatment: a path entry, a resolve info, the
resolver's call, an awaitable check and a walk through ``complete_value``. A fifty-item
engagement page has about a thousand such leaves (ids, names, quantities, amounts), and
in a profile of a cold read that treatment was about half of the request's CPU. A plain
leaf needs none of it: its value is the attribute, coerced by the field's own type exactly
as ``complete_leaf_value`` would. Anything out of the ordinary (a null on a non-null field,
a value the type cannot coerce, an attribute that raises) takes graphql-core's own path,
which then reports the error with its location and path as it always did.

:func:`mark_plain_leaf` records such a field on its object type, and
:class:`PlainLeavesExecutor` reads the record.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

PLAIN_LEAVES = "fourway.plain_leaves"
"""The key, in an object type's ``extensions``, of its plain leaves: field name to
(attribute, coerce, nullable)."""

PlainLeaf = tuple[str, Any, bool]


def mark_plain_leaf(
    parent_type: GraphQLObjectType, name: str, field: GraphQLField, attribute: str
) -> None:
    """Record ``name`` of ``parent_type`` as a plain leaf read from ``attribute``, when
    its type is a scalar or an enum (other plain fields keep graphql-core's path)."""
    leaf_type = get_nullable_type(field.type)
    if not is_leaf_type(leaf_type):
        return
    leaves: dict[str, PlainLeaf] = parent_type.extensions.setdefault(PLAIN_LEAVES, {})
    leaves[name] = (attribute, leaf_type.coerce_output_value, not is_non_null_type(field.type))


class PlainLeavesExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, completing plain leaves in place (see the module)."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        leaves: dict[str, PlainLeaf] | None = parent_type.extensions.get(PLAIN_LEAVES)
        middleware = self.middleware_manager
        if leaves is None or (middleware is not None and middleware.middlewares):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        # graphql-core's own loop (ExecutionContext.execute_fields), with the short path.
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                leaf = leaves.get(field_details_list[0].node.name.value)
                if leaf is not None:
                    attribute, coerce, nullable = leaf
                    try:
                        value = getattr(source_value, attribute)
                        if value is None:
                            if nullable:
                                results[response_name] = None
                                continue
                        else:
                            coerced = coerce(value)
                            if coerced is not None and coerced is not Undefined:
                                results[response_name] = coerced
                                continue
                    except Exception:  # the long path below reports it
                        pass
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """graphql-core's, straight to the object's fields for an object (a page's edges
        and nodes, about five hundred of them): the checks it would make first, by type
        and by value, cannot fail for an object that is there, and an object's
        completion is never null."""
        object_type = return_type
        if type(object_type) is GraphQLNonNull:
            object_type = object_type.of_type
        if (
            type(object_type) is GraphQLObjectType
            and result is not None
            and result is not Undefined
            and not isinstance(result, Exception)
        ):
            return self.complete_object_value(
                object_type, field_details_list, info, path, result, position_context
            )
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )
