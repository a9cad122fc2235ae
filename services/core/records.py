"""Create, update and delete the rows that hang off an engagement, in a unit of work.

Each change runs in a unit on its engagement (``services.core.units``): alone, it is a unit of
one change, locked, evaluated and announced by itself; inside a unit on the engagement it
joins it, and is evaluated with the rest when that unit ends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from services.alerts.evaluation import Changed
from services.core import audit
from services.core.errors import Conflict, FieldError, Invalid, NotFound
from services.core.fields import Context, Spec, clean
from services.core.units import Change, changing
from services.core.units import lock_engagement as lock_engagement
from services.engagements import decisions
from services.engagements.decisions import Decision

M = TypeVar("M", bound=Model)
T = TypeVar("T")

CrossCheck = Callable[[Mapping[str, Any]], list[FieldError]]


@dataclass(frozen=True)
class Decides:
    """A write of ``fields`` that leaves the row matching ``when`` is ``decision``, taken
    for the person in ``named``: the decision table (``services.engagements.decisions``)
    must allow it."""

    decision: Decision
    fields: frozenset[str]
    when: Callable[[Mapping[str, Any]], bool]
    named: str

    def taken(self, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
        if not self.when(after):
            return False
        return before is None or any(before.get(f) != after.get(f) for f in self.fields)


@dataclass(frozen=True)
class Kind(Generic[M]):
    """How one kind of engagement row is validated: its fields and the rules across them."""

    model: type[M]
    label: str
    spec: Spec
    required: frozenset[str]
    cross_checks: tuple[CrossCheck, ...] = field(default=())
    decides: Decides | None = None

    def not_found(self) -> NotFound:
        return NotFound("id", f"No {self.label} with this id.")


def _cross_check(kind: Kind[Any], values: Mapping[str, Any]) -> None:
    errors = [error for check in kind.cross_checks for error in check(values)]
    if errors:
        raise Invalid(errors)


async def _check_decision(
    kind: Kind[Any],
    change: Change,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
) -> decisions.Decided | None:
    """The decision this write takes, checked against the decision table; None if none.
    A unit checks a decision once for each person it names and actor it takes it."""
    decides = kind.decides
    if decides is None or not decides.taken(before, after):
        return None
    named = after.get(decides.named)
    key = (decides.decision, decides.named, named, audit.current_actor())
    checked = change.decisions.get(key)
    if checked is None:
        checked = change.decisions[key] = await decisions.check(
            decides.decision,
            engagement=change.engagement,
            field=decides.named,
            named_person_id=named,
        )
    return replace(checked, at=datetime.now(UTC))


async def _take(decided: decisions.Decided | None, record: Model) -> audit.Decided:
    """Put the decision the write took on record; what the audit entry says of it."""
    if decided is None:
        return {"decision": None, "function": None}
    await decisions.taken(decided, record, engagement_id=record.engagement_id)  # type: ignore[attr-defined]
    return decided.audited


async def create(kind: Kind[M], *, engagement_id: int, values: Mapping[str, Any]) -> Changed[M]:
    """Validate ``values`` and add a row of ``kind`` to the engagement."""
    async with changing(engagement_id) as change:
        engagement = change.engagement
        cleaned = await clean(
            kind.spec, values, required=kind.required, ctx=Context(engagement.currency)
        )
        _cross_check(kind, {name: cleaned.get(name) for name in kind.spec})
        decided = await _check_decision(kind, change, None, cleaned)
        record = await kind.model.create(engagement_id=engagement.id, **cleaned)
        await audit.created(record, **await _take(decided, record))
        change.note()
    return Changed(record, change.reconciled)


async def update(kind: Kind[M], *, id: int, changes: Mapping[str, Any]) -> Changed[M]:
    """Apply ``changes`` (fields absent from it keep their values; None clears a field)."""
    if "engagement_id" in changes:
        # The update input offers every field of create; a record's alerts, signals and
        # events belong to its engagement, so it is not moved, even to null.
        raise Invalid(
            [
                FieldError(
                    "engagement_id",
                    "cannot be changed; delete this and create it on the other engagement",
                )
            ]
        )
    async with changing(await _engagement_of(kind, id), field="id") as change:
        engagement = change.engagement
        record = await kind.model.get_or_none(id=id)
        if record is None:  # deleted while we waited for the lock
            raise kind.not_found()
        cleaned = await clean(kind.spec, changes, ctx=Context(engagement.currency))
        stored = {name: getattr(record, name) for name in kind.spec}
        _cross_check(kind, stored | cleaned)
        decided = await _check_decision(kind, change, stored, stored | cleaned)
        before = audit.snapshot(record)
        if cleaned:
            record.update_from_dict(cleaned)
            await record.save(update_fields=[*cleaned, "updated_at"])
        entry = await audit.updated(record, before=before, **await _take(decided, record))
        change.note(changed=bool(entry.changed_fields))
    return Changed(record, change.reconciled)


async def delete(kind: Kind[M], *, id: int) -> Changed[M]:
    """Delete the row and return it as it was."""
    async with changing(await _engagement_of(kind, id), field="id") as change:
        record = await kind.model.get_or_none(id=id)
        if record is None:
            raise kind.not_found()
        await record.delete()
        await audit.deleted(record)
        change.note()
    return Changed(record, change.reconciled)


async def _engagement_of(kind: Kind[Any], id: int) -> int:
    ids = await kind.model.filter(id=id).values_list("engagement_id", flat=True)
    if not ids:
        raise kind.not_found()
    return int(ids[0])


async def guard_integrity(operation: Callable[[], Any], *, field: str | None, message: str) -> Any:
    """Run ``operation``; a constraint the database enforces becomes a Conflict."""
    try:
        return await operation()
    except IntegrityError:
        raise Conflict(field, message) from None
