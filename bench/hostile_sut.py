"""A hostile eP-CSCF for measuring wicct's limits (issue 11): a WSS server that answers the
upgrade properly (websockets' sans-I/O `ServerProtocol`, subprotocol `sip`) and then floods.

Modes (what it sends after the 101, until the connection is gone):
  continuations  a text frame without FIN, then 16-byte continuation frames without end
  pings          Pings of 16 bytes, 10 000 a second
  binary         random binary frames of 16 to 512 random bytes, as fast as TCP takes them

Run as a script it prints `READY <port> <ca.pem>` and serves until killed:
    python bench/hostile_sut.py pings /tmp/hostile
Its certificate is for 127.0.0.1, from a CA of its own (trustme), written to <dir>/ca.pem.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import sys
from pathlib import Path

import trustme
from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

MODES = ("continuations", "pings", "binary")
PINGS_PER_SECOND = 10_000


def tls_context(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 and the CA that signed it (written to ca.pem)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    directory.mkdir(parents=True, exist_ok=True)
    pem = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return context, pem


def _frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin=fin).serialize(mask=False)


async def _flood(mode: str, writer: asyncio.StreamWriter) -> None:
    rng = random.Random(7)
    if mode == "continuations":
        writer.write(_frame(Opcode.TEXT, b"SIP/2.0 ", fin=False))
        chunk = _frame(Opcode.CONT, b"a" * 16, fin=False) * 64
    while not writer.is_closing():
        if mode == "continuations":
            writer.write(chunk)
        elif mode == "pings":
            writer.write(_frame(Opcode.PING, b"p" * 16) * (PINGS_PER_SECOND // 100))
            await asyncio.sleep(0.01)
        else:
            writer.write(b"".join(_frame(Opcode.BINARY, rng.randbytes(rng.randint(16, 512))) for _ in range(32)))
        await writer.drain()
        await asyncio.sleep(0)  # let the server accept the next connection meanwhile


async def _serve_one(mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    protocol = ServerProtocol(subprotocols=[Subprotocol("sip")])
    try:
        request: Request | None = None
        while request is None:
            data = await asyncio.wait_for(reader.read(65536), 10)
            if not data:
                return
            protocol.receive_data(data)
            events = [e for e in protocol.events_received() if isinstance(e, Request)]
            request = events[0] if events else None
        response = protocol.accept(request)
        response.headers = Headers(response.headers)
        protocol.send_response(response)
        for data in protocol.data_to_send():
            writer.write(data)

        async def discard() -> None:  # read what wicct sends (Pongs, Close) and drop it
            while await reader.read(65536):
                pass

        drain = asyncio.ensure_future(discard())
        try:
            await _flood(mode, writer)
        finally:
            drain.cancel()
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def serve(mode: str, directory: Path) -> None:
    context, pem = tls_context(directory)
    server = await asyncio.start_server(
        lambda r, w: _serve_one(mode, r, w), "127.0.0.1", 0, ssl=context
    )
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port} {pem}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in MODES:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(MODES)}}} DIR")
    asyncio.run(serve(sys.argv[1], Path(sys.argv[2])))
