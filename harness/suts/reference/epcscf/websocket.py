"""The reference eP-CSCF's WebSocket side below SIP: the opening handshake's checks
(RFC 6455 §4.2.2, §10.2; RFC 7118 §4.1; SEED 5.Y.1.1), the connection-level fault
switches, and sending one SIP message per WebSocket message (RFC 7118 §5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response

from harness.suts.reference import origin_trusted
from harness.suts.reference.epcscf.state import Flow
from harness.ws import reject

Log = Callable[[str], None]


@dataclass
class HandshakeMemory:
    """What the handshake code keeps between handshakes: under the fault
    `wrong_accept_on_reconnect`, the key of the first accepted handshake, whose
    Sec-WebSocket-Accept a static buffer keeps answering with."""

    first_key: str | None = None


def origin_allowed(origin: str, trusted: tuple[str, ...] | list[str], faults: frozenset[str]) -> bool:
    """The allow-list check (SEED 5.Y.1.1; RFC 6454 §5: same scheme, host and port), or
    one of the careless comparisons the fault switches stand for."""
    if "trusted_origins_last_wins" in faults:
        trusted = list(trusted)[-1:]  # a list setting read as a scalar: the last line wins
    if "origin_prefix_match" in faults:
        return any(origin.startswith(t) for t in trusted)
    if "origin_suffix_match" in faults:
        return any(origin.endswith(t.split("://", 1)[-1]) for t in trusted)
    return origin_trusted(origin, trusted)


def handshake_policy(
    request: Request,
    *,
    faults: frozenset[str],
    trusted: tuple[str, ...] | list[str],
    log: Log,
    memory: HandshakeMemory | None = None,
) -> Response | None:
    """403 for anything but one trusted Origin, 400 for a version other than 13 under the
    fault `no_426`; None lets `harness.ws` go on (subprotocol, version → 426)."""
    origins = request.headers.get_all("Origin")
    if "accept_any_origin" in faults and len(origins) > 1:
        # A naive server reads the first Origin only (websockets would answer 400).
        del request.headers["Origin"]
        request.headers["Origin"] = origins[0]
        log(f"handshake: {len(origins)} Origin headers, the first one used (fault)")
    if "origin_reads_last" in faults and len(origins) > 1:
        # RFC 6454 §7.3 allows one Origin; a header map that keeps the last value wins.
        log(f"handshake: {len(origins)} Origin headers, the last one used (fault)")
        origins = origins[-1:]
        del request.headers["Origin"]  # (websockets itself would answer 400)
        request.headers["Origin"] = origins[0]
    if "accept_any_origin" not in faults:
        if len(origins) != 1:
            log(f"handshake refused: {len(origins)} Origin headers")
            return reject(403, f"Forbidden: {len(origins)} Origin headers.\n")
        if not origin_allowed(origins[0], trusted, faults):
            log(f"handshake refused: untrusted Origin {origins[0]!r}")
            return reject(403, f"Forbidden: Origin {origins[0]} is not trusted.\n")
        if not origin_trusted(origins[0], trusted):
            log(f"handshake: untrusted Origin {origins[0]!r} accepted (fault)")
    version = request.headers.get("Sec-WebSocket-Version")
    if "no_426" in faults and version != "13":
        log(f"handshake refused with 400: Sec-WebSocket-Version {version!r} (fault no_426)")
        return reject(400, "Bad Request: unsupported Sec-WebSocket-Version.\n")
    if "no_426_version_header" in faults and version != "13":
        # RFC 6455 §4.2.2 item 4 broken on purpose: 426 without the versions it supports
        log(f"handshake refused with a bare 426: Sec-WebSocket-Version {version!r} (fault)")
        return reject(426, "Upgrade Required.\n")
    if "wrong_accept_on_reconnect" in faults and memory is not None and version == "13":
        key = request.headers.get("Sec-WebSocket-Key")
        if memory.first_key is None:
            memory.first_key = key
        elif key is not None and key != memory.first_key:
            # RFC 6455 §4.2.2 item 5.4 broken on purpose: the accept of the first handshake
            # is answered again (websockets computes it from the key it is shown).
            del request.headers["Sec-WebSocket-Key"]
            request.headers["Sec-WebSocket-Key"] = memory.first_key
            log("handshake: Sec-WebSocket-Accept of the first handshake sent again (fault)")
    return None


def apply_connection_faults(flow: Flow, faults: frozenset[str], log: Log) -> None:
    """Per-connection fault switches on top of websockets' conforming behaviour."""
    conn = flow.conn
    protocol: Any = conn.protocol
    if "no_pong" in faults:
        conn.auto_pong = False  # RFC 6455 §5.5.2 broken on purpose
    if "wrong_close_codes" in faults:
        original_fail = protocol.fail

        def fail(code: int, reason: str = "", **kw: Any) -> None:
            # RFC 6455 §7.4.1 broken on purpose: 1000 instead of 1002/1007.
            if int(code) not in (1000, 1006):
                log(f"flow {flow.token}: failing with 1000 instead of {int(code)} (fault)")
                code = 1000
            original_fail(code, reason, **kw)

        protocol.fail = fail
    if "no_close_echo" in faults:
        original_recv = protocol.recv_frame

        def recv_frame(frame: Frame) -> None:
            if frame.opcode is Opcode.CLOSE:
                # RFC 6455 §5.5.1 broken on purpose: no Close echoed, TCP dropped.
                log(f"flow {flow.token}: Close received; dropping TCP (fault)")
                conn.abort()
                return
            original_recv(frame)

        protocol.recv_frame = recv_frame


async def send_ws(flow: Flow, data: bytes, log: Log) -> None:
    """One SIP message in one WebSocket message: text if it is UTF-8, else binary."""
    if not flow.open:
        log(f"flow {flow.token}: closed, not sent: {data[:60]!r}")
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        await flow.conn.send_binary(data)
    else:
        await flow.conn.send_text(data)
