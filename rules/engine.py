"""The catalogue's conditions on durable_rules: the only module that imports ``durable``.

The rules are data (the language in rules.catalogue's docstring). :func:`compile_rules`
checks each condition, message and escalation against the facts and thresholds declared
(rules.facts.FACTS, rules.thresholds), writes the condition in durable_rules' own JSON
ruleset form (:func:`compile_ruleset`), which is registered with a host of ours, and
parses the message and the escalation once, for the findings. durable.lang (its DSL, its
module-level registry and the default host it would start) is not used at all.

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
import operator
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import durable_rules_engine
from durable import engine as durable_engine

from rules import facts as fact_kinds
from rules import messages
from rules import thresholds as declared_thresholds
from rules.catalogue import CATALOGUE, SEVERITIES, STAKEHOLDERS, Matched, RuleSpec
from rules.catalogue import RuleError as RuleError
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


Predicate = Callable[[Matched], bool]
_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class CompiledRule:
    """One rule, checked: its condition in durable_rules' form, its message parsed and its
    escalation made a predicate, once, for every finding to come."""

    spec: RuleSpec
    condition: list[dict[str, Any]]
    """The ``all`` list of the rule in durable_rules' ruleset, the barrier first."""
    message: messages.Template
    escalation: Predicate | None
    """Whether a match of the rule is CRITICAL whatever the rule's severity; None when never."""

    def says(self, matched: Matched) -> str:
        """The message of the finding on ``matched`` (the facts the finding carries)."""
        return self.message.render(matched, messages.item_of(matched))

    def escalates(self, matched: Matched) -> bool:
        return self.escalation is not None and self.escalation(matched)

    def severity(self, matched: Matched) -> str:
        escalation = self.escalation
        return "CRITICAL" if escalation and escalation(matched) else self.spec.severity


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    """A host without the background dispatch threads: actions run on the caller's thread."""

    def _run(self) -> None:
        pass


def compile_rules(specs: Sequence[RuleSpec]) -> dict[str, CompiledRule]:
    """Each of ``specs`` checked and compiled, by id. Raises RuleError for a rule naming a
    kind, field, fact name or threshold nobody declared, in its condition, message or
    escalation."""
    compiled: dict[str, CompiledRule] = {}
    for spec in specs:
        if spec.id in compiled:
            raise RuleError(spec.id, "$.id", "another rule has this id")
        compiled[spec.id] = _Compiler(spec).compiled()
    return compiled


def compile_ruleset(specs: Sequence[RuleSpec]) -> Ruleset:
    """``specs``' conditions in durable_rules' ruleset form, each rule named by its id, the
    barrier first in every one, and a catch-all rule last (:func:`compile_rules`)."""
    return _ruleset(compile_rules(specs))


