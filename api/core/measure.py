"""Each GraphQL operation counted and timed by name, type and outcome, with its name left
for the request's log line (``web.observe`` writes it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from starlette.types import Scope
from strawberry.extensions import SchemaExtension

from observability import metrics

# Where an operation's name waits in the request's scope for its log line.
OPERATION = "graphql_operation"


class MeasureOperations(SchemaExtension):
    """Counts and times each GraphQL operation by name (bounded: see
    :class:`observability.metrics.OperationNames`), type and whether it had errors, and
    leaves its name for the request's log line."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        context = self.execution_context
        name = context.operation_name
        try:
            kind = context.operation_type.value
        except Exception:  # no document (it did not parse), or no such operation in it
            kind = "unknown"
        result = context.result
        errors = bool(context.pre_execution_errors) or bool(
            result is not None and getattr(result, "errors", None)
        )
        record_operation(
            name, kind, errors=errors, elapsed=elapsed, scope=_scope_of(context.context)
        )


def _scope_of(context: object) -> Scope | None:
    request = getattr(context, "request", None)
    return request.scope if request is not None else None


def record_operation(
    name: str | None, kind: str, *, errors: bool, elapsed: float, scope: Scope | None
) -> None:
    """Count and time one operation, and leave its name for the request's log line (also
    for an answer the result cache gave, which ran no operation)."""
    label = metrics.OPERATION_NAMES.label(name)
    metrics.GRAPHQL_OPERATIONS.labels(label, kind, "true" if errors else "false").inc()
    metrics.GRAPHQL_DURATION.labels(label, kind).observe(elapsed)
    if scope is not None and name is not None:
        state: dict[str, Any] = scope.setdefault("state", {})
        state[OPERATION] = name if metrics.OperationNames.well_formed(name) else "other"
