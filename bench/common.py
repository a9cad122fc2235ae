"""Small helpers the benchmarks share: their error, how they print times and database URLs."""

from __future__ import annotations


class BenchError(Exception):
    """The benchmark could not run as intended."""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def redact(url: str) -> str:
    """``url`` without its password, fit to print."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        rest = f"{user}@{host}"
    return f"{scheme}{sep}{rest}"
