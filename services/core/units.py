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
subscriber hears of one ``engagement.updated`` however many rows the unit wrote. What the
changes record on the side is written per unit too: the audit entries (``services.core.audit``)
and the decisions taken (``services.engagements.decisions``) with one INSERT each, in the order they
were recorded, and each person or organization the rows name is looked up once
(``services.core.fields``).

``creating()`` is a unit for an engagement made inside it (``create_engagement`` adopts
it), so an engagement can be created and filled in one unit. A unit on another engagement
inside a unit is refused (``CrossedUnits``): its evaluation would have to wait for the outer
one, and taking a second row lock inside the first invites deadlocks.

A unit lands whole or not at all. An exception leaving it rolls back everything it wrote,
events included; so does a change that fails inside it even when its caller catches the
error and goes on: the unit then refuses further changes and ends by raising
``UnitFailed``, so nothing half done is ever committed (and no savepoint per change is
needed, which a bulk load would pay for on every row).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from datetime import datetime

from tortoise.transactions import in_transaction

from models import Engagement
from services.alerts.evaluation import Reconciled, reconcile
from services.core import audit, events, fields, presenters
from services.core.errors import NotFound
from services.engagements import decisions
from services.engagements.decisions import Decided


class CrossedUnits(RuntimeError):
    """A unit on one engagement was asked for inside a unit on another."""


class UnitFailed(RuntimeError):
    """A change inside the unit failed, so the unit rolled back."""


async def lock_engagement(engagement_id: int, *, field: str = "engagement_id") -> Engagement:
    """Return the engagement, locked for the rest of the transaction, or raise NotFound."""
    engagement = await Engagement.select_for_update().get_or_none(id=engagement_id)
    if engagement is None:
        raise NotFound(field, "No engagement with this id.")
    return engagement


class Change:
    """One unit of work on one engagement, as the use cases inside it see it."""

    def __init__(self, engagement: Engagement | None) -> None:
        self._engagement = engagement
        self._began_as = engagement.status if engagement else None
        self._created = self._changed = self._pending = False
        self._then: list[tuple[str, datetime]] = []
        self.evaluations = 0
        self.reconciled = Reconciled()
        """What the unit's last evaluation opened, resolved and appended: nothing yet while
        the unit runs, so a use case that joined a larger unit returns nothing of its own."""
        self.failed: Exception | None = None
        """The error of a change that failed inside the unit: the unit will roll back."""
        self.decisions: dict[tuple[object, ...], Decided] = {}
        """Decisions checked in this unit (``services.core.records``), by what they rest on: the
        roles and credits the decision table reads cannot change while the unit holds the
        lock, but by the unit's own changes to them, which call ``roles_changed``."""

    @property
    def engagement(self) -> Engagement:
        """The engagement, locked (or made) by this unit; the one object every use case in
        the unit changes, so the evaluation sees what they did."""
        if self._engagement is None:
            raise CrossedUnits("This unit's engagement has not been created yet.")
        return self._engagement

    def adopt(self, engagement: Engagement) -> None:
        """Take ``engagement``, just made in this unit, as the unit's (announced as
        ``engagement.created``)."""
        if self._engagement is not None:
            raise CrossedUnits(
                f"This unit changes engagement {self._engagement.id}; "
                "create another engagement in a unit of its own."
            )
        self._engagement, self._began_as = engagement, engagement.status
        self._created = self._pending = True

    def note(self, *, changed: bool = True) -> None:
        """Ask for the evaluation at the end; ``changed`` says the engagement or something
        on it changed, which announces ``engagement.updated``."""
        self._pending = True
        self._changed = self._changed or changed

    def then(self, event_type: str, *, at: datetime) -> None:
        """Announce ``event_type`` of the engagement (as it is at the end) after the
        evaluation's events: what the change meant, heard of after the change itself."""
        self._then.append((event_type, at))

    def roles_changed(self) -> None:
        """Who holds what, or who is credited, changed: decisions are checked anew."""
        self.decisions.clear()

    def deleted(self) -> None:
        """The engagement is gone: nothing is left to evaluate."""
        self._pending = False

    async def evaluate(
        self, *, now: datetime | None = None, repricing: str | None = None
    ) -> Reconciled:
        """Evaluate now rather than at the end (for a use case that acts on the outcome);
        the end evaluates again only if something is noted after this."""
        engagement = self.engagement
        moved = engagement.status != self._began_as
        result = await reconcile(
            engagement,
            now=now,
            moved_from=self._began_as if moved else None,
            changed=self._changed,
            created=self._created,
            repricing=repricing,
        )
        self.evaluations += 1
        # What was announced is announced: a later evaluation in the unit starts afresh.
        self._began_as = engagement.status
        self._created = self._changed = self._pending = False
        self.reconciled = result
        return result

    async def _finish(self) -> None:
        if self._pending:
            await self.evaluate()
        for event_type, at in self._then:
            engagement = self.engagement
            occurrence = events.Occurrence(
                event_type, presenters.event_object(engagement), engagement.id
            )
            await events.record([occurrence], at=at)
        self._then.clear()


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
            # Per unit, not per row: its audit entries and decisions taken written together,
            # and each person or organization its rows name looked up once.
            async with audit.holding(), decisions.holding():
                with fields.remembering():
                    yield change
                if change.failed is not None:
                    raise UnitFailed(
                        "A change in this unit failed, so none of the unit was written: "
                        f"{change.failed}"
                    ) from change.failed
                await change._finish()
        finally:
            _current.reset(token)


@asynccontextmanager
async def _joined(outer: Change, engagement_id: int | None) -> AsyncIterator[None]:
    held = outer._engagement
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
    if outer.failed is not None:
        raise UnitFailed(
            f"An earlier change in this unit failed, and the unit with it: {outer.failed}"
        ) from outer.failed
    try:
        yield
    except Exception as error:
        outer.failed = error
        raise
