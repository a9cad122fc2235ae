"""The live feed: every outbox event that commits, handed to this process's subscribers.

One feed per process reads the outbox as events commit and gives each new row to every
subscription open in the process; each subscription keeps what it asked for. The feed
looks when :func:`services.core.events.announce` wakes it: after a commit in the process, and
on PostgreSQL after any process's commit, through the NOTIFY that
:func:`services.core.events.record` sends with the transaction and the one connection per
process that :func:`listen_for_commits` keeps. It also looks at every poll interval
whatever happens (a NOTIFY can be missed while that connection is down).

On PostgreSQL, ids are taken when rows are inserted but become visible when their
transactions commit, so an id can show up after larger ones. The feed remembers the ids
it skipped and looks for them again for ``GAP_SECONDS``; after that they are taken to
belong to transactions that rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise.expressions import Q

from models import Event
from services.access import api_keys
from services.core import events

logger = logging.getLogger(__name__)

GAP_SECONDS = 30.0
# At most this many rows per look; a longer backlog is read over the next looks.
BATCH = 500
# A subscription that falls this far behind is ended rather than let memory grow.
QUEUE_LIMIT = 1000
# Skipped ids beyond this many in one stretch are not looked for again (a sequence jump).
MAX_GAP = 10_000


class FellBehind(Exception):
    """The subscription could not keep up with the events and was ended."""


class Subscription:
    """The events committed since it opened, in the order the feed saw them."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=QUEUE_LIMIT + 1)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        if self._queue.qsize() >= QUEUE_LIMIT:
            self.overflowed = True
            self._queue.put_nowait(None)
            return
        self._queue.put_nowait(event)

    async def next(self) -> Event:
        """The next event; raises :class:`FellBehind` once the subscription overflowed."""
        event = await self._queue.get()
        if event is None:
            raise FellBehind("The subscription fell too far behind the events and was ended.")
        return event

    def pending(self) -> list[Event]:
        """The events already waiting, without waiting for more."""
        waiting = []
        while not self._queue.empty():
            event = self._queue.get_nowait()
            if event is None:
                self._queue.put_nowait(None)
                break
            waiting.append(event)
        return waiting


def _asyncpg_dsn(database_url: str) -> str | None:
    """The URL for a plain asyncpg connection, or None when the database is not PostgreSQL."""
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgres", "postgresql", "asyncpg"):
        return None
    return urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))


class Feed:
    """Reads the outbox as it commits and fans each event out to the open subscriptions."""

    def __init__(self, *, poll_seconds: float = 1.0) -> None:
        self.poll_seconds = poll_seconds
        self._subscriptions: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._last_id = 0
        self._gaps: dict[int, float] = {}

    @property
    def subscription_count(self) -> int:
        return len(self._subscriptions)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        """A subscription to every event that commits from now on."""
        await self._ensure_running()
        subscription = Subscription()
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    async def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._started = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="live feed")
        await self._started.wait()
        if self._task.done():  # it could not even read where the outbox ends
            self._task.result()  # raises what stopped it
            raise RuntimeError("the live feed stopped as it started")

    async def stop(self) -> None:
        """Stop reading; the loop finishes its current look first (it is never cancelled
        mid-query)."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        wake = self._wake = events.listen()
        try:
            self._last_id = await _last_event_id()
            self._started.set()
            while not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll_seconds)
                wake.clear()
                if self._stopping:
                    break
                try:
                    await self._look()
                except Exception:
                    logger.exception("reading the outbox for live subscriptions failed")
        finally:
            self._started.set()  # never leave a subscriber waiting on a feed that died
            events.stop_listening(wake)

    async def _look(self) -> None:
        """Hand every newly visible event to the subscriptions, in id order."""
        now = time.monotonic()
        self._gaps = {pk: seen for pk, seen in self._gaps.items() if now - seen < GAP_SECONDS}
        condition = Q(id__gt=self._last_id)
        if self._gaps:
            condition |= Q(id__in=list(self._gaps))
        rows = await Event.filter(condition).order_by("id").limit(BATCH)
        for row in rows:
            if row.id > self._last_id:
                if row.id - self._last_id <= MAX_GAP:
                    self._gaps.update(dict.fromkeys(range(self._last_id + 1, row.id), now))
                self._last_id = row.id
            else:
                self._gaps.pop(row.id, None)
            for subscription in list(self._subscriptions):
                subscription.offer(row)
        if len(rows) == BATCH and self._wake is not None:
            self._wake.set()  # more are waiting


async def listen_for_commits(database_url: str) -> asyncpg.Connection | None:
    """On PostgreSQL, a connection that turns every other process's committed events into
    :func:`services.core.events.announce` in this one (waking its feed and dispatcher), and its
    revoked keys into :func:`services.access.api_keys.revoked` (closing their sockets); each
    process keeps one, and closes it to stop. None elsewhere, or when it cannot connect
    (polling still finds them)."""
    dsn = _asyncpg_dsn(database_url)
    if dsn is None:
        return None
    try:
        connection = await asyncpg.connect(dsn)
        await connection.add_listener(events.NOTIFY_CHANNEL, lambda *_: events.announce())
        await connection.add_listener(api_keys.REVOKED_CHANNEL, _revoked)
    except (OSError, asyncpg.PostgresError):
        logger.warning("cannot LISTEN for committed events; falling back to polling")
        return None
    return connection


def _revoked(_connection: object, _pid: int, _channel: str, payload: str) -> None:
    api_keys.revoked(int(payload))


async def _last_event_id() -> int:
    last = await Event.all().order_by("-id").first()
    return last.id if last is not None else 0
