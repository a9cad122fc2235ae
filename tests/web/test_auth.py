"""API keys: every request to /graphql and /exports needs a live one; keys are made, listed
and revoked with `fourway apikey`, stored hashed, and the first is made on first start."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from models import ApiKey
from services.access.api_keys import authenticate, create_api_key, first_admin_key, revoke_api_key
from tests.conftest import ON_POSTGRES
from tests.processes import run_fourway
from web.app import create_app
from web.auth import key_from_connection_params

QUERY = {"query": "{ __typename }"}


@pytest.fixture
async def http(settings):
    app = create_app(settings, manage_database=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fourway.test"
    ) as client:
        yield client


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _unauthenticated(response: httpx.Response) -> str:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="fourway"'
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert "data" not in response.json()
    return str(error["message"])


async def test_a_request_without_a_key_is_unauthenticated(http):
    assert "Authorization: Bearer" in _unauthenticated(await http.post("/graphql", json=QUERY))
    assert _unauthenticated(await http.get("/graphql", params=QUERY))
    assert _unauthenticated(
        await http.get("/exports/compensation.csv", params={"period": "2026-11"})
    )
    basic = await http.post("/graphql", json=QUERY, headers={"Authorization": "Basic eDp5"})
    assert _unauthenticated(basic)


@pytest.mark.parametrize(
    "key",
    [
        "fw_abcdefgh_not-the-secret",
        "fw_short_x",
        "fw_abcdefgh_",
        "not-a-fourway-key",
        "fw_" + "a" * 2000,
    ],
)
async def test_an_unknown_or_malformed_key_is_unauthenticated(http, key):
    await create_api_key(name="real", role="ADMIN")
    message = _unauthenticated(await http.post("/graphql", json=QUERY, headers=_bearer(key)))
    assert message == "The API key is unknown, revoked or expired."


async def test_a_live_key_gets_in_and_a_revoked_or_expired_one_does_not(http):
    live = await create_api_key(name="live", role="VIEWER")
    ok = await http.post("/graphql", json=QUERY, headers=_bearer(live.key))
    assert ok.status_code == 200 and ok.json()["data"] == {"__typename": "Query"}

    await revoke_api_key(prefix=live.api_key.prefix)
    _unauthenticated(await http.post("/graphql", json=QUERY, headers=_bearer(live.key)))

    expired = await create_api_key(
        name="old", role="VIEWER", expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    _unauthenticated(await http.post("/graphql", json=QUERY, headers=_bearer(expired.key)))
    later = await create_api_key(
        name="new", role="VIEWER", expires_at=datetime.now(UTC) + timedelta(days=1)
    )
    assert (await http.post("/graphql", json=QUERY, headers=_bearer(later.key))).status_code == 200


async def test_a_trusted_key_revoked_in_this_process_is_refused_at_once(settings):
    settings.auth_cache_seconds = 60.0
    app = create_app(settings, manage_database=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fourway.test"
    ) as http:
        live = await create_api_key(name="live", role="VIEWER")
        for _ in range(2):  # the second request is answered from the trusted key
            ok = await http.post("/graphql", json=QUERY, headers=_bearer(live.key))
            assert ok.status_code == 200
        await revoke_api_key(prefix=live.api_key.prefix)
        _unauthenticated(await http.post("/graphql", json=QUERY, headers=_bearer(live.key)))


async def test_a_trusted_key_still_expires_on_time(database_url):
    expires = datetime.now(UTC) + timedelta(hours=1)
    made = await create_api_key(name="soon", role="VIEWER", expires_at=expires)
    assert await authenticate(made.key, trust_seconds=60) is not None
    assert await authenticate(made.key, trust_seconds=60, now=expires) is None


async def test_a_key_revoked_where_this_process_cannot_hear_stops_working_when_trust_ends(
    database_url,
):
    made = await create_api_key(name="elsewhere", role="VIEWER")
    assert await authenticate(made.key, trust_seconds=0.2) is not None
    # As another process on SQLite revokes it: the row changes, and nothing is announced.
    await ApiKey.filter(id=made.api_key.id).update(revoked_at=datetime.now(UTC))
    assert await authenticate(made.key, trust_seconds=0.2) is not None  # trusted still
    await asyncio.sleep(0.3)
    assert await authenticate(made.key, trust_seconds=0.2) is None


async def test_without_trust_every_request_looks_the_key_up(database_url):
    made = await create_api_key(name="untrusted", role="VIEWER")
    assert await authenticate(made.key) is not None
    await ApiKey.filter(id=made.api_key.id).update(revoked_at=datetime.now(UTC))
    assert await authenticate(made.key) is None


async def test_the_graphiql_page_and_health_need_no_key(http):
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert (await http.get("/healthz")).status_code == 200


async def test_a_key_is_stored_only_as_its_hash_behind_a_visible_prefix(database_url):
    made = await create_api_key(name="finance export", role="FINANCE")
    stored = await ApiKey.get()
    assert made.key.startswith(stored.prefix + "_") and len(stored.prefix) == 11
    assert stored.key_hash == hashlib.sha256(made.key.encode()).hexdigest()
    assert made.key not in str(await ApiKey.all().values())


async def test_the_first_admin_key_is_made_only_on_a_service_without_keys(database_url):
    made = await first_admin_key()
    assert made is not None and made.api_key.role.value == "ADMIN"
    assert await first_admin_key() is None
    assert await ApiKey.all().count() == 1


@pytest.mark.skipif(ON_POSTGRES, reason="runs the command against its own SQLite file")
def test_apikey_create_list_and_revoke_from_the_command_line(tmp_path: Path):
    url = f"sqlite://{tmp_path / 'keys.db'}"
    assert run_fourway("migrate", database_url=url).returncode == 0
    made = run_fourway(
        "apikey", "create", "--role", "finance", "--name", "Finance export", database_url=url
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("fw_")
    prefix = key[:11]
    listed = run_fourway("apikey", "list", database_url=url)
    assert listed.returncode == 0, listed.stderr
    assert prefix in listed.stdout and "FINANCE" in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout
    revoked = run_fourway("apikey", "revoke", prefix, database_url=url)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in run_fourway("apikey", "list", database_url=url).stdout
    again = run_fourway("apikey", "revoke", prefix, database_url=url)
    assert again.returncode != 0 and "was revoked at" in again.stderr
    unknown = run_fourway("apikey", "revoke", "fw_nothing0", database_url=url)
    assert unknown.returncode != 0 and "No API key starts with" in unknown.stderr
    bad = run_fourway("apikey", "create", "--role", "ROOT", "--name", "x", database_url=url)
    assert bad.returncode != 0 and "ROOT" in bad.stderr


@pytest.mark.parametrize(
    "params",
    [
        {"Authorization": "Bearer fw_\ud800"},  # a lone surrogate
        {"Authorization": "Bearer fw_ключ"},
        {"Authorization": 42},
        {"authorization": None},
        "Bearer fw_x",
    ],
)
def test_a_websocket_key_that_no_header_could_carry_is_no_key(params):
    assert key_from_connection_params(params) is None


def test_a_websocket_key_is_read_from_connection_init_as_a_bearer():
    assert key_from_connection_params({"Authorization": "Bearer fw_abc"}) == "fw_abc"
    assert key_from_connection_params({"authorization": "bearer  fw_abc "}) == "fw_abc"


async def test_on_sqlite_a_key_revoked_by_another_process_stops_at_the_next_request(settings):
    if ON_POSTGRES:
        pytest.skip("on PostgreSQL every process hears a revocation through NOTIFY")
    from tests.support import http_as

    made = await create_api_key(name="revoked elsewhere", role="VIEWER")
    async with http_as(settings, made.key) as http:
        assert (await http.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
        # As `fourway apikey revoke` in another process does it: the row, and no announcement.
        await ApiKey.filter(id=made.api_key.id).update(revoked_at=datetime.now(UTC))
        assert (await http.post("/graphql", json={"query": "{ __typename }"})).status_code == 401
