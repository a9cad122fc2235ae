"""The audit trail: who changed what and when, with the object before and after.

Every use case that changes something records an entry inside its own transaction, so the
trail holds exactly the changes that were committed. Inside a unit of work
(``services.core.units``) the entries are held and written together, in the order they were
recorded, with one INSERT as the unit ends, still inside its transaction: a bulk load pays
one statement per unit rather than one per row, and a unit that rolls back writes none.
Who acted is taken from the context: the API sets it per request from the request's key
(``acting_as``), ``fourway`` commands act as COMMAND, and anything else (the sweep, the
demo) acts as SYSTEM.

An object is recorded as the API shows it (``services.core.presenters``): fields by their
GraphQL names, related objects as ``{"id": <global id>}``, decimals and times as strings.
Secrets are never recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, TypedDict

from tortoise.models import Model

from models import AuditEntry, Engagement
from services.core.presenters import as_json

# The entry's time, as its column takes it (in UTC, whatever offset it was given with).
_AT = AuditEntry._meta.fields_map["at"]

# Bookkeeping every row has: the entry has its own time.
_BOOKKEEPING = frozenset({"created_at", "updated_at"})


class ActorKind(StrEnum):
    API_KEY = "API_KEY"
    COMMAND = "COMMAND"
    SYSTEM = "SYSTEM"


@dataclass(frozen=True)
class Actor:
    """Who a change is recorded against: an API key (and the person it belongs to), a
    command run on the server, or the service itself."""

    kind: ActorKind
    key_id: int | None = None
    key_prefix: str | None = None
    person_id: int | None = None
    # The key's role, which decides whether a key tied to no person may decide (ADMIN).
    role: str | None = None


class Decided(TypedDict):
    """The decision a change took and the engagement function it was taken in, as an
    entry records them (``services.engagements.decisions`` says which)."""

    decision: str | None
    function: str | None


SYSTEM = Actor(ActorKind.SYSTEM)
COMMAND = Actor(ActorKind.COMMAND)

_actor: ContextVar[Actor] = ContextVar("fourway_actor", default=SYSTEM)
_held: ContextVar[list[AuditEntry] | None] = ContextVar("fourway_audit_held", default=None)


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """Record every change made inside the block against ``actor``."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Actor:
    return _actor.get()


@asynccontextmanager
async def holding() -> AsyncIterator[None]:
    """Hold the entries recorded inside the block and write them, in order, with one INSERT
    when it ends; call it inside the transaction of the changes, which an error leaving
    the block rolls back: then the held entries are dropped with them, never written."""
    if _held.get() is not None:  # an outer block writes them
        yield
        return
    entries: list[AuditEntry] = []
    token = _held.set(entries)
    try:
        yield
    finally:
        _held.reset(token)
    if entries:
        await AuditEntry.bulk_create(entries)


@cache
def label(model: type[Model]) -> str:
    """``WebhookEndpoint`` -> ``webhook_endpoint``: how actions name what they act on."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).lower()


def snapshot(row: Model) -> dict[str, Any]:
    """The row as the trail records it: as the API shows it, with the columns the trail
    keeps of its own (``services.core.presenters``), without the row's bookkeeping times."""
    return as_json(row, trail=True, leave_out=_BOOKKEEPING)


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """The names whose values differ between ``before`` and ``after`` (either may be absent)."""
    before, after = before or {}, after or {}
    return sorted(
        name
        for name in before.keys() | after.keys()
        if name != "id" and before.get(name) != after.get(name)
    )


def _engagement_id(row: Model) -> int | None:
    if isinstance(row, Engagement):
        return int(row.pk)
    engagement_id = getattr(row, "engagement_id", None)
    return int(engagement_id) if engagement_id is not None else None


async def record(
    action: str,
    target: Model,
    *,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    at: dt.datetime | None = None,
    decision: str | None = None,
    function: str | None = None,
) -> AuditEntry:
    """Record ``action`` on ``target`` by the current actor; call it inside the change's
    transaction. ``before``/``after`` are what the object was and became (None where it
    did not exist); ``decision`` is the decision the change took
    (``services.engagements.decisions``) and ``function`` the engagement function its person
    took it in. Inside ``holding`` the entry is returned unsaved (no id yet) and written
    when the block ends."""
    actor = current_actor()
    # Built without the model's checks and conversions (``construct``): every value here is
    # already what the column holds, and a bulk load builds an entry for every row it writes.
    entry = AuditEntry.construct(
        at=_AT.to_python_value(at) if at is not None else dt.datetime.now(dt.UTC),
        action=action,
        target_type=type(target).__name__,
        target_id=target.pk,
        engagement_id=_engagement_id(target),
        actor_kind=actor.kind.value,
        actor_key_id=actor.key_id,
        actor_key_prefix=actor.key_prefix,
        actor_person_id=actor.person_id,
        decision=decision,
        actor_function=function,
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        changed_fields=changed_fields(before, after),
    )
    held = _held.get()
    if held is None:
        await entry.save(force_create=True)
    else:
        held.append(entry)
    return entry


async def created(
    row: Model, *, decision: str | None = None, function: str | None = None
) -> AuditEntry:
    return await record(
        f"{label(type(row))}.created",
        row,
        before=None,
        after=snapshot(row),
        decision=decision,
        function=function,
    )


async def updated(
    row: Model,
    *,
    before: Mapping[str, Any],
    verb: str = "updated",
    decision: str | None = None,
    function: str | None = None,
) -> AuditEntry:
    """Record a change of ``row``, given its ``snapshot`` from before the change."""
    return await record(
        f"{label(type(row))}.{verb}",
        row,
        before=before,
        after=snapshot(row),
        decision=decision,
        function=function,
    )


async def deleted(row: Model) -> AuditEntry:
    """Record the deletion of ``row``, which still holds the values it had."""
    return await record(f"{label(type(row))}.deleted", row, before=snapshot(row), after=None)
