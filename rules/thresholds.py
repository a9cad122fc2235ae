"""The rules' thresholds, each declared once: name, kind, default, range and meaning.

Everything else is read from these declarations: :class:`Thresholds` (what a snapshot
carries), the settings (``FOURWAY_RULES_<NAME>``, see ``settings.py``), the check of an
engagement's overrides (``services.core.fields.ThresholdOverrides``), the API's ``Thresholds``
and ``ThresholdsInput`` types, and the rules that read them (``RuleSpec.thresholds``,
checked against the fact fields that apply them, ``rules.facts.FACTS``).

Adding a threshold is one entry in :data:`THRESHOLDS`, plus the fact field that applies it.
Pure: no settings, no I/O; the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal, TypeVar

Kind = Literal["days", "fraction"]
Value = int | Decimal
SETTING_PREFIX = "FOURWAY_RULES_"

_RANGES: dict[str, tuple[Value, Value]] = {
    "days": (0, 3650),
    "fraction": (Decimal(0), Decimal(1)),
}


@dataclass(frozen=True)
class Threshold:
    name: str
    kind: Kind
    """``days``: a whole number of days; ``fraction``: a decimal fraction (``0.10`` is 10%)."""
    default: Value
    description: str
    """What it means, as the API says it."""
    low: Value | None = None
    """The smallest value it takes (the kind's when left out: 0)."""
    high: Value | None = None
    """The largest value it takes (the kind's when left out: 3650 days, or 1)."""

    @property
    def type(self) -> type[int] | type[Decimal]:
        return int if self.kind == "days" else Decimal

    @property
    def range(self) -> tuple[Value, Value]:
        low, high = _RANGES[self.kind]
        return (low if self.low is None else self.low, high if self.high is None else self.high)

    @property
    def setting(self) -> str:
        """The environment variable that sets its default for every engagement."""
        return SETTING_PREFIX + self.name.upper()

    @property
    def requirement(self) -> str:
        """What a value must be, to end ``<name> must be ...``."""
        low, high = self.range
        if self.kind == "days":
            return f"a whole number of days from {low} to {high}"
        return f"a decimal fraction from {low} to {high}, such as '0.05'"

    def check(self, value: object) -> Value:
        """``value`` if it is one this threshold takes; ValueError saying what it must be."""
        low, high = self.range
        if self.kind == "days":
            fits = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        else:
            fits = isinstance(value, Decimal) and value.is_finite() and low <= value <= high
        if not fits:
            raise ValueError(f"{self.name} must be {self.requirement}")
        assert isinstance(value, int | Decimal)
        return value

    def parse(self, text: str) -> Value:
        """A value written as text (a setting, a stored override), checked."""
        try:
            value: object = int(text) if self.kind == "days" else Decimal(text.strip())
        except (ValueError, InvalidOperation):
            value = text
        return self.check(value)


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "grace_days",
        "days",
        5,
        "Days past a due date before work is overdue.",
    ),
    Threshold(
        "acceptance_days",
        "days",
        10,
        "Days a delivery may await acceptance.",
    ),
    Threshold(
        "planning_days",
        "days",
        14,
        "Days after signing by which a purchase needs a deliverable planned.",
    ),
    Threshold(
        "quote_tolerance_pct",
        "fraction",
        Decimal("0.02"),
        "How far a quote may differ from the purchased amount, as a fraction.",
    ),
    Threshold(
        "cost_tolerance_pct",
        "fraction",
        Decimal("0.10"),
        "How far actual cost may exceed the estimate, as a fraction.",
    ),
    Threshold(
        "margin_floor_pct",
        "fraction",
        Decimal("0.20"),
        "The lowest acceptable margin.",
    ),
)

BY_NAME: dict[str, Threshold] = {t.name: t for t in THRESHOLDS}


def from_settings(given: Mapping[str, str]) -> dict[str, Value]:
    """Every threshold's default: the declared one, or the setting's when ``given`` has it
    (by lower-case name, as text). Raises ValueError naming the variable of a bad one;
    names no threshold has are ignored, as every other unknown setting is."""
    values: dict[str, Value] = {}
    for threshold in THRESHOLDS:
        text = given.get(threshold.name)
        if text is None:
            values[threshold.name] = threshold.default
            continue
        try:
            values[threshold.name] = threshold.parse(text)
        except ValueError:
            raise ValueError(
                f"{threshold.setting} must be {threshold.requirement}, not {text!r}"
            ) from None
    return values


T = TypeVar("T")


def _declared(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen dataclass with one field per declared threshold, defaulted."""
    cls.__annotations__ = {t.name: t.type for t in THRESHOLDS}
    for threshold in THRESHOLDS:
        setattr(cls, threshold.name, threshold.default)
    return dataclass(frozen=True)(cls)


@_declared
class Thresholds:
    """The thresholds one evaluation applies: a field per declared one, by its name
    (``grace_days``), defaulting to the declaration's default."""

    if TYPE_CHECKING:

        def __init__(self, **values: Value) -> None: ...

    def days(self, name: str) -> int:
        """A ``days`` threshold's value."""
        value = self._value(name, "days")
        assert isinstance(value, int)
        return value

    def fraction(self, name: str) -> Decimal:
        """A ``fraction`` threshold's value."""
        value = self._value(name, "fraction")
        assert isinstance(value, Decimal)
        return value

    def values(self) -> dict[str, Value]:
        """Every threshold's value, by name, in the declarations' order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def _value(self, name: str, kind: Kind) -> Value:
        declared = BY_NAME.get(name)
        if declared is None or declared.kind != kind:
            raise KeyError(f"no {kind} threshold is named {name}")
        value: Value = getattr(self, name)
        return value
