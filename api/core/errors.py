"""userErrors: how an expected failure reaches the client, and which errors are masked."""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql import GraphQLError
from strawberry.utils.str_converters import to_camel_case

from services.core.errors import DomainError


@strawberry.enum(description="Why a mutation did not do what was asked.")
class UserErrorCode(Enum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT_OF_INTEREST = "CONFLICT_OF_INTEREST"


@strawberry.type(description="An expected failure, with the input field it is about.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field, such as ["input", "quantity"]; '
        "null when the error concerns the whole input."
    )
    message: str
    code: UserErrorCode


def user_errors(error: DomainError) -> list[UserError]:
    """The domain error's field errors as userErrors, field names as the schema spells them."""
    return [
        UserError(
            # A nested field ("credits.0.split_pct") becomes a path: credits, 0, splitPct.
            field=["input", *(to_camel_case(part) for part in e.field.split("."))]
            if e.field
            else None,
            message=(
                f"{to_camel_case(e.field.split('.')[-1])} {e.message}"
                if e.field and e.message[:1].islower()
                else e.message
            ),
            code=UserErrorCode(e.code.value),
        )
        for e in error.errors
    ]


MASKED_MESSAGE = "Unexpected error."
"""What a client sees instead of an unexpected error's own message."""


def should_mask(error: GraphQLError) -> bool:
    """Mask errors that carry an unexpected exception; show the client's own mistakes."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def masked(errors: list[GraphQLError]) -> list[GraphQLError]:
    """``errors``, each one :func:`should_mask` picks replaced by :data:`MASKED_MESSAGE`.

    The MaskErrors extension misses an exception raised in an extension's own hook:
    strawberry 0.341 turns that into the result after the extensions have finished, so
    the view masks once more what reaches the client.
    """
    return [
        GraphQLError(MASKED_MESSAGE, nodes=e.nodes, source=e.source, path=e.path)
        if should_mask(e)
        else e
        for e in errors
    ]
