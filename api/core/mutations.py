"""Builds the create/update/delete mutations of a type from its input and its service.

Every mutation takes one ``input`` and answers ``<Name>Payload`` with the object it touched
(null on failure) and ``userErrors``; expected failures never raise.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
from strawberry.types.base import get_object_definition

from api.core.errors import UserError, user_errors
from api.core.inputs import to_values
from api.core.relay import NODE_TYPES, IdOf
from services.alerts.evaluation import Changed
from services.core.errors import DomainError

_ALERT: Any = "Alert"
"""The alert type, by name: its module builds payloads with this one, so it is resolved
when the schema is built (``strawberry.lazy``), not imported here."""


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
        # Named lazily: the alert type's module builds payloads with this module.
        alert: Any = strawberry.lazy("api.alerts.alerts")
        for side, verb in (("opened", "opened"), ("resolved", "resolved")):
            annotations[f"alerts_{side}"] = list[Annotated[_ALERT, alert]]
            namespace[f"alerts_{side}"] = strawberry.field(
                default_factory=list, description=f"Alerts the change {verb}."
            )
    return strawberry.type(type(f"{name}Payload", (), namespace))


def update_input(name: str, create_input: type, *, id_of: str, description: str) -> type:
    """``<name>Input``: ``id`` (of an ``id_of``) plus every field of ``create_input``, each
    optional.

    A field left out keeps its value; a field given as null clears it (where it may be null).
    """
    hints = typing.get_type_hints(create_input, include_extras=True)
    definition = get_object_definition(create_input, strict=True)
    annotations: dict[str, Any] = {"id": Annotated[strawberry.ID, IdOf(id_of)]}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    for f in definition.fields:
        hint = hints[f.python_name]
        annotations[f.python_name] = hint if _is_optional(hint) else hint | None
        namespace[f.python_name] = strawberry.field(
            default=strawberry.UNSET, description=f.description
        )
    return strawberry.input(type(f"{name}Input", (), namespace), description=description)


def _is_optional(hint: Any) -> bool:
    if typing.get_origin(hint) is Annotated:
        return _is_optional(typing.get_args(hint)[0])
    return type(None) in typing.get_args(hint)


def mutation(
    *,
    input_type: type,
    payload: type,
    service: Callable[..., Awaitable[Any]],
    description: str,
    field: str | None = None,
    build: Callable[[Any], Any] | None = None,
    answer: Callable[[Any], Awaitable[dict[str, Any]]] | None = None,
    values: Callable[[Any], dict[str, Any]] = to_values,
    deleted: bool = False,
) -> Any:
    """A mutation resolver, the one way every mutation is written: input → ``values(input)``
    → ``service(**values)`` → payload, DomainErrors as userErrors.

    The payload holds ``build(result)`` as ``field`` (with the alerts a change opened and
    resolved, and the deleted id), or, for a payload of its own shape, the fields
    ``answer(result)`` gives."""

    async def resolve(input: Any) -> Any:
        try:
            result = await service(**values(input))
        except DomainError as error:
            return payload(user_errors=user_errors(error))
        if answer is not None:
            return payload(**await answer(result))
        assert field is not None and build is not None
        extra: dict[str, Any] = {}
        if isinstance(result, Changed):
            alert = NODE_TYPES["Alert"]  # registered by api.alerts.alerts, as every node type is
            opened, resolved = result.alerts.opened, result.alerts.resolved
            extra["alerts_opened"] = [alert.from_model(a) for a in opened]  # type: ignore[attr-defined]
            extra["alerts_resolved"] = [alert.from_model(a) for a in resolved]  # type: ignore[attr-defined]
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
        f"Update{type_name}",
        create_input,
        id_of=type_name,
        description=f"Changes to {_a(label)}.",
    )
    delete_in = strawberry.input(
        type(
            f"Delete{type_name}Input",
            (),
            {
                "__annotations__": {"id": Annotated[strawberry.ID, IdOf(type_name)]},
                "__module__": __name__,
            },
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
