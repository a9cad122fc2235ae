from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.core.scalars import (
    MAX_DECIMAL_DIGITS,
    BadScalar,
    DecimalScalar,
    format_decimal,
    parse_date,
    parse_datetime,
    parse_decimal,
)


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


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, max_value=10**14))
def test_a_decimal_is_shown_as_its_own_value_with_trailing_zeros_past_two_places_dropped(
    value: Decimal,
):
    shown = format_decimal(value)
    assert Decimal(shown) == value
    whole, _, fraction = shown.lstrip("-").partition(".")
    assert len(fraction) >= 2 and (len(fraction) == 2 or not fraction.endswith("0"))
    assert whole.isdigit() and (whole == "0" or not whole.startswith("0"))


def test_decimals_are_read_from_strings_and_integers_but_never_floats():
    assert parse_decimal("12.50") == Decimal("12.50")
    assert parse_decimal(" 7 ") == Decimal(7)
    assert parse_decimal(3) == Decimal(3)
    for bad in (1.5, True, "1,5", "NaN", "-Infinity", None, [1]):
        assert isinstance(parse_decimal(bad), BadScalar), bad


@pytest.mark.parametrize("text", ["١٢٣", "\uff11\uff12", "1_000", "१.५", "12.5e٣", "0x10"])
def test_decimals_are_written_in_the_ascii_digits_alone(text):
    refused = parse_decimal(text)
    assert isinstance(refused, BadScalar) and "digits 0-9" in refused.message


@pytest.mark.parametrize(
    "value", ["1e1000000", "-1e-1000000", "1e999999999999999999999", 10**100, "0E-1000", "1e41"]
)
def test_decimals_past_forty_digits_either_side_of_the_point_are_refused(value):
    assert isinstance(parse_decimal(value), BadScalar)


def test_decimals_of_forty_digits_either_side_of_the_point_are_read():
    whole, fraction = "9" * MAX_DECIMAL_DIGITS, "0." + "0" * (MAX_DECIMAL_DIGITS - 1) + "1"
    assert parse_decimal(whole) == Decimal(whole)
    assert parse_decimal(fraction) == Decimal(fraction)
    assert parse_decimal("-0") == 0  # read; whether a field takes a sign is its own rule


def test_an_integer_literal_longer_than_python_reads_is_refused_not_raised():
    from graphql import IntValueNode

    refused = DecimalScalar.parse_literal(IntValueNode(value="9" * 5000))
    assert isinstance(refused, BadScalar) and "too many digits" in refused.message


def test_datetimes_need_an_offset_and_keep_the_instant():
    assert parse_datetime("2026-11-26T10:00:00+01:00") == datetime(
        2026, 11, 26, 10, tzinfo=timezone(timedelta(hours=1))
    )
    assert parse_datetime("2026-11-26T09:00:00Z") == datetime(2026, 11, 26, 9, tzinfo=UTC)
    naive = parse_datetime("2026-11-26T09:00:00")
    assert isinstance(naive, BadScalar) and "offset" in naive.message
    assert isinstance(parse_datetime(1764147600), BadScalar)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-00:01"])
def test_a_datetime_that_is_no_time_in_utc_is_refused(text):
    refused = parse_datetime(text)
    assert isinstance(refused, BadScalar) and "years 1 and 9999 in UTC" in refused.message


def test_the_ends_of_the_range_in_utc_are_read():
    assert parse_datetime("0001-01-01T00:00:00-14:00") == datetime(1, 1, 1, 14, tzinfo=UTC)
    assert parse_datetime("9999-12-31T23:59:59+14:00") == datetime(
        9999, 12, 31, 9, 59, 59, tzinfo=UTC
    )


def test_dates_are_iso_calendar_dates():
    assert parse_date("2026-11-26") == date(2026, 11, 26)
    assert isinstance(parse_date("2026-02-30"), BadScalar)
    assert isinstance(parse_date("26.11.2026"), BadScalar)
