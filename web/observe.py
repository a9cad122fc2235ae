"""What operators see of the API: ``/readyz``, ``/metrics``, one log line per request and
the request's id, and the GraphQL operations measured by name.

``/healthz`` (in app.py) says the process is alive and touches nothing; ``/readyz`` says
whether it can serve: the database answers and every migration is applied. Both, and
``/metrics``, need no key, like any probe or scraper.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.functions import Count

from api.core.measure import OPERATION
from models import Alert, Event, WebhookDelivery
from models.db import unapplied_migrations
from models.enums import AlertStatus, DeliveryStatus, Severity
from observability import metrics
from observability.logs import REQUEST_ID, REQUEST_ID_HEADER, request_id_from

logger = logging.getLogger(__name__)
requests_logger = logging.getLogger("fourway.requests")


_METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


# --- /readyz ------------------------------------------------------------------------------


def readyz(timeout_s: float) -> Callable[[Request], Awaitable[Response]]:
    """/readyz, waiting ``timeout_s`` for the database (settings' probe_timeout_seconds)
    before saying it did not answer."""

    async def endpoint(_: Request) -> Response:
        """200 when the database answers and every migration is applied, else 503 saying
        which (the database's error in full goes to the log, not to an unauthenticated
        caller)."""
        try:
            async with asyncio.timeout(timeout_s):
                pending = await unapplied_migrations()
        except Exception as error:
            logger.warning(
                "not ready: the database did not answer: %s: %s", type(error).__name__, error
            )
            reason = "timed out" if isinstance(error, TimeoutError) else type(error).__name__
            return JSONResponse({"status": "unready", "database": f"no answer ({reason})"}, 503)
        if pending:
            return JSONResponse({"status": "unready", "pendingMigrations": pending}, 503)
        return JSONResponse({"status": "ready"})

    return endpoint


# --- /metrics -----------------------------------------------------------------------------


async def database_gauges() -> metrics.DatabaseGauges:
    """Live alerts by severity and the outbox backlog: three small queries on indexed
    columns, run once per scrape."""
    live = dict.fromkeys((s.value for s in Severity), 0)
    rows = (
        await Alert.filter(status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED])
        .annotate(count=Count("id"))
        .group_by("severity")
        .values_list("severity", "count")
    )
    for severity, count in rows:
        live[str(getattr(severity, "value", severity))] = int(count)
    pending = await WebhookDelivery.filter(status=DeliveryStatus.PENDING).count()
    age = 0.0
    if pending:
        oldest = (
            await Event.filter(deliveries__status=DeliveryStatus.PENDING)
            .order_by("occurred_at")
            .first()
            .values_list("occurred_at", flat=True)
        )
        if isinstance(oldest, datetime):
            age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    return metrics.DatabaseGauges(
        live_alerts=live, pending_deliveries=pending, oldest_pending_age_seconds=age
    )


def metrics_endpoint(timeout_s: float) -> Callable[[Request], Awaitable[Response]]:
    """/metrics, waiting ``timeout_s`` for the database's gauges (settings'
    probe_timeout_seconds) before leaving them out."""

    async def endpoint(_: Request) -> Response:
        """Prometheus' text format: this process's counters and histograms, and the
        database gauges read now (left out when the database does not answer)."""
        gauges: metrics.DatabaseGauges | None
        try:
            async with asyncio.timeout(timeout_s):
                gauges = await database_gauges()
        except Exception:
            logger.warning("/metrics: the database gauges could not be read", exc_info=True)
            gauges = None
        return Response(metrics.exposition(gauges), media_type=metrics.CONTENT_TYPE)

    return endpoint


# --- every request ------------------------------------------------------------------------


class Observe:
    """ASGI middleware, outermost: gives each request an id (the caller's sane
    ``X-Request-Id``, else a new one) that every log line of the request carries and the
    response sends back, counts and times the request by route, and logs one line for it:
    method, path, status, duration, the GraphQL operation and the API key's prefix."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(Headers(scope=scope).get(REQUEST_ID_HEADER))
        echoed = (REQUEST_ID_HEADER.encode(), request_id.encode())
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500  # unless a response starts: an exception escaped

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "other"
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_DURATION.labels(method, route).observe(elapsed)
            principal = state.get("principal")
            duration_ms = round(elapsed * 1000, 2)
            operation = state.get(OPERATION)
            requests_logger.info(
                "%s %s %s %.2f ms",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                    "operation": operation,
                    "key_prefix": getattr(principal, "prefix", None),
                },
            )
