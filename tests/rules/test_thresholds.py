"""Each threshold is declared once; the snapshot, the settings and the checks read it."""

from dataclasses import fields
from decimal import Decimal

import pytest

from rules import THRESHOLDS, Thresholds
from rules.thresholds import BY_NAME, from_settings
from settings import Settings


def test_the_settings_keep_their_documented_names_and_defaults():
    assert {t.setting: t.default for t in THRESHOLDS} == {
        "FOURWAY_RULES_GRACE_DAYS": 5,
        "FOURWAY_RULES_ACCEPTANCE_DAYS": 10,
        "FOURWAY_RULES_PLANNING_DAYS": 14,
        "FOURWAY_RULES_QUOTE_TOLERANCE_PCT": Decimal("0.02"),
        "FOURWAY_RULES_COST_TOLERANCE_PCT": Decimal("0.10"),
        "FOURWAY_RULES_MARGIN_FLOOR_PCT": Decimal("0.20"),
    }


def test_a_snapshot_carries_one_field_per_declared_threshold_defaulting_to_its_default():
    assert [f.name for f in fields(Thresholds)] == [t.name for t in THRESHOLDS]
    assert Thresholds().values() == {t.name: t.default for t in THRESHOLDS}
    assert Thresholds(grace_days=0).days("grace_days") == 0


def test_a_threshold_is_read_by_its_kind():
    assert Thresholds().fraction("margin_floor_pct") == Decimal("0.20")
    with pytest.raises(KeyError, match="no days threshold is named margin_floor_pct"):
        Thresholds().days("margin_floor_pct")


def test_every_default_lies_in_its_range():
    for threshold in THRESHOLDS:
        assert threshold.check(threshold.default) == threshold.default
        assert isinstance(threshold.default, threshold.type)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("grace_days", -1, "grace_days must be a whole number of days from 0 to 3650"),
        ("grace_days", 3651, "grace_days must be a whole number of days from 0 to 3650"),
        ("grace_days", True, "grace_days must be a whole number of days from 0 to 3650"),
        (
            "margin_floor_pct",
            Decimal("1.5"),
            "margin_floor_pct must be a decimal fraction from 0 to 1, such as '0.05'",
        ),
        (
            "quote_tolerance_pct",
            Decimal("NaN"),
            "quote_tolerance_pct must be a decimal fraction from 0 to 1, such as '0.05'",
        ),
    ],
)
def test_a_value_out_of_a_threshold_range_is_refused_saying_what_it_must_be(name, value, message):
    with pytest.raises(ValueError) as raised:
        BY_NAME[name].check(value)
    assert str(raised.value) == message


def test_settings_read_each_threshold_from_its_variable(monkeypatch):
    monkeypatch.setenv("FOURWAY_RULES_GRACE_DAYS", "3")
    monkeypatch.setenv("fourway_rules_margin_floor_pct", "0.3")
    monkeypatch.setenv("FOURWAY_RULES_NO_SUCH_THING", "whatever")  # ignored, as other unknowns
    assert Settings().rules_thresholds == {
        **{t.name: t.default for t in THRESHOLDS},
        "grace_days": 3,
        "margin_floor_pct": Decimal("0.3"),
    }


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FOURWAY_RULES_GRACE_DAYS", "soon"),
        ("FOURWAY_RULES_GRACE_DAYS", "-2"),
        ("FOURWAY_RULES_COST_TOLERANCE_PCT", "12%"),
    ],
)
def test_a_bad_threshold_setting_stops_the_settings_naming_its_variable(
    monkeypatch, variable, value
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=f"{variable} must be .*, not '{value}'"):
        Settings()


def test_the_settings_defaults_are_the_declared_ones():
    assert from_settings({}) == {t.name: t.default for t in THRESHOLDS}
