"""Byte streams under a WebSocket connection: plain TCP, or TLS driven by wicct itself.

TLS runs sans-I/O, on `ssl.SSLObject` over two `ssl.MemoryBIO` (docs/architecture.md principle 1,
the way the load mode drives it under gevent), on top of a plain asyncio TCP stream:

- the TLS handshake is a step of its own, so TCP and TLS facts are separate evidence and
  a refused handshake is recorded with OpenSSL's error on both sides;
- when our side refuses the peer's certificate, the TLS alert OpenSSL wrote is sent
  before TCP closes. asyncio's `start_tls` drops it (it force-closes the transport on a
  failed handshake), so the peer would see a reset instead of "unknown ca";
- closing sends close_notify and closes TCP at once, without asyncio's 30 s wait for the
  peer's close_notify.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

from harness.evidence import TlsData
from harness.pki import keylogged
from harness.ws import capture
from harness.ws import tls as tlsinfo

READ_SIZE = 65536


class PlainStream:
    """A TCP stream (ws://)."""

    ssl_object: ssl.SSLObject | None = None

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, accepted: bool = False
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.closing = False
        # the run's capture (`wicct run --bundle`, harness.ws.capture): the bytes as they
        # cross TCP, on wicct's side; `accepted`: the peer opened the connection
        self._capture = capture.current()
        self._conn = (
            self._capture.connection(writer, accepted=accepted) if self._capture is not None else None
        )

    def _record(self, direction: str, data: bytes) -> None:
        if self._conn is not None and self._capture is not None:
            if data:
                self._capture.record(self._conn, direction, data)
            else:
                self._capture.close(self._conn, direction)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._writer.get_extra_info(name, default)

    async def read(self) -> bytes:
        """Next bytes; b"" at end of stream. Transport errors raise OSError."""
        data = await self._reader.read(READ_SIZE)
        self._record("in", data)
        return data

    def write(self, data: bytes) -> None:
        if not self.closing and not self._writer.is_closing():
            self._writer.write(data)
            if data:
                self._record("out", data)

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        """Orderly close: what is buffered is sent, then TCP closes."""
        if not self.closing:
            self.closing = True
            self._writer.close()
            self._record("out", b"")

    def abort(self) -> None:
        """Drop TCP now."""
        self.closing = True
        transport = self._writer.transport
        if transport is not None:
            transport.abort()
        self._record("out", b"")


class TlsStream(PlainStream):
    """TLS over a TCP stream, with OpenSSL driven through memory BIOs."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        context: ssl.SSLContext,
        *,
        server_side: bool,
        server_hostname: str | None = None,
    ) -> None:
        super().__init__(reader, writer, accepted=server_side)
        if self._conn is not None:
            self._conn.accepted = server_side
            self._conn.tls = True
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        # the run's TLS key log, when `wicct run --bundle` keeps one (harness.pki.log_keys):
        # also for contexts a driver made itself
        self.ssl_object = keylogged(context).wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=server_side,
            server_hostname=None if server_side else server_hostname,
        )
        self.tcp_eof = False  # the peer closed TCP
        self.close_notify = False  # the peer sent close_notify (an orderly TLS close)

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data and not self._writer.is_closing():
            self._writer.write(data)
            self._record("out", data)

    async def _fill(self) -> None:
        data = await self._reader.read(READ_SIZE)
        self._record("in", data)
        if data:
            self._incoming.write(data)
        else:
            self.tcp_eof = True
            self._incoming.write_eof()

    async def handshake(self) -> None:
        """Run the TLS handshake; raises ssl.SSLError / OSError, after sending any alert."""
        assert self.ssl_object is not None
        while True:
            try:
                self.ssl_object.do_handshake()
            except ssl.SSLWantReadError:
                self._flush()
                await self._fill()
            except ssl.SSLError:
                self._flush()  # the alert, e.g. unknown_ca after a failed verification
                raise
            else:
                self._flush()
                return

    async def read(self) -> bytes:
        assert self.ssl_object is not None
        while True:
            try:
                data = self.ssl_object.read(READ_SIZE)
            except ssl.SSLWantReadError:
                self._flush()
                await self._fill()
                continue
            except ssl.SSLZeroReturnError:
                data = b""
            except ssl.SSLEOFError:
                return b""  # TCP closed without close_notify
            self._flush()  # post-handshake messages, if any
            if not data:
                self.close_notify = True
            return data

    def write(self, data: bytes) -> None:
        if self.closing or self._writer.is_closing():
            return
        assert self.ssl_object is not None
        try:
            self.ssl_object.write(data)
        except ssl.SSLError:
            return
        self._flush()

    def close(self) -> None:
        """close_notify, then TCP closes (not waiting for the peer's close_notify)."""
        if self.closing:
            return
        self.closing = True
        assert self.ssl_object is not None
        with contextlib.suppress(ssl.SSLError, ValueError):
            self.ssl_object.unwrap()
        self._flush()
        self._writer.close()
        self._record("out", b"")


async def open_tls(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
    *,
    server_side: bool,
    server_hostname: str | None = None,
    timeout: float,
) -> TlsStream:
    """TLS handshake on an open TCP stream within `timeout` (raises TimeoutError)."""
    stream = TlsStream(
        reader, writer, context, server_side=server_side, server_hostname=server_hostname
    )
    await asyncio.wait_for(stream.handshake(), timeout)
    return stream


async def upgrade(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
    *,
    server_side: bool,
    server_hostname: str | None = None,
    timeout: float,
) -> tuple[TlsStream | None, TlsData]:
    """TLS on an open TCP stream: (stream, `TLS` entry data), or (None, data with the
    error) when the handshake failed or timed out. The TCP stream is dropped on failure."""
    try:
        stream = await open_tls(
            reader,
            writer,
            context,
            server_side=server_side,
            server_hostname=server_hostname,
            timeout=timeout,
        )
    except TimeoutError:
        data: TlsData = {"error": "timeout", "exception": "TimeoutError"}
    except (OSError, EOFError, ValueError) as exc:  # ssl.SSLError is an OSError
        data = tlsinfo.error_data(exc)
    else:
        return stream, tlsinfo.facts(stream.ssl_object)
    with contextlib.suppress(Exception):
        writer.transport.abort()
    live = capture.current()
    if live is not None:  # the stream never came back: its TCP close is ours
        live.close(live.connection(writer, accepted=server_side), "out")
    return None, data
