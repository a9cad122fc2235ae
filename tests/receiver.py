"""A real webhook receiver on a loopback port: uvicorn serving a tiny ASGI app that
verifies every request with PyPI's ``standardwebhooks`` (not the project's code) and
answers whatever the test scripts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.processes import free_port


@dataclass
class Received:
    """One request as it arrived."""

    headers: dict[str, str]
    body: bytes
    arrived: float
    verified_by: list[str]
    """Which of the receiver's secrets verified it (both, during a rotation)."""

    @property
    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


Answer = tuple[int, dict[str, str], bytes]


class _QuietServer(uvicorn.Server):
    """Leaves the test process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Receiver:
    """Collects requests; ``answer`` decides each response (200 by default)."""

    secrets: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    answer: Callable[[Received], Answer] = lambda _: (200, {}, b"ok")
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def verify(self, headers: dict[str, str], body: bytes) -> list[str]:
        verified = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified.append(secret)
        return verified

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        request = Received(headers, body, time.monotonic(), self.verify(headers, body))
        self.received.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        status, extra, content = self.answer(request)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": content})

    async def start(self) -> None:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]


async def eventually(
    check: Callable[[], Any], *, timeout: float = 30.0, every: float = 0.05
) -> Any:
    """Wait until ``check()`` (sync or async) is truthy; its last value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {check}")
        await asyncio.sleep(every)
