"""Turn a strawberry input into a service call's keyword arguments, and check a query's
filter before it reaches the database.

Fields left out stay out (so an update keeps them); global ids become primary keys of
the expected type; unreadable scalars become VALIDATION errors naming their field.

Some values can be no input, whatever their field: text with a NUL character (PostgreSQL
stores none) or a lone surrogate (``"\\ud800"`` in JSON: it has no UTF-8 encoding, so no
database takes it), and a list longer than any input needs (a filter's list becomes one
parameter per entry, and PostgreSQL's driver sends at most 32,767 with one statement).
:func:`problem_with` says which, once, for a mutation's input (a VALIDATION userError)
and a query's arguments (a BAD_USER_INPUT error) alike.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from enum import Enum
from typing import Any

import strawberry
from strawberry.utils.str_converters import to_camel_case, to_snake_case

from api.core.relay import BadUserInput, IdOf, from_global_id
from api.core.scalars import BadScalar
from services.core.errors import ErrorCode, FieldError, Invalid
from services.core.fields import MAX_TEXT_LENGTH

MAX_LIST_LENGTH = 100
"""The most entries one list of an input or of a query's arguments may hold: ids, names,
enum values (``nodes(ids:)``, ``filter: {status: [...]}``, ``eventTypes``)."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def problem_with(value: object) -> str | None:
    """Why ``value`` can be no input, whatever its field (see the module's docstring), or
    None. Looks into lists and nested inputs."""
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            return "must not contain NUL characters or unpaired surrogates"
        return None
    if isinstance(value, list):
        if len(value) > MAX_LIST_LENGTH:
            return f"may hold at most {MAX_LIST_LENGTH} entries"
        return next((p for p in map(problem_with, value) if p is not None), None)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = (getattr(value, f.name) for f in dataclasses.fields(value))
        return next((p for p in map(problem_with, inner) if p is not None), None)
    return None


def check_argument(value: object, argument: str) -> None:
    """Refuse an argument of a query (a BAD_USER_INPUT error naming ``argument``) that is
    unreadable, can be no input, or is text longer than any text the service stores (it
    can match nothing, and SQLite refuses a LIKE pattern over 50,000 bytes)."""
    if isinstance(value, BadScalar):
        raise BadUserInput(f"{argument} {value.message}.")
    problem = problem_with(value)
    if problem is None and isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
        problem = f"must be at most {MAX_TEXT_LENGTH} characters"
    if problem is not None:
        raise BadUserInput(f"{argument} {problem}.")


def check_filter(f: object) -> None:
    """:func:`check_argument` of each field of ``f``, a list's filter (or None)."""
    if f is not None:
        for field in dataclasses.fields(f):  # type: ignore[arg-type]
            check_argument(getattr(f, field.name), f"filter: {to_camel_case(field.name)}")


def id_fields(input_type: type) -> dict[str, str]:
    """The node type each ID field of ``input_type`` names, by its snake-case name, from
    the ``IdOf`` it is declared with. An ID field declared without one is a mistake in the
    schema, refused here (the schema's tests call this for every input type)."""
    known = _ID_FIELDS.get(input_type)
    if known is not None:
        return known
    found: dict[str, str] = {}
    for name, hint in typing.get_type_hints(input_type, include_extras=True).items():
        marks = _id_marks(hint)
        if marks:
            found[to_snake_case(name)] = marks[0].type_name
        elif _names_an_id(hint):
            raise TypeError(f"{input_type.__name__}.{name} is an ID without IdOf")
    _ID_FIELDS[input_type] = found
    return found


_ID_FIELDS: dict[type, dict[str, str]] = {}


def _id_marks(hint: Any) -> list[IdOf]:
    if typing.get_origin(hint) is typing.Annotated:
        return [m for m in hint.__metadata__ if isinstance(m, IdOf)]
    return [m for arg in typing.get_args(hint) for m in _id_marks(arg)]


def _names_an_id(hint: Any) -> bool:
    return hint is strawberry.ID or any(_names_an_id(arg) for arg in typing.get_args(hint))


def decode_id(value: str, *, expected: str, field: str) -> int:
    """The primary key behind a global id of type ``expected``, or an Invalid naming ``field``."""
    try:
        type_name, pk = from_global_id(value)
    except ValueError as exc:
        raise Invalid([FieldError(field, str(exc))]) from None
    if type_name != expected:
        raise Invalid([FieldError(field, f"No {expected} with this id.", ErrorCode.NOT_FOUND)])
    return pk


def _nested(value: object, name: str) -> dict[str, Any]:
    """A nested input object as a dict of the fields it was given (null included)."""
    nested: dict[str, Any] = {}
    for f in dataclasses.fields(value):  # type: ignore[arg-type]
        inner = getattr(value, f.name)
        if inner is strawberry.UNSET:
            continue
        if isinstance(inner, BadScalar):
            raise Invalid([FieldError(name, f"{to_snake_case(f.name)} {inner.message}")])
        nested[to_snake_case(f.name)] = inner
    return nested


def to_values(input: object) -> dict[str, Any]:
    """The input's given fields in snake case, each global id decoded as the node type its
    field declares (``IdOf``)."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    declared = id_fields(type(input))
    for f in dataclasses.fields(input):  # type: ignore[arg-type]
        value = getattr(input, f.name)
        if value is strawberry.UNSET:
            continue
        name = to_snake_case(f.name)
        expected = declared.get(name)
        try:
            if isinstance(value, BadScalar):
                raise Invalid([FieldError(name, value.message)])
            problem = problem_with(value)
            if problem is not None:
                raise Invalid([FieldError(name, problem)])
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                value = _nested(value, name)
            if expected is not None and value is not None:
                value = decode_id(str(value), expected=expected, field=name)
        except Invalid as exc:
            errors.extend(exc.errors)
            continue
        values[name] = value.value if isinstance(value, Enum) else value
    if errors:
        raise Invalid(errors)
    return values
