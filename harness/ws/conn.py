"""The client side: open a WebSocket connection to a SUT with evidence (RFC 6455 §4.1,
RFC 7118 §5: SIP over WSS).

TCP first, then TLS on the same stream, so CONNECT and TLS facts are separate entries;
then websockets' `ClientProtocol` builds the upgrade request, which wicct may shape into a
stimulus (several Origin headers, another Sec-WebSocket-Version), and checks the answer.
A refused or rejected handshake is a result, not an exception.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.uri import parse_uri

from harness import evidence as ev
from harness.evidence import Timeline
from harness.ws import tls as tlsinfo
from harness.ws.observe import ObservedClient, received_head
from harness.ws.record import Pong, Recorder, WsMessage, address, next_conn_id
from harness.ws.shell import CLOSE_TIMEOUT, WsConnection
from harness.ws.stream import PlainStream, upgrade


@dataclass(frozen=True)
class ConnectResult:
    conn: WsConnection | None  # None when the handshake was refused or failed
    response: Response | None  # the HTTP response (e.g. 403, or a 101 websockets rejected)
    error: str | None  # "tls: ...", "tcp: connection refused", "timeout", "handshake: ..."
    tls_ok: bool  # a TLS session was established
    # the 101 was acceptable to a WebSocket client (RFC 6455 §4.1, the client's checks),
    # even if the connection then failed (e.g. an invalid frame right after it)
    accepted: bool = False


def shape_request_headers(
    headers: Headers,
    *,
    origin: str | Sequence[str] | None,
    version: str,
    extra_headers: Sequence[tuple[str, str]],
) -> Headers:
    """websockets' handshake headers with wicct's choices: Origin after Host (none, one or
    several), Sec-WebSocket-Version's value ("" drops it), extra headers last."""
    origins = [origin] if isinstance(origin, str) else list(origin or [])
    out = Headers()
    for name, value in headers.raw_items():
        if name.lower() == "sec-websocket-version":
            if version == "":
                continue
            value = version
        out[name] = value
        if name.lower() == "host":
            for one in origins:
                out["Origin"] = one
    for name, value in extra_headers:
        out[name] = value
    return out


async def connect(
    url: str,
    *,
    timeline: Timeline | None,
    actor: str = "wic",
    ssl_context: ssl.SSLContext | None,
    origin: str | None | list[str] = None,
    subprotocols: Sequence[str] | None = ("sip",),
    version: str = "13",
    extra_headers: Sequence[tuple[str, str]] = (),
    timeout: float = 3.0,
    server_hostname: str | None = None,
    conn_id: str | None = None,
    close_timeout: float = CLOSE_TIMEOUT,
    key: str | None = None,
) -> ConnectResult:
    """Open a WebSocket connection (TCP, TLS for wss://, HTTP upgrade) with evidence.

    `key` replaces the random Sec-WebSocket-Key (RFC 6455 §4.1 item 7): a deliberate
    stimulus or a reference SUT's fault; the 101 is checked against it.
    Never raises for network or peer faults: they come back in `ConnectResult.error`.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    def remaining() -> float:
        return max(deadline - loop.time(), 0.001)

    uri = parse_uri(url)
    rec = Recorder(timeline, actor, conn_id or next_conn_id(timeline))
    peer = f"{uri.host}:{uri.port}"

    # TCP
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(uri.host, uri.port), remaining()
        )
    except TimeoutError:
        rec.put(
            f"tcp connect {peer}: timeout",
            ev.connect({"peer": peer, "local": None, "error": "timeout"}),
            direction="tx",
        )
        return ConnectResult(None, None, "timeout", False)
    except OSError as exc:
        error = (
            "connection refused"
            if isinstance(exc, ConnectionRefusedError)
            else (exc.strerror or str(exc) or type(exc).__name__)
        )
        rec.put(
            f"tcp connect {peer}: {error}",
            ev.connect({"peer": peer, "local": None, "error": error}),
            direction="tx",
        )
        return ConnectResult(None, None, f"tcp: {error}", False)
    local = address(writer.get_extra_info("sockname"))
    rec.put(
        f"tcp connect {peer} from {local}",
        ev.connect({"peer": peer, "local": local, "error": None}),
        direction="tx",
    )

    # TLS (RFC 7118 §5: wss; verification is the context's, on for harness.pki contexts)
    stream: PlainStream = PlainStream(reader, writer)
    tls_ok = False
    if uri.secure:
        context = ssl_context if ssl_context is not None else ssl.create_default_context()
        tls_stream, data = await upgrade(
            reader,
            writer,
            context,
            server_side=False,
            server_hostname=server_hostname or uri.host,
            timeout=remaining(),
        )
        rec.put(tlsinfo.summary(data), ev.tls(data))
        if tls_stream is None:
            text = "timeout" if data["error"] == "timeout" else f"tls: {data['error']}"
            return ConnectResult(None, None, text, False)
        stream, tls_ok = tls_stream, True

    # HTTP upgrade (RFC 6455 §4.1), built and checked by websockets
    protocol = ObservedClient(
        uri, origin=None, extensions=None, subprotocols=list(subprotocols) if subprotocols else None
    )
    if key is not None:
        protocol.key = key
    request = protocol.connect()
    request.headers = shape_request_headers(
        request.headers, origin=origin, version=version, extra_headers=extra_headers
    )
    conn = WsConnection(protocol, stream, recorder=rec, close_timeout=close_timeout)
    conn.send_handshake(request)
    if not await conn.wait_handshake(remaining()):
        partial = received_head(protocol.reader)
        if partial:
            text = incomplete_head(partial, timeout)
            rec.put(f"{text}; aborting", ev.note({"error": text}))
            await conn.drop()
            return ConnectResult(None, conn.response, f"timeout: {text}", tls_ok)
        rec.put(f"no complete HTTP response within {timeout}s; aborting", ev.note({}))
        await conn.drop()
        return ConnectResult(None, conn.response, "timeout", tls_ok)
    if conn.handshake_error is not None:
        await conn.drop()
        return ConnectResult(None, conn.response, conn.handshake_error, tls_ok)
    if not conn.is_open:
        # The 101 was fine; what came with or right after it ended the connection.
        error = after_101(conn)
        await conn.drop()
        return ConnectResult(None, conn.response, error, tls_ok, accepted=True)
    return ConnectResult(conn, conn.response, None, tls_ok, accepted=True)


def incomplete_head(received: bytes, timeout: float) -> str:
    """The peer sent part of an HTTP response and then nothing for `timeout` s, with the
    connection open (RFC 9112 §2.2: the status line and each header end in CRLF)."""
    shown = received[:200]
    if b"\n" not in received:
        return (f"no complete HTTP status line within {timeout:g} s: received {shown!r} "
                "without CRLF")
    return (f"no complete HTTP response head within {timeout:g} s: received {len(received)} "
            f"bytes without the empty line that ends it ({shown!r})")


def after_101(conn: WsConnection) -> str:
    """Why a connection whose 101 websockets accepted is no longer open."""
    if conn.error is not None:  # RFC 6455 §7.1.7: wicct failed it on the SUT's frame
        return f"the SUT sent an invalid frame right after its 101: {conn.error}"
    if conn.close_code is not None:
        return f"the SUT closed the connection right after its 101 (Close {conn.close_code})"
    return "the SUT closed TCP right after its 101"


__all__ = [
    "ConnectResult",
    "Pong",
    "WsConnection",
    "WsMessage",
    "connect",
    "shape_request_headers",
]
