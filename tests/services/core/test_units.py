"""A unit of work locks an engagement once, takes any number of changes, evaluates once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tortoise import Tortoise

from models import (
    AuditEntry,
    DecisionTaken,
    Engagement,
    Event,
    Need,
    Person,
    Promise,
    Purchase,
)
from models.enums import EngagementFunction, EngagementStatus, OrganizationKind, Priority, Raci
from services.alerts.evaluation import Changed
from services.compensation.commission_plans import set_engagement_credits
from services.core.audit import COMMAND, acting_as
from services.core.errors import Invalid
from services.core.units import CrossedUnits, UnitFailed, changing, creating
from services.engagements.deals import approve_deal
from services.engagements.decisions import Refused
from services.engagements.engagements import (
    create_engagement,
    delete_engagement,
    evaluate_engagement,
    update_engagement,
)
from services.engagements.needs import create_need, delete_need
from services.engagements.promises import create_promise
from services.engagements.purchases import create_purchase, delete_purchase
from services.engagements.roles import create_role_assignment
from services.parties.organizations import create_organization
from services.parties.people import create_person, delete_person
from tests.conftest import requires_postgres
from tests.demo.evaluations import evaluations
from tests.support import QueryCounter, dump_database


async def _client(name: str = "Acme") -> int:
    return (await create_organization(name=name, kind=OrganizationKind.CLIENT)).id


async def _engagement(name: str = "Acme") -> int:
    return (
        await create_engagement(name="ERP", client_id=await _client(name), currency="EUR")
    ).record.id


async def _seller() -> int:
    """The salesperson of every promise here (made once per test)."""
    found = await Person.get_or_none(email="sam@northbeam.example")
    if found is not None:
        return found.id
    firm = await create_organization(name="Northbeam", kind=OrganizationKind.PROVIDER)
    made = await create_person(name="Sam", email="sam@northbeam.example", organization_id=firm.id)
    return made.id


async def _promise(engagement_id: int, item: str) -> Changed[Promise]:
    return await create_promise(
        engagement_id=engagement_id,
        item=item,
        description="Promised",
        quantity=Decimal(1),
        made_by_id=await _seller(),
    )


async def _add_items(engagement_id: int, *items: str) -> None:
    seller = await _seller()
    for item in items:
        await create_need(
            engagement_id=engagement_id, item=item, description="Wanted", priority=Priority.MUST
        )
        await create_promise(
            engagement_id=engagement_id,
            item=item,
            description="Promised",
            quantity=Decimal(1),
            made_by_id=seller,
        )
        await create_purchase(
            engagement_id=engagement_id,
            item=item,
            description="Bought",
            quantity=Decimal(1),
            amount=Decimal(100),
        )


async def _events(engagement_id: int, after: int = 0) -> list[str]:
    return [
        e.type
        for e in await Event.filter(engagement_id=engagement_id, sequence__gt=after).order_by(
            "sequence"
        )
    ]


async def _last_sequence(engagement_id: int) -> int:
    last = await Event.filter(engagement_id=engagement_id).order_by("-sequence").first()
    return 0 if last is None else int(last.sequence or 0)


async def test_many_changes_in_a_unit_are_evaluated_once_at_its_end(database_url):
    engagement_id = await _engagement()
    person = await create_person(
        name="Ann", email="ann@example.com", organization_id=await _client("Beta")
    )
    before = evaluations()

    async with changing(engagement_id) as change:
        await _add_items(engagement_id, "a", "b", "c")
        await create_role_assignment(
            engagement_id=engagement_id,
            person_id=person.id,
            function=EngagementFunction.SALES,
            raci=Raci.RESPONSIBLE,
        )
        await update_engagement(id=engagement_id, name="ERP rollout")
        assert evaluations() == before  # nothing is evaluated while the unit runs

    assert evaluations() - before == 1
    assert change.evaluations == 1
    engagement = await Engagement.get(id=engagement_id)
    assert engagement.name == "ERP rollout" and engagement.evaluated_at is not None
    assert await Need.filter(engagement_id=engagement_id).count() == 3


async def test_a_unit_announces_one_engagement_update_however_many_rows_it_wrote(database_url):
    engagement_id = await _engagement()
    after = await _last_sequence(engagement_id)

    async with changing(engagement_id) as change:
        await _add_items(engagement_id, "a", "b")

    written = await _events(engagement_id, after)
    assert written[0] == "engagement.updated"
    # Then what the evaluation did to the alerts, once each.
    assert all(kind.startswith("alert.") for kind in written[1:])
    assert written.count("alert.opened") == len(change.reconciled.opened) > 0
    assert written.count("alert.resolved") == len(change.reconciled.resolved)


async def test_a_standalone_change_is_a_unit_of_its_own(database_url):
    engagement_id = await _engagement()
    after = await _last_sequence(engagement_id)
    before = evaluations()

    changed = await _promise(engagement_id, "a")

    assert evaluations() - before == 1
    assert "overselling" in {a.rule_id for a in changed.alerts.opened}
    assert await _events(engagement_id, after) == ["engagement.updated"] + ["alert.opened"] * len(
        changed.alerts.opened
    )


async def test_a_change_joined_to_a_larger_unit_reports_no_alerts_of_its_own(database_url):
    engagement_id = await _engagement()

    async with changing(engagement_id) as change:
        joined = await _promise(engagement_id, "a")
        assert joined.alerts.opened == ()

    assert "overselling" in {a.rule_id for a in change.reconciled.opened}


async def test_a_unit_joined_on_the_same_engagement_is_the_same_unit(database_url):
    engagement_id = await _engagement()
    before = evaluations()

    async with changing(engagement_id) as outer:
        async with changing(engagement_id) as inner:
            assert inner is outer
            await _add_items(engagement_id, "a")
        assert evaluations() == before

    assert evaluations() - before == 1


async def test_a_unit_on_another_engagement_inside_a_unit_is_refused(database_url):
    first, second = await _engagement("Acme"), await _engagement("Beta")

    with pytest.raises(CrossedUnits, match=f"engagement {second}.*inside the unit of engagement"):
        async with changing(first):
            await _add_items(second, "a")
    with pytest.raises(CrossedUnits):
        async with changing(first):
            await create_engagement(name="Other", client_id=await _client("Gamma"), currency="EUR")

    assert not await Need.all().exists()
    assert await Engagement.all().count() == 2


async def test_a_failing_unit_leaves_nothing_behind(database_url):
    engagement_id = await _engagement()
    await _add_items(engagement_id, "a")
    before, evaluated = await dump_database(), evaluations()

    with pytest.raises(Invalid):
        async with changing(engagement_id):
            await _add_items(engagement_id, "b", "c")
            await update_engagement(id=engagement_id, name="Renamed")
            await create_purchase(
                engagement_id=engagement_id,
                item="d",
                description="Bought",
                quantity=Decimal(1),
                amount=Decimal(-5),
            )

    # No rows, no audit entries, no events, and no evaluation.
    assert await dump_database() == before
    assert evaluations() == evaluated


def _inserts_into(table: str, counted: QueryCounter) -> int:
    return sum(1 for s in counted.statements if s.startswith(f'INSERT INTO "{table}"'))


async def test_a_unit_writes_its_audit_entries_with_one_insert_in_the_order_recorded(
    database_url,
):
    engagement_id = await _engagement()
    await _seller()
    first = await AuditEntry.all().order_by("-id").first()
    after = 0 if first is None else first.id

    with QueryCounter() as counted, acting_as(COMMAND):
        async with changing(engagement_id):
            await _add_items(engagement_id, "a", "b", "c")
            await update_engagement(id=engagement_id, name="ERP rollout")

    assert _inserts_into("audit_entry", counted) == 1
    entries = await AuditEntry.filter(id__gt=after).order_by("id")
    assert [e.action for e in entries] == [
        *["need.created", "promise.created", "purchase.created"] * 3,
        "engagement.updated",
    ]
    assert {e.actor_kind for e in entries} == {"COMMAND"}
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert entries[-1].changed_fields == ["name"]
    assert entries[0].after is not None and entries[0].after["item"] == "a"


async def test_a_change_outside_a_unit_writes_its_audit_entry_at_once(database_url):
    engagement_id = await _engagement()
    await _seller()

    with QueryCounter() as counted:
        await _add_items(engagement_id, "a")

    # Each use case alone is a unit of one change: one entry, one INSERT, each.
    assert _inserts_into("audit_entry", counted) == 3
    created = AuditEntry.filter(engagement_id=engagement_id, action__endswith=".created")
    assert await created.count() == 4  # the engagement's own, and one per row


async def test_a_unit_that_rolls_back_writes_no_audit_entries(database_url):
    engagement_id = await _engagement()
    await _seller()
    before = await AuditEntry.all().count()

    with QueryCounter() as counted, pytest.raises(RuntimeError, match="changed my mind"):
        async with changing(engagement_id):
            await _add_items(engagement_id, "a", "b")
            raise RuntimeError("changed my mind")

    assert _inserts_into("audit_entry", counted) == 0
    assert await AuditEntry.all().count() == before


async def test_a_unit_writes_the_decisions_it_took_with_one_insert_before_evaluating(
    database_url,
):
    engagement_id = await _engagement()
    seller = await _seller()

    with QueryCounter() as counted:
        async with changing(engagement_id) as change:
            for item in ("a", "b", "c"):
                await create_promise(
                    engagement_id=engagement_id,
                    item=item,
                    description="Promised",
                    quantity=Decimal(1),
                    made_by_id=seller,
                    delivery_signoff_by_id=seller,
                    delivery_signoff_at=datetime(2026, 1, 5, tzinfo=UTC),
                )

    assert _inserts_into("decision_taken", counted) == 1
    # Written before the evaluation read them (it reads decisions taken on the engagement).
    written = counted.statements.index(
        next(s for s in counted.statements if s.startswith('INSERT INTO "decision_taken"'))
    )
    read = counted.statements.index(
        next(s for s in counted.statements if s.startswith("SELECT") and "decision_taken" in s)
    )
    assert written < read
    assert change.evaluations == 1
    taken = await DecisionTaken.filter(engagement_id=engagement_id).order_by("id")
    promises = await Promise.filter(engagement_id=engagement_id).order_by("id")
    assert [t.subject_id for t in taken] == [p.id for p in promises]
    assert {t.decision for t in taken} == {"sign-off-delivery"}


async def test_a_unit_looks_up_each_person_its_rows_name_once(database_url):
    engagement_id = await _engagement()
    seller = await _seller()

    with QueryCounter() as counted:
        async with changing(engagement_id):
            await _add_items(engagement_id, "a", "b", "c")

    person_lookups = [s for s in counted.statements if s.startswith('SELECT 1 FROM "person"')]
    assert len(person_lookups) == 1
    assert await Promise.filter(engagement_id=engagement_id, made_by_id=seller).count() == 3


async def test_a_person_deleted_inside_a_unit_is_looked_up_anew(database_url):
    engagement_id = await _engagement()
    client = await _client("Beta")
    gone = await create_person(name="Gone", email="gone@example.com", organization_id=client)

    with pytest.raises(UnitFailed):
        async with changing(engagement_id):
            need = await create_need(
                engagement_id=engagement_id,
                item="a",
                description="Wanted",
                priority=Priority.MUST,
                raised_by_id=gone.id,
            )
            await delete_need(id=need.record.id)
            await delete_person(id=gone.id)
            with pytest.raises(Invalid, match="No person with this id"):
                await create_need(
                    engagement_id=engagement_id,
                    item="b",
                    description="Wanted",
                    priority=Priority.MUST,
                    raised_by_id=gone.id,
                )

    assert await Person.filter(id=gone.id).exists()


async def test_an_error_raised_by_the_caller_inside_a_unit_rolls_it_back_too(database_url):
    engagement_id = await _engagement()
    before = await dump_database()

    with pytest.raises(RuntimeError, match="changed my mind"):
        async with changing(engagement_id):
            await _add_items(engagement_id, "a")
            raise RuntimeError("changed my mind")

    assert await dump_database() == before


async def test_a_change_that_fails_inside_a_unit_fails_the_unit_even_when_caught(database_url):
    engagement_id = await _engagement()
    await _seller()
    before, evaluated = await dump_database(), evaluations()

    with pytest.raises(UnitFailed, match="ISO 4217 currency code"):
        async with changing(engagement_id) as change:
            await _add_items(engagement_id, "a")
            with pytest.raises(Invalid):
                await update_engagement(id=engagement_id, name="Renamed", currency="nope")
            # The unit takes no further change once one failed.
            with pytest.raises(UnitFailed, match="An earlier change in this unit failed"):
                await _add_items(engagement_id, "b")

    assert isinstance(change.failed, Invalid)
    assert await dump_database() == before
    assert evaluations() == evaluated


async def test_a_unit_checks_a_decision_again_once_credits_or_roles_change(database_url):
    engagement_id = await _engagement()
    seller = await _seller()
    await create_role_assignment(
        engagement_id=engagement_id,
        person_id=seller,
        function=EngagementFunction.SALES,
        raci=Raci.RESPONSIBLE,
    )

    def signed_off_by_seller(item: str) -> Awaitable[Changed[Promise]]:
        return create_promise(
            engagement_id=engagement_id,
            item=item,
            description="Promised",
            quantity=Decimal(1),
            made_by_id=seller,
            delivery_signoff_by_id=seller,
            delivery_signoff_at=datetime(2026, 1, 5, tzinfo=UTC),
        )

    with pytest.raises(UnitFailed):
        async with changing(engagement_id):
            await signed_off_by_seller("a")
            await set_engagement_credits(
                engagement_id=engagement_id,
                credits=[{"person_id": seller, "split_pct": Decimal(1)}],
            )
            # Credited on the sale now, the seller may no longer sign its scope off.
            with pytest.raises(Refused, match="conflict of interest"):
                await signed_off_by_seller("b")

    assert not await Promise.all().exists()


async def test_a_unit_that_moves_the_status_announces_one_move_from_where_it_began(database_url):
    engagement_id = await _engagement()
    after = await _last_sequence(engagement_id)

    async with changing(engagement_id):
        await _add_items(engagement_id, "a")
        await approve_deal(engagement_id=engagement_id, note="Approved for the test")
        await update_engagement(id=engagement_id, status=EngagementStatus.DELIVERING)

    written = await Event.filter(engagement_id=engagement_id, sequence__gt=after).order_by(
        "sequence"
    )
    types = [e.type for e in written]
    assert types[:2] == ["engagement.updated", "engagement.status_changed"]
    assert types.count("engagement.status_changed") == 1
    moved = json.loads(written[1].body)["data"]
    assert moved["object"]["status"] == "DELIVERING"
    assert moved["previous_attributes"] == {"status": "PROPOSED"}
    # That the deal was approved is heard after the change it made.
    assert types[-1] == "engagement.deal_approved"


async def test_an_engagement_created_and_filled_in_one_unit_is_evaluated_once(database_url):
    client_id = await _client()
    before = evaluations()

    async with creating() as change:
        engagement = (
            await create_engagement(name="ERP", client_id=client_id, currency="EUR")
        ).record
        await _add_items(engagement.id, "a", "b")

    assert evaluations() - before == 1
    types = await _events(engagement.id)
    assert types[0] == "engagement.created"
    assert "engagement.updated" not in types
    assert len(change.reconciled.opened) == types.count("alert.opened") > 0


async def test_a_unit_whose_engagement_is_deleted_evaluates_nothing(database_url):
    engagement_id = await _engagement()
    await _add_items(engagement_id, "a")
    purchase = await Purchase.get(item="a")
    before = evaluations()

    async with changing(engagement_id):
        await delete_purchase(id=purchase.id)
        await delete_engagement(id=engagement_id)

    assert evaluations() == before
    assert not await Engagement.filter(id=engagement_id).exists()
    assert (await _events(engagement_id))[-1] == "engagement.deleted"


async def test_an_evaluation_asked_for_inside_a_unit_is_not_repeated_at_its_end(database_url):
    engagement_id = await _engagement()
    await _add_items(engagement_id, "a")
    before = evaluations()

    await evaluate_engagement(id=engagement_id)

    assert evaluations() - before == 1


async def test_concurrent_units_on_one_engagement_take_turns(database_url):
    engagement_id = await _engagement()
    seen: list[tuple[int, int]] = []

    async def unit(n: int) -> None:
        async with changing(engagement_id):
            start = await Need.filter(engagement_id=engagement_id).count()
            await _add_items(engagement_id, *(f"u{n}-{i}" for i in range(3)))
            seen.append((start, await Need.filter(engagement_id=engagement_id).count()))

    before = evaluations()
    await asyncio.gather(*(unit(n) for n in range(8)))

    # Each unit saw the engagement as the previous one left it, and nobody else's rows.
    assert sorted(seen) == [(3 * n, 3 * n + 3) for n in range(8)]
    assert evaluations() - before == 8
    rows = await Event.filter(engagement_id=engagement_id).order_by("id")
    assert [e.sequence for e in rows] == list(range(1, len(rows) + 1))
    assert [e.type for e in rows].count("engagement.updated") == 8


@requires_postgres
async def test_a_unit_holds_the_row_lock_from_its_start_to_its_commit(database_url):
    engagement_id = await _engagement()
    entered, wrote, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with changing(engagement_id):
            entered.set()
            await _add_items(engagement_id, "a")
            wrote.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    other = await Tortoise.get_connection("default")._pool.acquire()
    try:
        for moment in (entered, wrote):
            await moment.wait()
            with pytest.raises(Exception, match="could not obtain lock"):
                await other.execute(
                    "SELECT id FROM engagement WHERE id = $1 FOR UPDATE NOWAIT", engagement_id
                )
        release.set()
        await holder
        rows = await other.fetch(
            "SELECT id FROM engagement WHERE id = $1 FOR UPDATE NOWAIT", engagement_id
        )
        assert [r["id"] for r in rows] == [engagement_id]
    finally:
        release.set()  # a failure above must not leave the unit open
        await holder
        await Tortoise.get_connection("default")._pool.release(other)


@requires_postgres
async def test_a_change_waits_for_the_unit_holding_its_engagement(database_url):
    engagement_id = await _engagement()
    release = asyncio.Event()
    entered = asyncio.Event()

    async def hold() -> None:
        async with changing(engagement_id):
            await _add_items(engagement_id, "a")
            entered.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await entered.wait()
        waiting = asyncio.create_task(
            create_need(
                engagement_id=engagement_id, item="b", description="x", priority=Priority.MUST
            )
        )
        # The change queues for the row lock: PostgreSQL shows a backend waiting on it.
        while not waiting.done() and not await _someone_waits_for_a_lock():
            await asyncio.sleep(0.01)
        assert not waiting.done()
    finally:
        release.set()  # a failure above must not leave the unit open
        await holder
    await waiting
    needs = await Need.filter(engagement_id=engagement_id).order_by("id")
    assert [n.item for n in needs] == ["a", "b"]


async def _someone_waits_for_a_lock() -> bool:
    rows = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT count(*) AS n FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    return bool(rows[0]["n"])
