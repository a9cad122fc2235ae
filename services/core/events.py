"""The outbox: one event per change of state, written in the transaction of the change.

An event's body is ``{"id", "type", "occurred_at", "sequence", "data"}``. ``data.object``
is the object as GraphQL shows it (``services.core.presenters``); ``data.previous_attributes``
says what a change replaced, where it matters. The same transaction owes the event to
every active endpoint subscribed to its type, so a rolled-back change leaves neither event
nor delivery behind.

``sequence`` numbers one engagement's events 1, 2, 3... in the order they were written,
without gaps: every writer holds the engagement's row lock (the unit of work takes it;
a new engagement is seen by nobody else until it commits), so the next number is one
past the largest written, and a unique index on (engagement, sequence) would refuse a
duplicate. Events about no engagement (``webhook.*``) have no order to keep with any
other, so their sequence is null.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.functions import Max

from models import Alert, CompensationSignal, Event, WebhookDelivery, WebhookEndpoint
from services.core.presenters import event_object
from services.core.wire import format_datetime

TEST_EVENT = "webhook.test"


@dataclass(frozen=True)
class Occurrence:
    """A change of state to announce: its event type and the object as it is now."""

    type: str
    object: dict[str, Any]
    engagement_id: int | None = None
    previous_attributes: dict[str, Any] = field(default_factory=dict)


def alert_occurrence(kind: str, row: Alert) -> Occurrence:
    return Occurrence(f"alert.{kind}", event_object(row), row.engagement_id)


def alert_update(row: Alert, *, before: dict[str, Any]) -> Occurrence | None:
    """``alert.updated`` for ``row``, given its :func:`event_object` from before the change:
    the previous attributes are only those that changed (None when none did)."""
    after = event_object(row)
    previous = {name: value for name, value in before.items() if after.get(name) != value}
    if not previous:
        return None
    return Occurrence("alert.updated", after, row.engagement_id, previous)


def signal_occurrence(row: CompensationSignal) -> Occurrence:
    return Occurrence(
        f"compensation.{row.kind.value.lower()}", event_object(row), row.engagement_id
    )


def subscribed(event_types: Sequence[str], type: str) -> bool:
    """Whether an endpoint's list (exact types or families like ``alert.*``) takes ``type``."""
    family = type.split(".", 1)[0] + ".*"
    return type in event_types or family in event_types


def new_event_id() -> str:
    """A public event id: random, so a receiver can dedupe across databases and restores."""
    return "evt_" + secrets.token_hex(16)


def body(uid: str, type: str, at: datetime, sequence: int | None, data: dict[str, Any]) -> str:
    """The JSON subscribers receive, compact and ASCII so its bytes are the same everywhere."""
    envelope = {
        "id": uid,
        "type": type,
        "occurred_at": format_datetime(at),
        "sequence": sequence,
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"))


async def _last_sequences(occurrences: Sequence[Occurrence]) -> dict[int, int]:
    """The largest sequence written so far for each engagement the occurrences are about
    (0 for none); read under the engagements' row locks, which the caller holds."""
    last: dict[int, int] = {}
    for engagement_id in {o.engagement_id for o in occurrences if o.engagement_id is not None}:
        found = await (
            Event.filter(engagement_id=engagement_id).annotate(last=Max("sequence")).values("last")
        )
        last[engagement_id] = int(found[0]["last"] or 0) if found else 0
    return last


async def record(
    occurrences: Sequence[Occurrence], *, at: datetime, only: WebhookEndpoint | None = None
) -> list[tuple[Event, list[WebhookDelivery]]]:
    """Write each occurrence as an event and owe it to its subscribers, due now.

    Call inside the transaction of the change, holding the row lock of the engagement
    each occurrence is about (see the module's docstring on ``sequence``). ``only`` sends
    to that endpoint alone, whatever it subscribes to (a test event); otherwise every
    active endpoint subscribed to the type gets a delivery. Call :func:`announce` once
    the transaction commits.
    """
    if not occurrences:
        return []
    endpoints = [only] if only is not None else await WebhookEndpoint.filter(active=True)
    last = await _last_sequences(occurrences)
    written: list[tuple[Event, list[WebhookDelivery]]] = []
    for occurrence in occurrences:
        uid = new_event_id()
        data: dict[str, Any] = {"object": occurrence.object}
        if occurrence.previous_attributes:
            data["previous_attributes"] = occurrence.previous_attributes
        sequence = None
        if occurrence.engagement_id is not None:
            sequence = last[occurrence.engagement_id] = last[occurrence.engagement_id] + 1
        event = Event(
            uid=uid,
            type=occurrence.type,
            occurred_at=at,
            engagement_id=occurrence.engagement_id,
            sequence=sequence,
            body=body(uid, occurrence.type, at, sequence, data),
        )
        written.append((event, []))
    if len(written) == 1:
        await written[0][0].save(force_create=True)
    else:
        # A unit's events with one INSERT, then their ids (the deliveries name them, and the
        # caller may read them) with one SELECT by their unique uids.
        await Event.bulk_create([event for event, _ in written])
        ids = dict(
            await Event.filter(uid__in=[event.uid for event, _ in written]).values_list("uid", "id")
        )
        for event, _ in written:
            event.id = ids[event.uid]
    for event, owed in written:
        owed.extend(
            WebhookDelivery(event_id=event.id, endpoint_id=e.id, next_attempt_at=at)
            for e in endpoints
            if only is not None or subscribed(e.event_types, event.type)
        )
    if only is not None:
        for _, owed in written:
            for delivery in owed:
                await delivery.save(force_create=True)
    else:
        owed_all = [delivery for _, owed in written for delivery in owed]
        if owed_all:
            await WebhookDelivery.bulk_create(owed_all)
    await _notify()
    return written


# On PostgreSQL every process LISTENs here (services.core.feed); the NOTIFY is sent with the
# transaction that wrote the events, so it arrives only if and when they commit.
NOTIFY_CHANNEL = "fourway_events"


async def _notify() -> None:
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query(f"NOTIFY {NOTIFY_CHANNEL}")


_listeners: set[asyncio.Event] = set()


def listen() -> asyncio.Event:
    """An asyncio event that :func:`announce` sets: a dispatcher in this process waits on it."""
    listener = asyncio.Event()
    _listeners.add(listener)
    return listener


def stop_listening(listener: asyncio.Event) -> None:
    _listeners.discard(listener)


def announce() -> None:
    """Say that events may have committed, so a dispatcher in this process looks now
    rather than at its next poll. Harmless when none was written."""
    for listener in _listeners:
        listener.set()
