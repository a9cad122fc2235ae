"""The Starlette application: GraphQL at /graphql, liveness at /healthz; in its lifespan
the sweep and the webhook dispatcher run beside the requests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType
from tortoise.contrib.starlette import RegisterTortoise

from api.auth import Authenticate, Principal, key_from_connection_params
from api.context import Context
from api.dispatch import build_dispatcher, dispatch_forever, stop_dispatching
from api.exports import compensation_csv
from api.schema import build_schema
from models.db import tortoise_config
from services.api_keys import authenticate
from services.feed import Feed, listen_for_commits
from services.sweep import sweep
from settings import Settings, get_settings

logger = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    """GraphQL over HTTP, and subscriptions over graphql-transport-ws, on one path."""

    def __init__(self, schema: strawberry.Schema, *, feed: Feed) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.feed = feed

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            principal=request.scope.get("state", {}).get("principal"),
            feed=self.feed,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A websocket authenticates once, with the key in connection_init's payload
        (``{"Authorization": "Bearer <key>"}``); without a live key it is closed (4403)."""
        key = key_from_connection_params(context.connection_params)
        row = await authenticate(key) if key is not None else None
        if row is None:
            raise ConnectionRejectionError(
                {
                    "message": "Send a live API key in connection_init: "
                    "{'Authorization': 'Bearer <key>'}.",
                    "code": "UNAUTHENTICATED",
                }
            )
        context.principal = Principal.of(row)
        return UnsetType()  # the same UNSET: acknowledge with no payload


async def sweep_forever(interval: float) -> None:
    """Sweep every ``interval`` seconds until cancelled; a failed pass is logged, not fatal."""
    while True:
        await asyncio.sleep(interval)
        try:
            logger.info("%s", await sweep())
        except Exception:
            logger.exception("sweep failed; trying again in %s s", interval)


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """The ASGI app. With ``manage_database`` it opens and closes the ORM in its lifespan."""
    settings = settings or get_settings()
    feed = Feed(settings.database_url, poll_seconds=settings.live_poll_seconds)
    graphql = GraphQLApp(build_schema(debug=settings.debug), feed=feed)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            try:
                yield
            finally:
                await feed.stop()
            return
        async with RegisterTortoise(
            app,
            config=tortoise_config(settings.database_url, pool_max_size=settings.db_pool_max_size),
        ):
            sweeper = (
                asyncio.create_task(sweep_forever(settings.sweep_interval_seconds))
                if settings.sweep_interval_seconds > 0
                else None
            )
            dispatcher = build_dispatcher() if settings.webhooks_dispatch_in_serve else None
            dispatching = asyncio.create_task(dispatch_forever(dispatcher)) if dispatcher else None
            # Other processes' commits wake this one's dispatcher too.
            listener = await listen_for_commits(settings.database_url) if dispatcher else None
            try:
                yield
            finally:
                if listener is not None:
                    await listener.close()
                if dispatcher is not None and dispatching is not None:
                    await stop_dispatching(dispatcher, dispatching)
                if sweeper is not None:
                    sweeper.cancel()
                    with suppress(asyncio.CancelledError):
                        await sweeper
                await feed.stop()

    middleware: list[Any] = []
    if settings.cors_origins:  # outermost: a preflight carries no key
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    middleware.append(Middleware(Authenticate))
    app = Starlette(
        debug=False,
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/exports/compensation.csv", compensation_csv),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.feed = feed
    return app
