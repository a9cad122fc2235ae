"""The catalogue's conditions on durable_rules: the only module that imports ``durable``.

The conditions are data (``RuleSpec.when``, the language in rules.catalogue's docstring).
:func:`compile_ruleset` checks each against the facts and thresholds declared
(rules.facts.FACTS, rules.thresholds) and writes it in durable_rules' own JSON ruleset
form, which is registered with a host of ours: durable.lang (its DSL, its module-level
registry and the default host it would start) is not used at all.

durable_rules has traps this module is built around (measured, see DESIGN.md):

- A ruleset holds at most 1024 live sessions, so every evaluation takes a new session id
  and deletes its state before and after: sessions never pile up.
- ``durable.lang``'s default host starts timer threads that run actions elsewhere; a host
  whose ``_run`` does nothing has none, and every call into the C engine (which has no
  locks) is serialized by one lock.
- ``none(...)`` (``$not``) fires as soon as its positive side is present and is never
  withdrawn, so the compiler puts a barrier fact, asserted after all the others, first in
  every rule: results do not depend on the order facts arrive in.
- A fact no rule matches raises MessageNotHandledException: the compiler adds a
  catch-all rule that takes them.
- Exceptions inside actions vanish into the session state, so actions only record which
  facts matched; messages are written afterwards, outside the engine.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import durable_rules_engine
from durable import engine as durable_engine

from rules import facts as fact_kinds
from rules import thresholds as declared_thresholds
from rules.catalogue import CATALOGUE, SEVERITIES, STAKEHOLDERS, RuleSpec
from rules.facts import Fact

Match = tuple[str, dict[str, str]]
"""A rule id and the ids of the facts it matched, by the names the rule gives them."""
Ruleset = dict[str, dict[str, Any]]
"""durable_rules' own ruleset form: each rule's name and its ``all`` list, JSON only."""

_RULESET = "fourway"
_BARRIER = {"barrier": {"kind": "barrier"}}
# Every fact must match something, or durable_rules raises MessageNotHandledException. Its
# name can be no rule's id (ids are lower case words and hyphens).
_ANY_FACT = "_any_fact"
_CATCH_ALL = {"all": [{"m": {"$ex": {"kind": 1}}}]}
_RULE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# What an action's context already answers to; a fact so named would be hidden behind it.
_RESERVED = frozenset(dir(durable_engine.Closure)) | {"host", "s", "m", "barrier"}
_COMPARE = {"==": None, "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_ORDERED = frozenset({"count", "day", "number"})
_BASE_FIELDS = {"id": fact_kinds.Field("text"), "kind": fact_kinds.Field("text")}


class RuleError(ValueError):
    """A rule the engine cannot compile: which one, where in it (a JSON path), and why."""

    def __init__(self, rule_id: str, path: str, problem: str) -> None:
        super().__init__(f"rule {rule_id!r}, at {path}: {problem}")
        self.rule_id = rule_id
        self.path = path
        self.problem = problem


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    """A host without the background dispatch threads: actions run on the caller's thread."""

    def _run(self) -> None:
        pass


def compile_ruleset(specs: Sequence[RuleSpec]) -> Ruleset:
    """``specs``' conditions in durable_rules' ruleset form, each rule named by its id, the
    barrier first in every one, and a catch-all rule last. Raises RuleError for a rule
    naming a kind, field, fact name or threshold nobody declared."""
    ruleset: Ruleset = {}
    for spec in specs:
        if spec.id in ruleset:
            raise RuleError(spec.id, "$.id", "another rule has this id")
        ruleset[spec.id] = {"all": _Compiler(spec).rule()}
    ruleset[_ANY_FACT] = _CATCH_ALL
    return ruleset


