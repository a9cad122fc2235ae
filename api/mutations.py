"""Builds the create/update/delete mutations of a type from its input and its service.

Every mutation takes one ``input`` and answers ``<Name>Payload`` with the object it touched
(null on failure) and ``userErrors``; expected failures never raise.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.types.base import get_object_definition

from api.errors import UserError, user_errors
from api.inputs import to_values
from services.errors import DomainError
from services.evaluation import Changed


def payload_type(
    name: str, field: str, node_type: Any, *, deleted: bool = False, evaluates: bool = False
) -> type:
    """``<name>Payload { <field>: NodeType, userErrors }``, with ``deletedId`` for deletions
    and ``alertsOpened``/``alertsResolved`` for changes the rules evaluate."""
    annotations: dict[str, Any] = {field: node_type | None, "user_errors": list[UserError]}
    namespace: dict[str, Any] = {
        "__annotations__": annotations,
        "__module__": __name__,
        field: strawberry.field(
            default=None,
            description="The object as it was before deletion." if deleted else None,
        ),
        "user_errors": strawberry.field(default_factory=list),
    }
    if deleted:
        annotations["deleted_id"] = strawberry.ID | None
        namespace["deleted_id"] = strawberry.field(
            default=None, description="The global id of the deleted object."
        )
    if evaluates:
        from api.alerts import Alert

        for side, verb in (("opened", "opened"), ("resolved", "resolved")):
            annotations[f"alerts_{side}"] = list[Alert]
            namespace[f"alerts_{side}"] = strawberry.field(
                default_factory=list, description=f"Alerts the change {verb}."
            )
    return strawberry.type(type(f"{name}Payload", (), namespace))


def update_input(name: str, create_input: type, *, description: str) -> type:
    """``<name>Input``: ``id`` plus every field of ``create_input``, each optional.

    A field left out keeps its value; a field given as null clears it (where it may be null).
    """
    hints = typing.get_type_hints(create_input)
    definition = get_object_definition(create_input, strict=True)
    annotations: dict[str, Any] = {"id": strawberry.ID}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    for f in definition.fields:
        hint = hints[f.python_name]
        annotations[f.python_name] = hint if _is_optional(hint) else hint | None
        namespace[f.python_name] = strawberry.field(
            default=strawberry.UNSET, description=f.description
        )
    return strawberry.input(type(f"{name}Input", (), namespace), description=description)


def _is_optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def mutation(
    *,
    input_type: type,
    payload: type,
    field: str,
    service: Callable[..., Awaitable[Any]],
    build: Callable[[Any], Any],
    description: str,
    id_type: str | None = None,
    deleted: bool = False,
) -> Any:
    """A mutation resolver: input → ``service(**values)`` → payload, DomainErrors as userErrors."""

    async def resolve(input: Any) -> Any:
        try:
            values = to_values(input, id_type=id_type)
            result = await service(**values)
        except DomainError as error:
            return payload(user_errors=user_errors(error))
        extra: dict[str, Any] = {}
        if isinstance(result, Changed):
            from api.alerts import Alert

            extra["alerts_opened"] = [Alert.from_model(a) for a in result.alerts.opened]
            extra["alerts_resolved"] = [Alert.from_model(a) for a in result.alerts.resolved]
            result = result.record
        node = build(result)
        if deleted:
            extra["deleted_id"] = node.id
        return payload(**{field: node, **extra})

    resolve.__annotations__ = {"input": input_type, "return": payload}
    return strawberry.mutation(resolver=resolve, description=description)


def crud(
    *,
    type_name: str,
    field: str,
    node_type: Any,
    build: Callable[[Any], Any],
    create_input: type,
    create: Callable[..., Awaitable[Any]],
    update: Callable[..., Awaitable[Any]],
    delete: Callable[..., Awaitable[Any]],
    label: str,
    evaluates: bool = True,
) -> dict[str, Any]:
    """``create<T>``, ``update<T>`` and ``delete<T>`` of one node type, for a Mutation type."""
    update_in = update_input(
        f"Update{type_name}", create_input, description=f"Changes to {_a(label)}."
    )
    delete_in = strawberry.input(
        type(
            f"Delete{type_name}Input",
            (),
            {"__annotations__": {"id": strawberry.ID}, "__module__": __name__},
        ),
        description=f"The {label} to delete.",
    )
    snake = _snake(type_name)
    return {
        f"create_{snake}": mutation(
            input_type=create_input,
            payload=payload_type(f"Create{type_name}", field, node_type, evaluates=evaluates),
            field=field,
            service=create,
            build=build,
            description=f"Create {_a(label)}.",
        ),
        f"update_{snake}": mutation(
            input_type=update_in,
            payload=payload_type(f"Update{type_name}", field, node_type, evaluates=evaluates),
            field=field,
            service=update,
            build=build,
            id_type=type_name,
            description=f"Change {_a(label)}: fields left out keep their values.",
        ),
        f"delete_{snake}": mutation(
            input_type=delete_in,
            payload=payload_type(
                f"Delete{type_name}", field, node_type, deleted=True, evaluates=evaluates
            ),
            field=field,
            service=delete,
            build=build,
            id_type=type_name,
            deleted=True,
            description=f"Delete {_a(label)}.",
        ),
    }


def _a(label: str) -> str:
    return f"an {label}" if label[0] in "aeiou" else f"a {label}"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def mutation_type(name: str, fields: dict[str, Any]) -> type:
    """A strawberry type holding ``fields`` (mutations), for merging into the root Mutation."""
    return strawberry.type(type(name, (), {**fields, "__module__": __name__}))
