"""End to end: ``fourway serve`` on a loopback port, talked to by a real GraphQL client."""

from __future__ import annotations

import contextlib
import gc
import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport

from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.processes import start_fourway, wait_until_serving
from tests.support import recreate_postgres_database
from web.app import settle_heap


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def served_url(tmp_path: Path) -> str:
    if ON_POSTGRES:
        parts = urlsplit(TEST_DATABASE_URL)
        url = urlunsplit(parts._replace(path=f"{parts.path}_serve"))
        await recreate_postgres_database(url)
    else:
        url = f"sqlite://{tmp_path / 'served.db'}"
    return url


@pytest.fixture
async def server(served_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """``fourway serve`` on a free loopback port against an empty database; its base URL,
    and the ADMIN key it printed on first start."""
    async with serving(served_url, tmp_path) as (base, key, _):
        yield base, key


@contextlib.asynccontextmanager
async def serving(
    served_url: str, tmp_path: Path, *options: str
) -> AsyncIterator[tuple[str, str, subprocess.Popen[bytes]]]:
    port = _free_port()
    log = tmp_path / "serve.log"
    command = ["serve", "--host", "127.0.0.1", "--port", str(port), *options]
    env = {"DATABASE_URL": served_url, "FOURWAY_DEBUG": "false"}
    process = start_fourway(*command, env=env, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until_serving(base, process, log)
        printed = log.read_text().splitlines()
        keys = [line for line in printed if line.startswith("fw_")]
        assert len(keys) == 1, printed
        yield base, keys[0], process
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_serve_migrates_an_empty_database_and_answers_a_real_client(server, tmp_path):
    base, key = server
    refused = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}, timeout=5)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    transport = HTTPXAsyncTransport(
        url=f"{base}/graphql", timeout=10, headers={"Authorization": f"Bearer {key}"}
    )
    async with Client(transport=transport) as session:
        create = gql(
            "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) "
            "{ organization { id name kind } userErrors { code } } }"
        )
        create.variable_values = {"input": {"name": "Initech", "kind": "CLIENT"}}
        created = await session.execute(create)
        organization = created["createOrganization"]["organization"]
        assert created["createOrganization"]["userErrors"] == []
        lookup = gql("query($id: ID!) { node(id: $id) { ... on Organization { name kind } } }")
        lookup.variable_values = {"id": organization["id"]}
        found = await session.execute(lookup)
    assert found == {"node": {"name": "Initech", "kind": "CLIENT"}}
    assert "applied fourway.0001_initial" in (tmp_path / "serve.log").read_text()


async def test_serve_with_workers_answers_from_several_processes(served_url, tmp_path):
    async with serving(served_url, tmp_path, "--workers", "2") as (base, key, process):
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
            answers = [
                (await http.post("/graphql", json={"query": "{ rules { id } }"})).status_code
                for _ in range(10)
            ]
    assert len(children) >= 2  # the workers, each serving the port
    assert answers == [200] * 10
    log = (tmp_path / "serve.log").read_text()
    assert log.count("Started server process") == 2, log
    assert log.count("applied fourway.0001_initial") == 1  # migrated once, before they started


async def test_serve_is_ready_scraped_and_logs_json_lines_without_the_key(server, tmp_path):
    base, key = server
    assert httpx.get(f"{base}/readyz", timeout=5).json() == {"status": "ready"}
    answered = httpx.post(
        f"{base}/graphql",
        json={"query": "query Probe { __typename }"},
        headers={"Authorization": f"Bearer {key}", "X-Request-Id": "serve-test-1"},
        timeout=5,
    )
    assert answered.headers["x-request-id"] == "serve-test-1"
    scraped = httpx.get(f"{base}/metrics", timeout=5)
    assert scraped.status_code == 200
    counted = 'fourway_graphql_operations_total{errors="false",operation="Probe",type="query"} 1.0'
    assert counted in scraped.text
    log = tmp_path / "serve.log"
    deadline = time.monotonic() + 10
    while '"serve-test-1"' not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    # The log holds the first key, printed once on stdout, and the JSON lines of stderr.
    logged = [line for line in log.read_text().splitlines() if line.startswith("{")]
    lines = [json.loads(line) for line in logged]
    [request] = [line for line in lines if line.get("request_id") == "serve-test-1"]
    assert request["logger"] == "fourway.requests"
    assert (request["path"], request["status"], request["operation"]) == ("/graphql", 200, "Probe")
    assert key.startswith(request["key_prefix"])
    # uvicorn's own messages are JSON too, and no line holds the key.
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    assert key.removeprefix(request["key_prefix"]) not in "\n".join(logged)


def test_what_start_up_made_is_frozen_out_of_the_collectors_reach():
    kept = [object()]  # lives as long as the process, as the schema and the modules do
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # full collections skip it
    finally:
        gc.unfreeze()
