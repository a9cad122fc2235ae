"""The retry schedule: exponential backoff with jitter over about three days."""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from webhooks.schedule import JITTER, RETRY_DELAYS, next_attempt, retry_after

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_the_schedule_grows_and_spans_about_three_days():
    assert all(a < b for a, b in itertools.pairwise(RETRY_DELAYS))
    total = sum(RETRY_DELAYS, timedelta())
    assert timedelta(days=3) <= total <= timedelta(days=3.5)


def test_each_retry_waits_its_delay_give_or_take_the_jitter():
    rng = random.Random(7)
    for failures, delay in enumerate(RETRY_DELAYS, start=1):
        waits = {next_attempt(failures, NOW, rng=rng) - NOW for _ in range(50)}
        assert all(delay * (1 - JITTER) <= w <= delay * (1 + JITTER) for w in waits)
        assert len(waits) > 1  # jittered, so a burst's retries spread out


def test_after_the_last_delay_there_is_no_next_attempt():
    assert next_attempt(len(RETRY_DELAYS), NOW) is not None
    assert next_attempt(len(RETRY_DELAYS) + 1, NOW) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        ("Thu, 26 Nov 2026 09:30:00 GMT", NOW + timedelta(minutes=30)),
        ("0", NOW),
        ("999999999", NOW + timedelta(hours=24)),  # capped: a receiver cannot park us forever
        ("Wed, 25 Nov 2026 09:00:00 GMT", NOW),  # in the past: now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date(header, expected):
    assert retry_after(header, NOW) == expected
