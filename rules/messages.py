"""A rule's message: a template over the facts the rule matched, parsed once per rule and
rendered once per finding.

The language is the least the catalogue's messages need (rules.catalogue's docstring shows
it to rule writers):

- text stands for itself; ``{{`` and ``}}`` are a literal brace;
- ``{item}``: the finding's item (the first carried fact's ``item``);
- ``{NAME.FIELD}``: a field of the fact the rule calls NAME, written as ``str`` writes it
  (a null as ``None``); ``{NAME.FIELD.KEY}`` one figure of an object field
  (``{item.figures.bought}``);
- ``{NAME.FIELD|date}``: a day number as ``2025-05-31``; ``{NAME.FIELD|people}``: a count
  as ``1 person`` or ``3 people``;
- ``{if NAME.FIELD}A{else}B{end}``: A when the field is true (not false, 0, empty or null),
  B otherwise; ``{else}B`` may be left out. A and B hold text and references, no ``if``.

This module only reads a template's shape; rules.engine checks its names and fields
against the facts the rule carries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

Matched = Mapping[str, Mapping[str, Any]]


def _date(day_number: Any) -> str:
    return date.fromordinal(int(day_number)).isoformat()


def _people(count: Any) -> str:
    return "1 person" if count == 1 else f"{count} people"


HELPERS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "date": ("day", _date),
    "people": ("count", _people),
}
"""Each formatting helper: the type of field it takes (rules.facts.Field) and what it writes."""

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = r"[a-z][a-z0-9_]*"
_REFERENCE = re.compile(rf"({_NAME})\.({_NAME})(?:\.({_NAME}))?(?:\|({_NAME}))?")
_IF = re.compile(r"if (.*)")


class TemplateError(ValueError):
    """A template that cannot be read: where in it (a character offset) and why."""

    def __init__(self, at: int, problem: str) -> None:
        super().__init__(f"at character {at}: {problem}")
        self.at = at
        self.problem = problem


def item_of(matched: Matched) -> str | None:
    """The item of a finding: that of the first matched fact that has one."""
    for fact in matched.values():
        if "item" in fact:
            return str(fact["item"])
    return None


@dataclass(frozen=True)
class Reference:
    """``{NAME.FIELD}``, ``{NAME.FIELD.KEY}`` or ``{NAME.FIELD|HELPER}``."""

    name: str
    field: str
    key: str | None
    helper: str | None
    at: int
    """Where it starts in the template."""

    def __str__(self) -> str:
        key = f".{self.key}" if self.key else ""
        helper = f"|{self.helper}" if self.helper else ""
        return f"{{{self.name}.{self.field}{key}{helper}}}"

    def value(self, matched: Matched) -> Any:
        value = matched[self.name][self.field]
        return value if self.key is None else value[self.key]


@dataclass(frozen=True)
class Choice:
    """``{if NAME.FIELD}THEN{else}OTHERWISE{end}``."""

    test: Reference
    then: tuple[Piece, ...]
    otherwise: tuple[Piece, ...]


class _Item:
    """``{item}``."""

    def __repr__(self) -> str:
        return "ITEM"


ITEM = _Item()
Piece = str | Reference | Choice | _Item


Getter = Callable[[Matched, str | None], Any]
"""What one ``{...}`` of a template writes, from the matched facts and the finding's item."""


