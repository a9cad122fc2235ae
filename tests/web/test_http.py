"""GraphQL over HTTP: the request body limit, application/graphql-response+json for clients
that ask for it, the legacy application/json answers for the rest, and the 401/413 bodies."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from api.core import access
from services.access.api_keys import create_api_key
from settings import Settings
from tests.api.live.test_subscriptions import serving
from tests.support import http_as
from web.http import GRAPHQL_RESPONSE_JSON, MAX_JSON_DEPTH, encode_json, response_media_type

JSON = "application/json"
TYPENAME = {"query": "{ __typename }"}
LIMIT = 2000


@pytest.fixture
def limited(database_url: str) -> Settings:
    return Settings(database_url=database_url, debug=False, graphql_max_body_bytes=LIMIT)


def _body_of(size: int) -> bytes:
    """A valid GraphQL request of exactly ``size`` bytes (padded inside a variable)."""
    head, tail = b'{"query": "{ __typename }", "variables": {"pad": "', b'"}}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


class Chunks:
    """A request body sent chunked (no Content-Length), counting the chunks read."""

    def __init__(self, body: bytes, size: int = 500) -> None:
        self.parts = [body[i : i + size] for i in range(0, len(body), size)]
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.read += 1
            yield part


def _graphql_error(response: httpx.Response, status: int, media_type: str) -> dict[str, Any]:
    """The one error of an answer that has no data, after checking its status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == media_type
    body: dict[str, Any] = response.json()
    assert "data" not in body, body
    [error] = body["errors"]
    return dict(error)


# -- the request body limit


async def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(limited, admin_key):
    chunks = Chunks(_body_of(LIMIT + 1))
    async with http_as(limited, admin_key) as http:
        response = await http.post(
            "/graphql",
            content=chunks,
            headers={"content-type": JSON, "content-length": str(LIMIT + 1)},
        )
    error = _graphql_error(response, 413, JSON)
    assert error["extensions"] == {"code": "CONTENT_TOO_LARGE"}
    assert f"larger than {LIMIT} bytes" in error["message"]
    assert response.headers["connection"] == "close"
    assert chunks.read == 0


async def test_a_chunked_body_over_the_limit_is_refused_at_the_chunk_that_crosses_it(
    limited, admin_key
):
    chunks = Chunks(_body_of(4 * LIMIT), size=500)
    async with http_as(limited, admin_key) as http:
        response = await http.post("/graphql", content=chunks, headers={"content-type": JSON})
    assert "content-length" not in response.request.headers
    assert _graphql_error(response, 413, JSON)["extensions"] == {"code": "CONTENT_TOO_LARGE"}
    assert chunks.read == LIMIT // 500 + 1  # the chunk past the limit, and none after it


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_at_the_limit_is_served(limited, admin_key, chunked):
    body = _body_of(LIMIT)
    async with http_as(limited, admin_key) as http:
        response = await http.post(
            "/graphql", content=Chunks(body) if chunked else body, headers={"content-type": JSON}
        )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"__typename": "Query"}


async def test_the_limit_comes_before_the_key_is_checked(limited):
    async with http_as(limited, "fw_not_a_key") as http:
        too_large = await http.post("/graphql", content=_body_of(LIMIT + 1))
        small = await http.post("/graphql", json=TYPENAME)
    assert too_large.status_code == 413
    assert small.status_code == 401


async def test_the_default_limit_is_one_mebibyte():
    assert Settings().graphql_max_body_bytes == 1024 * 1024


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
async def test_413_and_401_answer_in_the_media_type_asked_for(limited, accept):
    async with http_as(limited, "fw_not_a_key") as http:
        too_large = await http.post(
            "/graphql", content=_body_of(LIMIT + 1), headers={"accept": accept}
        )
        refused = await http.post("/graphql", json=TYPENAME, headers={"accept": accept})
    assert _graphql_error(too_large, 413, accept)["extensions"]["code"] == "CONTENT_TOO_LARGE"
    assert _graphql_error(refused, 401, accept)["extensions"] == {"code": "UNAUTHENTICATED"}
    assert refused.headers["www-authenticate"] == 'Bearer realm="fourway"'


