"""Who closed a connection, as the `WS_CLOSE` entry records it (RFC 6455 §7.1.1-§7.1.7),
and the story `harness.checks.closing` tells from it: every path, over real TLS on
loopback."""

from __future__ import annotations

import asyncio
import contextlib

from websockets.utils import accept_key

from harness import evidence as ev
from harness.checks.closing import Closer, close_story
from harness.evidence import Timeline
from harness.pki import Pki
from harness.ws import WsConnection, connect

Pair = tuple[WsConnection, WsConnection]


def closing(timeline: Timeline, conn: WsConnection) -> ev.WsCloseData:
    assert conn.close_entry, "no WS_CLOSE entry"
    return ev.ws_close.of(timeline[conn.close_entry])


async def test_wicct_fails_the_connection_on_the_suts_masked_frame(pair: Pair, timeline: Timeline) -> None:
    client, server = pair
    # RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
    await server.send_raw_frame(opcode="text", payload=b"x", mask=True)
    assert await client.wait_closed(3.0)
    data = closing(timeline, client)
    assert (data["by"], data["sent_code"]) == ("us", 1002)
    assert data["error"] is not None and "mask" in data["error"]
    story = close_story(timeline, "wic", client.conn_id)
    assert story.closer is Closer.SUT_ERROR and story.by_sut
    assert story.reason.startswith("wicct failed the connection (Close 1002) because the SUT sent an invalid frame")
    assert {timeline[s].kind for s in story.evidence} == {ev.WS_ERROR, ev.WS_CLOSE}


async def test_the_sut_sends_close(pair: Pair, timeline: Timeline) -> None:
    client, server = pair
    await server.send_close(1001, "going away")
    assert await client.wait_closed(3.0)
    data = closing(timeline, client)
    assert (data["by"], data["code"], data["clean"]) == ("peer", 1001, True)
    assert data["tcp_closed_by"] == "peer"  # RFC 6455 §7.1.1: the server closes TCP first
    story = close_story(timeline, "wic", client.conn_id)
    assert (story.closer, story.reason) == (Closer.SUT, "the SUT closed the connection (Close 1001 'going away')")


async def test_the_sut_drops_tcp(pair: Pair, timeline: Timeline) -> None:
    client, server = pair
    server.abort()
    assert await client.wait_closed(3.0)
    data = closing(timeline, client)
    assert (data["by"], data["tcp_closed_by"], data["code"], data["sent_code"]) == ("peer", "peer", None, None)
    story = close_story(timeline, "wic", client.conn_id)
    assert (story.closer, story.reason) == (Closer.SUT, "the SUT closed TCP without a Close frame")


async def test_wicct_closes_tcp_when_its_close_is_never_echoed(pki: Pki, timeline: Timeline) -> None:
    """A SUT that answers the 101 and then ignores wicct's Close: wicct waits
    `close_timeout`, then drops TCP itself (by us, TCP closed by us)."""
    held: list[asyncio.StreamWriter] = []

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept_key(key).encode()
                     + b"\r\nSec-WebSocket-Protocol: sip\r\n\r\n")
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    server = await asyncio.start_server(mute, "127.0.0.1", 0, ssl=pki.server_context())
    port = server.sockets[0].getsockname()[1]
    try:
        result = await connect(f"wss://127.0.0.1:{port}/", timeline=timeline,
                               ssl_context=pki.client_context(), close_timeout=0.3)
        assert result.conn is not None, result.error
        await result.conn.send_close(1000, "bye")
        assert await result.conn.wait_closed(3.0)
        data = closing(timeline, result.conn)
        assert (data["by"], data["tcp_closed_by"], data["code"], data["sent_code"]) == ("us", "us", None, 1000)
        story = close_story(timeline, "wic", result.conn.conn_id)
        assert (story.closer, story.reason) == (Closer.WICCT, "wicct closed the connection (Close 1000 'bye')")
        assert not story.by_sut
    finally:
        for writer in held:
            writer.transport.abort()
        server.close()
