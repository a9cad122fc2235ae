"""How objects look outside the service: global ids, decimals and times, as GraphQL shows them.

Both the GraphQL layer and the outbox's event payloads write objects this way, so an
event's data reads exactly like the same object fetched over GraphQL.
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal


def to_global_id(type_name: str, pk: int) -> str:
    """The opaque id of an object: base64 of ``Type:pk``."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def format_decimal(value: Decimal) -> str:
    """Plain notation with at least two decimals ('1234.50', '0.125'): exact, never a float."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}"


def format_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()
