"""The client's account of a 101 followed by bytes, and of an HTTP head that is not one
(RFC 6455 §4.1, §5.1; RFC 9112 §2.2), against scripted servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from websockets.utils import accept_key

from harness import evidence as ev
from harness.evidence import Timeline
from harness.pki import Pki
from harness.ws import connect
from harness.ws.observe import raw_frame
from harness.ws.record import exc_text

MASKED = raw_frame(opcode=1, payload=b"hi", mask=True)  # RFC 6455 §5.1: a client MUST close


def ok(key: str) -> bytes:
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\nSec-WebSocket-Protocol: sip\r\n\r\n")


Script = Callable[[str], list[tuple[float, bytes]]]


@contextlib.asynccontextmanager
async def scripted(script: Script, pki: Pki) -> AsyncIterator[str]:
    held: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(Exception):
            head = await reader.readuntil(b"\r\n\r\n")
            key = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            for delay, data in script(key):
                await asyncio.sleep(delay)
                writer.write(data)
            while await reader.read(65536):
                pass

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=pki.server_context())
    try:
        yield f"wss://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    finally:
        for writer in held:
            writer.transport.abort()
        server.close()


async def test_a_101_with_a_bad_frame_in_the_same_read_is_accepted_then_failed(pki: Pki) -> None:
    timeline = Timeline()
    async with scripted(lambda key: [(0, ok(key) + MASKED)], pki) as url:
        result = await connect(url, timeline=timeline, ssl_context=pki.client_context())
    assert result.conn is None and result.accepted  # was: accepted unknown, "handshake: closed"
    assert result.error is not None
    assert result.error.startswith("the SUT sent an invalid frame right after its 101: ")
    (error,) = timeline.select(kind=ev.WS_ERROR, actor="wic")
    assert error.data["code"] == 1002
    (end,) = timeline.select(kind=ev.WS_CLOSE, actor="wic")
    assert (end.data["by"], end.data["sent_code"]) == ("us", 1002)


async def test_a_101_with_a_bad_frame_later_opens_then_fails(pki: Pki) -> None:
    timeline = Timeline()
    async with scripted(lambda key: [(0, ok(key)), (0.2, MASKED)], pki) as url:
        result = await connect(url, timeline=timeline, ssl_context=pki.client_context(), close_timeout=0.3)
        assert result.conn is not None and result.accepted and result.error is None
        assert await result.conn.wait_closed(3.0)
    (end,) = timeline.select(kind=ev.WS_CLOSE, actor="wic")
    assert (end.data["by"], end.data["tcp_closed_by"], end.data["sent_code"]) == ("us", "us", 1002)


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        (b"HTTP/1.1 101 Switching Protocols",
         "timeout: no complete HTTP status line within 0.5 s: received b'HTTP/1.1 101 Switching Protocols' "
         "without CRLF"),
        (b"HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n",
         "handshake: did not receive a valid HTTP response: HTTP status line "
         "b'HTTP/1.1 101 Switching Protocols\\n' ends without CRLF (the connection was still open)"),
    ],
    ids=["no-line-end", "lf-only"],
)
async def test_a_head_without_crlf_on_an_open_connection(sent: bytes, said: str, pki: Pki) -> None:
    async with scripted(lambda key: [(0, sent)], pki) as url:
        result = await connect(url, timeline=Timeline(), ssl_context=pki.client_context(), timeout=0.5)
    assert result.error == said  # was: "timeout" / "...; connection closed while reading HTTP status line"


def test_exc_text_keeps_the_whole_chain_once() -> None:
    try:
        try:
            try:
                raise EOFError("line without CRLF")
            except EOFError as inner:
                raise EOFError("connection closed while reading HTTP status line") from inner
        except EOFError as middle:
            raise ValueError("did not receive a valid HTTP response") from middle
    except ValueError as exc:
        assert exc_text(exc) == ("did not receive a valid HTTP response: connection closed while reading "
                                 "HTTP status line: line without CRLF")
    try:
        try:
            raise OSError("reset")
        except OSError:
            raise RuntimeError("reset")  # noqa: B904 - the implicit context is the point
    except RuntimeError as exc:
        assert exc_text(exc) == "reset"  # deduplicated
