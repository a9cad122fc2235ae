"""The unit of work: lock an engagement once, change it any number of times, evaluate once.

    async with changing(engagement_id) as change:
        ...  # any number of use cases on that engagement
    # here, once: the rules evaluated, alerts reconciled, signals and outbox events written

A unit opens one transaction and takes the engagement's row lock (``SELECT ... FOR UPDATE``
on PostgreSQL; SQLite's writers queue for its write lock, see ``models.sqlite``). Every use
case that changes an engagement runs in one: called alone, it opens its own (a unit of one
change); called inside a unit on the same engagement, it joins it: no second lock, no
evaluation of its own. Each use case notes what it did (``note``); when the outermost unit
ends, the engagement is evaluated once with what they add up to (created, changed, moved
from the status it had when the unit began) and the outbox events are written once, so a
subscriber hears of one ``engagement.updated`` however many rows the unit wrote.

``creating()`` is a unit for an engagement made inside it (``create_engagement`` adopts
it), so an engagement can be created and filled in one unit. A unit on another engagement
inside a unit is refused (``CrossedUnits``): its evaluation would have to wait for the outer
one, and taking a second row lock inside the first invites deadlocks.

An exception leaving the outermost unit rolls back everything it wrote, events included. A
joined use case runs in a savepoint: if it fails and its caller goes on, the unit is as it
was before that use case began, in the database and in what the unit has noted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from datetime import datetime

from tortoise.transactions import in_transaction

from models import Engagement
from models.enums import EngagementStatus
from services import events
from services.errors import NotFound
from services.evaluation import Reconciled, reconcile


class CrossedUnits(RuntimeError):
    """A unit on one engagement was asked for inside a unit on another."""


async def lock_engagement(engagement_id: int, *, field: str = "engagement_id") -> Engagement:
    """Return the engagement, locked for the rest of the transaction, or raise NotFound."""
    engagement = await Engagement.select_for_update().get_or_none(id=engagement_id)
    if engagement is None:
        raise NotFound(field, "No engagement with this id.")
    return engagement


@dataclasses.dataclass
class _Noted:
    """What a unit has been told so far; kept aside while a joined use case runs."""

    engagement: Engagement | None
    began_as: EngagementStatus | None
    created: bool = False
    changed: bool = False
    evaluate: bool = False
    then: list[tuple[str, datetime]] = dataclasses.field(default_factory=list)

    def copy(self) -> _Noted:
        return dataclasses.replace(self, then=list(self.then))


class Change:
    """One unit of work on one engagement, as the use cases inside it see it."""

    def __init__(self, engagement: Engagement | None) -> None:
        self._noted = _Noted(engagement, engagement.status if engagement else None)
        self.evaluations = 0
        self.reconciled = Reconciled()
        """What the unit's last evaluation opened, resolved and appended: nothing yet while
        the unit runs, so a use case that joined a larger unit returns nothing of its own."""

    @property
    def engagement(self) -> Engagement:
        """The engagement, locked (or made) by this unit; the one object every use case in
        the unit changes, so the evaluation sees what they did."""
        if self._noted.engagement is None:
            raise CrossedUnits("This unit's engagement has not been created yet.")
        return self._noted.engagement

    def adopt(self, engagement: Engagement) -> None:
        """Take ``engagement``, just made in this unit, as the unit's (announced as
        ``engagement.created``)."""
        if self._noted.engagement is not None:
            raise CrossedUnits(
                f"This unit changes engagement {self._noted.engagement.id}; "
                "create another engagement in a unit of its own."
            )
        self._noted.engagement = engagement
        self._noted.began_as = engagement.status
        self._noted.created = self._noted.evaluate = True

    def note(self, *, changed: bool = True) -> None:
        """Ask for the evaluation at the end; ``changed`` says the engagement or something
        on it changed, which announces ``engagement.updated``."""
        self._noted.evaluate = True
        self._noted.changed = self._noted.changed or changed

    def then(self, event_type: str, *, at: datetime) -> None:
        """Announce ``event_type`` of the engagement (as it is at the end) after the
        evaluation's events: what the change meant, heard of after the change itself."""
        self._noted.then.append((event_type, at))

    def deleted(self) -> None:
        """The engagement is gone: nothing is left to evaluate."""
        self._noted.evaluate = False

    async def evaluate(
        self, *, now: datetime | None = None, repricing: str | None = None
    ) -> Reconciled:
        """Evaluate now rather than at the end (for a use case that acts on the outcome);
        the end evaluates again only if something is noted after this."""
        noted = self._noted
        moved_from = noted.began_as if self.engagement.status != noted.began_as else None
        result = await reconcile(
            self.engagement,
            now=now,
            moved_from=moved_from,
            changed=noted.changed,
            created=noted.created,
            repricing=repricing,
        )
        self.evaluations += 1
        # What was announced is announced: a later evaluation in the unit starts afresh.
        noted.began_as = self.engagement.status
        noted.created = noted.changed = noted.evaluate = False
        self.reconciled = result
        return result

    async def _finish(self) -> None:
        if self._noted.evaluate:
            await self.evaluate()
        engagement = self._noted.engagement
        for event_type, at in self._noted.then:
            assert engagement is not None  # nothing is noted before there is an engagement
            occurrence = events.Occurrence(
                event_type, events.engagement_object(engagement), engagement.id
            )
            await events.record([occurrence], at=at)
        self._noted.then.clear()


_current: ContextVar[Change | None] = ContextVar("fourway_unit", default=None)


def changing(
    engagement_id: int, *, field: str = "engagement_id"
) -> AbstractAsyncContextManager[Change]:
    """A unit of work on the engagement ``engagement_id`` (NotFound names ``field``), or the
    unit already open on it."""
    return _unit(engagement_id, field)


def creating() -> AbstractAsyncContextManager[Change]:
    """A unit of work on an engagement that is created inside it, or the unit already
    open for one that is not created yet."""
    return _unit(None, "engagement_id")


@asynccontextmanager
async def _unit(engagement_id: int | None, field: str) -> AsyncIterator[Change]:
    outer = _current.get()
    if outer is not None:
        async with _joined(outer, engagement_id):
            yield outer
        return
    async with in_transaction():
        change = Change(
            None if engagement_id is None else await lock_engagement(engagement_id, field=field)
        )
        token = _current.set(change)
        try:
            yield change
            await change._finish()
        finally:
            _current.reset(token)


@asynccontextmanager
async def _joined(outer: Change, engagement_id: int | None) -> AsyncIterator[None]:
    held = outer._noted.engagement
    if engagement_id is None and held is not None:
        raise CrossedUnits(
            f"A new engagement was asked for inside the unit of engagement {held.id}: "
            "create it in a unit of its own."
        )
    if engagement_id is not None and (held is None or held.id != engagement_id):
        raise CrossedUnits(
            f"A unit on engagement {engagement_id} was asked for inside the unit of "
            f"{'a new engagement' if held is None else f'engagement {held.id}'}: "
            "each engagement is changed in a unit of its own."
        )
    before = outer._noted.copy()
    try:
        async with in_transaction():  # a savepoint: this use case lands whole or not at all
            yield
    except Exception:
        outer._noted = before
        if before.engagement is not None:
            await before.engagement.refresh_from_db()
        raise
