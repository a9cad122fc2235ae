"""The catalogue's conditions on durable_rules: the only module that imports ``durable``.

durable_rules has traps this module is built around (measured, see DESIGN.md):

- A ruleset holds at most 1024 live sessions, so every evaluation takes a new session id
  and deletes its state before and after: sessions never pile up.
- ``durable.lang``'s default host starts timer threads that run actions elsewhere; a host
  whose ``_run`` does nothing has none, and every call into the C engine (which has no
  locks) is serialized by one lock.
- ``none(...)`` fires as soon as its positive side is present and is never withdrawn, so
  every rule waits for a barrier fact asserted after all the others: results do not
  depend on the order facts arrive in.
- A fact no rule matches raises MessageNotHandledException: a catch-all rule takes them.
- Exceptions inside actions vanish into the session state, so actions only record which
  facts matched; messages are written afterwards, outside the engine.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import durable_rules_engine
from durable import engine as durable_engine
from durable import lang
from durable.lang import c, m, none, when_all

from rules.catalogue import BY_ID
from rules.facts import Fact

Match = tuple[str, dict[str, str]]
"""A rule id and the ids of the facts it matched, by the names the rule gives them."""

_RULESET = "fourway"


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    """A host without the background dispatch threads: actions run on the caller's thread."""

    def _run(self) -> None:
        pass


def _record(rule_id: str, names: Sequence[str]) -> Callable[[Any], None]:
    def action(context: Any) -> None:
        _matches.append((rule_id, {name: getattr(context, name)["id"] for name in names}))

    action.__name__ = rule_id.replace("-", "_")
    return action


def _rule(rule_id: str, names: Sequence[str], *conditions: Any) -> None:
    """Declare ``rule_id``: the barrier first, then ``conditions``; record ``names``' facts."""
    if rule_id not in BY_ID:
        raise KeyError(f"rule {rule_id} is not in the catalogue")
    when_all(c.barrier << (m.kind == "barrier"), *conditions)(_record(rule_id, names))


def _same_item(kind: str, alias: Any, *more: Any) -> Any:
    condition = (m.kind == kind) & (m.item == alias.item)
    for extra in more:
        condition = condition & extra
    return condition


