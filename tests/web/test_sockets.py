"""Websockets act as their key, as HTTP requests do: every operation sent over one is
authenticated, authorized and audited the same way, and the socket is closed with 4403
as soon as its key is revoked (here or in another process) or expires. A real server,
real websocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import websockets
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from websockets.asyncio.client import ClientConnection

from api.core.relay import from_global_id
from models import AuditEntry, Organization
from services.access.api_keys import create_api_key, revoke_api_key
from tests.api.live.test_subscriptions import CHANGED, _transport, serving
from tests.conftest import ON_POSTGRES
from tests.processes import free_port, run_fourway, start_fourway, wait_until_serving
from tests.support import seed_engagement

CREATE_ORGANIZATION = """
mutation($name: String!) {
  createOrganization(input: {name: $name, kind: CLIENT}) { organization { id } userErrors { code } }
}"""


@contextlib.asynccontextmanager
async def open_socket(url: str, key: str) -> AsyncIterator[ClientConnection]:
    """A graphql-transport-ws connection that the server acknowledged for ``key``."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        init = {"Authorization": f"Bearer {key}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "connection_ack"}
        yield ws


async def close_code(ws: ClientConnection, within: float = 5.0) -> int | None:
    """Read what the server sends until it closes the socket: its close code. Fails
    when the socket is still open after ``within`` seconds."""
    deadline = time.monotonic() + within
    try:
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"the socket was still open after {within} s"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ws.recv(), remaining)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def still_open(ws: ClientConnection) -> bool:
    """Whether the server still answers a ping on the protocol's level."""
    await ws.send(json.dumps({"type": "ping"}))
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}
    except websockets.ConnectionClosed:
        return False


async def _subscribe(ws: ClientConnection, engagement: str) -> None:
    subscribe = {"query": CHANGED, "variables": {"id": engagement}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))


async def test_revoking_a_key_closes_its_open_sockets_with_4403(client, settings):
    ids = await seed_engagement(client)
    leaving = await create_api_key(name="leaving", role="VIEWER")
    staying = await create_api_key(name="staying", role="VIEWER")
    async with (
        serving(settings) as (url, _),
        open_socket(url, leaving.key) as subscribed,
        open_socket(url, leaving.key) as idle,
        open_socket(url, staying.key) as other,
    ):
        await _subscribe(subscribed, ids["engagement"])
        assert await still_open(idle)
        await revoke_api_key(prefix=leaving.api_key.prefix)
        assert await close_code(subscribed) == 4403
        assert await close_code(idle) == 4403
        assert await still_open(other)


