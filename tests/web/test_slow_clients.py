"""Clients that start and never finish: a request body that stalls or trickles is cut with
a 408, a websocket that never sends connection_init is closed with 4408. Both on a real
server, read by raw sockets."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

import websockets

from settings import Settings
from tests.api.live.test_subscriptions import serving

BODY = b'{"query": "{ __typename }"}'


def _request(host: str, port: int, key: str, *, length: int) -> bytes:
    return (
        f"POST /graphql HTTP/1.1\r\nhost: {host}:{port}\r\n"
        f"authorization: Bearer {key}\r\ncontent-type: application/json\r\n"
        f"accept: application/graphql-response+json\r\ncontent-length: {length}\r\n\r\n"
    ).encode()


async def _answer(reader: asyncio.StreamReader, within: float) -> tuple[int, dict[str, str], Any]:
    """The status, headers and JSON body of one HTTP/1.1 response."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), within)
    status_line, *lines = head.decode().split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), within)
    return int(status_line.split()[1]), headers, json.loads(body)


async def _post_slowly(
    settings: Settings, key: str, send: Any, *, length: int = len(BODY)
) -> tuple[int, dict[str, str], Any, bytes]:
    """Open a raw connection to a real server, send the headers, let ``send(writer)``
    send (some of) the body, and read the answer and whatever follows it."""
    async with serving(settings) as (url, _):
        parts = urlsplit(url)
        host, port = str(parts.hostname), int(parts.port or 0)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(_request(host, port, key, length=length))
            await writer.drain()
            sending = asyncio.create_task(send(writer))
            status, headers, body = await _answer(reader, within=10)
            after = await asyncio.wait_for(reader.read(), 10)  # b"" once the server closes
            sending.cancel()
        finally:
            writer.close()
    return status, headers, body, after


async def test_a_body_that_stalls_is_answered_408_and_the_connection_closed(
    database_url, admin_key
):
    settings = Settings(database_url=database_url, http_body_timeout_seconds=0.5)

    async def half_then_nothing(writer: asyncio.StreamWriter) -> None:
        writer.write(BODY[:10])
        await writer.drain()
        await asyncio.sleep(60)

    started = time.monotonic()
    status, headers, body, after = await _post_slowly(settings, admin_key, half_then_nothing)
    assert status == 408
    assert headers["content-type"] == "application/graphql-response+json"
    assert headers["connection"] == "close"
    assert body == {
        "errors": [
            {
                "message": "The request body did not arrive within 0.5 seconds; send it whole, "
                "at once.",
                "extensions": {"code": "REQUEST_TIMEOUT"},
            }
        ]
    }
    assert after == b""  # closed: the rest of the body is never read
    assert time.monotonic() - started < 30


async def test_a_body_that_trickles_past_the_timeout_is_cut_too(database_url, admin_key):
    settings = Settings(database_url=database_url, http_body_timeout_seconds=0.5)

    async def a_byte_at_a_time(writer: asyncio.StreamWriter) -> None:
        for byte in BODY:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)  # each byte well within the timeout, the whole not

    status, _, body, _ = await _post_slowly(settings, admin_key, a_byte_at_a_time)
    assert status == 408
    assert body["errors"][0]["extensions"] == {"code": "REQUEST_TIMEOUT"}


async def test_a_body_sent_in_time_is_served(database_url, admin_key):
    settings = Settings(database_url=database_url, http_body_timeout_seconds=5)

    async def in_two_parts(writer: asyncio.StreamWriter) -> None:
        writer.write(BODY[:10])
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(BODY[10:])
        await writer.drain()
        await asyncio.sleep(60)

    async with serving(settings) as (url, _):
        parts = urlsplit(url)
        host, port = str(parts.hostname), int(parts.port or 0)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(_request(host, port, admin_key, length=len(BODY)))
            sending = asyncio.create_task(in_two_parts(writer))
            status, _, body = await _answer(reader, within=10)
            sending.cancel()
        finally:
            writer.close()
    assert (status, body["data"]) == (200, {"__typename": "Query"})


def test_the_default_body_timeout_is_thirty_seconds():
    assert Settings().http_body_timeout_seconds == 30


async def test_a_websocket_that_never_sends_connection_init_is_closed_with_4408(
    database_url,
):
    settings = Settings(database_url=database_url, ws_connection_init_timeout_seconds=0.3)
    async with (
        serving(settings) as (url, _),
        websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        try:
            await asyncio.wait_for(ws.recv(), 10)
            raise AssertionError("the server sent a message unasked")
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            assert (closed.rcvd.code, closed.rcvd.reason) == (
                4408,
                "Connection initialisation timeout",
            )


async def test_a_websocket_that_sends_connection_init_in_time_stays_open(database_url, admin_key):
    settings = Settings(database_url=database_url, ws_connection_init_timeout_seconds=2)
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {admin_key}"}}
    async with (
        serving(settings) as (url, _),
        websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "connection_ack"}
        await asyncio.sleep(4)  # twice the timeout
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}


def test_the_default_connection_init_timeout_is_ten_seconds():
    assert Settings().ws_connection_init_timeout_seconds == 10
