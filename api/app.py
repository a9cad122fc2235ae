"""The Starlette application: GraphQL at /graphql, liveness at /healthz, readiness at
/readyz, metrics at /metrics; in its lifespan the sweep and the webhook dispatcher run
beside the requests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from tortoise.contrib.starlette import RegisterTortoise

from api.auth import Authenticate
from api.context import Context
from api.dispatch import build_dispatcher, dispatch_forever, stop_dispatching
from api.exports import compensation_csv
from api.observe import Observe, metrics_endpoint, readyz
from api.schema import build_schema
from models.db import tortoise_config
from services.sweep import sweep
from settings import Settings, get_settings

logger = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            principal=request.scope.get("state", {}).get("principal"),
        )


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
    graphql = GraphQLApp(build_schema(debug=settings.debug), graphql_ide="graphiql")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            yield
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
            try:
                yield
            finally:
                if dispatcher is not None and dispatching is not None:
                    await stop_dispatching(dispatcher, dispatching)
                if sweeper is not None:
                    sweeper.cancel()
                    with suppress(asyncio.CancelledError):
                        await sweeper

    middleware: list[Any] = [Middleware(Observe)]  # outermost: every request is logged
    if settings.cors_origins:  # before Authenticate: a preflight carries no key
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    middleware.append(Middleware(Authenticate))
    return Starlette(
        debug=False,
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *([Route("/metrics", metrics_endpoint)] if settings.metrics_enabled else []),
            Route("/exports/compensation.csv", compensation_csv),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
