"""The Starlette application: GraphQL at /graphql, liveness at /healthz, readiness at
/readyz, metrics at /metrics; in its lifespan the sweep, the retention prune and the
webhook dispatcher run beside the requests."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.types import QueryParams
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType
from tortoise.contrib.starlette import RegisterTortoise

from api.core.context import Context
from api.core.errors import masked
from api.core.measure import record_operation
from api.core.principal import Principal
from api.schema import build_schema
from models.db import data_version, is_postgres, tortoise_config
from services.access.api_keys import authenticate
from services.alerts.sweep import sweep
from services.core.feed import Feed, listen_for_commits
from services.core.retention import Retention, prune
from settings import Settings, get_settings
from web.auth import Authenticate, key_from_connection_params
from web.exports import compensation_csv
from web.http import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    LimitBody,
    LimitBodyTime,
    encode_json,
    error_response,
    is_request_error,
    read_json,
    request_error_status,
    response_media_type,
)
from web.observe import Observe, metrics_endpoint, readyz
from web.result_cache import ResultCache, Ticket
from web.sockets import KeyedTransportWS, Sockets
from webhooks.wiring import build_dispatcher, dispatch_forever, stop_dispatching

logger = logging.getLogger(__name__)


class Answer(Response):
    """The response strawberry's resolvers may touch, carrying what the result cache
    decided about the request: the answer it held (``cached``), or the ticket under which
    to keep the answer about to be made (``ticket``)."""

    cached: bytes | None = None
    ticket: Ticket | None = None


class GraphQLApp(GraphQL[Context, None]):
    """strawberry's view, answering as GraphQL over HTTP says (see ``web.http``), with
    subscriptions over graphql-transport-ws on the same path, each socket acting as its
    key (see ``web.sockets``), and repeated reads answered from ``result_cache`` (see
    ``web.result_cache``) when there is one."""

    graphql_transport_ws_handler_class = KeyedTransportWS

    def encode_json(self, data: object) -> str:
        # Text, as strawberry's own: a socket sends text frames only for str.
        return encode_json(data).decode()

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        feed: Feed,
        sockets: Sockets | None = None,
        debug: bool = False,
        connection_init_seconds: float = 10.0,
        result_cache: ResultCache | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # A websocket that sends no connection_init within this is closed (4408).
            connection_init_wait_timeout=timedelta(seconds=connection_init_seconds),
        )
        self.feed = feed
        self.sockets = sockets or Sockets()
        self.debug = debug
        self.result_cache = result_cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as error:  # a request that is not GraphQL: JSON, not text
            if isinstance(error.__cause__, InvalidOperationTypeError):
                # Only GET limits the operation types: a mutation must be POSTed.
                response = error_response(
                    405, error.reason, request.headers, extra_headers={"allow": "POST"}
                )
            else:
                response = error_response(error.status_code, error.reason, request.headers)
        if (
            request.method == "GET"
            and response.status_code == 200
            and isinstance(getattr(response, "body", None), bytes)
        ):
            response = revalidated(request, response)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """A websocket message: what :func:`read_json` refuses is a message that is not
        JSON to strawberry (the socket is closed with 4400), not an exception."""
        try:
            return read_json(data, "the message")
        except HTTPException as error:
            raise json.JSONDecodeError(error.reason, "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        """The POST body: a JSON object (a list is a batch, which strawberry refuses)."""
        body = read_json(data, "the request body")
        if not isinstance(body, dict | list):
            raise HTTPException(
                400, 'The request body must be a JSON object, such as {"query": "{ __typename }"}.'
            )
        return body

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        """A GET's parameters, ``variables`` and ``extensions`` read as JSON (strawberry's
        own, but through :func:`read_json`, and leaving their shape to parse_http_body)."""
        parsed: dict[str, Any] = dict(params)
        for name in ("variables", "extensions"):
            if parsed.get(name):
                parsed[name] = read_json(parsed[name], f"`{name}`")
        return parsed

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for one in data if isinstance(data, list) else [data]:
            if not isinstance(one.operation_name, str | None):
                raise HTTPException(
                    400, "The GraphQL operation's `operationName` must be a string or null."
                )
        return data

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
        """A websocket authenticates with the key in connection_init's payload
        (``{"Authorization": "Bearer <key>"}``); without a live key it is closed (4403),
        as it is later when the key is revoked or expires."""
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

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = Answer()  # as strawberry's: no status and no length until the end
        sub_response.status_code = None  # type: ignore[assignment]
        del sub_response.headers["content-length"]
        sub_response.media_type = response_media_type(request.headers)
        return sub_response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Run the operation, unless the result cache holds its answer: then leave that
        on the sub-response for :meth:`create_response` and run nothing (the operation is
        still counted, timed and logged)."""
        ticket = None
        principal = context.principal
        if (
            self.result_cache is not None
            and principal is not None
            and isinstance(sub_response, Answer)
        ):
            try:
                ticket = await self.result_cache.ticket(
                    query=request_data.query,
                    variables=request_data.variables,
                    operation_name=request_data.operation_name,
                    extensions=request_data.extensions,
                    role=principal.role.value,
                    person_id=principal.person_id,
                    media_type=str(sub_response.media_type),
                )
            except Exception:  # the database did not say its version: run it, as without
                logger.warning("the result cache could not read the data version", exc_info=True)
        if ticket is not None and ticket.hit is not None and isinstance(sub_response, Answer):
            sub_response.cached = ticket.hit
            record_operation(
                ticket.operation.name,
                "query",
                errors=False,
                elapsed=time.perf_counter() - ticket.started,
                scope=request.scope,
            )
            return ExecutionResult(data=None, errors=None)
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if ticket is not None and not result.errors and result.data is not None:
            assert isinstance(sub_response, Answer)
            sub_response.ticket = ticket  # kept once encoded, in create_response
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors and not self.debug:
            result.errors = masked(result.errors)
        body = await super().process_result(request, result)
        if response_media_type(request.headers) == GRAPHQL_RESPONSE_JSON and is_request_error(
            result.data, result.errors
        ):
            del body["data"]  # the operation never ran: no data entry at all
        return body

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        answer = sub_response if isinstance(sub_response, Answer) else Answer()
        if answer.cached is not None:  # the bytes as they were sent before, headers as ever
            response = Response(answer.cached, status_code=200, media_type=JSON)
            response.headers.raw.extend(sub_response.headers.raw)
        else:
            response = super().create_response(response_data, sub_response)
            if answer.ticket is not None and self.result_cache is not None:
                self.result_cache.put(answer.ticket, bytes(response.body))
        if sub_response.media_type == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and "data" not in response_data:
                response.status_code = request_error_status(response_data.get("errors") or [])
        return response


