"""What operators see: /healthz and /readyz, /metrics, and one structured log line per
request, with the request's id and never the API key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate

import rules
from models import Alert, WebhookDelivery
from models.db import APP_LABEL, migration_names, tortoise_config
from models.enums import AlertStatus, DeliveryStatus
from observability.metrics import OperationNames
from services.webhooks.endpoints import create_webhook_endpoint
from settings import Settings, get_settings
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.processes import free_port
from tests.support import Logged, app_without_key, recreate_postgres_database, seed_engagement


@asynccontextmanager
async def database(
    url: str, *, migrate_to: str | None = None, lazy: bool = False
) -> AsyncIterator[None]:
    """Tortoise opened on ``url`` for this block alone (the session's database is left
    alone), after migrating it up to and including ``migrate_to`` if given; ``lazy``
    opens a PostgreSQL pool that connects at its first query, as one whose server went
    away after the start would.

    ``url`` must be of the session's kind (SQLite or PostgreSQL): opening Tortoise on a
    database rebinds the models' queries to its dialect for the rest of the process.
    """
    config = tortoise_config(url)
    if lazy and ON_POSTGRES:
        config["connections"]["default"]["credentials"]["minsize"] = 0
    async with TortoiseContext():
        if migrate_to is not None:
            await migrate(config=config, target=f"{APP_LABEL}.{migrate_to}")
            await Tortoise.close_connections()
        await Tortoise.init(config=config)
        try:
            yield
        finally:
            await Tortoise.close_connections()


@asynccontextmanager
async def another_database(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database of the session's kind, dropped afterwards."""
    if not ON_POSTGRES:
        yield f"sqlite://{tmp_path / 'another.db'}"
        return
    parts = urlsplit(TEST_DATABASE_URL)
    url = urlunsplit(parts._replace(path=f"{parts.path}_another"))
    await recreate_postgres_database(url)
    try:
        yield url
    finally:
        await recreate_postgres_database(url, create=False)