@dataclass(frozen=True)
class Template:
    """A parsed message: its pieces, and those made once into a ``%`` format and the getters
    that fill it, so that a finding costs one formatting."""

    source: str
    pieces: tuple[Piece, ...]
    filled: tuple[str, tuple[Getter, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "filled", _filled(self.pieces))

    def render(self, matched: Matched, item: str | None) -> str:
        form, getters = self.filled
        return form % tuple([get(matched, item) for get in getters]) if getters else form

    @property
    def references(self) -> Iterator[Reference]:
        """Every field the template reads, in the order written (an ``if``'s test first)."""
        return (piece for piece in _flat(self.pieces) if isinstance(piece, Reference))

    @property
    def uses_item(self) -> bool:
        return any(piece is ITEM for piece in _flat(self.pieces))


def _flat(pieces: tuple[Piece, ...]) -> Iterator[Piece]:
    for piece in pieces:
        if isinstance(piece, Choice):
            yield piece.test
            yield from _flat((*piece.then, *piece.otherwise))
        else:
            yield piece


def _filled(pieces: tuple[Piece, ...]) -> tuple[str, tuple[Getter, ...]]:
    form: list[str] = []
    getters: list[Getter] = []
    for piece in pieces:
        if isinstance(piece, str):
            form.append(piece.replace("%", "%%"))
        else:
            form.append("%s")
            getters.append(_getter(piece))
    return "".join(form), tuple(getters)


def _getter(piece: Reference | Choice | _Item) -> Getter:
    # %s writes each value as str does; a helper writes its own text.
    if isinstance(piece, _Item):
        return lambda matched, item: item or ""
    if isinstance(piece, Choice):
        test = piece.test.value
        then, otherwise = _filled(piece.then), _filled(piece.otherwise)

        def choose(matched: Matched, item: str | None) -> str:
            form, getters = then if test(matched) else otherwise
            return form % tuple([get(matched, item) for get in getters]) if getters else form

        return choose
    name, field_name, key = piece.name, piece.field, piece.key
    if piece.helper is None:
        if key is None:
            return lambda matched, item: matched[name][field_name]
        return lambda matched, item: matched[name][field_name][key]
    helper = HELPERS[piece.helper][1]
    if key is None:
        return lambda matched, item: helper(matched[name][field_name])
    return lambda matched, item: helper(matched[name][field_name][key])


def parse(source: str) -> Template:
    """``source`` read as a template; raises TemplateError where it cannot be read."""
    if not isinstance(source, str):
        raise TemplateError(0, "a message is a template string")
    outer: list[Piece] = []
    pieces = outer  # where what is read goes: the template itself, or an {if}'s branch
    choice: tuple[Reference, int] | None = None
    then: list[Piece] = []
    otherwise: list[Piece] | None = None
    last = 0
    for token in _TOKEN.finditer(source):
        at = token.start()
        if at > last:
            pieces.append(source[last:at])
        last = token.end()
        whole, inside = token.group(0), token.group(1)
        if whole in ("{{", "}}"):
            pieces.append(whole[0])
            continue
        if inside is None:
            raise TemplateError(at, f"a lone {whole!r} (write {whole * 2!r} for the brace itself)")
        if inside == "item":
            pieces.append(ITEM)
        elif (test := _IF.fullmatch(inside)) is not None:
            if choice is not None:
                raise TemplateError(at, "an {if} inside another is not supported")
            reference = _reference(test.group(1), at + 4)
            if reference.helper is not None:
                raise TemplateError(at, "an {if} tests a field as it is, with no helper")
            choice, then, otherwise = (reference, at), [], None
            pieces = then
        elif inside == "else":
            if choice is None or otherwise is not None:
                raise TemplateError(at, "an {else} belongs between an {if} and its {end}")
            otherwise = []
            pieces = otherwise
        elif inside == "end":
            if choice is None:
                raise TemplateError(at, "an {end} with no {if} before it")
            outer.append(Choice(choice[0], _joined(then), _joined(otherwise or [])))
            choice, pieces = None, outer
        else:
            pieces.append(_reference(inside, at))
    if last < len(source):
        pieces.append(source[last:])
    if choice is not None:
        raise TemplateError(choice[1], "an {if} with no {end}")
    return Template(source, _joined(outer))


def _reference(inside: str, at: int) -> Reference:
    found = _REFERENCE.fullmatch(inside)
    if found is None:
        raise TemplateError(
            at,
            f"{{{inside}}} is none of {{item}}, {{NAME.FIELD}}, {{NAME.FIELD.KEY}}, "
            "{NAME.FIELD|HELPER}, {if NAME.FIELD}, {else}, {end}",
        )
    name, field, key, helper = found.groups()
    if helper is not None and helper not in HELPERS:
        raise TemplateError(at, f"{helper!r} is none of the helpers {', '.join(HELPERS)}")
    return Reference(name, field, key, helper, at)


def _joined(pieces: list[Piece]) -> tuple[Piece, ...]:
    """``pieces`` with neighbouring texts made one."""
    joined: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and joined and isinstance(joined[-1], str):
            joined[-1] += piece
        elif piece != "":
            joined.append(piece)
    return tuple(joined)
