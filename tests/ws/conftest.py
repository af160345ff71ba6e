"""Fixtures for harness.ws tests: a test CA, one timeline per test, WSS servers on
loopback that are always stopped, and a connected client/server pair."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from harness.evidence import Timeline
from harness.pki import Pki
from harness.ws import WsConnection, WsServer, connect

ORIGIN = "https://wwsf.example"


@pytest.fixture(scope="session")
def pki() -> Iterator[Pki]:
    p = Pki()
    yield p
    p.close()


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


MakeServer = Callable[..., Awaitable[WsServer]]


@pytest.fixture
async def make_server(pki: Pki, timeline: Timeline) -> AsyncIterator[MakeServer]:
    servers: list[WsServer] = []

    async def make(**kwargs: Any) -> WsServer:
        kwargs.setdefault("timeline", timeline)
        kwargs.setdefault("ssl_context", pki.server_context())
        server = WsServer(**kwargs)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


@pytest.fixture
async def server(make_server: MakeServer) -> WsServer:
    return await make_server()


@pytest.fixture
async def pair(
    server: WsServer, pki: Pki, timeline: Timeline
) -> AsyncIterator[tuple[WsConnection, WsConnection]]:
    """(client side "wic", server side "epcscf"), open."""
    result = await connect(
        server.url, timeline=timeline, ssl_context=pki.client_context(), origin=ORIGIN
    )
    assert result.error is None, result.error
    assert result.conn is not None
    accepted = await server.wait_connection(2.0)
    assert accepted is not None
    yield result.conn, accepted
    await result.conn.close(1.0)
