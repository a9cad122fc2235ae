"""Small helpers the benchmarks share: their error, percentiles, and how they print times,
tables and database URLs."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path


class BenchError(Exception):
    """The benchmark could not run as intended."""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """Rows under a header, the first column left-aligned and the rest right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        first = row[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def redact(url: str) -> str:
    """``url`` without its password, fit to print."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        rest = f"{user}@{host}"
    return f"{scheme}{sep}{rest}"


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
