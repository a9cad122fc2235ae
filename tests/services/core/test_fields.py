"""Field rules and ``clean``, called directly: every bad field is named at once, with the
message and code the API passes on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from models import Organization
from models.enums import OrganizationKind, Priority
from services.core.errors import ErrorCode, FieldError, Invalid
from services.core.fields import (
    Choice,
    Context,
    Currency,
    Day,
    Email,
    Flag,
    Fraction,
    FunctionOverrides,
    Item,
    Moment,
    Money,
    Names,
    Quantity,
    Ref,
    Text,
    ThresholdOverrides,
    WholeNumber,
    clean,
)
from services.parties.organizations import create_organization

SPEC = {
    "name": Text(max_length=10),
    "note": Text(nullable=True),
    "item": Item(),
    "email": Email(),
    "currency": Currency(),
    "quantity": Quantity(),
    "delta": Quantity(signed=True),
    "amount": Money(),
    "priority": Choice(enum=Priority),
    "active": Flag(),
    "at": Moment(),
    "due": Day(),
    "rate": Fraction(),
    "days": WholeNumber(),
    "rules": Names(allowed=frozenset({"a", "b"})),
}


async def _problems(values: dict[str, object], **options: object) -> dict[str | None, str]:
    with pytest.raises(Invalid) as refused:
        await clean(SPEC, values, **options)  # type: ignore[arg-type]
    return {e.field: e.message for e in refused.value.errors}


async def test_clean_returns_the_values_cleaned():
    offset = timezone(timedelta(hours=2))
    cleaned = await clean(
        SPEC,
        {
            "name": "  Ada  ",
            "note": None,
            "email": " Ada@Example.COM ",
            "currency": "eur ",
            "delta": Decimal("-0"),
            "at": datetime(2026, 11, 26, 11, 0, tzinfo=offset),
            "rules": ["b", "a", "b"],
            "priority": "MUST",
        },
    )

    assert cleaned == {
        "name": "Ada",
        "note": None,
        "email": "ada@example.com",
        "currency": "EUR",
        "delta": Decimal(0),
        "at": datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        "rules": ["a", "b"],
        "priority": Priority.MUST,
    }
    assert str(cleaned["delta"]) == "0"  # never "-0"


async def test_clean_names_every_bad_field_in_one_answer():
    problems = await _problems(
        {
            "name": "far too long a name",
            "note": "   ",
            "item": "Data Migration",
            "email": "ada@example",
            "quantity": Decimal("-1"),
            "amount": Decimal("1.23456"),
            "priority": "SOMETIMES",
            "active": "yes",
            "at": datetime(2026, 11, 26, 9, 0),
            "due": datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
            "rate": Decimal("0.12345"),
            "days": True,
            "rules": ["a", "c", "d"],
        }
    )

    assert problems == {
        "name": "must be at most 10 characters",
        "note": "must not be blank",
        "item": (
            "must be a slug of lower-case letters and digits joined by single hyphens, "
            "at most 64 characters (for example 'data-migration')"
        ),
        "email": "must be an email address such as 'ada@example.com'",
        "quantity": "must not be negative",
        "amount": "must have at most 4 digits after the decimal point",
        "priority": "must be one of MUST, SHOULD, COULD",
        "active": "must be true or false",
        "at": "must carry a UTC offset, such as '2026-11-26T09:00:00+00:00'",
        "due": "must be a calendar date such as '2026-11-26'",
        "rate": "must have at most 4 digits after the decimal point",
        "days": "must be a whole number",
        "rules": "names unknown entries: c, d",
    }


async def test_required_fields_must_be_given_and_not_null():
    problems = await _problems({"name": None, "note": None}, required=frozenset({"name", "item"}))

    assert problems == {"item": "is required", "name": "must not be null"}


async def test_an_unknown_field_is_a_programming_error_not_a_users():
    with pytest.raises(TypeError, match=r"unknown fields \['colour'\]"):
        await clean(SPEC, {"colour": "red"})


@pytest.mark.parametrize(
    ("currency", "amount", "message"),
    [
        ("JPY", Decimal("100.5"), "must have at most 0 digits after the decimal point in JPY"),
        ("EUR", Decimal("1.005"), "must have at most 2 digits after the decimal point in EUR"),
        (None, Decimal("1e20"), "must be less than 100000000000000 in magnitude"),
        (
            None,
            Decimal("NaN"),
            "must be a finite decimal number written as a string, such as '12.50'",
        ),
    ],
)
async def test_money_is_no_finer_than_the_currencys_minor_unit(currency, amount, message):
    with pytest.raises(Invalid) as refused:
        await clean({"amount": Money()}, {"amount": amount}, ctx=Context(currency=currency))

    [error] = refused.value.errors
    assert (error.field, error.code) == ("amount", ErrorCode.VALIDATION)
    assert error.message.startswith(message)


async def test_money_keeps_trailing_zeros_within_the_minor_unit():
    jpy = await clean({"a": Money()}, {"a": Decimal("100.00")}, ctx=Context(currency="JPY"))
    bhd = await clean({"a": Money()}, {"a": Decimal("1.125")}, ctx=Context(currency="BHD"))

    assert (jpy["a"], bhd["a"]) == (Decimal(100), Decimal("1.125"))


async def test_a_signed_quantity_takes_a_minus_and_an_unsigned_zero_does_not():
    assert await clean({"d": Quantity(signed=True)}, {"d": Decimal("-2.5")}) == {
        "d": Decimal("-2.5")
    }
    with pytest.raises(Invalid) as refused:
        await clean({"q": Quantity()}, {"q": Decimal("-0")})

    assert refused.value.errors == (FieldError("q", "must be written without a minus sign"),)


async def test_a_fraction_is_from_zero_to_one():
    with pytest.raises(Invalid) as refused:
        await clean({"r": Fraction(), "s": Fraction()}, {"r": Decimal("1.01"), "s": 0.5})

    assert {e.field: e.message for e in refused.value.errors} == {
        "r": "must be a fraction from 0 to 1, such as '0.10' for 10%",
        "s": "must be a decimal fraction written as a string, such as '0.10'",
    }


async def test_a_reference_must_name_a_row_that_exists(database_url):
    acme = await create_organization(name="Acme", kind=OrganizationKind.CLIENT)
    spec = {
        "client_id": Ref(model=Organization, label="organization"),
        "other_id": Ref(model=Organization, label="organization"),
        "flag_id": Ref(model=Organization, label="organization"),
    }

    assert await clean({"client_id": spec["client_id"]}, {"client_id": acme.id}) == {
        "client_id": acme.id
    }
    with pytest.raises(Invalid) as refused:
        await clean(spec, {"client_id": acme.id, "other_id": acme.id + 1, "flag_id": True})

    assert set(refused.value.errors) == {
        FieldError("other_id", "No organization with this id.", ErrorCode.NOT_FOUND),
        FieldError("flag_id", "No organization with this id.", ErrorCode.NOT_FOUND),
    }


async def test_threshold_overrides_are_checked_against_their_declarations():
    rule = ThresholdOverrides(days=("grace_days",), fractions=("quote_tolerance_pct",))

    cleaned = await clean(
        {"t": rule}, {"t": {"grace_days": 3, "quote_tolerance_pct": Decimal("0.05"), "x": None}}
    )
    assert cleaned == {"t": {"grace_days": "3", "quote_tolerance_pct": "0.05"}}

    for given, message in (
        ({"acceptance_days": 3}, "has no threshold named acceptance_days"),
        ({"grace_days": "3"}, "grace_days must be"),
        ("3 days", "must be an object of thresholds"),
    ):
        with pytest.raises(Invalid) as refused:
            await clean({"t": rule}, {"t": given})
        assert refused.value.errors[0].message.startswith(message)


async def test_function_overrides_take_any_case_and_three_answers():
    rule = FunctionOverrides(functions=("LEGAL", "QUALITY"))

    cleaned = await clean({"f": rule}, {"f": {"legal": False, "Quality": None}})
    assert cleaned == {"f": {"LEGAL": False, "QUALITY": None}}

    with pytest.raises(Invalid) as refused:
        await clean({"f": rule, "g": rule}, {"f": {"magic": True}, "g": {"legal": "no"}})
    assert {e.field: e.message for e in refused.value.errors} == {
        "f": "has no function named magic",
        "g": "legal must be true, false or null",
    }


async def test_a_day_is_a_date_and_a_whole_number_keeps_its_range():
    assert await clean({"d": Day()}, {"d": date(2026, 11, 26)}) == {"d": date(2026, 11, 26)}
    with pytest.raises(Invalid) as refused:
        await clean({"n": WholeNumber(low=1, high=3)}, {"n": 4})
    assert refused.value.errors == (FieldError("n", "must be from 1 to 3"),)