async def test_a_mutation_sent_after_revocation_is_not_executed(client, settings):
    seller = await create_api_key(name="seller", role="SALES")
    async with serving(settings) as (url, _), open_socket(url, seller.key) as ws:
        await revoke_api_key(prefix=seller.api_key.prefix)
        mutation = {"query": CREATE_ORGANIZATION, "variables": {"name": "After revocation"}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": mutation}))
        assert await close_code(ws) == 4403
    assert not await Organization.filter(name="After revocation").exists()


async def test_a_socket_closes_when_its_key_expires(client, settings):
    ids = await seed_engagement(client)
    expires_at = datetime.now(UTC) + timedelta(seconds=2)
    brief = await create_api_key(name="brief", role="VIEWER", expires_at=expires_at)
    async with serving(settings) as (url, _), open_socket(url, brief.key) as ws:
        await _subscribe(ws, ids["engagement"])
        assert await still_open(ws)
        assert await close_code(ws, within=10) == 4403
    assert datetime.now(UTC) >= expires_at


async def _over_socket(url: str, key: str, query: str, variables: dict[str, Any]) -> Any:
    async with Client(transport=_transport(url, key)) as session:
        request = gql(query)
        request.variable_values = variables
        return await session.execute(request)


async def test_a_mutation_over_a_socket_is_audited_as_its_key(client, settings):
    ids = await seed_engagement(client)
    person = from_global_id(ids["seller"])[1]
    seller = await create_api_key(name="seller", role="SALES", person_id=person)
    async with serving(settings) as (url, _):
        made = await _over_socket(url, seller.key, CREATE_ORGANIZATION, {"name": "Over a socket"})
    assert made["createOrganization"]["userErrors"] == []
    organization = await Organization.get(name="Over a socket")
    [entry] = await AuditEntry.filter(action="organization.created", target_id=organization.id)
    assert (entry.actor_kind, entry.actor_key_id, entry.actor_key_prefix) == (
        "API_KEY",
        seller.api_key.id,
        seller.api_key.prefix,
    )
    assert entry.actor_person_id == person


async def test_a_forbidden_mutation_over_a_socket_is_refused_as_over_http(client, settings):
    viewer = await create_api_key(name="viewer", role="VIEWER")
    async with serving(settings) as (url, _):
        try:
            await _over_socket(url, viewer.key, CREATE_ORGANIZATION, {"name": "Not allowed"})
        except TransportQueryError as refused:
            errors = refused.errors or []
        else:
            raise AssertionError("a VIEWER key created an organization over a websocket")
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert errors[0]["message"] == "A VIEWER key may not use `createOrganization`."
    assert not await Organization.filter(name="Not allowed").exists()


async def test_a_key_revoked_in_one_process_closes_its_socket_in_another(
    client, database_url, tmp_path: Path
):
    """`fourway apikey revoke` runs in its own process; `fourway serve` holds the socket.
    On PostgreSQL the revocation's NOTIFY reaches the server (its polling is turned
    off); on SQLite the server finds it by polling."""
    ids = await seed_engagement(client)
    leaving = await create_api_key(name="leaving", role="VIEWER")
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "FOURWAY_WEBHOOKS_DISPATCH_IN_SERVE": "false",
        "FOURWAY_SWEEP_INTERVAL_SECONDS": "0",
        "FOURWAY_LIVE_POLL_SECONDS": "600" if ON_POSTGRES else "0.1",
    }
    log = tmp_path / "serve.log"
    process = start_fourway("serve", "--host", "127.0.0.1", "--port", str(port), env=env, log=log)
    try:
        await wait_until_serving(f"http://127.0.0.1:{port}", process, log)
        async with open_socket(f"ws://127.0.0.1:{port}/graphql", leaving.key) as ws:
            await _subscribe(ws, ids["engagement"])
            assert await still_open(ws)
            revoked = await asyncio.to_thread(
                run_fourway, "apikey", "revoke", leaving.api_key.prefix, database_url=database_url
            )
            assert revoked.returncode == 0, revoked.stderr
            assert await close_code(ws) == 4403, log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_subscription_the_table_refuses_is_refused_over_a_socket(
    client, settings, monkeypatch
):
    """Subscriptions follow their row of the access table as queries do, though every
    role may use both today: narrow one row and a VIEWER's subscription is refused."""
    from api.core import access

    monkeypatch.setitem(access.SUBSCRIPTIONS, "engagementChanged", frozenset({access.ADMIN}))
    ids = await seed_engagement(client)
    viewer = await create_api_key(name="viewer", role="VIEWER")
    async with serving(settings) as (url, feed), open_socket(url, viewer.key) as ws:
        await _subscribe(ws, ids["engagement"])
        answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert feed.subscription_count == 0
    errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"], answer
    assert errors[0]["message"] == "A VIEWER key may not use `engagementChanged`."


async def test_each_operation_over_a_socket_reads_afresh_as_each_request_does(client, settings):
    ids = await seed_engagement(client)
    viewer = await create_api_key(name="viewer", role="VIEWER")
    query = gql("query($id: ID!) { engagement(id: $id) { name } }")
    query.variable_values = {"id": ids["engagement"]}
    async with serving(settings) as (url, _), Client(transport=_transport(url, viewer.key)) as ws:
        before = await ws.execute(query)
        await client.mutate("updateEngagement", {"id": ids["engagement"], "name": "Renamed"}, "")
        after = await ws.execute(query)
    assert (before["engagement"]["name"], after["engagement"]["name"]) == ("ERP rollout", "Renamed")
