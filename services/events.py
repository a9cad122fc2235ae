"""The outbox: one event per change of state, written in the transaction of the change.

An event's body is ``{"id", "type", "occurred_at", "sequence", "data"}``. ``data.object``
is the object as GraphQL shows it (camelCase fields, global ids, decimals as strings,
related objects as ``{"id"}``); ``data.previous_attributes`` says what a change replaced,
where it matters. The same transaction owes the event to every active endpoint
subscribed to its type, so a rolled-back change leaves neither event nor delivery behind.

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
from decimal import Decimal
from typing import Any

from tortoise import connections
from tortoise.functions import Max

from models import Alert, CompensationSignal, Engagement, Event, WebhookDelivery, WebhookEndpoint
from services.wire import (
    format_datetime,
    format_decimal,
    present_facts,
    present_idempotency_key,
    to_global_id,
)

TEST_EVENT = "webhook.test"


@dataclass(frozen=True)
class Occurrence:
    """A change of state to announce: its event type and the object as it is now."""

    type: str
    object: dict[str, Any]
    engagement_id: int | None = None
    previous_attributes: dict[str, Any] = field(default_factory=dict)


def _ref(type_name: str, pk: int | None) -> dict[str, str] | None:
    return None if pk is None else {"id": to_global_id(type_name, pk)}


def _moment(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal(value)


def alert_object(row: Alert) -> dict[str, Any]:
    return {
        "__typename": "Alert",
        "id": to_global_id("Alert", row.pk),
        "ruleId": row.rule_id,
        "severity": row.severity.value,
        "status": row.status.value,
        "item": row.item,
        "message": row.message,
        "facts": present_facts(row.facts),
        "openedAt": _moment(row.opened_at),
        "acknowledgedAt": _moment(row.acknowledged_at),
        "comment": row.comment,
        "resolvedAt": _moment(row.resolved_at),
        "resolution": row.resolution,
        "waivedAt": _moment(row.waived_at),
        "waiverReason": row.waiver_reason,
        "engagement": _ref("Engagement", row.engagement_id),
    }


def signal_object(row: CompensationSignal) -> dict[str, Any]:
    return {
        "__typename": "CompensationSignal",
        "id": to_global_id("CompensationSignal", row.pk),
        "kind": row.kind.value,
        "period": row.period,
        "currency": row.currency,
        "revenue": _decimal(row.revenue),
        "cost": _decimal(row.cost),
        "margin": _decimal(row.margin),
        "marginPct": _decimal(row.margin_pct),
        "rate": _decimal(row.rate),
        "split": _decimal(row.split),
        "amount": _decimal(row.amount),
        "reason": row.reason,
        "attribution": row.attribution,
        "evidence": [to_global_id("Alert", pk) for pk in row.evidence],
        "supersedes": None
        if row.supersedes_id is None
        else to_global_id("CompensationSignal", row.supersedes_id),
        "idempotencyKey": present_idempotency_key(row.idempotency_key),
        "createdAt": _moment(row.created_at),
        "salesperson": _ref("Person", row.salesperson_id),
        "engagement": _ref("Engagement", row.engagement_id),
    }


def engagement_object(row: Engagement) -> dict[str, Any]:
    return {
        "__typename": "Engagement",
        "id": to_global_id("Engagement", row.pk),
        "name": row.name,
        "status": row.status.value,
        "inHouse": row.in_house,
        "currency": row.currency,
        "decisionModel": row.decision_model.value,
        "evaluatedAt": _moment(row.evaluated_at),
        "evaluationError": row.evaluation_error,
        "createdAt": _moment(row.created_at),
        "updatedAt": _moment(row.updated_at),
        "client": _ref("Organization", row.client_id),
    }


def endpoint_object(row: WebhookEndpoint) -> dict[str, Any]:
    return {
        "__typename": "WebhookEndpoint",
        "id": to_global_id("WebhookEndpoint", row.pk),
        "url": row.url,
        "eventTypes": list(row.event_types),
        "active": row.active,
        "description": row.description,
        "disabledReason": row.disabled_reason,
        "createdAt": _moment(row.created_at),
    }


def alert_occurrence(kind: str, row: Alert) -> Occurrence:
    return Occurrence(f"alert.{kind}", alert_object(row), row.engagement_id)


def alert_update(row: Alert, *, before: dict[str, Any]) -> Occurrence | None:
    """``alert.updated`` for ``row``, given its :func:`alert_object` from before the change:
    the previous attributes are only those that changed (None when none did)."""
    after = alert_object(row)
    previous = {name: value for name, value in before.items() if after.get(name) != value}
    if not previous:
        return None
    return Occurrence("alert.updated", after, row.engagement_id, previous)


def signal_occurrence(row: CompensationSignal) -> Occurrence:
    return Occurrence(
        f"compensation.{row.kind.value.lower()}", signal_object(row), row.engagement_id
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
    written = []
    for occurrence in occurrences:
        uid = new_event_id()
        data: dict[str, Any] = {"object": occurrence.object}
        if occurrence.previous_attributes:
            data["previous_attributes"] = occurrence.previous_attributes
        sequence = None
        if occurrence.engagement_id is not None:
            sequence = last[occurrence.engagement_id] = last[occurrence.engagement_id] + 1
        event = await Event.create(
            uid=uid,
            type=occurrence.type,
            occurred_at=at,
            engagement_id=occurrence.engagement_id,
            sequence=sequence,
            body=body(uid, occurrence.type, at, sequence, data),
        )
        if only is not None:
            owed = [
                await WebhookDelivery.create(
                    event_id=event.id, endpoint_id=only.id, next_attempt_at=at
                )
            ]
        else:
            owed = [
                WebhookDelivery(event_id=event.id, endpoint_id=e.id, next_attempt_at=at)
                for e in endpoints
                if subscribed(e.event_types, occurrence.type)
            ]
            if owed:
                await WebhookDelivery.bulk_create(owed)
        written.append((event, owed))
    await _notify()
    return written


# On PostgreSQL every process LISTENs here (services.feed); the NOTIFY is sent with the
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
