"""How objects look outside the service: global ids, decimals and times, as GraphQL shows them.

Both the GraphQL layer and the outbox's event payloads write objects this way, so an
event's data reads exactly like the same object fetched over GraphQL.

Alerts' facts and signals' idempotency keys are stored as the rules engine and the ledger
write them (``promise:42``, day numbers, ``BOOKED:5:22:0``) and translated here when they
are shown, not when they are stored: an alert's fingerprint and facts hash are made from
the engine's facts, so alerts stay matched to their findings (nothing reopens), rows
written before this translation existed read like new ones without a migration, and the
translation is written once, here, for GraphQL, events and the audit trail alike.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rules.facts import DAY_FIELDS, NO_DAY, PERSON_FIELDS


def to_global_id(type_name: str, pk: int) -> str:
    """The opaque id of an object: base64 of ``Type:pk``."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def format_decimal(value: Decimal) -> str:
    """Plain notation with at least two decimals ('1234.50', '0.125'): exact, never a float.

    Worked on the text, not with ``normalize`` and ``quantize``: half the time, and a page of
    fifty items shows three hundred of them.
    """
    text = f"{value:f}"
    whole, dot, fraction = text.partition(".")
    if not dot:
        return f"{text}.00" if value.is_finite() else text
    return f"{whole}.{fraction.rstrip('0'):0<2}"


def format_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


# The kinds of fact that stand for one stored object (their id is ``kind:pk``), by the
# object's type; the other kinds (clock, function, item) are the engine's own.
_OBJECT_KINDS = {
    "engagement": "Engagement",
    "need": "Need",
    "promise": "Promise",
    "purchase": "Purchase",
    "deliverable": "Deliverable",
    "change_order": "ChangeOrder",
}


def camel(name: str) -> str:
    """``margin_pct`` -> ``marginPct``: a field's name as GraphQL shows it."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _fact_value(name: str, value: Any) -> tuple[str, Any]:
    if name in DAY_FIELDS and isinstance(value, int):
        shown = None if value == NO_DAY else dt.date.fromordinal(value).isoformat()
        return camel(name), shown
    if name in PERSON_FIELDS:
        related = camel(name.removesuffix("_id"))
        return related, None if value is None else {"id": to_global_id("Person", value)}
    if isinstance(value, float):
        return camel(name), format_decimal(Decimal(repr(value)))
    if isinstance(value, dict):
        return camel(name), {camel(k): v for k, v in value.items()}
    return camel(name), value


def present_fact(fact: Mapping[str, Any]) -> dict[str, Any]:
    """One fact as the API shows it: a global id for an object's fact (none for the
    engine's own), dates for day numbers, related people by ``{"id"}``, decimal strings
    for numbers, camelCase names."""
    shown: dict[str, Any] = {}
    kind, _, pk = str(fact.get("id", "")).partition(":")
    if kind in _OBJECT_KINDS and pk.isdigit():
        shown["id"] = to_global_id(_OBJECT_KINDS[kind], int(pk))
    for name, value in fact.items():
        if name != "id":
            key, shown_value = _fact_value(name, value)
            shown[key] = shown_value
    return shown


def present_facts(facts: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """An alert's facts, by the names its rule gives them, as the API shows them."""
    return {camel(name): present_fact(fact) for name, fact in facts.items()}


def present_idempotency_key(key: str) -> str:
    """A signal's idempotency key (``KIND:engagement:person:previous``, as the ledger
    writes it) with global ids in place of the numbers; the same key always reads the same."""
    parts = key.split(":")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[1:]):
        return key
    kind, engagement, person, previous = parts
    follows = "none" if previous == "0" else to_global_id("CompensationSignal", int(previous))
    return ":".join(
        (
            kind,
            to_global_id("Engagement", int(engagement)),
            to_global_id("Person", int(person)),
            follows,
        )
    )
