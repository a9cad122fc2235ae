"""Websockets that act as their key, as HTTP requests do.

A websocket authenticates once, with the key in connection_init's payload (see
``GraphQLApp.on_ws_connect``), and may then carry any operation as a graphql-transport-ws
``subscribe`` message, mutations included. Each one is handled as an HTTP request is: the
key is looked up again before it runs (a key revoked or expired since closes the socket
and runs nothing), the access table refuses what the key's role may not use (the
Authorize extension reads the socket's principal), the audit trail records its changes
against the key, and it reads through loaders of its own, never what an earlier
operation on the socket loaded.

A socket does not wait for its next message to learn that its key is gone: it is closed
with 4403 as soon as the key is revoked — at once in the revoking process, through the
NOTIFY every process hears on PostgreSQL (``services.access.api_keys``), and otherwise (SQLite
across processes, or a NOTIFY missed while the LISTEN connection was down) by a look at
every poll interval — and when the key expires, by a timer of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from api.core.context import Context
from api.core.loaders import Loaders
from api.core.principal import Principal
from services.access.api_keys import (
    dead_among,
    is_live,
    listen_for_revocations,
    stop_listening_for_revocations,
)
from services.core.audit import acting_as

logger = logging.getLogger(__name__)

# The close code graphql-transport-ws uses for a refused key, also at connection_init.
KEY_GONE = 4403
KEY_GONE_REASON = "The API key was revoked or has expired."

Close = Callable[[], None]

# The context of the operation running in this task: the socket's, with fresh loaders.
_operation_context: ContextVar[Context | None] = ContextVar("fourway_ws_operation", default=None)


class Sockets:
    """This process's open websockets, by the key each acts as; closes those whose key
    is revoked."""

    def __init__(self, *, poll_seconds: float = 1.0) -> None:
        self.poll_seconds = poll_seconds
        self._open: dict[int, set[Close]] = {}
        self._poller: asyncio.Task[None] | None = None

    def watch(self, key_id: int, close: Close) -> None:
        """Call ``close`` once the key ``key_id`` is revoked, until :meth:`forget`."""
        if not self._open:
            listen_for_revocations(self.revoked)
        self._open.setdefault(key_id, set()).add(close)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="revoked keys")

    def forget(self, key_id: int, close: Close) -> None:
        closes = self._open.get(key_id, set())
        closes.discard(close)
        if not closes:
            self._open.pop(key_id, None)
        if not self._open:
            stop_listening_for_revocations(self.revoked)

    def revoked(self, key_id: int) -> None:
        for close in list(self._open.get(key_id, ())):
            close()

    async def _poll(self) -> None:
        """Look for keys revoked or expired that no announcement reached, while any
        socket is open."""
        while self._open:
            await asyncio.sleep(self.poll_seconds)
            try:
                gone = await dead_among(list(self._open))
            except Exception:
                logger.exception("checking the keys of open websockets failed")
                continue
            for key_id in gone:
                self.revoked(key_id)

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None


class KeyedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws for one socket, every operation run as its key (see the
    module's docstring)."""

    _principal: Principal | None = None
    _expiry: asyncio.TimerHandle | None = None
    _closing: asyncio.Task[None] | None = None
    _socket_context: Context

    # strawberry hands ``self.context`` to every operation; each operation task sees its own.
    @property
    def context(self) -> Context:
        return _operation_context.get() or self._socket_context

    @context.setter
    def context(self, value: Context) -> None:
        self._socket_context = value

    @property
    def _sockets(self) -> Sockets:
        sockets: Sockets = getattr(self.view, "sockets")  # noqa: B009 (GraphQLApp's)
        return sockets

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        principal = self.context.principal
        if not self.connection_acknowledged or principal is None or self._principal:
            return
        self._principal = principal
        self._sockets.watch(principal.key_id, self._key_gone)
        if principal.expires_at is not None:
            delay = (principal.expires_at - datetime.now(UTC)).total_seconds()
            self._expiry = asyncio.get_running_loop().call_later(max(delay, 0), self._key_gone)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # Every operation authenticates, as every HTTP request does: the socket may have
        # outlived its key by less than it takes the news to arrive.
        if self._principal is not None and not await is_live(self._principal.key_id):
            self._key_gone()
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        # Runs in the operation's own task, so what it sets here is its own.
        _operation_context.set(dataclasses.replace(self._socket_context, loaders=Loaders()))
        if self._principal is None:  # never: subscribing needs an acknowledged key
            await super().run_operation(operation)
            return
        with acting_as(self._principal.actor):
            await super().run_operation(operation)

    def _key_gone(self) -> None:
        """Close the socket with 4403 (once), from whatever task learns of it."""
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close())

    async def _close(self) -> None:
        with contextlib.suppress(Exception):  # the client may have gone already
            await self.websocket.close(code=KEY_GONE, reason=KEY_GONE_REASON)

    async def shutdown(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        if self._principal is not None:
            self._sockets.forget(self._principal.key_id, self._key_gone)
        await super().shutdown()
