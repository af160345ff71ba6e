"""The server side: a WSS listener with evidence, as the eP-CSCF emulator and the
reference eP-CSCF use it (RFC 6455 §4.2, RFC 7118 §5).

Connections are accepted as plain TCP and upgraded to TLS by wicct itself, so that a TLS
handshake the client aborts (it refused our certificate, WIC-HS-03) is recorded as a TLS
entry with the error, with no HTTP request after it. The upgrade is answered by
websockets' `ServerProtocol` (no extensions, so no permessage-deflate), after an optional
`HandshakePolicy` that may refuse it, e.g. a foreign Origin with 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast

from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.protocol import Protocol
from websockets.server import ServerProtocol

from harness import evidence as ev
from harness.evidence import Timeline
from harness.ws import tls as tlsinfo
from harness.ws.observe import ObservedServer
from harness.ws.record import Recorder, address, next_conn_id
from harness.ws.shell import CLOSE_TIMEOUT, WsConnection
from harness.ws.stream import PlainStream, TlsStream, upgrade

HandshakePolicy = Callable[[Request], Response | None]
"""Return a Response to send instead of websockets' answer (a refusal such as 403, or a
deliberately odd 101), or None to let websockets answer."""


def reject(status: int, text: str = "", headers: Sequence[tuple[str, str]] = ()) -> Response:
    """A refusal shaped like websockets' own (`ServerProtocol.reject`)."""
    phrase = http.HTTPStatus(status).phrase
    body = (text or f"Failed to open a WebSocket connection: {phrase}.\n").encode()
    all_headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(body))),
            ("Content-Type", "text/plain; charset=utf-8"),
            *headers,
        ]
    )
    return Response(status, phrase, all_headers, body)


def origin_policy(trusted: Iterable[str], *, allow_missing: bool = False) -> HandshakePolicy:
    """Refuse with 403 an Origin not in `trusted` (RFC 6455 §10.2, RFC 7118 §5 / 3GPP
    eP-CSCF origin check); refuse with 400 several Origin headers (RFC 6454 §7.3)."""
    allowed = set(trusted)

    def policy(request: Request) -> Response | None:
        origins = request.headers.get_all("Origin")
        if len(origins) > 1:
            return reject(400, "Failed to open a WebSocket connection: several Origin headers.\n")
        if not origins:
            return None if allow_missing else reject(403, "Missing Origin.\n")
        if origins[0] not in allowed:
            return reject(403, f"Origin not allowed: {origins[0]}.\n")
        return None

    return policy