def _ruleset(compiled: dict[str, CompiledRule]) -> Ruleset:
    ruleset: Ruleset = {rule_id: {"all": rule.condition} for rule_id, rule in compiled.items()}
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

    def compiled(self) -> CompiledRule:
        condition = self.condition()
        message, escalates = self.message(), self.escalation()
        unsaid = sorted(self.read - set(self.spec.thresholds))
        if unsaid:
            raise self.fail(
                "$.thresholds", f"the rule reads {', '.join(unsaid)}, which it does not name"
            )
        return CompiledRule(self.spec, condition, message, escalates)

    def condition(self) -> list[dict[str, Any]]:
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
        return compiled

    @property
    def carried(self) -> dict[str, str]:
        """The kind of each fact a finding of the rule carries, by name."""
        return {name: self.named[name] for name in self.spec.carries}

    def no_fact(self, name: Any) -> str:
        carried = ", ".join(self.spec.carries) or "none"
        return f"the finding carries no fact named {name!r} (it carries {carried})"

    def message(self) -> messages.Template:
        """The message, parsed, each field it reads one the facts carried have."""
        try:
            template = messages.parse(self.spec.message)
        except messages.TemplateError as error:
            raise self.fail("$.message", str(error)) from None
        carried = self.carried
        if template.uses_item and not any("item" in _fields(k) for k in carried.values()):
            raise self.fail("$.message", "{item}: the finding carries no fact with an item")
        for ref in template.references:
            where = f"at character {ref.at}, {ref}"
            kind = carried.get(ref.name)
            if kind is None:
                raise self.fail("$.message", f"{where}: {self.no_fact(ref.name)}")
            declared = _fields(kind).get(ref.field)
            if declared is None:
                raise self.fail("$.message", f"{where}: a {kind} fact has no field {ref.field!r}")
            if declared.type == "object":
                if ref.key not in declared.keys:
                    raise self.fail(
                        "$.message",
                        f"{where}: {ref.field} is shown one figure at a time, "
                        f"one of {', '.join(declared.keys)}",
                    )
            elif ref.key is not None:
                raise self.fail("$.message", f"{where}: {ref.field} is a {declared.type}")
            if ref.helper is not None and declared.type != messages.HELPERS[ref.helper][0]:
                raise self.fail(
                    "$.message",
                    f"{where}: {ref.helper} writes a {messages.HELPERS[ref.helper][0]}, "
                    f"and {ref.field} is a {declared.type}",
                )
            self.read.update(declared.thresholds)
        return template

    def escalation(self) -> Predicate | None:
        """Whether a match escalates: every check of ``escalate`` holds (and there is one)."""
        checks = self.spec.escalate
        if not isinstance(checks, tuple | list):
            raise self.fail("$.escalate", "must be a list of checks")
        predicates = [self.check(check, f"$.escalate[{i}]") for i, check in enumerate(checks)]
        if not predicates:
            return None
        if len(predicates) == 1:
            return predicates[0]
        return lambda matched: all(p(matched) for p in predicates)

    def check(self, check: Any, path: str) -> Predicate:
        if not isinstance(check, dict) or set(check) != {"of", "where"}:
            raise self.fail(path, 'a check is {"of": NAME, "where": [...]}')
        name = check["of"]
        kind = self.carried.get(name) if isinstance(name, str) else None
        if kind is None:
            raise self.fail(f"{path}.of", self.no_fact(name))
        where = check["where"]
        if not isinstance(where, list) or not where:
            raise self.fail(f"{path}.where", "must be a list of one test or more")
        tests = [self.predicate(t, name, kind, f"{path}.where[{i}]") for i, t in enumerate(where)]
        if len(tests) == 1:
            return tests[0]
        return lambda matched: all(t(matched) for t in tests)

    def predicate(self, test: Any, name: str, kind: str, path: str) -> Predicate:
        """A test of ``where``'s language on the carried fact ``name``, in Python: checked
        as a condition's test is, and meaning what it means there."""
        self.test(test, kind, path)
        if isinstance(test, dict):
            ((joint, tests),) = test.items()
            parts = [
                self.predicate(t, name, kind, f"{path}.{joint}[{i}]") for i, t in enumerate(tests)
            ]
            if joint == "all":
                return lambda matched: all(p(matched) for p in parts)
            return lambda matched: any(p(matched) for p in parts)
        field, op, operand = test
        if op == "in":
            constants = tuple(operand)
            return lambda matched: matched[name][field] in constants
        right = self.right(operand, name, f"{path}[2]")
        if op in ("==", "!="):
            equal = op == "=="
            return lambda matched: (matched[name][field] == right(matched)) is equal
        compare = _ORDER_OPS[op]

        def ordered(matched: Matched) -> bool:
            # No ordered field may be null (rules.facts); were one, its order would not hold
            # rather than raise while writing a finding.
            left, value = matched[name][field], right(matched)
            return left is not None and value is not None and compare(left, value)

        return ordered

    def right(self, operand: Any, name: str, path: str) -> Callable[[Matched], Any]:
        if not isinstance(operand, dict):
            return lambda matched: operand
        other, field = operand.get("of", name), operand["field"]
        if other not in self.carried:
            raise self.fail(f"{path}.of", self.no_fact(other))
        return lambda matched: matched[other][field]

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

COMPILED = compile_rules(CATALOGUE)
"""Each rule of the catalogue compiled, by id."""
RULESET = _ruleset(COMPILED)
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
