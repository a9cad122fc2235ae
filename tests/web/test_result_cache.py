"""The result cache: a repeated read is answered with the same bytes, any commit (of any
kind, from any connection or process) makes the next read fresh, no key gets an answer
made for another role or person, the cache stays within its bytes, and /metrics shows it."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from api.core.relay import from_global_id
from models import Organization
from observability import metrics
from services.access.api_keys import create_api_key
from settings import Settings
from tests.api.compensation.test_signals import _sale
from tests.conftest import ON_POSTGRES
from tests.processes import free_port, start_fourway, wait_until_serving
from tests.support import (
    GraphQLClient,
    Logged,
    app_without_key,
    approve_deal_input,
    seed_engagement,
)
from web.result_cache import ResultCache

# On PostgreSQL the data version is the server's snapshot, which commits in the server's
# other databases move too (other test runs): a hit may take a few reads there. On SQLite
# nothing else writes, and the first repeat is a hit.
TRIES = 50 if ON_POSTGRES else 1

EVERYTHING = """
query Everything($e: ID!) {
  organizations { nodes { id name } }
  people { nodes { id name } }
  engagement(id: $e) {
    name status
    alerts(status: [OPEN, ACKNOWLEDGED]) { nodes { id ruleId status comment } }
    promises { totalCount }
    compensationSignals { totalCount }
  }
  commissionPlans { id name }
  webhookEndpoints { id description }
  compensationPeriods { period }
}
"""


def _sample(name: str) -> float:
    return metrics.REGISTRY.get_sample_value(name) or 0.0


def hits() -> float:
    return _sample("fourway_result_cache_hits_total")


def misses() -> float:
    return _sample("fourway_result_cache_misses_total")


def cache_of(http: httpx.AsyncClient) -> ResultCache:
    """The result cache of the app ``http`` talks to."""
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    graphql = next(r.endpoint for r in transport.app.routes if r.path == "/graphql")
    assert graphql.result_cache is not None
    return graphql.result_cache


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def post(
    http: httpx.AsyncClient, key: str, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    return response


async def warm(
    http: httpx.AsyncClient, key: str, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    """Read until the cache answers (at most TRIES repeats after the first read); the
    answer it gave."""
    await post(http, key, query, variables)
    for _ in range(TRIES):
        before = hits()
        response = await post(http, key, query, variables)
        if hits() == before + 1:
            return response
    raise AssertionError(f"no read of the {TRIES} repeats was answered from the cache")


@pytest.fixture
def cached(settings: Settings) -> Settings:
    return settings.model_copy(update={"result_cache_bytes": 16 * 1024 * 1024})


@pytest.fixture
def uncached(settings: Settings) -> Settings:
    return settings.model_copy(update={"result_cache_bytes": 0})


async def test_a_repeated_read_is_answered_with_the_same_bytes(cached, admin_key):
    async with app_without_key(cached) as http:
        client = GraphQLClient(http)
        client.http.headers.update(bearer(admin_key))
        ids = await seed_engagement(client)
        first = await post(http, admin_key, EVERYTHING, {"e": ids["engagement"]})
        again = await warm(http, admin_key, EVERYTHING, {"e": ids["engagement"]})
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"]
        assert '"cost":{"requestedNodes"' in again.text  # extensions.cost as it was

        # The same document spaced differently is the same read: its first request runs
        # (a text not seen before is normalized once its answer is kept), and from then
        # on it is answered with the same entry.
        spaced = EVERYTHING.replace("\n", "\n\n  ").replace("{ ", "{   ")
        assert (await post(http, admin_key, spaced, {"e": ids["engagement"]})).content == (
            first.content
        )
        entries = len(cache_of(http))
        assert (await warm(http, admin_key, spaced, {"e": ids["engagement"]})).content == (
            first.content
        )
        assert len(cache_of(http)) == entries == 1


async def test_a_get_answered_from_the_cache_keeps_its_etag_and_its_304(cached, admin_key):
    async with app_without_key(cached) as http:
        params = {"query": "query Names { organizations { nodes { name } } }"}
        headers = {**bearer(admin_key), "accept": "application/json"}
        first = await http.get("/graphql", params=params, headers=headers)
        assert first.status_code == 200
        for _ in range(TRIES):
            before = hits()
            again = await http.get("/graphql", params=params, headers=headers)
            if hits() == before + 1:
                break
        else:
            raise AssertionError("no GET was answered from the cache")
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
        same = await http.get(
            "/graphql", params=params, headers={**headers, "if-none-match": first.headers["etag"]}
        )
        assert same.status_code == 304 and same.content == b""


async def test_every_kind_of_write_makes_the_next_read_fresh(
    cached, uncached, admin_key, database_url, loopback
):
    async with app_without_key(cached) as http, app_without_key(uncached) as truth:
        client = GraphQLClient(http)
        client.http.headers.update(bearer(admin_key))
        ids = await seed_engagement(client)
        approved = await client.mutate(
            "approveDeal", approve_deal_input(ids["engagement"]), "engagement { status }"
        )
        assert approved["userErrors"] == []
        endpoint = await client.mutate(
            "createWebhookEndpoint",
            {"url": "http://127.0.0.1:9/h", "eventTypes": ["alert.*"]},
            "webhookEndpoint { id }",
        )
        endpoint_id = endpoint["webhookEndpoint"]["id"]
        alerts: list[str] = []

        async def promise() -> None:
            made = await client.mutate(
                "createPromise",
                {
                    "engagementId": ids["engagement"],
                    "item": "data-migration",
                    "description": "Migrate the orders",
                    "quantity": "10",
                    "madeById": ids["seller"],
                },
                "alertsOpened { id }",
            )
            alerts.extend(a["id"] for a in made["alertsOpened"])

        async def mutate(name: str, input: dict[str, Any]) -> None:
            payload = await client.mutate(name, input, "")
            assert payload["userErrors"] == [], (name, payload["userErrors"])

        async def through_the_orm() -> None:
            await Organization.filter(id=from_global_id(ids["client"])[1]).update(name="By ORM")

        async def from_another_connection() -> None:
            table, pk = Organization._meta.db_table, from_global_id(ids["client"])[1]
            if ON_POSTGRES:
                other = await asyncpg.connect(database_url.replace("postgres://", "postgresql://"))
                try:
                    await other.execute(f"UPDATE {table} SET name = 'Elsewhere' WHERE id = $1", pk)
                finally:
                    await other.close()
            else:
                with sqlite3.connect(database_url.removeprefix("sqlite://")) as other:
                    other.execute(f'UPDATE "{table}" SET name = ? WHERE id = ?', ("Elsewhere", pk))
                other.close()

        writes: list[tuple[str, Any]] = [
            ("an organization renamed", lambda: mutate(
                "updateOrganization", {"id": ids["client"], "name": "Acme Renamed"})),
            ("a person renamed", lambda: mutate(
                "updatePerson", {"id": ids["seller"], "name": "Samantha Seller"})),
            ("a promise made", promise),
            ("an alert acknowledged", lambda: mutate(
                "acknowledgeAlert", {"id": alerts[0], "comment": "on it"})),
            ("a commission plan made", lambda: mutate(
                "createCommissionPlan",
                {"name": "Plan B", "rateOnMargin": "0.05", "marginFloorPct": "0.10"})),
            ("a webhook endpoint described", lambda: mutate(
                "updateWebhookEndpoint", {"id": endpoint_id, "description": "ops"})),
            ("a month closed", lambda: mutate("closeCompensationPeriod", {"period": "2025-01"})),
            ("a row updated through the ORM, not GraphQL", through_the_orm),
            ("a commit from another connection", from_another_connection),
        ]  # fmt: skip
        variables = {"e": ids["engagement"]}
        for what, write in writes:
            before = await warm(http, admin_key, EVERYTHING, variables)
            await write()
            after = await post(http, admin_key, EVERYTHING, variables)
            fresh = await post(truth, admin_key, EVERYTHING, variables)
            assert after.content != before.content, what
            assert after.json()["data"] == fresh.json()["data"], what


async def test_no_key_gets_an_answer_made_for_another_role_or_person(cached, client):
    ids = await _sale(client, split=None)
    other = await client.mutate(
        "createPerson",
        {"name": "Olga Other", "email": "olga@fourway.example", "organizationId": ids["firm"]},
        "person { id }",
    )
    admin = await create_api_key(name="admin", role="ADMIN")
    viewer = await create_api_key(name="viewer", role="VIEWER")
    seller = await create_api_key(
        name="sam", role="SALES", person_id=from_global_id(ids["seller"])[1]
    )
    olga = await create_api_key(
        name="olga", role="SALES", person_id=from_global_id(other["person"]["id"])[1]
    )
    nobody = await create_api_key(name="nobody", role="SALES")
    nested = "query($id: ID!) { engagement(id: $id) { compensationSignals { totalCount } } }"
    expected = {admin.key: 1, seller.key: 1, viewer.key: 0, olga.key: 0, nobody.key: 0}
    async with app_without_key(cached) as http:
        for _ in range(2):  # the second time round, each key's own answer is held
            for key, count in expected.items():
                body = (await post(http, key, nested, {"id": ids["engagement"]})).json()
                assert body["data"]["engagement"]["compensationSignals"]["totalCount"] == count
        # One entry per role and person, each answered from the cache once warm.
        for key, count in expected.items():
            body = (await warm(http, key, nested, {"id": ids["engagement"]})).json()
            assert body["data"]["engagement"]["compensationSignals"]["totalCount"] == count


async def test_answers_with_errors_and_mutations_are_never_kept(cached, admin_key):
    viewer = await create_api_key(name="viewer", role="VIEWER")
    async with app_without_key(cached) as http:
        forbidden = "{ webhookEndpoints { id } }"
        for _ in range(3):
            before = hits()
            body = (await post(http, viewer.key, forbidden)).json()
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert hits() == before
        made = (
            "mutation($name: String!) "
            "{ createOrganization(input: {name: $name, kind: CLIENT}) { userErrors { code } } }"
        )
        for name in ("X", "Y"):
            before_hits, before_misses = hits(), misses()
            body = (await post(http, admin_key, made, {"name": name})).json()
            assert body["data"]["createOrganization"]["userErrors"] == []
            assert (hits(), misses()) == (before_hits, before_misses)
        names = await post(http, admin_key, "{ organizations { totalCount } }")
        assert names.json()["data"]["organizations"]["totalCount"] == 2


async def test_the_cache_keeps_within_its_bytes_dropping_the_least_recently_used(
    settings, admin_key
):
    small = settings.model_copy(update={"result_cache_bytes": 1500})
    queries = [f"query Q{n} {{ organizations {{ totalCount }} }}" for n in range(12)]
    async with app_without_key(small) as http:
        evicted = _sample("fourway_result_cache_evictions_total")
        for query in queries:
            await post(http, admin_key, query)
        assert _sample("fourway_result_cache_evictions_total") > evicted
        app_bytes = _sample("fourway_result_cache_bytes")
        assert app_bytes > 0
        # The first query was dropped for the later ones: it runs again.
        before = misses()
        await post(http, admin_key, queries[0])
        assert misses() == before + 1
        # An answer larger than the whole cache is not kept at all.
        big = "{ rules { id description severity thresholds } }"
        await post(http, admin_key, big)
        before = misses()
        await post(http, admin_key, big)
        assert misses() == before + 1


async def test_metrics_show_hits_misses_evictions_and_bytes(cached, admin_key):
    async with app_without_key(cached) as http:
        await warm(http, admin_key, "query Names { organizations { nodes { name } } }")
        text = (await http.get("/metrics")).text
    for name in ("hits_total", "misses_total", "evictions_total", "bytes"):
        assert re.search(rf"^fourway_result_cache_{name} \d", text, re.MULTILINE), name
    assert float(re.findall(r"^fourway_result_cache_hits_total (\S+)", text, re.M)[0]) >= 1


async def test_an_answer_from_the_cache_is_counted_timed_and_logged_as_its_operation(
    cached, admin_key
):
    counted = "fourway_graphql_operations_total"
    labels = {"operation": "Names", "type": "query", "errors": "false"}
    async with app_without_key(cached) as http:
        with Logged() as logged:
            before = metrics.REGISTRY.get_sample_value(counted, labels) or 0.0
            await warm(http, admin_key, "query Names { organizations { nodes { name } } }")
            after = metrics.REGISTRY.get_sample_value(counted, labels) or 0.0
    assert after - before >= 2  # the read that ran and the one the cache answered
    lines = logged.lines("fourway.requests")
    assert lines and lines[-1]["operation"] == "Names" and lines[-1]["status"] == 200


async def test_a_cache_of_zero_bytes_is_off(uncached, admin_key):
    async with app_without_key(uncached) as http:
        before = (hits(), misses())
        for _ in range(3):
            await post(http, admin_key, "{ organizations { totalCount } }")
        assert (hits(), misses()) == before


async def test_a_query_of_typename_or_introspection_alone_runs_without_the_cache(cached, admin_key):
    async with app_without_key(cached) as http:
        before = (hits(), misses())
        for query in ("{ __typename }", "{ __schema { queryType { name } } }"):
            for _ in range(2):
                await post(http, admin_key, query)
        assert (hits(), misses()) == before


async def test_concurrent_readers_never_see_less_than_what_committed_before_they_asked(
    cached, client
):
    """Writers rename their own organizations over and over; readers, as an ADMIN and as a
    VIEWER, read them all. Each read must show every writer's name at least as new as
    the last rename that had returned before the read was sent, and each key only what
    it may see (a VIEWER no signals)."""
    ids = await _sale(client, split=None)
    viewer = await create_api_key(name="viewer", role="VIEWER")
    admin = await create_api_key(name="admin", role="ADMIN")
    writers, renames, readers = 3, 12, 6
    orgs = []
    for w in range(writers):
        made = await client.mutate(
            "createOrganization", {"name": f"w{w}-0", "kind": "CLIENT"}, "organization { id }"
        )
        orgs.append(made["organization"]["id"])
    query = """query Read($e: ID!) {
      organizations(first: 100) { nodes { id name } }
      engagement(id: $e) { compensationSignals { totalCount } }
    }"""
    done = [0] * writers  # the newest rename of each writer that has returned
    finished = asyncio.Event()
    reads = 0
    hits_before = hits()

    async with app_without_key(cached) as http:

        async def write(w: int) -> None:
            for n in range(1, renames + 1):
                response = await post(
                    http,
                    admin.key,
                    "mutation($i: UpdateOrganizationInput!) "
                    "{ updateOrganization(input: $i) { userErrors { code } } }",
                    {"i": {"id": orgs[w], "name": f"w{w}-{n}"}},
                )
                assert response.json()["data"]["updateOrganization"]["userErrors"] == []
                done[w] = n
                for _ in range(3):  # let readers in between the writes
                    await asyncio.sleep(0)

        async def read(r: int) -> None:
            nonlocal reads
            key, signals = (admin.key, 1) if r % 2 == 0 else (viewer.key, 0)
            # Keep reading a little once the writers stop, and on until the cache has
            # answered some read (on PostgreSQL, commits in the server's other databases
            # also move the version, so on a busy server that can take a while).
            rounds_after, spare = 5, 400
            while rounds_after or (hits() == hits_before and spare):
                if finished.is_set():
                    if rounds_after:
                        rounds_after -= 1
                    else:
                        spare -= 1
                seen = list(done)
                body = (await post(http, key, query, {"e": ids["engagement"]})).json()
                reads += 1
                names = {n["id"]: n["name"] for n in body["data"]["organizations"]["nodes"]}
                for w in range(writers):
                    prefix, _, number = names[orgs[w]].partition("-")
                    assert prefix == f"w{w}" and int(number) >= seen[w], (w, names, seen)
                count = body["data"]["engagement"]["compensationSignals"]["totalCount"]
                assert count == signals

        async def writers_then_finish() -> None:
            await asyncio.gather(*(write(w) for w in range(writers)))
            finished.set()

        await asyncio.gather(writers_then_finish(), *(read(r) for r in range(readers)))
    assert reads >= readers * 5
    assert hits() > hits_before  # some reads were answered from the cache, checked all the same


# --- several processes --------------------------------------------------------------------


def _process_env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "FOURWAY_SWEEP_INTERVAL_SECONDS": "0",
        "FOURWAY_RETENTION_PRUNE_INTERVAL_SECONDS": "0",
        "FOURWAY_WEBHOOKS_DISPATCH_IN_SERVE": "false",
        "FOURWAY_DB_POOL_MAX_SIZE": "3",
        "FOURWAY_RESULT_CACHE_BYTES": str(16 * 1024 * 1024),
    }


async def _remote_hits(http: httpx.AsyncClient) -> float:
    text = (await http.get("/metrics")).text
    return float(re.findall(r"^fourway_result_cache_hits_total (\S+)", text, re.M)[0])


async def test_a_write_through_one_process_makes_the_others_cached_read_stale_at_once(
    client, admin_key, database_url, tmp_path: Path
):
    """Two `fourway serve` processes on one database: once a rename through one has
    returned, the other, which held the old answer, never gives it again."""
    ids = await seed_engagement(client)
    log = tmp_path / "serve.log"
    ports = [free_port(), free_port()]
    env = _process_env(database_url)
    started = [
        start_fourway("serve", "--host", "127.0.0.1", "--port", str(p), env=env, log=log)
        for p in ports
    ]
    query = "query Name($id: ID!) { node(id: $id) { ... on Organization { name } } }"
    variables = {"id": ids["client"]}
    try:
        for port, process in zip(ports, started, strict=True):
            await wait_until_serving(f"http://127.0.0.1:{port}", process, log)
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}", timeout=60) as a,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[1]}", timeout=60) as b,
        ):
            for n in range(8):
                reader, writer = (a, b) if n % 2 == 0 else (b, a)
                await post(reader, admin_key, query, variables)
                for _ in range(TRIES):  # until the reader answers from its cache
                    before = await _remote_hits(reader)
                    held = (await post(reader, admin_key, query, variables)).json()
                    if await _remote_hits(reader) == before + 1:
                        break
                else:
                    raise AssertionError("the reading process never answered from its cache")
                assert held["data"]["node"]["name"] != f"Round {n}"
                renamed = await post(
                    writer,
                    admin_key,
                    "mutation($i: UpdateOrganizationInput!) "
                    "{ updateOrganization(input: $i) { organization { name } } }",
                    {"i": {"id": ids["client"], "name": f"Round {n}"}},
                )
                assert renamed.json()["data"]["updateOrganization"]["organization"] == {
                    "name": f"Round {n}"
                }
                fresh = (await post(reader, admin_key, query, variables)).json()
                assert fresh["data"]["node"]["name"] == f"Round {n}", n
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            process.wait(timeout=20)