class WsServer:
    """Accepts WebSocket connections on loopback; see the module docstring."""

    def __init__(
        self,
        *,
        timeline: Timeline | None,
        actor: str = "epcscf",
        ssl_context: ssl.SSLContext | None,
        subprotocols: Sequence[str] | None = ("sip",),
        require_subprotocol: bool = True,
        policy: HandshakePolicy | None = None,
        on_connection: Callable[[WsConnection], Awaitable[None]] | None = None,
        on_tls_failure: Callable[[str], None] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        handshake_timeout: float = 3.0,
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self.timeline = timeline
        self.actor = actor
        self.ssl_context = ssl_context
        self.subprotocols = list(subprotocols) if subprotocols else None
        self.require_subprotocol = require_subprotocol
        self.policy = policy
        self.on_connection = on_connection
        self.on_tls_failure = on_tls_failure
        self.host = host
        self.port = port
        self.handshake_timeout = handshake_timeout
        self.close_timeout = close_timeout
        self.connections: list[WsConnection] = []  # opened (101 sent), in order
        self.tls_failures: list[str] = []
        self.callback_errors: list[str] = []
        self._all: set[WsConnection] = set()  # every connection, also refused ones
        self._handshaking: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()  # one per TCP connection
        self._callbacks: set[asyncio.Task[Any]] = set()  # on_connection, one per open one
        self._accepted: asyncio.Queue[WsConnection] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl_context is not None else "ws"
        return f"{scheme}://{self.host}:{self.port}/"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def wait_connection(self, timeout: float) -> WsConnection | None:
        """The next connection whose handshake we accepted, or None after `timeout`."""
        try:
            return await asyncio.wait_for(self._accepted.get(), timeout)
        except TimeoutError:
            return None

    async def stop(self) -> None:
        """Close listener and connections (1001 going away); bounded, never hangs."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._handshaking):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        conns = [c for c in self._all if not c.closed]
        if conns:
            await asyncio.gather(
                *(c.close(1.0, code=1001, reason="going away") for c in conns),
                return_exceptions=True,
            )
        for conn in self._all:
            conn.abort()
        callbacks = [t for t in self._callbacks if not t.done()]
        for task in callbacks:
            task.cancel()
        pending = callbacks + [t for t in self._handlers if not t.done()]
        if pending:  # handlers end by themselves once their TCP is gone
            await asyncio.wait(pending, timeout=1.0)
        for task in self._handlers:
            task.cancel()  # only a stuck one is still running
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    # -- one connection --------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.handshake_timeout
        rec = Recorder(self.timeline, self.actor, next_conn_id(self.timeline))
        peer = address(writer.get_extra_info("peername"))
        local = address(writer.get_extra_info("sockname"))
        rec.put(
            f"tcp accept from {peer}", ev.connect({"peer": peer, "local": local}), direction="rx"
        )
        stream: PlainStream | None = PlainStream(reader, writer, accepted=True)
        if self.ssl_context is not None:
            self._handshaking.add(writer)
            try:
                stream = await self._tls(reader, writer, rec, deadline)
            finally:
                self._handshaking.discard(writer)
        if stream is None:
            return  # TLS aborted: recorded, no GET
        protocol = ObservedServer(
            subprotocols=self.subprotocols,
            extensions=None,
            select_subprotocol=None if self.require_subprotocol else _lenient_selection,
        )
        conn = WsConnection(
            protocol,
            stream,
            recorder=rec,
            responder=self._respond,
            close_timeout=self.close_timeout,
        )
        self._all.add(conn)
        conn.start()
        if not await conn.wait_handshake(max(deadline - loop.time(), 0.0)):
            rec.put(f"no HTTP request within {self.handshake_timeout}s; dropped", ev.note({}))
            await conn.drop()
            return
        if not conn.is_open:
            return  # refused: the connection closes itself after the response
        self.connections.append(conn)
        self._accepted.put_nowait(conn)
        if self.on_connection is not None:
            callback = asyncio.get_running_loop().create_task(
                self._run_callback(conn, rec), name=f"on_connection-{conn.conn_id}"
            )
            self._callbacks.add(callback)
            callback.add_done_callback(self._callbacks.discard)

    async def _tls(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        rec: Recorder,
        deadline: float,
    ) -> TlsStream | None:
        assert self.ssl_context is not None
        timeout = max(deadline - asyncio.get_running_loop().time(), 0.001)
        stream, data = await upgrade(
            reader, writer, self.ssl_context, server_side=True, timeout=timeout
        )
        rec.put(tlsinfo.summary(data), ev.tls(data))
        if stream is None and not self._stopping:  # not our own stop() aborting it
            error = str(data["error"])  # a failed handshake always has its error text
            self.tls_failures.append(error)
            if self.on_tls_failure is not None:
                self.on_tls_failure(error)
        return stream

    def _respond(self, protocol: Protocol, request: Request) -> Response:
        """The answer to an upgrade request: the policy's, else websockets'."""
        if self.policy is not None:
            try:
                response = self.policy(request)
            except Exception as exc:  # a harness bug: answer 500 and keep it as evidence
                text = f"policy failed: {type(exc).__name__}: {exc}"
                self.callback_errors.append(text)
                return reject(500, text + "\n")
            if response is not None:
                return response
        return cast(ServerProtocol, protocol).accept(request)

    async def _run_callback(self, conn: WsConnection, rec: Recorder) -> None:
        assert self.on_connection is not None
        try:
            await self.on_connection(conn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a harness bug: keep it as evidence, do not kill the loop
            text = f"{type(exc).__name__}: {exc}"
            self.callback_errors.append(text)
            rec.put(f"on_connection failed: {text}", ev.note({"error": text}))


def _lenient_selection(protocol: ServerProtocol, offered: Sequence[str]) -> str | None:
    """Select our first subprotocol the client offered, else continue without one."""
    for subprotocol in protocol.available_subprotocols or ():
        if subprotocol in offered:
            return subprotocol
    return None


__all__ = ["HandshakePolicy", "WsServer", "origin_policy", "reject"]
