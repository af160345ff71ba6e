"""Hostile eP-CSCFs on loopback for the reason tests: tiny TLS/TCP servers that answer the
upgrade request with scripted bytes (RFC 6455 §4.2.2 101, then a frame the client must
reject, RFC 6455 §5.1), so wicct's verdicts can be checked against a SUT that misbehaves
in a way the reference SUTs never do."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from harness.checks.handshake import accept_value
from harness.profiles import Profile
from harness.ws.observe import raw_frame

HOST = "127.0.0.1"

# RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
MASKED_TEXT = raw_frame(opcode=1, payload=b"hello", mask=True)
# RFC 6455 §5.2: RSV1 set with no extension negotiated: the client MUST fail the connection.
RSV1_TEXT = raw_frame(opcode=1, payload=b"hello", rsv1=True, mask=False)


def switching(key: str, subprotocol: str = "sip") -> bytes:
    """A valid 101 for the client's key (RFC 6455 §4.2.2 item 5)."""
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_value(key)}\r\nSec-WebSocket-Protocol: {subprotocol}\r\n\r\n"
    ).encode()


async def read_head(reader: asyncio.StreamReader) -> dict[str, str]:
    """The upgrade request's headers (lower-case names)."""
    head = await reader.readuntil(b"\r\n\r\n")
    headers = {}
    for line in head.decode("iso-8859-1").split("\r\n")[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return headers


# A script gets the request's headers and returns the writes to make: (delay s, bytes).
Script = Callable[[dict[str, str]], list[tuple[float, bytes]]]


@dataclasses.dataclass
class Hostile:
    port: int
    writers: list[asyncio.StreamWriter]


@contextlib.asynccontextmanager
async def hostile(script: Script, context: ssl.SSLContext | None) -> AsyncIterator[Hostile]:
    """Serve `script` on loopback (TLS with `context`), keeping connections open until the
    client closes them; every connection is aborted on exit."""
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(Exception):
            headers = await read_head(reader)
            for delay, data in script(headers):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
            while await reader.read(65536):
                pass

    server = await asyncio.start_server(serve, HOST, 0, ssl=context)
    try:
        yield Hostile(server.sockets[0].getsockname()[1], writers)
    finally:
        for writer in writers:
            writer.transport.abort()
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1.0)


def external(profile: Profile, port: int, ca: Path, **timers: float) -> Profile:
    """`profile` pointed at wss://127.0.0.1:port/ through the `external` driver."""
    return dataclasses.replace(
        profile, driver="external", url=f"wss://{HOST}:{port}/", ca=str(ca),
        timers=dataclasses.replace(profile.timers, **timers),
    )
