"""Who is calling: every request to /graphql and /exports carries ``Authorization: Bearer
<key>``; without a live key it is answered 401 with the code UNAUTHENTICATED.

Only the GraphiQL page itself (a browser's GET asking for HTML) is served without a key:
a browser cannot add the header to a navigation, and GraphiQL sends it with each query.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.core.principal import Principal
from services.access.api_keys import authenticate
from services.core.audit import acting_as
from web.http import error_response

PROTECTED = ("/graphql", "/exports/")


def _bearer(headers: Headers) -> str | None:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def key_from_connection_params(params: object) -> str | None:
    """The key a websocket client sent in connection_init, as ``Authorization: Bearer``."""
    if not isinstance(params, dict):
        return None
    value = params.get("Authorization", params.get("authorization"))
    if not isinstance(value, str) or not value.isascii():
        return None  # a header holds ASCII; nothing else can be a key
    return _bearer(Headers({"authorization": value}))


def _is_graphiql_page(scope: Scope, headers: Headers) -> bool:
    return (
        scope["method"] == "GET"
        and scope["path"] == "/graphql"
        and not scope.get("query_string")
        and "text/html" in headers.get("accept", "")
    )


async def _refuse(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    response = error_response(
        401,
        message,
        Headers(scope=scope),
        extra_headers={"www-authenticate": 'Bearer realm="fourway"'},
    )
    await response(scope, receive, send)


class Authenticate:
    """ASGI middleware: puts the caller's :class:`Principal` in ``scope["state"]``."""

    def __init__(self, app: ASGIApp, *, trust_seconds: float = 0.0) -> None:
        self.app = app
        self.trust_seconds = trust_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if _is_graphiql_page(scope, headers):
            await self.app(scope, receive, send)
            return
        key = _bearer(headers)
        if key is None:
            await _refuse(scope, receive, send, "Send an API key: 'Authorization: Bearer <key>'.")
            return
        row = await authenticate(key, trust_seconds=self.trust_seconds)
        if row is None:
            await _refuse(scope, receive, send, "The API key is unknown, revoked or expired.")
            return
        principal = Principal.of(row)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["principal"] = principal
        with acting_as(principal.actor):
            await self.app(scope, receive, send)
