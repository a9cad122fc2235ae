"""Helpers the tests share: a small GraphQL client, database set-up, the command line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx


class GraphQLClient:
    """Posts GraphQL to /graphql and returns the decoded response."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The response's data; fails the test on any GraphQL error."""
        body = await self.execute(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def mutate(self, name: str, input: dict[str, Any], selection: str) -> dict[str, Any]:
        """Run mutation ``name`` with ``input``; return its payload."""
        query = (
            f"mutation($input: {name[0].upper()}{name[1:]}Input!) "
            f"{{ {name}(input: $input) {{ {selection} userErrors {{ field message code }} }} }}"
        )
        payload: dict[str, Any] = (await self.data(query, {"input": input}))[name]
        return payload


@asynccontextmanager
async def app_without_key(settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to one real ASGI app in process that sends no key of its own (as a
    probe or a scraper does; a test may send one per request)."""
    from web.app import create_app

    app = create_app(settings, manage_database=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fourway.test"
    ) as http:
        yield http


@asynccontextmanager
async def http_as(settings: Any, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the real ASGI app in process, sending ``key`` as its bearer."""
    from web.app import create_app

    app = create_app(settings, manage_database=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://fourway.test",
        headers={"Authorization": f"Bearer {key}"},
    ) as http:
        yield http


async def recreate_postgres_database(url: str, *, create: bool = True) -> None:
    """Drop the database named in ``url``, and create it anew unless ``create`` is false
    (connecting to the server's 'postgres')."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name == "postgres":
        raise ValueError("the PostgreSQL URL must name a database of its own, not 'postgres'")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def seed_engagement(client: GraphQLClient, *, currency: str = "EUR") -> dict[str, str]:
    """A client, our firm, a salesperson and a sponsor, and one engagement: their global ids."""

    async def create(name: str, input: dict[str, Any], field: str) -> str:
        payload = await client.mutate(name, input, f"{field} {{ id }}")
        assert payload["userErrors"] == [], payload["userErrors"]
        return str(payload[field]["id"])

    client_id = await create(
        "createOrganization", {"name": "Acme", "kind": "CLIENT"}, "organization"
    )
    firm_id = await create(
        "createOrganization", {"name": "Fourway Consulting", "kind": "PROVIDER"}, "organization"
    )
    seller_id = await create(
        "createPerson",
        {"name": "Sam Seller", "email": "sam@fourway.example", "organizationId": firm_id},
        "person",
    )
    sponsor_id = await create(
        "createPerson",
        {"name": "Ada Sponsor", "email": "ada@acme.example", "organizationId": client_id},
        "person",
    )
    engagement_id = await create(
        "createEngagement",
        {"name": "ERP rollout", "clientId": client_id, "currency": currency},
        "engagement",
    )
    return {
        "client": client_id,
        "firm": firm_id,
        "seller": seller_id,
        "sponsor": sponsor_id,
        "engagement": engagement_id,
    }


async def dump_database() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, to prove that a refused mutation wrote nothing."""
    from tortoise import Tortoise

    dump: dict[str, list[dict[str, Any]]] = {}
    for name, model in sorted(Tortoise.apps["fourway"].items()):
        dump[name] = await model.all().order_by("id").values()
    return dump


UNKNOWN = {
    # Well-formed global ids of rows that do not exist.
    "Engagement": "RW5nYWdlbWVudDo5OTk5OQ==",  # Engagement:99999
    "Person": "UGVyc29uOjk5OTk5",  # Person:99999
    "Organization": "T3JnYW5pemF0aW9uOjk5OTk5",  # Organization:99999
    "WebhookDelivery": "V2ViaG9va0RlbGl2ZXJ5Ojk5OTk5",  # WebhookDelivery:99999
}


class QueryCounter:
    """Counts the SQL statements Tortoise sends while active: ``with QueryCounter() as q``."""

    def __init__(self) -> None:
        import logging

        self.statements: list[str] = []
        self._logger = logging.getLogger("tortoise.db_client")
        counter = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                # Tortoise logs every statement as ("%s: %s", query, values).
                if record.msg == "%s: %s" and record.args:
                    counter.statements.append(str(record.args[0]))

        self._handler = Handler(level=logging.DEBUG)
        self._level = self._logger.level

    def __enter__(self) -> QueryCounter:
        import logging

        self._logger.addHandler(self._handler)
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)

    @property
    def count(self) -> int:
        return len(self.statements)


class Logged:
    """What the handlers ``fourway serve`` installs wrote while attached to the root
    logger (``with Logged() as logged``), in both formats: JSON lines and text."""

    def __init__(self) -> None:
        import io

        from observability.logs import handler

        self.json_stream = io.StringIO()
        self.text_stream = io.StringIO()
        self._handlers = [handler("json", self.json_stream), handler("text", self.text_stream)]
        self._level = 0

    def __enter__(self) -> Logged:
        import logging

        root = logging.getLogger()
        self._level = root.level
        root.setLevel(logging.INFO)
        for each in self._handlers:
            root.addHandler(each)
        return self

    def __exit__(self, *exc: object) -> None:
        import logging

        root = logging.getLogger()
        for each in self._handlers:
            root.removeHandler(each)
        root.setLevel(self._level)

    def lines(self, logger: str | None = None) -> list[dict[str, Any]]:
        """The JSON lines written (by ``logger`` alone, if given), parsed."""
        import json

        parsed = [json.loads(line) for line in self.json_stream.getvalue().splitlines()]
        return [p for p in parsed if logger is None or p["logger"] == logger]

    @property
    def everything(self) -> str:
        return self.json_stream.getvalue() + self.text_stream.getvalue()


async def hold_sales(
    client: GraphQLClient, engagement_id: str, *people: str, accountable: bool = True
) -> None:
    """Give ``people`` the SALES function on the engagement (the first ACCOUNTABLE unless
    ``accountable`` is false, the rest RESPONSIBLE), which anyone credited must hold."""
    for n, person in enumerate(people):
        payload = await client.mutate(
            "createRoleAssignment",
            {
                "engagementId": engagement_id,
                "personId": person,
                "function": "SALES",
                "raci": "ACCOUNTABLE" if accountable and not n else "RESPONSIBLE",
            },
            "roleAssignment { id }",
        )
        assert payload["userErrors"] == [], payload["userErrors"]


APPROVAL_NOTE = "Approved by the test's administrator"


def approve_deal_input(engagement_id: str) -> dict[str, str]:
    """approveDeal's input for an ADMIN key tied to no person, which approves alone with a note."""
    return {"engagementId": engagement_id, "note": APPROVAL_NOTE}
