"""The Tortoise configuration for a database URL, shared by the server, the CLI and tests."""

from __future__ import annotations

from functools import lru_cache
from itertools import count
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

APP_LABEL = "fourway"
MIGRATIONS_MODULE = "migrations"


class DatabaseUrlError(ValueError):
    """DATABASE_URL names no database fourway can use."""


_POSTGRES_SCHEMES = ("postgres://", "postgresql://", "asyncpg://")


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(_POSTGRES_SCHEMES)


def check_database_url(database_url: str) -> None:
    """Raise DatabaseUrlError unless the URL is PostgreSQL or SQLite in an existing folder."""
    if database_url.startswith(_POSTGRES_SCHEMES):
        return
    if not database_url.startswith("sqlite://"):
        raise DatabaseUrlError(
            "DATABASE_URL must start with sqlite:// (a file) or postgres:// (asyncpg); "
            f"got {database_url.split('://')[0]!r}"
        )
    path = database_url.removeprefix("sqlite://").split("?")[0]
    if path != ":memory:" and not Path(path).resolve().parent.is_dir():
        raise DatabaseUrlError(
            f"the folder for the SQLite database {path!r} does not exist: create it first"
        )


def tortoise_config(database_url: str, *, pool_max_size: int = 10) -> dict[str, Any]:
    """Return Tortoise's config for ``database_url`` (``sqlite://`` or ``postgres://``)."""
    from tortoise.backends.base.config_generator import expand_db_url

    connection: dict[str, Any] = expand_db_url(database_url)
    if database_url.startswith(_POSTGRES_SCHEMES):
        connection["credentials"].setdefault("maxsize", pool_max_size)
    else:
        connection["engine"] = "models.sqlite"  # BEGIN IMMEDIATE: see models/sqlite.py
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": ["models"],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def apply_migrations(database_url: str) -> list[str]:
    """Apply pending migrations to ``database_url``; return the names applied, in order."""
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    check_database_url(database_url)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    try:
        await migrate(config=tortoise_config(database_url), progress=progress)
    finally:
        await Tortoise.close_connections()
    return applied


@lru_cache(maxsize=1)
def migration_names() -> tuple[str, ...]:
    """The migrations in migrations/, found as Tortoise's loader finds them, in order."""
    import pkgutil
    from importlib import import_module

    package = import_module(MIGRATIONS_MODULE)
    return tuple(
        sorted(
            name
            for _, name, is_package in pkgutil.iter_modules(package.__path__)
            if not is_package and name[0] not in "_~"
        )
    )


async def unapplied_migrations() -> list[str]:
    """The migrations of migrations/ that the open database has not applied, in order.

    Raises whatever the database raises when it does not answer a query at all.
    """
    from tortoise import Tortoise
    from tortoise.migrations.recorder import MigrationRecorder

    connection = Tortoise.get_connection("default")
    await connection.execute_query("SELECT 1")
    # The recorder reads its table, and reads "none applied" when there is no table yet.
    applied = {
        key.name
        for key in await MigrationRecorder(connection).applied_migrations()
        if key.app_label == APP_LABEL
    }
    return [name for name in migration_names() if name not in applied]


_sqlite_connections: WeakKeyDictionary[object, int] = WeakKeyDictionary()
_sqlite_serials = count(1)


async def data_version() -> str:
    """A text that changes whenever any commit to the open database becomes visible, from
    this process or any other; equal texts mean no commit became visible in between.

    Read it before reading the data: whatever is read afterwards reflects at least every
    commit the version reflects. One statement on the connection itself, bypassing the
    ORM (and its statement log).

    PostgreSQL: ``pg_current_snapshot()``, the transactions visible now (the next xid to
    be assigned and those still running). A commit either ends a transaction the snapshot
    listed as running or comes from one started since, which moved the next xid on; and
    a snapshot is made from the same record of running transactions that decides what a
    query sees, so a commit that has returned to its client is in every snapshot taken
    afterwards. xids belong to the whole server: commits in other databases change the
    version too (a miss, never a stale read). Read-only transactions take no xid and
    change nothing.

    SQLite: this process's one connection, what it has written (``total_changes``, every
    row inserted, updated or deleted through it, counted as it is written), and what the
    others have committed (``PRAGMA data_version``, which changes when another connection
    commits: ``fourway`` commands and other processes on the same file). Both are read
    under the connection's lock, which every transaction holds from its first statement
    to its commit, so neither is read in the middle of one of this process's transactions.
    A serial per connection object keeps a reconnected connection's counters (which start
    again at zero) from repeating an old version.
    """
    from tortoise import connections

    client = connections.get("default")
    if client.capabilities.dialect == "postgres":
        async with client.acquire_connection() as connection:
            return str(await connection.fetchval("SELECT pg_current_snapshot()::text"))
    async with client.acquire_connection() as connection:
        async with connection.execute("PRAGMA data_version") as cursor:
            row = await cursor.fetchone()
        changes = connection.total_changes
    serial = _sqlite_connections.get(connection)
    if serial is None:
        serial = _sqlite_connections[connection] = next(_sqlite_serials)
    return f"{serial}:{changes}:{row[0] if row else 0}"
