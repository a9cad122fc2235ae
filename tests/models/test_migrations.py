"""The migrations in migrations/ build exactly the schema the models describe.

Two checks, each able to fail on a model change made without its migration: Tortoise's
autodetector finds nothing to write, and a database built by applying the migrations
has the same tables, columns, indexes and foreign keys as one built from the models.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from models.db import tortoise_config
from tests.conftest import ON_POSTGRES
from tests.support import recreate_postgres_database

RECORDER_TABLES = {"tortoise_migrations"}


async def test_the_autodetector_finds_no_model_change_without_a_migration():
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config, init_connections=False)
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
    assert [w.name for w in writers] == [], "run makemigrations: models and migrations differ"


async def _sqlite_schema(connection: Any) -> dict[str, Any]:
    tables = [
        row["name"]
        for row in await connection.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    schema: dict[str, Any] = {}
    for table in sorted(set(tables) - RECORDER_TABLES):
        columns = {
            c["name"]: (c["type"].upper(), bool(c["notnull"]), bool(c["pk"]))
            for c in await connection.execute_query_dict(f'PRAGMA table_info("{table}")')
        }
        indexes = set()
        for index in await connection.execute_query_dict(f'PRAGMA index_list("{table}")'):
            cols = await connection.execute_query_dict(f'PRAGMA index_info("{index["name"]}")')
            indexes.add((tuple(c["name"] for c in cols), bool(index["unique"])))
        keys = {
            (k["from"], k["table"], k["to"], k["on_delete"])
            for k in await connection.execute_query_dict(f'PRAGMA foreign_key_list("{table}")')
        }
        schema[table] = {"columns": columns, "indexes": indexes, "foreign_keys": keys}
    return schema


async def _postgres_schema(connection: Any) -> dict[str, Any]:
    columns = await connection.execute_query_dict(
        "SELECT table_name, column_name, data_type, character_maximum_length, "
        "numeric_precision, numeric_scale, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = 'public'"
    )
    indexes = await connection.execute_query_dict(
        "SELECT t.relname AS table_name, ix.indisunique AS is_unique, "
        "array_agg(a.attname::text ORDER BY array_position(ix.indkey::int2[], a.attnum)) AS cols "
        "FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(ix.indkey) "
        "WHERE n.nspname = 'public' GROUP BY t.relname, ix.indexrelid, ix.indisunique"
    )
    keys = await connection.execute_query_dict(
        "SELECT conrelid::regclass::text AS table_name, pg_get_constraintdef(oid) AS definition "
        "FROM pg_constraint WHERE contype = 'f'"
    )
    schema: dict[str, Any] = {}
    for c in columns:
        if c["table_name"] in RECORDER_TABLES:
            continue
        table = schema.setdefault(
            c["table_name"], {"columns": {}, "indexes": set(), "foreign_keys": set()}
        )
        default = c["column_default"]
        # Sequence names follow the table; only whether a column has one matters.
        default = "nextval" if default and default.startswith("nextval") else default
        table["columns"][c["column_name"]] = (
            c["data_type"],
            c["character_maximum_length"],
            c["numeric_precision"],
            c["numeric_scale"],
            c["is_nullable"],
            default,
        )
    for i in indexes:
        if i["table_name"] in schema:
            schema[i["table_name"]]["indexes"].add((tuple(i["cols"]), i["is_unique"]))
    for k in keys:
        if k["table_name"] in schema:
            schema[k["table_name"]]["foreign_keys"].add(k["definition"])
    return schema


async def _schema_of(url: str, *, from_models: bool) -> dict[str, Any]:
    """Introspect the database at ``url``; first build it from the models if asked."""
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(url))
        if from_models:
            await ctx.generate_schemas(safe=False)
        connection = ctx.connections.get("default")
        read = _postgres_schema if ON_POSTGRES else _sqlite_schema
        schema = await read(connection)
        await ctx.connections.close_all()
    return schema


def _sibling_url(url: str, suffix: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path}{suffix}"))


async def test_applied_migrations_build_the_schema_the_models_describe(database_url, tmp_path):
    if ON_POSTGRES:
        from_models_url = _sibling_url(database_url, "_from_models")
        await recreate_postgres_database(from_models_url)
    else:
        from_models_url = f"sqlite://{tmp_path / 'from_models.db'}"
    try:
        migrated = await _schema_of(database_url, from_models=False)
        described = await _schema_of(from_models_url, from_models=True)
    finally:
        if ON_POSTGRES:
            await _drop_postgres_database(from_models_url)
    assert set(migrated) == set(described)
    for table in described:
        assert migrated[table] == described[table], f"table {table} differs"
    assert "promise" in migrated and "quoted_amount" in migrated["promise"]["columns"]


async def _drop_postgres_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await connection.close()


def test_no_model_docstring_breaks_the_sqlite_migration_script():
    # Docstrings become table comments, and the SQLite runner splits its script on ";".
    import models

    for name in models.__all__:
        doc = getattr(models, name).__doc__ or ""
        assert not set(doc) & {";", "'", '"'}, f"{name}'s docstring holds ; or a quote"


async def _migrate(url: str, *, target: str | None = None) -> None:
    """Apply the migrations to ``url`` (up to ``target``, else all) without touching the
    session's own connections."""
    from tortoise.migrations.api import migrate

    async with TortoiseContext():
        await migrate(config=tortoise_config(url), target=target)