# -- application/graphql-response+json

REQUEST_ERRORS = {
    "body is not JSON": {"content": b'{ "not a JSON', "headers": {"content-type": JSON}},
    "body is empty": {"content": b"", "headers": {"content-type": JSON}},
    "no content type": {"content": b'{"query": "{ __typename }"}'},
    "content type not JSON": {
        "content": b'{"query": "{ __typename }"}',
        "headers": {"content-type": "text/plain"},
    },
    "query missing": {"json": {"qeury": "{ __typename }"}},
    "query not a string": {"json": {"query": ["{ __typename }"]}},
    "variables not an object": {"json": {"query": "{ __typename }", "variables": "x"}},
    "extensions not an object": {"json": {"query": "{ __typename }", "extensions": 0}},
    "operationName not a string": {"json": {"query": "{ __typename }", "operationName": {}}},
    "unknown operationName": {"json": {"query": "query A { __typename }", "operationName": "B"}},
    "syntax error": {"json": {"query": "{"}},
    "validation error": {"json": {"query": "{ noSuchField }"}},
    "variable coercion error": {
        "json": {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": None}}
    },
    "too deep": {
        "json": {
            "query": "{ " + "engagements { nodes { client { " * 6 + "name" + " } } }" * 6 + " }"
        }
    },
}


@pytest.mark.parametrize("request_kwargs", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_a_request_error_is_a_400_without_data(client, request_kwargs):
    kwargs = {**request_kwargs}
    kwargs["headers"] = {**kwargs.get("headers", {}), "accept": GRAPHQL_RESPONSE_JSON}
    response = await client.http.post("/graphql", **kwargs)
    assert _graphql_error(response, 400, GRAPHQL_RESPONSE_JSON)["message"]


async def test_a_mutation_over_get_is_405_and_names_post(client):
    for accept in (GRAPHQL_RESPONSE_JSON, JSON):
        response = await client.http.get(
            "/graphql",
            params={"query": "mutation { __typename }"},
            headers={"accept": accept},
        )
        error = _graphql_error(response, 405, accept)
        assert error["extensions"] == {"code": "METHOD_NOT_ALLOWED"}
        assert response.headers["allow"] == "POST"


async def test_a_good_request_is_a_200_in_the_new_media_type(client):
    for request in (
        client.http.post("/graphql", json=TYPENAME, headers={"accept": GRAPHQL_RESPONSE_JSON}),
        client.http.get("/graphql", params=TYPENAME, headers={"accept": GRAPHQL_RESPONSE_JSON}),
    ):
        response = await request
        assert response.status_code == 200
        assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
        assert response.json()["data"] == {"__typename": "Query"}


async def test_a_field_error_keeps_its_data_and_a_200(client):
    response = await client.http.post(
        "/graphql",
        json={"query": '{ __typename node(id: "not-an-id") { id } }'},
        headers={"accept": GRAPHQL_RESPONSE_JSON},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"__typename": "Query", "node": None}
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_an_operation_the_key_may_not_run_is_a_403(database_url, settings):
    viewer = (await create_api_key(name="viewer", role="VIEWER")).key
    mutation = {
        "query": 'mutation { createOrganization(input: {name: "x", kind: CLIENT}) '
        "{ userErrors { code } } }"
    }
    async with http_as(settings, viewer) as http:
        new = await http.post("/graphql", json=mutation, headers={"accept": GRAPHQL_RESPONSE_JSON})
        legacy = await http.post("/graphql", json=mutation, headers={"accept": JSON})
    assert _graphql_error(new, 403, GRAPHQL_RESPONSE_JSON)["extensions"] == {"code": "FORBIDDEN"}
    assert legacy.status_code == 200 and legacy.json()["data"] is None


async def test_an_unexpected_failure_before_execution_is_a_500_and_masked(client, monkeypatch):
    def broken(*_: object) -> None:
        raise RuntimeError("password=hunter2")

    monkeypatch.setattr(access, "refusal", broken)
    response = await client.http.post(
        "/graphql", json=TYPENAME, headers={"accept": GRAPHQL_RESPONSE_JSON}
    )
    assert _graphql_error(response, 500, GRAPHQL_RESPONSE_JSON)["message"] == "Unexpected error."
    assert "hunter2" not in response.text


# -- application/json, as before

LEGACY_RESULTS = ("syntax error", "validation error", "variable coercion error", "too deep")


@pytest.mark.parametrize("kind", LEGACY_RESULTS)
async def test_application_json_answers_a_failed_document_with_200_and_null_data(client, kind):
    response = await client.http.post(
        "/graphql", json=REQUEST_ERRORS[kind]["json"], headers={"accept": JSON}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert body["data"] is None and body["errors"]


@pytest.mark.parametrize("accept", [None, "*/*", JSON, "text/html, */*;q=0.8"])
async def test_a_client_that_does_not_name_the_new_type_gets_application_json(client, accept):
    headers = {"accept": accept} if accept else {}
    response = await client.http.post("/graphql", json=TYPENAME, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON


async def test_a_request_that_is_not_graphql_is_a_json_400_under_application_json(client):
    response = await client.http.post(
        "/graphql", json={"query": "{ __typename }", "variables": [1]}, headers={"accept": JSON}
    )
    assert "`variables` must be an object" in _graphql_error(response, 400, JSON)["message"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, application/json", JSON),
        ("application/graphql-response+json;q=0, */*", JSON),
        ("Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE_JSON),
        ("application/*", JSON),
        ("", JSON),
    ],
)
def test_the_media_type_follows_the_accept_header_and_its_q_values(accept, expected):
    assert response_media_type({"accept": accept}) == expected


# -- bodies that are not GraphQL requests at all

DEEP = 2000  # past Python's recursion limit, and so past any parser that recurses


def _nested(depth: int) -> str:
    """A JSON value of ``depth`` objects, one inside the other."""
    return '{"a": ' * depth + "1" + "}" * depth


def _request(**members: str) -> bytes:
    """A request for ``{ __typename }`` with these members, each given as raw JSON."""
    raw = "".join(f', "{name}": {value}' for name, value in members.items())
    return ('{"query": "{ __typename }"' + raw + "}").encode()


NOT_A_REQUEST = {
    "a JSON string": b'"{ __typename }"',
    "JSON null": b"null",
    "a JSON number": b"12",
    "JSON true": b"true",
    "a list of numbers": b"[1, 2]",
    "a list of strings": b'["{ __typename }"]',
    "invalid UTF-8": b'{"query": "{ __typename }", "variables": {"name": "\xff\xfe"}}',
    "an integer too long to read": _request(variables='{"n": ' + "9" * 5000 + "}"),
    "variables nested deeper than the parser goes": _request(variables=_nested(DEEP)),
    "variables in lists nested deeper than the parser goes": _request(
        variables='{"x": ' + "[" * DEEP + "]" * DEEP + "}"
    ),
    "variables nested deeper than the limit": _request(variables=_nested(MAX_JSON_DEPTH)),
    "extensions nested deeper than the parser goes": _request(extensions=_nested(DEEP)),
}

NOT_A_QUERY_STRING = {
    "variables a JSON string": {"variables": '"x"'},
    "variables an integer too long to read": {"variables": '{"n": ' + "9" * 5000 + "}"},
    "variables nested deeper than the parser goes": {"variables": _nested(DEEP)},
    "variables nested deeper than the limit": {"variables": _nested(MAX_JSON_DEPTH + 1)},
    "extensions nested deeper than the parser goes": {"extensions": _nested(DEEP)},
}


def _refused_as_a_bad_request(response: httpx.Response, accept: str) -> None:
    error = _graphql_error(response, 400, accept)
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["message"]


def _logged_once_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    [line] = [r for r in caplog.records if r.name == "fourway.requests"]
    assert line.status == 400  # type: ignore[attr-defined]


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
@pytest.mark.parametrize("body", NOT_A_REQUEST.values(), ids=NOT_A_REQUEST.keys())
async def test_a_body_that_is_no_graphql_request_is_a_400_logged_without_a_traceback(
    settings, admin_key, caplog, body, accept
):
    async with http_as(settings, admin_key) as http:
        caplog.set_level(logging.INFO)
        response = await http.post(
            "/graphql", content=body, headers={"content-type": JSON, "accept": accept}
        )
    _refused_as_a_bad_request(response, accept)
    _logged_once_without_a_traceback(caplog)


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
@pytest.mark.parametrize("params", NOT_A_QUERY_STRING.values(), ids=NOT_A_QUERY_STRING.keys())
async def test_a_query_string_that_is_no_graphql_request_is_a_400_logged_without_a_traceback(
    settings, admin_key, caplog, params, accept
):
    async with http_as(settings, admin_key) as http:
        caplog.set_level(logging.INFO)
        response = await http.get(
            "/graphql", params={"query": "{ __typename }", **params}, headers={"accept": accept}
        )
    _refused_as_a_bad_request(response, accept)
    _logged_once_without_a_traceback(caplog)


async def test_variables_nested_as_deep_as_the_limit_are_read(client):
    # The body's object, then the variables' objects.
    response = await client.http.post(
        "/graphql",
        content=_request(variables=_nested(MAX_JSON_DEPTH - 1)),
        headers={"content-type": JSON},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"__typename": "Query"}


# -- websocket messages, read the same way

WS_MESSAGES = {
    "nested deeper than the parser goes": '{"type": "connection_init", "payload": '
    + _nested(DEEP)
    + "}",
    "an integer too long to read": '{"type": "connection_init", "payload": {"n": '
    + "9" * 5000
    + "}}",
}


@pytest.mark.parametrize("message", WS_MESSAGES.values(), ids=WS_MESSAGES.keys())
async def test_a_websocket_message_that_is_no_json_closes_the_socket_without_a_traceback(
    settings, caplog, message
):
    caplog.set_level(logging.INFO)
    async with (
        serving(settings) as (url, _),
        websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send(message)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


ORGANIZATIONS = {"query": "{ organizations(first: 5) { nodes { name } } }"}


async def test_a_get_query_answers_304_while_its_answer_has_not_changed(client):
    first = await client.http.get("/graphql", params=ORGANIZATIONS)
    tag = first.headers["etag"]
    assert first.status_code == 200 and first.headers["cache-control"] == "private, no-cache"

    same = await client.http.get("/graphql", params=ORGANIZATIONS, headers={"if-none-match": tag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == tag

    await client.mutate(
        "createOrganization", {"name": "Initech", "kind": "CLIENT"}, "organization { id }"
    )
    changed = await client.http.get(
        "/graphql", params=ORGANIZATIONS, headers={"if-none-match": tag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["data"]["organizations"]["nodes"] == [{"name": "Initech"}]


async def test_a_post_or_a_failed_get_carries_no_etag(client):
    posted = await client.http.post("/graphql", json=ORGANIZATIONS)
    assert posted.status_code == 200 and "etag" not in posted.headers
    failed = await client.http.get(
        "/graphql", params={"query": "{ nope }"}, headers={"accept": GRAPHQL_RESPONSE_JSON}
    )
    assert failed.status_code == 400 and "etag" not in failed.headers


class _Shade(enum.StrEnum):
    DARK = "dark"


@pytest.mark.parametrize(
    "value",
    [
        {"data": {"name": "Zoë, 北京", "n": [1, None, True, 1.5, -2]}},
        {"data": {"big": 2**70, "small": -(2**70)}},  # past orjson's 64 bits
        {"data": {"shade": _Shade.DARK}},  # a str subclass, as json.dumps writes it
    ],
)
def test_response_bodies_read_back_as_the_standard_encoder_wrote_them(value):
    standard = json.dumps(value, separators=(",", ":"))
    assert json.loads(encode_json(value)) == json.loads(standard)


def test_a_value_the_standard_encoder_refuses_is_refused_still():
    with pytest.raises(TypeError):
        encode_json({"data": {"at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}})