class _Compiler:
    """Checks one rule against the facts and thresholds declared, and compiles it."""

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        self.named: dict[str, str] = {}
        """The kind of each fact the patterns so far named."""
        self.read: set[str] = set()
        """The thresholds the fields read so far apply."""

    def fail(self, path: str, problem: str) -> RuleError:
        return RuleError(self.spec.id, path, problem)

    def rule(self) -> list[dict[str, Any]]:
        spec = self.spec
        if not _RULE_ID.match(spec.id):
            raise self.fail("$.id", "an id is lower-case words joined by hyphens")
        if spec.severity not in SEVERITIES:
            raise self.fail("$.severity", f"is none of {', '.join(SEVERITIES)}")
        if spec.stakeholder not in STAKEHOLDERS:
            raise self.fail("$.stakeholder", f"is none of {', '.join(STAKEHOLDERS)}")
        if not isinstance(spec.when, tuple | list) or not spec.when:
            raise self.fail("$.when", "must be a list of one pattern or more")
        compiled = [_BARRIER]
        for index, pattern in enumerate(spec.when):
            compiled.append(self.pattern(pattern, len(compiled), f"$.when[{index}]"))
        for attribute in ("subjects", "context"):
            for index, name in enumerate(getattr(spec, attribute)):
                if name not in self.named:
                    raise self.fail(
                        f"$.{attribute}[{index}]", f"no pattern of the rule names a fact {name!r}"
                    )
        for index, name in enumerate(spec.thresholds):
            if name not in declared_thresholds.BY_NAME:
                raise self.fail(f"$.thresholds[{index}]", f"no threshold is named {name!r}")
        unsaid = sorted(self.read - set(spec.thresholds))
        if unsaid:
            raise self.fail(
                "$.thresholds", f"the condition reads {', '.join(unsaid)}, which it does not name"
            )
        return compiled

    def pattern(self, pattern: Any, position: int, path: str) -> dict[str, Any]:
        if not isinstance(pattern, dict):
            raise self.fail(path, "a pattern is an object")
        negated = "none" in pattern
        keys = {"none", "where"} if negated else {"fact", "as", "where"}
        unknown = sorted(set(pattern) - keys)
        if unknown or ("fact" in pattern) == negated:
            raise self.fail(
                path,
                'a pattern is {"fact": KIND, "as": NAME, "where": [...]} or '
                '{"none": KIND, "where": [...]}',
            )
        key = "none" if negated else "fact"
        kind = pattern[key]
        if not isinstance(kind, str) or kind not in fact_kinds.FACTS:
            raise self.fail(f"{path}.{key}", f"no fact is of kind {kind!r}")
        where = pattern.get("where", [])
        if not isinstance(where, list):
            raise self.fail(f"{path}.where", "must be a list of tests")
        tests = [self.test(t, kind, f"{path}.where[{i}]") for i, t in enumerate(where)]
        condition = {"$and": [{"kind": kind}, *tests]} if tests else {"kind": kind}
        if negated:
            return {f"m_{position}$not": condition}
        name = pattern.get("as", kind)
        if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED:
            raise self.fail(f"{path}.as", f"{name!r} is no name a fact may have")
        if name in self.named:
            raise self.fail(f"{path}.as", f"an earlier pattern already names a fact {name!r}")
        self.named[name] = kind
        return {name: condition}

    def field(self, name: Any, kind: str, path: str) -> fact_kinds.Field:
        """The declaration of the field ``name`` of a ``kind`` fact, which the rule reads."""
        declared = _fields(kind).get(name) if isinstance(name, str) else None
        if declared is None:
            raise self.fail(path, f"a {kind} fact has no field {name!r}")
        if declared.type == "object":
            raise self.fail(path, f"{name} is there to be shown, not compared")
        self.read.update(declared.thresholds)
        return declared

    def test(self, test: Any, kind: str, path: str) -> dict[str, Any]:
        if isinstance(test, dict) and len(test) == 1 and next(iter(test)) in ("all", "any"):
            ((joint, tests),) = test.items()
            if not isinstance(tests, list) or not tests:
                raise self.fail(f"{path}.{joint}", "must be a list of one test or more")
            compiled = [self.test(t, kind, f"{path}.{joint}[{i}]") for i, t in enumerate(tests)]
            return {"$and" if joint == "all" else "$or": compiled}
        if not isinstance(test, list) or len(test) != 3:
            raise self.fail(
                path, 'a test is [FIELD, OP, OPERAND], {"all": [...]} or {"any": [...]}'
            )
        name, op, operand = test
        left = self.field(name, kind, f"{path}[0]")
        if op == "in":
            if not isinstance(operand, list) or not operand:
                raise self.fail(f"{path}[2]", "in takes a list of one constant or more")
            for i, constant in enumerate(operand):
                self.constant(constant, left, f"{path}[2][{i}]")
            return {"$or": [{name: constant} for constant in operand]}
        if op not in _COMPARE:
            raise self.fail(f"{path}[1]", f"{op!r} is none of {' '.join(_COMPARE)} in")
        if op not in ("==", "!=") and left.type not in _ORDERED:
            raise self.fail(f"{path}[1]", f"{name} is a {left.type}, which has no order")
        comparison = {name: self.operand(operand, left, kind, f"{path}[2]")}
        durable_op = _COMPARE[op]
        return comparison if durable_op is None else {durable_op: comparison}

    def operand(self, operand: Any, left: fact_kinds.Field, kind: str, path: str) -> Any:
        if not isinstance(operand, dict):
            self.constant(operand, left, path)
            return operand
        if set(operand) not in ({"field"}, {"field", "of"}):
            raise self.fail(
                path, 'an operand is a constant, {"field": F} or {"field": F, "of": NAME}'
            )
        compiled: dict[str, Any]
        if "of" in operand:
            name = operand["of"]
            if name not in self.named:
                raise self.fail(f"{path}.of", f"no earlier pattern names a fact {name!r}")
            right = self.field(operand["field"], self.named[name], f"{path}.field")
            compiled = {name: operand["field"]}
        else:
            right = self.field(operand["field"], kind, f"{path}.field")
            compiled = {"$m": operand["field"]}
        if not (left.type == right.type or {left.type, right.type} <= _ORDERED):
            raise self.fail(path, f"a {left.type} is not compared with a {right.type}")
        return compiled

    def constant(self, constant: Any, field: fact_kinds.Field, path: str) -> None:
        if constant is None:
            if not field.nullable:
                raise self.fail(path, "the field is never null")
            return
        whole = isinstance(constant, int) and not isinstance(constant, bool)
        fits = {
            "flag": isinstance(constant, bool),
            "count": whole,
            "day": whole,
            "person": whole,
            "number": whole or isinstance(constant, float),
            "text": isinstance(constant, str),
            "decimal": isinstance(constant, str),
        }[field.type]
        if not fits:
            raise self.fail(path, f"{constant!r} is no {field.type}")


