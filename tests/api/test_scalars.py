from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from api.scalars import BadScalar, format_decimal, parse_date, parse_datetime, parse_decimal


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("1234.5000", "1234.50"),
        ("1E+3", "1000.00"),
        ("0.1250", "0.125"),
        ("-2.5", "-2.50"),
        ("0", "0.00"),
        ("12345678901234.0001", "12345678901234.0001"),
    ],
)
def test_decimals_are_shown_exactly_with_at_least_two_places(value, shown):
    assert format_decimal(Decimal(value)) == shown


def test_decimals_are_read_from_strings_and_integers_but_never_floats():
    assert parse_decimal("12.50") == Decimal("12.50")
    assert parse_decimal(" 7 ") == Decimal(7)
    assert parse_decimal(3) == Decimal(3)
    for bad in (1.5, True, "1,5", "NaN", "-Infinity", None, [1]):
        assert isinstance(parse_decimal(bad), BadScalar), bad


def test_datetimes_need_an_offset_and_keep_the_instant():
    assert parse_datetime("2026-11-26T10:00:00+01:00") == datetime(
        2026, 11, 26, 10, tzinfo=timezone(timedelta(hours=1))
    )
    assert parse_datetime("2026-11-26T09:00:00Z") == datetime(2026, 11, 26, 9, tzinfo=UTC)
    naive = parse_datetime("2026-11-26T09:00:00")
    assert isinstance(naive, BadScalar) and "offset" in naive.message
    assert isinstance(parse_datetime(1764147600), BadScalar)


def test_dates_are_iso_calendar_dates():
    assert parse_date("2026-11-26") == date(2026, 11, 26)
    assert isinstance(parse_date("2026-02-30"), BadScalar)
    assert isinstance(parse_date("26.11.2026"), BadScalar)