async def _rows(url: str, query: str, *, script: str | None = None) -> list[dict[str, Any]]:
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(url))
        connection = ctx.connections.get("default")
        if script is not None:
            await connection.execute_script(script)
        rows: list[dict[str, Any]] = await connection.execute_query_dict(query)
        await ctx.connections.close_all()
    return rows


async def test_events_written_before_sequences_are_numbered_per_engagement(database_url, tmp_path):
    if ON_POSTGRES:
        url = _sibling_url(database_url, "_before_sequences")
        await recreate_postgres_database(url)
    else:
        url = f"sqlite://{tmp_path / 'before_sequences.db'}"
    try:
        await _migrate(url, target="fourway.0008_audit_log")
        # As 0008 wrote them: engagements 7 and 9 interleaved, and a test event on none.
        old = [(1, 7, "alert.opened"), (2, 9, "engagement.updated"), (3, None, "webhook.test")]
        old += [(4, 7, "alert.resolved"), (5, 7, "engagement.deleted")]
        values = ", ".join(
            f"({pk}, 'evt_{pk}', '{type}', '2026-11-26 09:00:00+00:00', "
            f"{'NULL' if engagement is None else engagement}, "
            f"""'{{"id":"evt_{pk}","type":"{type}","occurred_at":"2026-11-26T09:00:00+00:00","""
            f""""data":{{"object":{{"id":"x{pk}"}}}}}}')"""
            for pk, engagement, type in old
        )
        await _rows(
            url,
            "SELECT 1",
            script=f"INSERT INTO event (id, uid, type, occurred_at, engagement_id, body) "
            f"VALUES {values}",
        )
        await _migrate(url)
        rows = await _rows(url, "SELECT id, engagement_id, sequence, body FROM event ORDER BY id")
    finally:
        if ON_POSTGRES:
            await _drop_postgres_database(url)
    assert [(r["id"], r["sequence"]) for r in rows] == [(1, 1), (2, 1), (3, None), (4, 2), (5, 3)]
    for row in rows:
        body = json.loads(row["body"])
        # The body subscribers get says it too, in the order of the contract.
        assert list(body) == ["id", "type", "occurred_at", "sequence", "data"]
        assert body["sequence"] == row["sequence"]
        assert body["data"] == {"object": {"id": f"x{row['id']}"}}


