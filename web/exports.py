"""CSV exports for finance tools: ``GET /exports/compensation.csv?period=YYYY-MM``.

Finance opens these in spreadsheets, and some cells hold what any SALES key typed (people's
and engagements' names). Each column is declared text or number once: text is always quoted
and, when it starts like a formula, prefixed with a single quote so that it is shown, never
run; numbers are written as the API writes them, so a clawback stays ``-120.50`` and
still adds up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from enum import Enum

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.compensation.compensation import visible_entries
from api.core.access import QUERIES
from api.core.principal import Principal
from api.core.relay import to_global_id
from models import CompensationSignal, Engagement, Person
from services.compensation.periods import parse_period
from services.compensation.signals import PAY
from services.compensation.statements import EntryCriteria, held_change
from services.core.errors import Invalid
from services.core.wire import format_decimal, present_idempotency_key
from web.http import error_response


class Kind(Enum):
    """How a column's cells are written: chosen per column, never per value."""

    TEXT = "text"
    """Always quoted, and neutralised so that a spreadsheet shows it and never runs it."""
    NUMBER = "number"
    """A Decimal, as the API writes it (``-120.50``): unquoted, never prefixed."""


TEXT, NUMBER = Kind.TEXT, Kind.NUMBER

COLUMNS: dict[str, Kind] = {
    "signal_id": TEXT,
    "kind": TEXT,
    "period": TEXT,
    "salesperson_id": TEXT,
    "salesperson_name": TEXT,
    "salesperson_email": TEXT,
    "engagement_id": TEXT,
    "engagement_name": TEXT,
    "currency": TEXT,
    "revenue": NUMBER,
    "cost": NUMBER,
    "margin": NUMBER,
    "margin_pct": NUMBER,
    "rate": NUMBER,
    "split": NUMBER,
    "amount": NUMBER,
    "pay": NUMBER,
    "held": NUMBER,
    "reason": TEXT,
    "evidence": TEXT,
    "supersedes": TEXT,
    "idempotency_key": TEXT,
    "created_at": TEXT,
}
PAGE = 500

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may take as the start of a formula (OWASP, CSV injection)."""


def spreadsheet_text(text: str) -> str:
    """``text`` as a spreadsheet shows it rather than runs it: a leading single quote when
    it starts like a formula, as OWASP's CSV-injection guidance advises."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(kind: Kind, value: str | Decimal | None) -> str:
    if kind is NUMBER:
        # Only a Decimal may skip neutralising: its format is digits, a point and a minus.
        if value is not None and not isinstance(value, Decimal):
            raise TypeError(f"a number column was given {value!r}")
        return "" if value is None else format_decimal(value)
    if not isinstance(value, str):
        raise TypeError(f"a text column was given {value!r}")
    return '"' + spreadsheet_text(value).replace('"', '""') + '"'


def _line(kinds: Iterable[Kind], values: Iterable[str | Decimal | None]) -> str:
    """One CSV record (RFC 4180): text quoted, quotes doubled, CRLF at the end."""
    return ",".join(_cell(k, v) for k, v in zip(kinds, values, strict=True)) + "\r\n"


async def _rows(period: str, principal: Principal) -> AsyncIterator[str]:
    yield _line([TEXT] * len(COLUMNS), COLUMNS)
    last_id = 0
    while True:
        page: list[CompensationSignal] = list(
            await visible_entries(principal, EntryCriteria(period=period))
            .filter(id__gt=last_id)
            .order_by("id")
            .limit(PAGE)
        )
        if not page:
            return
        people = {p.pk: p for p in await Person.filter(id__in={s.salesperson_id for s in page})}
        engagements = {
            e.pk: e for e in await Engagement.filter(id__in={s.engagement_id for s in page})
        }
        for s in page:
            person, engagement = people[s.salesperson_id], engagements[s.engagement_id]
            row: dict[str, str | Decimal | None] = {
                "signal_id": to_global_id("CompensationSignal", s.pk),
                "kind": s.kind.value,
                "period": s.period,
                "salesperson_id": to_global_id("Person", person.pk),
                "salesperson_name": person.name,
                "salesperson_email": person.email,
                "engagement_id": to_global_id("Engagement", engagement.pk),
                "engagement_name": engagement.name,
                "currency": s.currency,
                "revenue": s.revenue,
                "cost": s.cost,
                "margin": s.margin,
                "margin_pct": s.margin_pct,
                "rate": s.rate,
                "split": s.split,
                "amount": s.amount,
                "pay": s.amount if s.kind in PAY else Decimal(0),
                "held": held_change(s),
                "reason": s.reason,
                "evidence": " ".join(to_global_id("Alert", a) for a in s.evidence),
                "supersedes": (
                    to_global_id("CompensationSignal", s.supersedes_id) if s.supersedes_id else ""
                ),
                "idempotency_key": present_idempotency_key(s.idempotency_key),
                "created_at": s.created_at.isoformat(),
            }
            yield _line(COLUMNS.values(), (row[column] for column in COLUMNS))
        last_id = page[-1].pk


async def compensation_csv(request: Request) -> Response:
    """The month's entries the key may see, as CSV; errors as every other answer has them
    (``{"errors": [{"message", "extensions": {"code"}}]}``)."""
    principal: Principal = request.scope["state"]["principal"]  # set by Authenticate
    if principal.role not in QUERIES["compensationSignals"]:
        return error_response(
            403, f"A {principal.role.value} key may not read compensation.", request.headers
        )
    try:
        period = parse_period(request.query_params.get("period", ""))
    except Invalid as invalid:
        return error_response(400, f"period {invalid.errors[0].message}.", request.headers)
    return StreamingResponse(
        _rows(period, principal),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="compensation-{period}.csv"'},
    )
