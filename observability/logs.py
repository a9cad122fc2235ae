"""Logging for ``fourway serve`` and ``fourway worker``: one JSON object per line (or
plain text), every line written while a request is handled carrying its ``request_id``.

Structured fields travel as the standard library's ``extra``; the JSON formatter writes
them beside ``timestamp``, ``level``, ``logger`` and ``message``. Nothing here ever sees
an API key: callers pass its visible prefix at most.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]

REQUEST_ID: ContextVar[str | None] = ContextVar("fourway_request_id", default=None)
"""The id of the request being handled, if any."""

REQUEST_ID_HEADER = "x-request-id"

# Visible ASCII, no spaces: safe to log and to send back in a header as it came.
_SANE_REQUEST_ID = re.compile(r"[!-~]{1,128}\Z")

TEXT_FORMAT = "%(levelname)s:     %(name)s: %(message)s"


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-Id`` when it is sane (1-128 visible ASCII characters),
    else a new random one."""
    if header is not None and _SANE_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to records logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = REQUEST_ID.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class JsonLines(JsonFormatter):
    """``{"timestamp": ..., "level": ..., "logger": ..., "message": ..., <extra>...}``."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            # uvicorn adds a coloured copy of its messages: noise in JSON.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["timestamp"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)


def handler(log_format: LogFormat, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing ``log_format`` lines to ``stream`` (stderr), request ids added."""
    made = logging.StreamHandler(stream)
    made.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    made.addFilter(RequestIdFilter())
    return made


def configure(log_format: LogFormat, *, debug: bool = False) -> None:
    """Send every logger's records to stderr, in ``log_format``, at INFO (DEBUG with
    ``debug``), replacing whatever handlers the root logger had."""
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler(log_format))
    root.setLevel(logging.DEBUG if debug else logging.INFO)
