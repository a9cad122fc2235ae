"""Unexpected errors are masked outside debug mode; expected ones never are."""

import logging

from api.core import access
from services.core import units
from settings import Settings
from tests.support import GraphQLClient, http_as, seed_engagement

RENAME = (
    "mutation($input: UpdateEngagementInput!) { updateEngagement(input: $input) "
    "{ engagement { name } userErrors { message } } }"
)


async def _failing_lock(*_: object, **__: object) -> None:
    raise RuntimeError("password=hunter2 at db01.internal")


async def test_an_unexpected_error_is_masked_and_leaks_nothing(client, monkeypatch):
    ids = await seed_engagement(client)
    monkeypatch.setattr(units, "lock_engagement", _failing_lock)
    response = await client.http.post(
        "/graphql", json={"query": RENAME, "variables": {"input": {"id": ids["engagement"]}}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "hunter2" not in response.text and "Traceback" not in response.text


async def test_debug_mode_shows_the_unexpected_error(database_url, admin_key, monkeypatch):
    async with http_as(Settings(database_url=database_url, debug=True), admin_key) as http:
        client = GraphQLClient(http)
        ids = await seed_engagement(client)
        monkeypatch.setattr(units, "lock_engagement", _failing_lock)
        body = await client.execute(RENAME, {"input": {"id": ids["engagement"]}})
    assert "hunter2" in body["errors"][0]["message"]


async def test_a_syntax_error_is_reported_as_it_is(client):
    response = await client.http.post("/graphql", json={"query": "{ engagements { "})
    # application/json answers request errors with 200 and no data (GraphQL over HTTP).
    assert response.status_code == 200
    assert response.json().get("data") is None
    assert "Syntax Error" in response.json()["errors"][0]["message"]


async def test_a_body_that_is_not_json_is_a_400_not_a_500(client):
    response = await client.http.post(
        "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_an_unexpected_error_in_an_extension_is_masked_too(client, monkeypatch):
    # strawberry reports an exception raised in an extension's hook after MaskErrors ran.
    def broken(*_: object) -> None:
        raise RuntimeError("password=hunter2 at db01.internal")

    monkeypatch.setattr(access, "refusal", broken)
    response = await client.http.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": None, "errors": [{"message": "Unexpected error."}]}
    assert "hunter2" not in response.text


async def test_only_unexpected_errors_are_logged_as_errors(client, monkeypatch, caplog):
    ids = await seed_engagement(client)
    caplog.set_level(logging.INFO, logger="strawberry.execution")
    await client.execute("{ engagements { nodes { nme } } }")  # a validation error
    await client.execute("{ engagements(")  # a syntax error
    await client.execute(RENAME, {"input": {"id": "not an id"}})  # a bad input
    assert [r for r in caplog.records if r.name == "strawberry.execution"] == []
    monkeypatch.setattr(units, "lock_engagement", _failing_lock)
    await client.execute(RENAME, {"input": {"id": ids["engagement"]}})
    [logged] = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert logged.levelno == logging.ERROR and logged.exc_info is not None
