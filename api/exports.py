"""CSV exports for finance tools: ``GET /exports/compensation.csv?period=YYYY-MM``."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from api.access import QUERIES
from api.auth import Principal
from api.compensation import CompensationSignalFilter, signals_query
from api.relay import BadUserInput, to_global_id
from models import CompensationSignal, Engagement, Person
from services.wire import format_decimal, present_idempotency_key

COLUMNS = (
    "signal_id",
    "kind",
    "period",
    "salesperson_id",
    "salesperson_name",
    "salesperson_email",
    "engagement_id",
    "engagement_name",
    "currency",
    "revenue",
    "cost",
    "margin",
    "margin_pct",
    "rate",
    "split",
    "amount",
    "reason",
    "evidence",
    "supersedes",
    "idempotency_key",
    "created_at",
)
PAGE = 500


def _line(values: list[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


async def _rows(period: str, principal: Principal) -> AsyncIterator[str]:
    yield _line(list(COLUMNS))
    last_id = 0
    while True:
        page: list[CompensationSignal] = list(
            await signals_query(CompensationSignalFilter(period=period), principal)
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
            yield _line(
                [
                    to_global_id("CompensationSignal", s.pk),
                    s.kind.value,
                    s.period,
                    to_global_id("Person", person.pk),
                    person.name,
                    person.email,
                    to_global_id("Engagement", engagement.pk),
                    engagement.name,
                    s.currency,
                    format_decimal(s.revenue),
                    format_decimal(s.cost),
                    format_decimal(s.margin),
                    "" if s.margin_pct is None else str(s.margin_pct),
                    str(s.rate),
                    str(s.split),
                    format_decimal(s.amount),
                    s.reason,
                    " ".join(to_global_id("Alert", a) for a in s.evidence),
                    to_global_id("CompensationSignal", s.supersedes_id) if s.supersedes_id else "",
                    present_idempotency_key(s.idempotency_key),
                    s.created_at.isoformat(),
                ]
            )
        last_id = page[-1].pk


async def compensation_csv(request: Request) -> Response:
    period = request.query_params.get("period", "")
    principal: Principal = request.scope["state"]["principal"]  # set by Authenticate
    if principal.role not in QUERIES["compensationSignals"]:
        return JSONResponse(
            {"error": f"A {principal.role.value} key may not read compensation."},
            status_code=403,
        )
    try:
        signals_query(CompensationSignalFilter(period=period), principal)
    except BadUserInput as error:
        return JSONResponse({"error": error.message}, status_code=400)
    return StreamingResponse(
        _rows(period, principal),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="compensation-{period}.csv"'},
    )
