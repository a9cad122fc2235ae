"""Live updates: GraphQL subscriptions over graphql-transport-ws on /graphql, fed by the
outbox's events (the same ones webhooks carry) through this process's feed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import strawberry
from graphql import GraphQLError

from api.alerts import Alert
from api.context import Info
from api.engagements import Engagement
from api.enums import Severity
from api.fanout import fanout_of
from api.relay import from_global_id, id_argument
from models import Event
from services.api_keys import is_live
from services.feed import FellBehind, Subscription

# How often a subscription checks that its key is still live: revoking a key ends the
# subscriptions made with it within this time.
KEY_CHECK_SECONDS = 60.0


class Unauthenticated(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "UNAUTHENTICATED"})


class _Stream:
    """A subscription's events, ended once its key is revoked or expires."""

    def __init__(self, subscription: Subscription, key_id: int) -> None:
        self.subscription = subscription
        self.key_id = key_id
        self.checked = time.monotonic()

    async def next(self) -> Event:
        while True:
            try:
                # Cancelling Queue.get loses nothing: the event stays queued.
                event: Event | None = await asyncio.wait_for(
                    self.subscription.next(), KEY_CHECK_SECONDS
                )
            except TimeoutError:
                event = None
            except FellBehind as behind:
                raise GraphQLError(str(behind), extensions={"code": "FELL_BEHIND"}) from None
            if time.monotonic() - self.checked >= KEY_CHECK_SECONDS:
                if not await is_live(self.key_id):
                    raise Unauthenticated("The API key was revoked or has expired.")
                self.checked = time.monotonic()
            if event is not None:
                return event


@contextlib.asynccontextmanager
async def _events(info: Info) -> AsyncIterator[_Stream]:
    feed, principal = info.context.feed, info.context.principal
    if feed is None or principal is None:  # every websocket context has both
        raise RuntimeError("a subscription needs the app's feed and an authenticated key")
    async with feed.subscribe() as subscription:
        yield _Stream(subscription, principal.key_id)


@contextlib.asynccontextmanager
async def _turn(info: Info) -> AsyncIterator[Callable[[Event], None]]:
    """This subscription's turn to build and send a message (see api.fanout). It gives
    a function that takes the loaders every subscription handling an event shares: what
    earlier messages loaded is forgotten, a subscription lives long and each message is
    new."""
    assert info.context.feed is not None  # _events made sure
    fanout = fanout_of(info.context.feed)

    def share(event: Event) -> None:
        info.context.loaders = fanout.loaders_for(event.id)

    async with fanout.turns.turn():
        yield share


@strawberry.type(description="Something that happened to an alert, with the alert as it is now.")
class AlertEvent:
    type: str = strawberry.field(
        description="alert.opened, alert.resolved, alert.acknowledged or alert.waived."
    )
    event_id: str = strawberry.field(description="The event's id (evt_...), as webhooks send.")
    occurred_at: dt.datetime
    alert: Alert


def _alert_pk(event: Event) -> tuple[int, str]:
    """The alert an alert event is about, and its severity then."""
    obj = json.loads(event.body)["data"]["object"]
    return from_global_id(obj["id"])[1], obj["severity"]


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="Alerts as they open, resolve, are acknowledged or waived: on one "
        "engagement or all, of the given severities or all."
    )
    async def alert_events(
        self,
        info: Info,
        engagement_id: strawberry.ID | None = None,
        severities: list[Severity] | None = None,
    ) -> AsyncGenerator[AlertEvent, None]:
        engagement = (
            id_argument(engagement_id, "Engagement", "`engagementId`")[1]
            if engagement_id is not None
            else None
        )
        wanted = {s.value for s in severities} if severities else None
        async with _events(info) as stream:
            while True:
                event = await stream.next()
                if not event.type.startswith("alert."):
                    continue
                if engagement is not None and event.engagement_id != engagement:
                    continue
                pk, severity = _alert_pk(event)
                if wanted is not None and severity not in wanted:
                    continue
                # The turn lasts until strawberry asks for the next message, so it
                # covers executing and sending this one.
                async with _turn(info) as share:
                    share(event)
                    row = await info.context.loaders.alert.load(pk)
                    if row is None:  # its engagement was deleted since
                        continue
                    yield AlertEvent(
                        type=event.type,
                        event_id=event.uid,
                        occurred_at=event.occurred_at,
                        alert=Alert.from_model(row),
                    )

    @strawberry.subscription(
        description="The engagement each time it or anything on it changes (its sides, "
        "roles, alerts, signals, status); changes that commit together come as one. Ends "
        "when the engagement is deleted."
    )
    async def engagement_changed(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[Engagement, None]:
        pk = id_argument(id, "Engagement", "`id`")[1]
        async with _events(info) as stream:
            while True:
                event = await stream.next()
                if event.engagement_id != pk:
                    continue
                async with _turn(info) as share:
                    # What committed with it is in the same message; the rows are those
                    # of the newest event taken, so none is older than what it said.
                    share(max([event, *stream.subscription.pending()], key=lambda e: e.id))
                    row = await info.context.loaders.engagement.load(pk)
                    if row is None:
                        return
                    yield Engagement.from_model(row)
