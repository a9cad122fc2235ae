"""The dispatcher: claim due deliveries, POST them signed, record every attempt, retry.

A pass claims up to a batch of due deliveries in retry order and leases them (on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so concurrent dispatchers claim disjoint
rows), then sends each endpoint's share in order, several endpoints at once. Results are
written per endpoint in one transaction. A dispatcher killed mid-send loses only its
lease: the deliveries come due again when it expires, and the receiver sees the same
``webhook-id`` twice at worst (delivery is at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from models import DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint
from models.enums import DeliveryStatus
from observability import metrics
from settings import get_settings
from webhooks.connect import Resolve, pinned_transport
from webhooks.schedule import RETRY_DELAYS, next_attempt, retry_after
from webhooks.signing import signed_headers

logger = logging.getLogger(__name__)
attempts_logger = logging.getLogger("fourway.webhooks.attempts")

EXCERPT_BYTES = 1024
USER_AGENT = "fourway-webhooks/1"

Disable = Callable[[int, str], Awaitable[object]]
"""Disable endpoint ``id`` for ``reason``, announcing it (a service, handed in)."""
Screen = Callable[[str], Awaitable[str | None]]
"""Why a URL may not be called now (it resolves to a private address), or None."""


@dataclass
class Outcome:
    """What one POST came to."""

    at: datetime
    duration_ms: int
    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None
    retry_after: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def unreachable(self) -> bool:
        """No answer at all: the rest of the endpoint's batch would only wait for the same."""
        return self.status_code is None


@dataclass
class _Job:
    delivery: WebhookDelivery
    event: Event


@dataclass(frozen=True)
class _Claim:
    """Deliveries leased by one pass, by endpoint."""

    deadline: float
    """Monotonic time after which nothing more is sent: the lease must outlast the sends."""
    endpoints: dict[int, WebhookEndpoint]
    jobs: dict[int, list[_Job]]

    @property
    def size(self) -> int:
        return sum(len(jobs) for jobs in self.jobs.values())


