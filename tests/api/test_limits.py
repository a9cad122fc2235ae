"""What one document may ask for: depth, aliases and tokens are bounded, introspection and
suggestions can be switched off, and the limits leave the validation cache working."""

from __future__ import annotations

from typing import Any

import pytest
from strawberry.extensions.validation_cache import _get_validate_cache

from settings import get_settings
from tests.support import http_as


@pytest.fixture
def limited(monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "graphql_max_depth", 4)
    monkeypatch.setattr(settings, "graphql_max_aliases", 3)
    monkeypatch.setattr(settings, "graphql_max_tokens", 200)


async def _post(
    settings, admin_key: str, query: str, variables: dict[str, Any] | None = None
) -> dict:
    async with http_as(settings, admin_key) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    body: dict = response.json()
    return body


async def test_a_document_deeper_than_the_limit_is_refused(settings, admin_key, limited):
    shallow = "{ engagements { nodes { client { name } } } }"
    assert "errors" not in await _post(settings, admin_key, shallow)
    deep = "{ engagements { nodes { client { engagements { nodes { name } } } } } }"
    body = await _post(settings, admin_key, deep)
    assert body["data"] is None
    assert "exceeds maximum operation depth of 4" in body["errors"][0]["message"]


async def test_too_many_aliases_are_refused(settings, admin_key, limited):
    three = "{ a: rules { id } b: rules { id } c: rules { id } }"
    assert "errors" not in await _post(settings, admin_key, three)
    four = "{ a: rules { id } b: rules { id } c: rules { id } d: rules { id } }"
    body = await _post(settings, admin_key, four)
    assert body["data"] is None
    assert "4 aliases found. Allowed: 3" in body["errors"][0]["message"]


async def test_a_document_of_too_many_tokens_is_refused(settings, admin_key, limited):
    flood = "{ " + " ".join(["__typename"] * 300) + " }"
    body = await _post(settings, admin_key, flood)
    assert "more than 200 tokens" in body["errors"][0]["message"]


async def test_introspection_can_be_switched_off(settings, admin_key, monkeypatch):
    query = "{ __schema { queryType { name } } }"
    assert (await _post(settings, admin_key, query))["data"] == {
        "__schema": {"queryType": {"name": "Query"}}
    }
    monkeypatch.setattr(get_settings(), "graphql_introspection", False)
    body = await _post(settings, admin_key, query)
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_the_limits_leave_the_validation_cache_hitting(settings, admin_key):
    cache = _get_validate_cache(512)
    query = "{ rules { id severity } organizations { totalCount } }"
    async with http_as(settings, admin_key) as http:
        await http.post("/graphql", json={"query": query})
        before = cache.cache_info()
        for _ in range(5):
            assert (await http.post("/graphql", json={"query": query})).status_code == 200
        after = cache.cache_info()
    assert after.hits - before.hits == 5
    assert after.misses == before.misses


# --- suggestions ----------------------------------------------------------------------------


TYPO = "{ engagements { nodes { nam } } }"
ENUM_TYPO = "query($kind: OrganizationKind) { organizations(kind: $kind) { totalCount } }"


async def test_errors_suggest_names_by_default(settings, admin_key):
    body = await _post(settings, admin_key, TYPO)
    assert "Did you mean 'name'?" in body["errors"][0]["message"]
    body = await _post(settings, admin_key, ENUM_TYPO, {"kind": "CLIEN"})
    assert "Did you mean the enum value 'CLIENT'?" in body["errors"][0]["message"]


async def test_suggestions_can_be_switched_off(settings, admin_key, monkeypatch):
    monkeypatch.setattr(get_settings(), "graphql_suggestions", False)
    body = await _post(settings, admin_key, TYPO)
    assert body["errors"][0]["message"] == "Cannot query field 'nam' on type 'Engagement'."
    body = await _post(settings, admin_key, ENUM_TYPO, {"kind": "CLIEN"})
    message = body["errors"][0]["message"]
    assert "CLIEN" in message
    assert "mean" not in message
    assert "CLIENT" not in message


async def test_hidden_suggestions_leave_the_validation_cache_hitting(
    settings, admin_key, monkeypatch
):
    monkeypatch.setattr(get_settings(), "graphql_suggestions", False)
    cache = _get_validate_cache(512)
    query = "{ rules { id severity } organizations { totalCount } }"
    async with http_as(settings, admin_key) as http:
        await http.post("/graphql", json={"query": query})
        before = cache.cache_info()
        for _ in range(5):
            assert (await http.post("/graphql", json={"query": query})).status_code == 200
        after = cache.cache_info()
    assert after.hits - before.hits == 5
    assert after.misses == before.misses