async def test_signals_written_as_whole_figures_become_changes_in_pay(database_url, tmp_path):
    """Before 0011 an entry carried the whole figure of its kind and replaced the last;
    after it, each person's entries add up to what the sale pays them and to what is held,
    and each plan's terms are its first version, in force for every sale already made."""
    if ON_POSTGRES:
        url = _sibling_url(database_url, "_before_ledger")
        await recreate_postgres_database(url)
    else:
        url = f"sqlite://{tmp_path / 'before_ledger.db'}"
    at = "'2026-10-05 09:00:00+00:00'"
    # Sam: booked 4000, corrected to 3000, held 3000, released, adjusted by -1500 then -1200.
    # Ada: booked 1000, then no longer credited (0).
    old = [
        (1, 1, "BOOKED", "4000"),
        (2, 1, "BOOKED", "3000"),
        (3, 1, "HELD", "3000"),
        (4, 2, "BOOKED", "1000"),
        (5, 1, "RELEASED", "3000"),
        (6, 1, "ADJUSTED", "-1500"),
        (7, 2, "BOOKED", "0"),
        (8, 1, "ADJUSTED", "-1200"),
    ]
    signals = ", ".join(
        f"({pk}, {at}, {at}, '{kind}', 1, {person}, '2026-10', 'EUR', 100000, 70000, 30000, "
        f"0.3, 0.1, 1, {amount}, 'old', '[]', '[]', 'k{pk}', 1)"
        for pk, person, kind, amount in old
    )
    script = (
        f"INSERT INTO organization (id, created_at, updated_at, name, kind) VALUES "
        f"(1, {at}, {at}, 'Acme', 'CLIENT');"
        f"INSERT INTO person (id, created_at, updated_at, name, email, organization_id) VALUES "
        f"(1, {at}, {at}, 'Sam', 'sam@x.example', 1), (2, {at}, {at}, 'Ada', 'ada@x.example', 1);"
        f"INSERT INTO engagement (id, created_at, updated_at, name, client_id, status, in_house, "
        f"currency, decision_model, thresholds) VALUES "
        f"(1, {at}, {at}, 'ERP', 1, 'SOLD', false, 'EUR', 'AUTHORITY', '{{}}');"
        f"INSERT INTO commission_plan (id, created_at, updated_at, name, rate_on_margin, "
        f"margin_floor_pct, hold_rules, hold_severities, reducing_attributions, "
        f"clawback_window_days, is_default) VALUES (1, {at}, {at}, 'Standard', 0.1, 0.2, "
        f"'[\"free-work\"]', '[\"CRITICAL\"]', '[\"SALES_UNDERESTIMATE\"]', 90, true);"
        f"INSERT INTO compensation_signal (id, created_at, updated_at, kind, engagement_id, "
        f"salesperson_id, period, currency, revenue, cost, margin, margin_pct, rate, split, "
        f"amount, reason, attribution, evidence, idempotency_key, plan_id) VALUES {signals}"
    )
    try:
        await _migrate(url, target="fourway.0010_signal_plan")
        await _rows(url, "SELECT 1", script=script)
        await _migrate(url)
        rows = await _rows(
            url,
            "SELECT id, salesperson_id, kind, amount, plan_version_id FROM compensation_signal "
            "ORDER BY id",
        )
        versions = await _rows(
            url,
            "SELECT plan_id, version, effective_from, rate_on_margin, hold_rules, "
            "clawback_window_days FROM commission_plan_version",
        )
    finally:
        if ON_POSTGRES:
            await _drop_postgres_database(url)
    changes = [(r["id"], r["kind"], Decimal(str(r["amount"]))) for r in rows]
    assert changes == [
        (1, "BOOKED", Decimal(4000)),
        (2, "BOOKED", Decimal(-1000)),
        (3, "HELD", Decimal(3000)),
        (4, "BOOKED", Decimal(1000)),
        (5, "RELEASED", Decimal(3000)),
        (6, "ADJUSTED", Decimal(-1500)),
        (7, "BOOKED", Decimal(-1000)),
        (8, "ADJUSTED", Decimal(300)),
    ]

    def owed(person: int) -> Decimal:
        return sum(
            (
                a
                for (pk, kind, a), r in zip(changes, rows, strict=True)
                if r["salesperson_id"] == person and kind in ("BOOKED", "ADJUSTED")
            ),
            Decimal(0),
        )

    # What the old figures meant: Sam's latest booking plus latest adjustment; Ada nothing.
    assert (owed(1), owed(2)) == (Decimal(1800), Decimal(0))
    [version] = versions
    assert (version["plan_id"], version["version"], version["clawback_window_days"]) == (1, 1, 90)
    assert str(version["effective_from"]).startswith("1970-01-01")
    hold_rules = version["hold_rules"]
    assert (json.loads(hold_rules) if isinstance(hold_rules, str) else hold_rules) == ["free-work"]
    assert {r["plan_version_id"] for r in rows} == {1}


async def test_engagements_sold_before_approvals_count_as_approved_by_the_system(
    database_url, tmp_path
):
    if ON_POSTGRES:
        url = _sibling_url(database_url, "_before_approvals")
        await recreate_postgres_database(url)
    else:
        url = f"sqlite://{tmp_path / 'before_approvals.db'}"
    at = "'2026-10-05 09:00:00+00:00'"
    script = (
        f"INSERT INTO organization (id, created_at, updated_at, name, kind) VALUES "
        f"(1, {at}, {at}, 'Acme', 'CLIENT');"
        f"INSERT INTO engagement (id, created_at, updated_at, name, client_id, status, in_house, "
        f"currency, decision_model, thresholds) VALUES "
        f"(1, {at}, {at}, 'Sold', 1, 'SOLD', false, 'EUR', 'AUTHORITY', '{{}}'), "
        f"(2, {at}, {at}, 'Closed', 1, 'CLOSED', false, 'EUR', 'AUTHORITY', '{{}}'), "
        f"(3, {at}, {at}, 'Proposed', 1, 'PROPOSED', false, 'EUR', 'AUTHORITY', '{{}}');"
    )
    try:
        await _migrate(url, target="fourway.0011_ledger")
        await _rows(url, "SELECT 1", script=script)
        await _migrate(url)
        rows = await _rows(
            url,
            "SELECT engagement_id, person_id, function, key_id, note FROM deal_approval "
            "ORDER BY engagement_id",
        )
        # 0013: engagements made before it answer for no function themselves.
        own = await _rows(url, "SELECT required_functions FROM engagement ORDER BY id")
    finally:
        if ON_POSTGRES:
            await _drop_postgres_database(url)
    before = "the system, before approvals existed"
    assert [dict(r) for r in rows] == [
        {"engagement_id": 1, "person_id": None, "function": None, "key_id": None, "note": before},
        {"engagement_id": 2, "person_id": None, "function": None, "key_id": None, "note": before},
    ]
    assert [
        json.loads(r["required_functions"])
        if isinstance(r["required_functions"], str)
        else r["required_functions"]
        for r in own
    ] == [{}, {}, {}]