def _fields(kind: str) -> dict[str, fact_kinds.Field]:
    return {**_BASE_FIELDS, **fact_kinds.FACTS[kind]}


def _record(spec: RuleSpec) -> Callable[[Any], None]:
    names = spec.carries

    def action(context: Any) -> None:
        _matches.append((spec.id, {name: getattr(context, name)["id"] for name in names}))

    action.__name__ = spec.id.replace("-", "_")
    return action


_matches: list[Match] = []
_lock = threading.Lock()
_sessions = itertools.count(1)

RULESET = compile_ruleset(CATALOGUE)
"""The catalogue as durable_rules reads it: plain JSON."""
RULE_IDS = frozenset(spec.id for spec in CATALOGUE)
_host = _QuietHost()
_name = _RULESET
_host.register_rulesets(
    {
        _name: {
            **{spec.id: {**RULESET[spec.id], "run": _record(spec)} for spec in CATALOGUE},
            _ANY_FACT: {**_CATCH_ALL, "run": lambda _: None},
        }
    }
)


def run(facts: Sequence[Fact], barrier: Fact) -> list[Match]:
    """Assert ``facts`` then ``barrier`` in a fresh session; return every match, then forget it."""
    with _lock:
        sid = str(next(_sessions))
        _forget(sid)
        _matches.clear()
        try:
            if facts:
                _host.assert_facts(_name, [{**fact, "sid": sid} for fact in facts])
            _host.assert_fact(_name, {**barrier, "sid": sid})
            return list(_matches)
        finally:
            _matches.clear()
            _forget(sid)


def _forget(sid: str) -> None:
    """Delete a session's state; one that does not exist (error 309) is already forgotten."""
    try:
        _host.delete_state(_name, sid)
    except durable_rules_engine.error as error:
        if "309" not in str(error):
            raise
