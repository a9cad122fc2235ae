"""Wires the webhook dispatcher to the services it needs, for `serve` and `fourway worker`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from services.core import events
from services.webhooks.endpoints import (
    Unreachable,
    callable_addresses,
    disable_webhook_endpoint,
    why_unreachable,
)
from webhooks.connect import Refused
from webhooks.dispatcher import Dispatcher


async def _disable(endpoint_id: int, reason: str) -> None:
    if await disable_webhook_endpoint(id=endpoint_id, reason=reason) is not None:
        events.announce()


async def _screen(url: str) -> str | None:
    reason = await why_unreachable(url)
    return None if reason is None else f"Not sent: the URL {reason}."


async def resolve_callable(host: str) -> list[str]:
    """The addresses the dispatcher may connect to for ``host``, judged as it connects."""
    try:
        return await callable_addresses(host)
    except Unreachable as unreachable:
        raise Refused(str(unreachable)) from None


def build_dispatcher(**options: Any) -> Dispatcher:
    """A dispatcher that disables endpoints through the service (announcing it), re-checks
    each URL's addresses before sending, and connects only to addresses judged callable."""
    return Dispatcher(disable=_disable, screen=_screen, resolve=resolve_callable, **options)


async def dispatch_forever(dispatcher: Dispatcher) -> None:
    """Run ``dispatcher`` until it is stopped, woken by events committed in this process."""
    wake = events.listen()
    try:
        await dispatcher.run(wake)
    finally:
        events.stop_listening(wake)
        await dispatcher.aclose()


async def stop_dispatching(dispatcher: Dispatcher, task: asyncio.Task[None]) -> None:
    """Stop a dispatcher gracefully, letting its sends in flight finish; cancel it only if
    they outlast a lease."""
    dispatcher.stop()
    done, _ = await asyncio.wait({task}, timeout=dispatcher.lease.total_seconds())
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class AnnounceEvents(SchemaExtension):
    """After a mutation (its transactions committed), wake this process's dispatcher, so
    the events it wrote go out now rather than at the next poll."""

    def on_execute(self) -> Iterator[None]:
        yield
        if self.execution_context.operation_type == OperationType.MUTATION:
            events.announce()
