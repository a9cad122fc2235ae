"""Test fixtures: a real database (SQLite file, or PostgreSQL when asked), migrated for real.

The suite runs on SQLite by default. To run it on PostgreSQL, point
FOURWAY_TEST_DATABASE_URL at a database it may drop and recreate, for example
``FOURWAY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/fourway_test``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise

from models.db import apply_migrations, tortoise_config
from services.access.api_keys import create_api_key
from settings import Settings, get_settings
from tests.receiver import Receiver
from tests.support import GraphQLClient, http_as, recreate_postgres_database

TEST_DATABASE_URL = os.environ.get("FOURWAY_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql://"))
POSTGRES_SKIP_REASON = (
    "needs PostgreSQL: set FOURWAY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/"
    "fourway_test (a database the tests may drop and recreate)"
)
requires_postgres = pytest.mark.skipif(not ON_POSTGRES, reason=POSTGRES_SKIP_REASON)


def _tables() -> list[str]:
    """Every table the models define: the ORM says which, so a new model is reset too."""
    return sorted(model._meta.db_table for model in Tortoise.apps["fourway"].values())


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A freshly migrated database for the whole session, with Tortoise initialised on it."""
    if ON_POSTGRES:
        url = TEST_DATABASE_URL
        await recreate_postgres_database(url)
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'fourway.db'}"
    await apply_migrations(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    yield url
    await Tortoise.close_connections()


async def _empty() -> None:
    """Every table emptied, its ids starting over."""
    connection = Tortoise.get_connection("default")
    if ON_POSTGRES:
        await connection.execute_script(f"TRUNCATE {', '.join(_tables())} RESTART IDENTITY CASCADE")
    else:
        # In any order: the foreign keys are not checked while the tables are emptied.
        await connection.execute_script(
            "PRAGMA foreign_keys = OFF;"
            + "".join(f'DELETE FROM "{t}";' for t in _tables())
            + "DELETE FROM sqlite_sequence;PRAGMA foreign_keys = ON;"
        )


async def _row_counts() -> dict[str, int]:
    """How many rows each table holds, in one statement."""
    rows = await Tortoise.get_connection("default").execute_query_dict(
        " UNION ALL ".join(
            f'SELECT \'{t}\' AS "table", COUNT(*) AS "rows" FROM "{t}"' for t in _tables()
        )
    )
    return {str(row["table"]): int(row["rows"]) for row in rows}


class SharedRows:
    """Rows that a module's read-only tests share (see the ``shared_rows`` fixture): what
    made them, what it returned, and how many rows each table held once they were made."""

    def __init__(self) -> None:
        self.made_by: Callable[[], Awaitable[Any]] | None = None
        self.made: Any = None
        self.counts: dict[str, int] = {}

    async def get(self, make: Callable[[], Awaitable[Any]]) -> Any:
        """What ``make`` returned when it filled the empty tables: made now unless the
        tables still hold its rows from an earlier test."""
        if self.made_by is not make:
            await self.drop()
            self.made = await make()
            self.made_by = make
            self.counts = await _row_counts()
        return self.made

    async def drop(self) -> None:
        """Empty the tables if they hold shared rows."""
        if self.made_by is not None:
            self.made_by, self.made, self.counts = None, None, {}
            await _empty()

    async def check_unchanged(self, test: str) -> None:
        """Fail ``test`` if it added or removed shared rows (dropping them, so that the
        next test gets them anew); if it shared none, empty the tables as after any test."""
        if self.made_by is None:
            await _empty()
        elif await _row_counts() != self.counts:
            await self.drop()
            pytest.fail(f"{test} changed the rows its module shares: give it rows of its own")


_SHARED = SharedRows()


@pytest.fixture(scope="module")
async def shared_rows(database_url: str) -> AsyncIterator[SharedRows]:
    """For tests that only read: rows made once (``await shared_rows.get(make)``) and kept
    from one such test of the module to the next, instead of made for each and emptied
    after it. A test that does not ask for this fixture starts from empty tables as ever
    (the shared rows are emptied before it, and made again when a later test asks); the
    module starts and ends on empty tables. A test that asks for it must leave the rows
    as it found them: one that adds or deletes a row fails."""
    await _SHARED.drop()
    yield _SHARED
    await _SHARED.drop()


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Each test that touches the database starts from empty tables, or from the rows its
    module shares if it asks for them (``shared_rows``)."""
    if "database_url" not in request.fixturenames:
        yield
        return
    if "shared_rows" in request.fixturenames:
        yield
        await _SHARED.check_unchanged(request.node.nodeid)
        return
    await _SHARED.drop()
    yield
    await _empty()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Within each module, the tests that share its rows run first, one after another,
    so that the rows are made once; the order is otherwise kept."""
    modules: dict[str, int] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], len(modules))
    items.sort(
        key=lambda item: (
            modules[item.nodeid.split("::")[0]],
            "shared_rows" not in getattr(item, "fixturenames", ()),
        )
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, debug=False)


@pytest.fixture
async def admin_key(database_url: str) -> str:
    """An ADMIN API key, made for the test."""
    return (await create_api_key(name="tests", role="ADMIN")).key


@pytest.fixture
async def client(settings: Settings, admin_key: str) -> AsyncIterator[GraphQLClient]:
    """A GraphQL client talking to the real ASGI app in process, as an ADMIN."""
    async with http_as(settings, admin_key) as http:
        yield GraphQLClient(http)


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook endpoints on 127.0.0.1 are allowed, as the tests' receivers are there."""
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)


@pytest.fixture
async def receiver(database_url: str, loopback: None) -> AsyncIterator[Receiver]:
    """A real webhook receiver on a loopback port (see tests.receiver)."""
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def pytest_report_header(config: Any) -> str:
    backend = "PostgreSQL" if ON_POSTGRES else "SQLite"
    return f"fourway database: {backend}" + ("" if ON_POSTGRES else f" ({POSTGRES_SKIP_REASON})")
