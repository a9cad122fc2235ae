"""Live updates: GraphQL subscriptions over graphql-transport-ws on /graphql, fed by the
outbox's events (the same ones webhooks carry) through this process's feed. A
subscription lasts as long as its socket, which closes when its key is revoked or
expires (``web.sockets``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from api.alerts.alerts import Alert
from api.core.context import Info
from api.core.enums import Severity
from api.core.relay import from_global_id, id_argument
from api.engagements.engagements import Engagement
from api.live.fanout import fanout_of
from models import Event
from services.core.feed import FellBehind, Subscription


class _Stream:
    """A subscription's events."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription

    async def next(self) -> Event:
        try:
            return await self.subscription.next()
        except FellBehind as behind:
            raise GraphQLError(str(behind), extensions={"code": "FELL_BEHIND"}) from None


@contextlib.asynccontextmanager
async def _events(info: Info) -> AsyncIterator[_Stream]:
    feed, principal = info.context.feed, info.context.principal
    if feed is None or principal is None:  # every websocket context has both
        raise RuntimeError("a subscription needs the app's feed and an authenticated key")
    async with feed.subscribe() as subscription:
        yield _Stream(subscription)


@contextlib.asynccontextmanager
async def _turn(info: Info) -> AsyncIterator[Callable[[Event], None]]:
    """This subscription's turn to build and send a message (see api.live.fanout). It gives
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
        description="alert.opened, alert.updated (its severity, message or facts changed), "
        "alert.resolved, alert.acknowledged or alert.waived."
    )
    event_id: str = strawberry.field(description="The event's id (evt_...), as webhooks send.")
    occurred_at: dt.datetime
    sequence: int | None = strawberry.field(
        description="The event's place among its engagement's events (1, 2, 3...), as "
        "webhooks send: what orders them."
    )
    previous_attributes: JSON | None = strawberry.field(
        description="What the change replaced, as the alert showed it before (alert.updated)."
    )
    alert: Alert


@dataclass(frozen=True)
class _AlertChange:
    """What an alert event says: the alert's key, and its severities after and before."""

    pk: int
    severities: frozenset[str]
    previous_attributes: dict[str, Any] | None

    @classmethod
    def of(cls, event: Event) -> _AlertChange:
        data = json.loads(event.body)["data"]
        obj, previous = data["object"], data.get("previous_attributes")
        severities = {obj["severity"]}
        if previous is not None and "severity" in previous:
            # Also the severity it left: a CRITICAL alert turning WARNING is news to
            # those who follow CRITICAL ones.
            severities.add(previous["severity"])
        return cls(from_global_id(obj["id"])[1], frozenset(severities), previous)


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
                change = _AlertChange.of(event)
                if wanted is not None and not change.severities & wanted:
                    continue
                # The turn lasts until strawberry asks for the next message, so it
                # covers executing and sending this one.
                async with _turn(info) as share:
                    share(event)
                    row = await info.context.loaders.alert.load(change.pk)
                    if row is None:  # its engagement was deleted since
                        continue
                    yield AlertEvent(
                        type=event.type,
                        event_id=event.uid,
                        occurred_at=event.occurred_at,
                        sequence=event.sequence,
                        previous_attributes=(
                            None
                            if change.previous_attributes is None
                            else JSON(change.previous_attributes)
                        ),
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