def _declare() -> None:
    sold = c.engagement << ((m.kind == "engagement") & (m.sold == True))
    clock = c.clock << (m.kind == "clock")

    # coverage
    _rule(
        "need-not-promised",
        ("need",),
        c.need << ((m.kind == "need") & (m.validated == True)),
        none(_same_item("promise", c.need)),
    )
    _rule(
        "promised-need-not-bought",
        ("need", "promise"),
        sold,
        c.need << (m.kind == "need"),
        c.promise << _same_item("promise", c.need),
        none(_same_item("purchase", c.need)),
        none(_same_item("change_order", c.need, m.approved == True)),
    )
    _rule(
        "free-work",
        ("promise",),
        sold,
        c.promise << (m.kind == "promise"),
        none(_same_item("purchase", c.promise)),
        none(_same_item("change_order", c.promise, m.approved == True)),
    )
    _rule(
        "overselling",
        ("promise",),
        c.promise << (m.kind == "promise"),
        none(_same_item("need", c.promise)),
    )
    _rule(
        "purchase-unplanned",
        ("purchase",),
        clock,
        c.purchase << ((m.kind == "purchase") & (m.plan_by > 0) & (m.plan_by < c.clock.today)),
        none(_same_item("deliverable", c.purchase)),
    )
    _rule(
        "scope-creep",
        ("deliverable",),
        c.deliverable << (m.kind == "deliverable"),
        none(_same_item("purchase", c.deliverable)),
        none(_same_item("change_order", c.deliverable, m.approved == True)),
    )
    _rule(
        "promised-above-bought",
        ("item",),
        c.item << ((m.kind == "item") & (m.has_purchase == True) & (m.promised > m.bought)),
    )
    _rule(
        "under-delivered",
        ("item",),
        clock,
        c.item
        << (
            (m.kind == "item")
            & (m.has_purchase == True)
            & (m.due_from > 0)
            & (m.due_from < c.clock.today)
            & (m.delivered < m.bought)
        ),
    )
    _rule(
        "price-mismatch",
        ("item",),
        c.item << ((m.kind == "item") & (m.quote_off == True)),
    )
    # time
    _rule(
        "deliverable-overdue",
        ("deliverable",),
        clock,
        c.deliverable
        << (
            (m.kind == "deliverable")
            & (m.open == True)
            & (m.overdue_from > 0)
            & (m.overdue_from < c.clock.today)
        ),
    )
    _rule(
        "delivered-late",
        ("deliverable", "promise"),
        c.promise << ((m.kind == "promise") & (m.promised_day > 0)),
        c.deliverable
        << _same_item("deliverable", c.promise, m.delivered_day > c.promise.promised_day),
    )
    _rule(
        "planned-after-promised",
        ("deliverable", "promise"),
        c.promise << ((m.kind == "promise") & (m.promised_day > 0)),
        c.deliverable
        << _same_item(
            "deliverable",
            c.promise,
            m.open == True,
            m.due_day > c.promise.promised_day,
        ),
    )
    _rule(
        "acceptance-pending",
        ("deliverable",),
        clock,
        c.deliverable
        << (
            (m.kind == "deliverable")
            & (m.awaiting_acceptance == True)
            & (m.accept_by > 0)
            & (m.accept_by < c.clock.today)
        ),
    )
    # quality and money
    _rule(
        "deliverable-rejected",
        ("deliverable",),
        c.deliverable << ((m.kind == "deliverable") & (m.rejected == True)),
    )
    _rule(
        "actual-cost-missing",
        ("deliverable",),
        c.deliverable << ((m.kind == "deliverable") & (m.cost_missing == True)),
    )
    _rule(
        "cost-overrun",
        ("deliverable",),
        c.deliverable << ((m.kind == "deliverable") & (m.cost_overrun == True)),
    )
    _rule(
        "margin-below-floor",
        ("engagement",),
        c.engagement << ((m.kind == "engagement") & (m.margin_low == True)),
    )
    # process
    _rule(
        "promise-without-signoff",
        ("promise",),
        c.promise << ((m.kind == "promise") & (m.signed_off == False)),
    )
    _rule(
        "promise-after-signing",
        ("promise",),
        c.promise << ((m.kind == "promise") & (m.after_signing == True)),
        none(_same_item("change_order", c.promise, m.rejected == False)),
    )
    _rule(
        "function-unassigned",
        ("function", "engagement"),
        c.engagement << (m.kind == "engagement"),
        c.function << ((m.kind == "function") & (m.required == True) & (m.assigned == 0)),
    )
    _rule(
        "no-accountable",
        ("function",),
        c.function << ((m.kind == "function") & (m.assigned > 0) & (m.accountable == 0)),
    )
    _rule(
        "many-accountable",
        ("function",),
        c.function << ((m.kind == "function") & (m.accountable > 1)),
    )
    _rule(
        "decision-model-unfit",
        ("engagement",),
        c.engagement
        << (
            (m.kind == "engagement")
            & (
                (
                    ((m.decision_model == "CONSENSUS") | (m.decision_model == "MAJORITY"))
                    & (m.deciders_accountable == 1)
                )
                | (
                    (m.decision_model == "AUTHORITY")
                    & (m.deciders > 0)
                    & (m.deciders_accountable == 0)
                )
            )
        ),
    )
    _rule(
        "decided-outside-the-engagement",
        ("decision",),
        c.decision << ((m.kind == "decision") & (m.outside == True)),
    )
    _rule(
        "no-sponsor",
        ("function",),
        c.function << ((m.kind == "function") & (m.function == "SPONSOR") & (m.assigned == 0)),
    )

    # Every fact must match something, or durable_rules raises MessageNotHandledException.
    @when_all(+m.kind)
    def _any_fact(_: Any) -> None:
        pass


_matches: list[Match] = []
_lock = threading.Lock()
_sessions = itertools.count(1)

with lang.ruleset(_RULESET):
    _declare()
# Take the definition away from durable.lang's module-level registry so that its default
# host (and its threads) never starts, and give it to our own host.
_name, _definition = lang._rulesets.pop(_RULESET).define()
_host = _QuietHost()
_host.register_rulesets({_name: _definition})

RULE_IDS = frozenset(BY_ID)


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
