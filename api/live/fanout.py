"""Fan-out: how one event reaches many subscriptions without blocking the event loop.

Every subscription in a process receives each event at the same moment, and each then
loads what it shows and runs its own GraphQL selection. Done naively, 200 subscriptions
made 200 copies of the same queries and rows, all alive at once, and ran their
selections side by side: bench/live.py measured 9-18 s to fan out one change to 200
``engagementChanged`` subscribers of the demo's 50-item engagement, the heap growing by
300,000 objects, and the loop stalled for up to 0.55 s of CPU at a time (1 s of wall
time on a busy machine), mostly in Python's full garbage collections walking that heap.

Two things keep it short:

- **Rows are loaded once per event.** The subscriptions that handle the same event share
  one set of DataLoaders, so the first loads the rows and the rest read them. Loaders
  hold rows only; what a key may see is decided by the resolvers, per subscription. A
  subscription keys its loaders by the newest event it has taken, so the rows are never
  older than anything it has seen.
- **One subscription at a time builds and sends its message** (:class:`Turns`): it takes
  the turn when its event arrives and gives it back when strawberry asks it for the next
  message, i.e. once this one is executed and sent; the next then starts at the loop's
  next turn, after whatever else is waiting. A stall is then one subscription's work, not
  all of theirs. A turn held longer than ``MAX_HOLD_SECONDS`` (a client too slow to take
  its message) is passed on regardless, so no subscriber can hold up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import OrderedDict, deque
from collections.abc import AsyncIterator

from api.core.loaders import Loaders
from services.core.feed import Feed

MAX_HOLD_SECONDS = 0.1
# Loaders kept for this many recent events; a subscription further behind loads afresh.
SHARED_EVENTS = 32


class Turns:
    """A fair, first-come turnstile whose turns expire after ``max_hold`` seconds."""

    def __init__(self, max_hold: float = MAX_HOLD_SECONDS) -> None:
        self.max_hold = max_hold
        self._waiting: deque[asyncio.Future[int]] = deque()
        self._holder = 0  # the number of the turn being held; 0 when none is
        self._issued = 0

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the turn for the body of the ``async with``."""
        number = await self._take()
        try:
            yield
        finally:
            self._give_back(number)

    async def _take(self) -> int:
        if self._holder == 0 and not self._waiting:
            return self._grant()
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._give_back(waiter.result())  # granted as it was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
            raise

    def _grant(self) -> int:
        self._issued += 1
        self._holder = self._issued
        asyncio.get_running_loop().call_later(self.max_hold, self._give_back, self._holder)
        return self._holder

    def _give_back(self, number: int) -> None:
        """End turn ``number`` (a no-op once it has ended or expired); the next waiter's
        task runs at the loop's next turn."""
        if self._holder != number:
            return
        self._holder = 0
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(self._grant())
                return


class Fanout:
    """A process's turnstile and the loaders its subscriptions share, per event."""

    def __init__(self) -> None:
        self.turns = Turns()
        self._loaders: OrderedDict[int, Loaders] = OrderedDict()

    def loaders_for(self, event_id: int) -> Loaders:
        """The loaders of the subscriptions handling event ``event_id``."""
        loaders = self._loaders.get(event_id)
        if loaders is None:
            loaders = self._loaders[event_id] = Loaders()
            while len(self._loaders) > SHARED_EVENTS:
                self._loaders.popitem(last=False)
        return loaders


_fanouts: weakref.WeakKeyDictionary[Feed, Fanout] = weakref.WeakKeyDictionary()


def fanout_of(feed: Feed) -> Fanout:
    """The fan-out of ``feed``'s subscriptions (one per feed, so one per app)."""
    fanout = _fanouts.get(feed)
    if fanout is None:
        fanout = _fanouts[feed] = Fanout()
    return fanout
