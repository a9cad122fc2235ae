"""GraphQL over HTTP: which media type an answer takes, errors that come before GraphQL
(a refused key, a body too large or too slow, a request that is not GraphQL) as
GraphQL-shaped bodies, reading a request's JSON, and the limits on a request body's size
and on the time it takes.

A client that accepts ``application/graphql-response+json`` gets the GraphQL-over-HTTP
answers: that media type, and a 4xx without ``data`` for a request that never ran. Any
other client gets ``application/json`` and the legacy answers (200 for a GraphQL result).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.errors import MASKED_MESSAGE

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    413: "CONTENT_TOO_LARGE",
}


def _quality(accept: str) -> dict[str, float]:
    """Each media range the Accept header names, with its q (1 when not given)."""
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            ranges[media.lower()] = max(q, ranges.get(media.lower(), 0.0))
    return ranges


def response_media_type(headers: Mapping[str, str]) -> str:
    """``application/graphql-response+json`` when the client names it and likes nothing
    better; otherwise ``application/json`` (also for ``*/*`` and no Accept at all)."""
    ranges = _quality(headers.get("accept", ""))
    wanted = ranges.get(GRAPHQL_RESPONSE_JSON, 0.0)
    others = max(ranges.get(JSON, 0.0), ranges.get("application/*", 0.0), ranges.get("*/*", 0.0))
    return GRAPHQL_RESPONSE_JSON if wanted > 0 and wanted >= others else JSON


def error_response(
    status: int,
    message: str,
    headers: Mapping[str, str],
    *,
    extra_headers: Mapping[str, str] | None = None,
) -> Response:
    """A GraphQL-shaped answer without ``data``, for a request that GraphQL never ran."""
    code = CODES.get(status, "BAD_REQUEST")
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type=response_media_type(headers),
        headers=dict(extra_headers or {}),
    )


_LEFT_TO_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def encode_json(data: object) -> bytes:
    """A response body as the standard library's compact ``json.dumps`` would write it,
    but by orjson, which writes a fifty-item page's 40 kB about ten times faster (the
    standard encoder was 3% of a cold page's server CPU).

    The text differs only where JSON lets it: characters past ASCII are written as UTF-8,
    not as ``\\u`` escapes. Whatever orjson would write otherwise than the standard
    library, or not at all (subclasses of str and int, times, dataclasses, integers past
    64 bits), it leaves to ``json.dumps``, which then writes or refuses it as before.
    """
    try:
        return orjson.dumps(data, option=_LEFT_TO_JSON)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


def is_request_error(data: object, errors: Sequence[GraphQLError] | None) -> bool:
    """Whether a result is a request error: it never ran (syntax, validation, variables,
    refused before it ran), so it has no data and no error has a path."""
    return data is None and bool(errors) and all(e.path is None for e in errors or ())


def request_error_status(errors: Sequence[Any]) -> int:
    """The status of a request error under application/graphql-response+json: 403 for a
    refusal, 500 for an unexpected failure, 400 for the client's mistake."""
    codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
    if "FORBIDDEN" in codes:
        return 403
    if any(isinstance(e, dict) and e.get("message") == MASKED_MESSAGE for e in errors):
        return 500
    return 400


MAX_JSON_DEPTH = 32
"""How deeply a request's JSON may nest, counting the body's own object: far deeper than
any input of the schema needs, and shallow enough that nothing which walks the variables
recursively (coercion, logging, encoding) can run out of stack."""


def read_json(data: str | bytes, what: str) -> object:
    """``data`` as JSON, or a 400 saying why it cannot be read: not JSON, not UTF-8, a
    number too long for Python to read, or nested deeper than :data:`MAX_JSON_DEPTH`
    (``what`` names it in the message: "the request body", "`variables`")."""
    try:
        value = json.loads(data)
        too_deep = _nests_deeper(value, MAX_JSON_DEPTH)
    except RecursionError:  # the C parser recurses: a deep enough value exhausts the stack
        too_deep = True
    except UnicodeDecodeError:
        raise HTTPException(400, f"Unable to parse {what} as JSON: it is not UTF-8.") from None
    except ValueError:  # malformed, or an integer of more than 4,300 digits
        raise HTTPException(400, f"Unable to parse {what} as JSON.") from None
    if too_deep:
        raise HTTPException(400, f"Unable to read {what}: it nests deeper than {MAX_JSON_DEPTH}.")
    return value


def _nests_deeper(value: object, limit: int) -> bool:
    """Whether ``value``'s objects and arrays nest more than ``limit`` deep (a loop, not
    recursion, for the reason the limit exists)."""
    containers = [(value, 1)] if isinstance(value, dict | list) else []
    while containers:
        container, depth = containers.pop()
        if depth > limit:
            return True
        children = container.values() if isinstance(container, dict) else container
        containers.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


class _TooLarge(Exception):
    pass


async def _answer_instead(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    refused: type[Exception],
    answer: Callable[[], Awaitable[None]],
) -> None:
    """Run ``app`` reading through ``receive``; when that raises ``refused`` before the
    app has begun its answer, ``answer()`` instead (after, there is nothing to do but
    let it end the connection)."""
    started = False

    async def send_noting_start(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, send_noting_start)
    except refused:
        if started:
            raise
        await answer()


class LimitBody:
    """ASGI middleware: answer 413 to a request whose body is over ``max_bytes``, without
    reading it into memory: a larger Content-Length is refused before anything runs, and a
    chunked body is counted as it is read, stopping at the first chunk past the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, headers)
            return

        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def refuse() -> None:
            await self._refuse(scope, receive, send, headers)

        await _answer_instead(
            self.app, scope, receive_within_limit, send, refused=_TooLarge, answer=refuse
        )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        response = error_response(
            413,
            f"The request body is larger than {self.max_bytes} bytes; send a smaller "
            "document or fewer variables.",
            headers,
            # The rest of the body is left unread, so the connection cannot carry another.
            extra_headers={"connection": "close"},
        )
        await response(scope, receive, send)


class _TooSlow(Exception):
    pass


class LimitBodyTime:
    """ASGI middleware: answer 408 to a request whose body has not all arrived within
    ``timeout`` seconds of the request's start (a client that declares a body and then
    trickles it or stalls would otherwise hold a connection and a task for ever). Only
    the body is timed: once its last part is in, the request takes as long as it takes.
    The rest of the body is never read, so the connection is closed after the answer."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.timeout <= 0:
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout
        body_done = False

        async def receive_in_time() -> Message:
            nonlocal body_done
            if body_done:  # what comes now is the disconnect, whenever it comes
                return await receive()
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                    message = await receive()
            except TimeoutError:
                raise _TooSlow from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def refuse() -> None:
            response = error_response(
                408,
                f"The request body did not arrive within {self.timeout:g} seconds; send it "
                "whole, at once.",
                Headers(scope=scope),
                extra_headers={"connection": "close"},
            )
            await response(scope, receive, send)

        await _answer_instead(
            self.app, scope, receive_in_time, send, refused=_TooSlow, answer=refuse
        )