def unreachable_database(tmp_path: Path) -> str:
    """A URL of the session's kind that no query can reach."""
    if ON_POSTGRES:
        # Nothing listens on this loopback port: every connection is refused at once.
        return f"postgres://postgres@127.0.0.1:{free_port()}/fourway_nowhere"
    return f"sqlite://{tmp_path / 'gone' / 'fourway.db'}"  # its folder does not exist


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every sample called ``name`` in an exposition, by its labels."""
    found: dict[frozenset[tuple[str, str]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[frozenset(sample.labels.items())] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text, name).get(frozenset(labels.items()), 0.0)


@pytest.fixture
def logged() -> Iterator[Logged]:
    with Logged() as made:
        yield made


async def scrape(settings: Settings) -> str:
    async with app_without_key(settings) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


# --- /healthz and /readyz -----------------------------------------------------------------


async def test_readyz_is_ready_on_a_migrated_database_and_needs_no_key(settings):
    async with app_without_key(settings) as http:
        ready = await http.get("/readyz")
        alive = await http.get("/healthz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})


async def test_readyz_names_the_migrations_a_database_lacks(tmp_path: Path):
    *applied, last = migration_names()
    assert applied, "needs at least two migrations to leave one out"
    async with (
        another_database(tmp_path) as url,
        database(url, migrate_to=applied[-1]),
        app_without_key(Settings(database_url=url)) as http,
    ):
        response = await http.get("/readyz")
        alive = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unready", "pendingMigrations": [last]}
    assert alive.status_code == 200


async def test_readyz_is_unready_when_the_database_does_not_answer(logged, tmp_path):
    url = unreachable_database(tmp_path)
    # A probe that waits on such a database gives up at the probe timeout (on SQLite the
    # gauges' queries wait so after the first failed open): a short one, not the 5 s default.
    settings = Settings(database_url=url, probe_timeout_seconds=0.5)
    async with database(url, lazy=True), app_without_key(settings) as http:
        response = await http.get("/readyz", headers={"X-Request-Id": "probe-1"})
        alive = await http.get("/healthz")
        metrics = await http.get("/metrics")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready"
    assert body["database"].startswith("no answer (")
    assert "Traceback" not in response.text and str(tmp_path) not in response.text
    assert "127.0.0.1" not in response.text
    # The full error is in the log, tied to the request.
    [warning] = [line for line in logged.lines("web.observe") if "not ready" in line["message"]]
    assert "Error" in warning["message"]  # the database's own words, for the operator
    assert warning["request_id"] == "probe-1" and warning["level"] == "WARNING"
    # Liveness touches no database; metrics still answer, without the database's gauges.
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert metrics.status_code == 200
    assert "fourway_http_requests_total" in metrics.text
    assert "fourway_alerts_live" not in metrics.text


# --- /metrics -----------------------------------------------------------------------------


async def test_metrics_count_operations_by_name_type_and_errors(settings, client):
    before = await scrape(settings)
    for _ in range(3):
        await client.data("query Inventory { organizations { totalCount } }")
    await client.data("{ __typename }")
    broken = await client.execute("query Broken { nothingHere }")
    assert broken["errors"]
    after = await scrape(settings)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    counted = "fourway_graphql_operations_total"
    assert grew(counted, operation="Inventory", type="query", errors="false") == 3
    assert grew(counted, operation="anonymous", type="query", errors="false") == 1
    assert grew(counted, operation="Broken", type="query", errors="true") == 1
    timed = "fourway_graphql_operation_duration_seconds_count"
    assert grew(timed, operation="Inventory", type="query") == 3
    http = "fourway_http_requests_total"
    assert grew(http, method="POST", route="/graphql", status="200") == 5
    # The scrape before this one is counted too, by its route.
    assert grew(http, method="GET", route="/metrics", status="200") >= 1
    assert grew("fourway_http_request_duration_seconds_count", method="POST", route="/graphql")


async def test_metrics_read_live_alerts_and_the_outbox_backlog_from_the_database(
    settings, client, monkeypatch
):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    await create_webhook_endpoint(
        url=f"http://127.0.0.1:{free_port()}/hooks", event_types=["alert.*"]
    )
    ids = await seed_engagement(client)
    await client.mutate(
        "createPromise",
        {
            "engagementId": ids["engagement"],
            "item": "data-migration",
            "description": "Migrate ten years of orders",
            "quantity": "10",
            "madeById": ids["seller"],
        },
        "alertsOpened { id }",
    )
    text = await scrape(settings)

    live = await Alert.filter(status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED])
    assert live, "the seeded engagement opens alerts"
    for severity in ("INFO", "WARNING", "CRITICAL"):
        expected = sum(1 for a in live if a.severity.value == severity)
        assert value(text, "fourway_alerts_live", severity=severity) == expected
    pending = await WebhookDelivery.filter(status=DeliveryStatus.PENDING).count()
    assert pending > 0
    assert value(text, "fourway_webhook_deliveries_pending") == pending
    age = value(text, "fourway_webhook_oldest_pending_delivery_age_seconds")
    assert 0 < age < 300


async def test_metrics_count_rule_evaluations_and_their_failures(settings, client, monkeypatch):
    before = await scrape(settings)
    ids = await seed_engagement(client)  # creating the engagement evaluates it
    middle = await scrape(settings)
    assert value(middle, "fourway_rule_evaluations_total", result="ok") > value(
        before, "fourway_rule_evaluations_total", result="ok"
    )
    assert value(middle, "fourway_rule_evaluation_duration_seconds_count") > value(
        before, "fourway_rule_evaluation_duration_seconds_count"
    )

    def broken(*_: object) -> None:
        raise RuntimeError("the engine fell over")

    monkeypatch.setattr(rules, "evaluate", broken)
    await client.mutate(
        "updateEngagement", {"id": ids["engagement"], "name": "Renamed"}, "engagement { id }"
    )
    after = await scrape(settings)
    assert (
        value(after, "fourway_rule_evaluations_total", result="failed")
        - value(middle, "fourway_rule_evaluations_total", result="failed")
        == 1
    )


async def test_metrics_can_be_switched_off(settings):
    async with app_without_key(settings.model_copy(update={"metrics_enabled": False})) as http:
        assert (await http.get("/metrics")).status_code == 404


def test_operation_names_are_bounded():
    names = OperationNames(limit=2)
    assert names.label(None) == "anonymous"
    assert names.label("First") == "First"
    assert names.label("not a name; DROP") == "other"
    assert names.label("x" * 65) == "other"
    assert names.label("Second") == "Second"
    assert names.label("Third") == "other"  # past the cap
    assert names.label("First") == "First"  # still its own


# --- the request log ----------------------------------------------------------------------


async def test_each_request_logs_one_json_line_without_the_key(settings, admin_key, logged):
    client_id = "client-trace-42"
    async with app_without_key(settings) as http:
        response = await http.post(
            "/graphql",
            json={"query": "query Inventory { organizations { totalCount } }"},
            headers={"Authorization": f"Bearer {admin_key}", "X-Request-Id": client_id},
        )
        refused = await http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": f"Bearer {admin_key}x"},
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == client_id
    assert refused.status_code == 401
    generated = refused.headers["x-request-id"]
    assert generated and generated != client_id

    first, second = logged.lines("fourway.requests")
    assert first["level"] == "INFO"
    assert first["timestamp"].endswith("+00:00")
    assert {k: first[k] for k in ("request_id", "method", "path", "status", "operation")} == {
        "request_id": client_id,
        "method": "POST",
        "path": "/graphql",
        "status": 200,
        "operation": "Inventory",
    }
    prefix = first["key_prefix"]
    assert prefix.startswith("fw_") and admin_key.startswith(prefix) and prefix != admin_key
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert (second["status"], second["request_id"], second["key_prefix"]) == (401, generated, None)
    # The key is in no line, in either format (only its visible prefix is).
    assert admin_key.removeprefix(prefix) not in logged.everything
    assert "Bearer" not in logged.everything
    text_line = logged.text_stream.getvalue().splitlines()[0]
    assert text_line.startswith("INFO:     fourway.requests: POST /graphql 200 ")


@pytest.mark.parametrize("sent", ["has spaces", "x" * 129, "caf\u00e9", ""])
async def test_a_request_id_that_is_not_sane_is_replaced(settings, sent):
    async with app_without_key(settings) as http:
        response = await http.get("/healthz", headers={"X-Request-Id": sent.encode()})
    assert response.headers["x-request-id"] not in ("", sent)
    assert len(response.headers["x-request-id"]) == 32