@dataclass
class _Results:
    """What sending one endpoint's share came to, written in one transaction."""

    attempts: list[DeliveryAttempt] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)
    rescheduled: list[tuple[int, datetime | None, int]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    paused: list[int] = field(default_factory=list)
    last: Outcome | None = None
    failing_since: datetime | None = None
    """The first failure after the last success in this share."""


class Dispatcher:
    """Sends due deliveries: ``run`` until cancelled, or ``dispatch_once`` for one pass."""

    def __init__(
        self,
        *,
        disable: Disable | None = None,
        screen: Screen | None = None,
        resolve: Resolve | None = None,
        client: httpx.AsyncClient | None = None,
        delays: Sequence[timedelta] = RETRY_DELAYS,
        rng: random.Random | None = None,
    ) -> None:
        settings = get_settings()
        self.timeout = settings.webhooks_timeout_seconds
        self.batch_size = settings.webhooks_batch_size
        # A send may start until one timeout (for it) and one more (to record it) before
        # the lease ends, so a lease shorter than three timeouts would leave no time at all.
        self.lease = timedelta(
            seconds=max(settings.webhooks_lease_seconds, 3 * settings.webhooks_timeout_seconds)
        )
        self.disable_after = timedelta(seconds=settings.webhooks_disable_after_seconds)
        self.poll = settings.webhooks_poll_seconds
        self.concurrency = max(1, settings.webhooks_concurrency)
        self.delays = tuple(delays)
        self.rng = rng or random.Random()
        self._disable = disable
        self._screen = screen
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._own_client = client is None
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,  # a redirect is the receiver's mistake, not a new target
            trust_env=False,
            headers={"user-agent": USER_AGENT, "content-type": "application/json"},
            limits=limits,
            # Connect only where ``resolve`` allows, judged as each connection is made.
            transport=None if resolve is None else pinned_transport(resolve, limits=limits),
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()

    def stop(self) -> None:
        """Ask ``run`` to return: it claims nothing more and lets the sends in flight finish
        and record their results. (Cancelling it instead could interrupt a transaction
        as it begins, which leaves Tortoise's SQLite connection locked for good.)"""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()

    async def run(self, wake: asyncio.Event | None = None) -> None:
        """Dispatch until :meth:`stop`. Each endpoint's share of a claim is sent by its own
        task, so a slow receiver holds up nobody else. Looks again at once when ``wake``
        is set (events committed in this process) or a send finishes, else every poll."""
        wake = self._wake = wake or asyncio.Event()
        self._stopping = False
        sending: dict[int, asyncio.Task[None]] = {}

        def finished(endpoint_id: int) -> Callable[[asyncio.Task[None]], None]:
            def done(task: asyncio.Task[None]) -> None:
                sending.pop(endpoint_id, None)
                wake.set()
                if not task.cancelled() and task.exception() is not None:
                    logger.error(
                        "sending to endpoint %s failed", endpoint_id, exc_info=task.exception()
                    )

            return done

        try:
            while not self._stopping:
                wake.clear()
                claimed = 0
                if len(sending) < self.concurrency:
                    try:
                        claim = await self._claim(_utcnow(), busy=set(sending))
                    except Exception:
                        # The database may be restarting: log it, keep going.
                        logger.exception("claiming webhook deliveries failed")
                        claim = None
                    if claim is not None:
                        claimed = claim.size
                        for endpoint_id, jobs in claim.jobs.items():
                            task = asyncio.create_task(
                                self._send_all(claim.endpoints[endpoint_id], jobs, claim)
                            )
                            sending[endpoint_id] = task
                            task.add_done_callback(finished(endpoint_id))
                if claimed >= self.batch_size and len(sending) < self.concurrency:
                    continue  # more is probably due
                # Not wait_for: on 3.11 it can swallow a cancellation that arrives as the
                # event is set, and the task then never ends.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await wake.wait()
            await asyncio.gather(*sending.values(), return_exceptions=True)
        finally:
            for task in sending.values():
                task.cancel()
            await asyncio.gather(*sending.values(), return_exceptions=True)
            self._wake = None

    async def dispatch_once(self) -> int:
        """Claim one batch of due deliveries, send it all and record the results; return
        how many deliveries were claimed."""
        claim = await self._claim(_utcnow(), busy=set())
        if claim is None:
            return 0
        await asyncio.gather(
            *(self._send_all(claim.endpoints[e], jobs, claim) for e, jobs in claim.jobs.items())
        )
        return claim.size

    async def _claim(self, now: datetime, *, busy: set[int]) -> _Claim | None:
        """Lease up to a batch of due deliveries, in retry order, of active endpoints not
        ``busy`` in this process; None when nothing is due."""
        endpoints = {e.id: e for e in await WebhookEndpoint.filter(active=True) if e.id not in busy}
        if not endpoints:
            return None
        async with in_transaction():
            rows = (
                await WebhookDelivery.filter(
                    Q(locked_until=None) | Q(locked_until__lte=now),
                    status=DeliveryStatus.PENDING,
                    next_attempt_at__lte=now,
                    endpoint_id__in=list(endpoints),
                )
                .order_by("next_attempt_at", "id")
                .limit(self.batch_size)
                .select_for_update(skip_locked=True)
            )
            if not rows:
                return None
            await WebhookDelivery.filter(id__in=[r.id for r in rows]).update(
                locked_until=now + self.lease
            )
        events = {e.id: e for e in await Event.filter(id__in={r.event_id for r in rows})}
        jobs: dict[int, list[_Job]] = defaultdict(list)
        for row in rows:
            jobs[row.endpoint_id].append(_Job(row, events[row.event_id]))
        return _Claim(
            deadline=time.monotonic() + self.lease.total_seconds() - 2 * self.timeout,
            endpoints=endpoints,
            jobs=dict(jobs),
        )

    async def _send_all(self, endpoint: WebhookEndpoint, jobs: list[_Job], claim: _Claim) -> None:
        """Send one endpoint's share of a claim in retry order, then record the results."""
        results = _Results()
        refusal = await self._screen(endpoint.url) if self._screen is not None else None
        for index, job in enumerate(jobs):
            last = results.last
            if last is not None and last.unreachable:
                # The receiver is not answering: the rest wait for the retry of this one,
                # and keep their order behind it.
                results.paused = [j.delivery.id for j in jobs[index:]]
                break
            if time.monotonic() > claim.deadline:
                # Out of lease time: hand the rest back untried rather than risk a
                # second dispatcher sending them too.
                results.released = [j.delivery.id for j in jobs[index:]]
                break
            at = _utcnow()
            if refusal is not None:
                outcome = Outcome(at=at, duration_ms=0, error=refusal)
            else:
                outcome = await self._post(endpoint, job.event, at)
                metrics.WEBHOOK_DURATION.observe(outcome.duration_ms / 1000)
            attempt = self._settle(job.delivery, outcome, results)
            _report(endpoint, job, attempt, refused=refusal is not None)
        try:
            await self._record(endpoint, results)
        except IntegrityError:
            # The endpoint was deleted while we sent, and its deliveries with it.
            logger.info(
                "endpoint %s was deleted during a send; its results are dropped", endpoint.id
            )

    async def _post(self, endpoint: WebhookEndpoint, event: Event, at: datetime) -> Outcome:
        secrets = [endpoint.secret]
        if (
            endpoint.previous_secret
            and endpoint.previous_secret_expires_at is not None
            and endpoint.previous_secret_expires_at > at
        ):
            secrets.append(endpoint.previous_secret)
        headers = signed_headers(event.uid, event.body, at, secrets)
        started = time.perf_counter()
        try:
            async with self.client.stream(
                "POST", endpoint.url, content=event.body.encode(), headers=headers
            ) as response:
                excerpt = bytearray()
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
                return Outcome(
                    at=at,
                    duration_ms=_ms_since(started),
                    status_code=response.status_code,
                    excerpt=bytes(excerpt[:EXCERPT_BYTES]).decode("utf-8", "replace") or None,
                    retry_after=response.headers.get("retry-after"),
                )
        except httpx.TimeoutException:
            error = f"timed out after {self.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        except Exception as exc:  # a receiver must never crash the dispatcher
            logger.exception("unexpected failure posting to endpoint %s", endpoint.id)
            error = f"{type(exc).__name__}: {exc}"[:500]
        return Outcome(at=at, duration_ms=_ms_since(started), error=error)

    def _settle(
        self, delivery: WebhookDelivery, outcome: Outcome, results: _Results
    ) -> DeliveryAttempt:
        """Decide what an attempt means for its delivery; return the attempt to record."""
        results.last = outcome
        attempts = delivery.attempt_count + 1
        retry_at: datetime | None = None
        if outcome.delivered:
            results.delivered.append(delivery.id)
            results.failing_since = None
        else:
            results.failing_since = results.failing_since or outcome.at
            retry_at = next_attempt(attempts, outcome.at, delays=self.delays, rng=self.rng)
            if retry_at is not None and outcome.status_code in (429, 503):
                retry_at = retry_after(outcome.retry_after, outcome.at) or retry_at
            results.rescheduled.append((delivery.id, retry_at, attempts))
        attempt = DeliveryAttempt(
            delivery_id=delivery.id,
            at=outcome.at,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.excerpt,
            error=outcome.error
            or (None if outcome.delivered else f"answered HTTP {outcome.status_code}"),
            retry_at=retry_at,
        )
        results.attempts.append(attempt)
        return attempt

    async def _record(self, endpoint: WebhookEndpoint, results: _Results) -> None:
        """Write one endpoint's results in one transaction, then disable it if it must be."""
        last = results.last
        async with in_transaction():
            # The endpoint's row first, as deleting it does before its deliveries cascade:
            # taking the rows in the other order deadlocks against a deletion.
            alive = (
                await WebhookEndpoint.select_for_update()
                .filter(id=endpoint.id)
                .values_list("id", flat=True)
            )
            if not alive:
                logger.info(
                    "endpoint %s was deleted during a send; its results are dropped", endpoint.id
                )
                return
            if results.attempts:
                await DeliveryAttempt.bulk_create(results.attempts)
            if results.delivered:
                await WebhookDelivery.filter(id__in=results.delivered).update(
                    status=DeliveryStatus.DELIVERED,
                    delivered_at=last.at if last else _utcnow(),
                    next_attempt_at=None,
                    locked_until=None,
                    attempt_count=F("attempt_count") + 1,
                )
            for delivery_id, retry_at, attempts in results.rescheduled:
                await WebhookDelivery.filter(id=delivery_id).update(
                    status=DeliveryStatus.PENDING if retry_at else DeliveryStatus.FAILED,
                    next_attempt_at=retry_at,
                    locked_until=None,
                    attempt_count=attempts,
                )
            if results.released:
                await WebhookDelivery.filter(id__in=results.released).update(locked_until=None)
            if results.paused and last is not None:
                # Due with the retry they wait behind (the last attempt's), and after it
                # (ordered by id); at once if that one has run out of retries.
                _, retry_at, _ = results.rescheduled[-1]
                await WebhookDelivery.filter(id__in=results.paused).update(
                    locked_until=None, next_attempt_at=retry_at or last.at
                )
            if results.delivered:
                await WebhookEndpoint.filter(id=endpoint.id).update(
                    failing_since=results.failing_since
                )
            elif results.failing_since is not None:
                await WebhookEndpoint.filter(id=endpoint.id, failing_since__isnull=True).update(
                    failing_since=results.failing_since
                )
        if last is None or last.delivered or self._disable is None:
            return
        if last.status_code == 410:
            await self._disable(endpoint.id, "The receiver answered 410 Gone.")
            return
        current = await WebhookEndpoint.get_or_none(id=endpoint.id)
        since = current.failing_since if current is not None else None
        if since is not None and last.at - since >= self.disable_after:
            await self._disable(
                endpoint.id,
                f"Every delivery has failed since {since.isoformat()} "
                f"(last: {(last.error or '')[:200]}).",
            )


def _report(
    endpoint: WebhookEndpoint, job: _Job, attempt: DeliveryAttempt, *, refused: bool
) -> None:
    """Count an attempt by outcome and log one line for it."""
    if attempt.status_code is not None and 200 <= attempt.status_code < 300:
        outcome = "delivered"
    elif attempt.retry_at is None:
        outcome = "gave_up"  # the delivery is FAILED now
    elif refused:
        outcome = "refused"
    else:
        outcome = "failed"
    metrics.WEBHOOK_ATTEMPTS.labels(outcome).inc()
    attempts_logger.log(
        logging.INFO if outcome == "delivered" else logging.WARNING,
        "delivery %s of %s to endpoint %s: %s",
        job.delivery.id,
        job.event.type,
        endpoint.id,
        outcome if attempt.error is None else f"{outcome} ({attempt.error})",
        extra={
            "delivery_id": job.delivery.id,
            "endpoint_id": endpoint.id,
            "event_type": job.event.type,
            "event_id": job.event.uid,
            "status_code": attempt.status_code,
            "duration_ms": attempt.duration_ms,
            "outcome": outcome,
            "error": attempt.error,
            "retry_at": attempt.retry_at.isoformat() if attempt.retry_at else None,
        },
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