def revalidated(request: Request, response: Response) -> Response:
    """A GET query's answer with an ``ETag`` (the hash of its body); 304 and no body when
    the client's ``If-None-Match`` already names it.

    The body is the one this key may see, made for this request: the tag says only that
    the answer did not change, to a client that holds it already. ``private, no-cache``:
    shared caches keep none of it, and the client asks again every time (for a 304 when
    nothing changed, which spares the body and its transfer).
    """
    tag = '"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'
    headers = {"etag": tag, "cache-control": "private, no-cache", "vary": "Authorization"}
    wanted = {
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    }
    if tag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response


async def sweep_forever(interval: float) -> None:
    """Sweep every ``interval`` seconds until cancelled; a failed pass is logged, not fatal."""
    while True:
        await asyncio.sleep(interval)
        try:
            logger.info("%s", await sweep())
        except Exception:
            logger.exception("sweep failed; trying again in %s s", interval)


async def prune_forever(interval: float, retention: Retention) -> None:
    """Prune every ``interval`` seconds until cancelled; a failed pass is logged, not fatal."""
    while True:
        await asyncio.sleep(interval)
        try:
            logger.info("%s", await prune(retention=retention))
        except Exception:
            logger.exception("pruning failed; trying again in %s s", interval)


def settle_heap() -> None:
    """Move everything start-up made (modules, the schema, the ORM's metadata: hundreds of
    thousands of objects that live as long as the process) out of the collector's reach.

    Otherwise every full collection walks them all again: it paused the engagement page's
    requests about 60 ms once every 30 to 50 of them, which was the whole p99. Collected
    first, so that start-up's garbage is not frozen with them.
    """
    gc.collect()
    gc.freeze()


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """The ASGI app. With ``manage_database`` it opens and closes the ORM in its lifespan."""
    settings = settings or get_settings()
    feed = Feed(poll_seconds=settings.live_poll_seconds)
    sockets = Sockets(poll_seconds=settings.live_poll_seconds)
    graphql = GraphQLApp(
        build_schema(debug=settings.debug),
        feed=feed,
        sockets=sockets,
        debug=settings.debug,
        connection_init_seconds=settings.ws_connection_init_timeout_seconds,
        result_cache=ResultCache(
            max_bytes=settings.result_cache_bytes,
            max_tokens=settings.graphql_max_tokens,
            data_version=data_version,
        )
        if settings.result_cache_bytes > 0
        else None,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            try:
                yield
            finally:
                await sockets.stop()
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
            pruner = (
                asyncio.create_task(
                    prune_forever(
                        settings.retention_prune_interval_seconds,
                        Retention.from_settings(settings),
                    )
                )
                if settings.retention_prune_interval_seconds > 0
                else None
            )
            dispatcher = build_dispatcher() if settings.webhooks_dispatch_in_serve else None
            dispatching = asyncio.create_task(dispatch_forever(dispatcher)) if dispatcher else None
            # Other processes' commits wake this one's dispatcher and live feed too.
            listener = await listen_for_commits(settings.database_url)
            settle_heap()
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
                if pruner is not None:
                    pruner.cancel()
                    with suppress(asyncio.CancelledError):
                        await pruner
                await sockets.stop()
                await feed.stop()

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
    # Before the key is looked up: a flood costs no database query.
    middleware.append(Middleware(LimitBodyTime, timeout=settings.http_body_timeout_seconds))
    middleware.append(Middleware(LimitBody, max_bytes=settings.graphql_max_body_bytes))
    # A key is trusted for a while only where every process hears every revocation at
    # once (PostgreSQL's NOTIFY): on SQLite `fourway apikey revoke` runs in a process this
    # one cannot hear, and a revoked key must stop working there too.
    trust = settings.auth_cache_seconds if is_postgres(settings.database_url) else 0.0
    middleware.append(Middleware(Authenticate, trust_seconds=trust))
    app = Starlette(
        debug=False,
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz(settings.probe_timeout_seconds)),
            *(
                [Route("/metrics", metrics_endpoint(settings.probe_timeout_seconds))]
                if settings.metrics_enabled
                else []
            ),
            Route("/exports/compensation.csv", compensation_csv),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.feed = feed
    return app


def create_worker_app() -> Starlette:
    """The app as each process of ``fourway serve --workers N`` builds it from the
    environment. A new process has no logging set up, so it sets up its own first."""
    from observability.logs import configure

    settings = get_settings()
    configure(settings.log_format, debug=settings.debug)
    return create_app(settings)
