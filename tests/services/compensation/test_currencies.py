"""The currency table, and that money follows each engagement's currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import CompensationSignal, Purchase
from services.compensation.currencies import MINOR_UNITS
from services.core.errors import FieldError, Invalid
from services.engagements.deals import approve_deal
from services.engagements.purchases import create_purchase, update_purchase
from tests.services.scenarios import sale, scene


def test_the_table_has_iso_4217s_minor_units():
    assert sorted(c for c, d in MINOR_UNITS.items() if d == 0) == [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
        "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    ]  # fmt: skip
    assert sorted(c for c, d in MINOR_UNITS.items() if d == 3) == [
        "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND",
    ]  # fmt: skip
    assert sorted(c for c, d in MINOR_UNITS.items() if d == 4) == ["CLF", "UYW"]
    assert set(MINOR_UNITS.values()) == {0, 2, 3, 4}
    assert all(len(code) == 3 and code.isupper() and code.isalpha() for code in MINOR_UNITS)


@pytest.mark.parametrize("withdrawn", ["HRK", "SLL", "VEF", "MRO", "STD", "ZWL", "XXX", "XAU"])
def test_withdrawn_codes_and_non_currencies_are_not_in_it(withdrawn):
    assert withdrawn not in MINOR_UNITS


async def test_an_amount_finer_than_the_engagements_currency_is_refused(database_url):
    s = await scene(currency="KWD")
    made = await create_purchase(
        engagement_id=s.engagement,
        item="build",
        description="Bought",
        quantity=Decimal(1),
        amount=Decimal("10.125"),
    )
    assert made.record.amount == Decimal("10.125")

    with pytest.raises(Invalid) as refused:
        await update_purchase(id=made.record.id, amount=Decimal("10.1255"))

    assert refused.value.errors == (
        FieldError("amount", "must have at most 3 digits after the decimal point in KWD"),
    )
    assert (await Purchase.get(id=made.record.id)).amount == Decimal("10.125")


async def test_pay_is_rounded_half_up_to_the_currencys_minor_unit(database_url):
    s = await scene(currency="JPY")
    await sale(s)
    purchase = await Purchase.get(engagement_id=s.engagement)
    # A margin of 40,005 yen at 10% is 4,000.5 yen: paid as 4,001.
    await update_purchase(id=purchase.id, amount=Decimal(100005))

    await approve_deal(engagement_id=s.engagement, note="Approved by the test")

    [entry] = await CompensationSignal.filter(engagement_id=s.engagement)
    assert (entry.currency, entry.margin, entry.amount) == ("JPY", Decimal(40005), Decimal(4001))
