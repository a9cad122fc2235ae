"""What one request may ask for beyond its document's shape, and what its errors may say:
whether they suggest the schema's names.

Depth, aliases and tokens are bounded by validation rules (``api.schema``), which see the
document alone and are cached with it.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, ValidationContext, ValidationRule
from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


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


class QuietExecutor(StrawberryGraphQLCoreExecutionContext):
    """Executes without suggestions in request errors (an enum variable's "Did you mean")."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> list[GraphQLError] | Executor[Any]:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)
