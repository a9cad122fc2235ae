"""Test fixtures: a real database (SQLite file, or PostgreSQL when asked), migrated for real.

The suite runs on SQLite by default. To run it on PostgreSQL, point
FOURWAY_TEST_DATABASE_URL at a database it may drop and recreate, for example
``FOURWAY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/fourway_test``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
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


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Each test that touches the database starts from empty tables."""
    if "database_url" not in request.fixturenames:
        yield
        return
    yield
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
