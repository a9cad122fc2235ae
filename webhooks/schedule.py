"""When to try a failed delivery again: exponential backoff with jitter, about three days."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# After the first failed attempt wait 5 s, after the second 5 min, ... : ten attempts over
# about three days and a quarter, long enough to outlast a weekend outage.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
JITTER = 0.2
"""Each delay varies by up to this fraction either way, so retries of a burst spread out."""
LONGEST_RETRY_AFTER = timedelta(hours=24)


def next_attempt(
    failed_attempts: int,
    now: datetime,
    *,
    delays: Sequence[timedelta] = RETRY_DELAYS,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after ``failed_attempts`` failures; None once the schedule is spent."""
    if failed_attempts > len(delays):
        return None
    delay = delays[failed_attempts - 1]
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return now + delay * spread


def retry_after(header: str | None, now: datetime) -> datetime | None:
    """The time a ``Retry-After`` header asks for (seconds or an HTTP date), at most a day
    ahead; None when absent or unreadable."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        wait = timedelta(seconds=int(header))
    else:
        try:
            wait = parsedate_to_datetime(header) - now
        except (TypeError, ValueError):
            return None
    return now + min(max(wait, timedelta(0)), LONGEST_RETRY_AFTER)
