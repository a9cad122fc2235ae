"""Starting, waiting for and stopping real ``fourway`` processes: for the tests that run
the service as its users do, and for the benches (``bench/``), which import this module.

Nothing here imports pytest: a bench runs without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

FOURWAY = [sys.executable, "-m", "cli.main"]
"""The ``fourway`` command, run by this interpreter (so the checkout under test, whatever
is installed elsewhere)."""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_fourway(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """Run the ``fourway`` command against ``database_url``; its exit code and output."""
    return subprocess.run(
        [*FOURWAY, *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_fourway(*args: str, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``fourway ARGS`` in its own process, with ``env`` on top of this one's, writing its
    output to ``log``."""
    with log.open("a") as output:  # the process keeps its own copy
        return subprocess.Popen(
            [*FOURWAY, *args],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def log_tail(path: Path, size: int = 4000) -> str:
    """The end of a process's log, for a failure's message."""
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return "(no log)"


class NotServing(RuntimeError):
    """A process that ended, or did not answer in time, while it was awaited."""


def _check(process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    if process.poll() is not None:
        raise NotServing(f"it exited with {process.returncode}:\n{log_tail(log)}")
    if time.monotonic() > deadline:
        raise NotServing(f"it did not answer in time:\n{log_tail(log)}")


async def wait_until_serving(
    base: str, process: subprocess.Popen[bytes], log: Path, *, timeout: float = 60.0
) -> None:
    """Until ``base``/healthz answers; NotServing, with the log, if the process ends first."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(trust_env=False) as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{base}/healthz", timeout=1)).status_code == 200:
                    return
            _check(process, log, deadline)
            await asyncio.sleep(0.1)


def wait_until_up(
    base: str, process: subprocess.Popen[bytes], log: Path, *, timeout: float = 60.0
) -> None:
    """:func:`wait_until_serving` for callers without an event loop (the benches)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False) as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if http.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return
            _check(process, log, deadline)
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it is still running after ``grace`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)
