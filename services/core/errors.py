"""Plain domain errors. Each names the input field it is about (snake case) and a message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT_OF_INTEREST = "CONFLICT_OF_INTEREST"


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field (``field`` is None when it concerns the whole input)."""

    field: str | None
    message: str
    code: ErrorCode = ErrorCode.VALIDATION


class DomainError(Exception):
    """An expected failure: nothing was written, and the caller is told why."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(e.message for e in self.errors))


class Invalid(DomainError):
    """The input breaks a rule about its shape or values."""


class NotFound(DomainError):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__([FieldError(field, message, ErrorCode.NOT_FOUND)])


class Conflict(DomainError):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__([FieldError(field, message, ErrorCode.CONFLICT)])
