"""Connections to receivers, made only to addresses judged callable as they are made.

httpx resolves a URL's host itself when it connects, so a URL checked a moment before could
be answered differently by DNS when the connection is made (DNS rebinding: a public address
for the check, the metadata service for the send). The dispatcher's connections go through
``PinnedBackend`` instead: it asks ``resolve`` (handed in) for the host's addresses, every
one already judged, and connects to those alone. TLS still verifies the certificate against
the host's name, as httpx hands that to the stream separately.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

import httpcore
import httpx


class Refused(Exception):
    """A host the service may not call; the message says why."""


Resolve = Callable[[str], Awaitable[Sequence[str]]]
"""The addresses a host may be called at, or Refused saying why it may not."""


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting to the addresses ``resolve`` allows."""

    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # The connect timeout covers resolving too, as it does when httpx resolves itself.
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            addresses = await asyncio.wait_for(self._resolve(host), timeout)
        except Refused as refused:
            raise httpcore.ConnectError(f"Not sent: {host} {refused}.") from None
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        error: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:  # in the resolver's order, each in the time left
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await self._backend.connect_tcp(
                    address, port, left, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("receivers are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def pinned_transport(resolve: Resolve, *, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go through ``PinnedBackend``."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    # httpx takes no network backend of its own, so its connection pool is given one; the
    # tests that send through it fail if a new httpx moves either attribute.
    pool = transport._pool
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("httpx's transport no longer holds an httpcore connection pool")
    pool._network_backend = PinnedBackend(resolve)
    return transport
