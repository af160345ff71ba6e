"""What a hostile peer does once its WebSocket is open (either role).

Each behaviour runs until the connection ends or the peer is stopped; a flood yields to
the peer's own loop between frames and waits for the socket past a bounded buffer, so
the peer itself stays small whatever it sends.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable

from websockets.frames import Opcode

from harness.sip import SipMessage, SipParseError, build_response, parse
from harness.suts.hostile import torture
from harness.suts.hostile.wire import Wire, frame_header

OVERSIZE = 64 * 1024 * 1024  # one 64 MiB message
CHUNK = 1024 * 1024
HUGE = 1 << 62  # the announced length of `huge-length`
JUNK_SIZE = 1024
INVALID_UTF8 = (b"\xc3\x28 not UTF-8", b"SIP/2.0 200 \xff\xfe OK\r\n\r\n")  # two, different

SLOW_OCTET_S = 1.0  # `slow-handshake`: one octet a second
HEADER_OCTETS = 1024 * 1024  # `huge-http-header`: one header line of 1 MiB
HEADER_LINES = 5000  # `many-http-headers`, `many-sip-headers`: this many header lines
M_LINES = 5000  # `huge-sdp`: this many m= sections (about 150 kB, within 1 MiB)

Behaviour = Callable[[Wire], Awaitable[None]]


async def send_head(wire: Wire, head: bytes, behaviour: str) -> bool:
    """Send this side's handshake message (the upgrade request or its 101) as the row
    says; False when the row ends the handshake there (closed half-way, garbage sent)."""
    if behaviour == "close-mid-handshake":
        await wire.write(head[: len(head) // 2])
        await wire.writer.drain()
        return False
    if behaviour == "garbage-handshake":
        for _ in range(4):
            await wire.write(os.urandom(256))
        await wire.discard_forever()
        return False
    if behaviour in ("huge-http-header", "many-http-headers"):
        head = bulky_head(head, behaviour)
    if behaviour == "slow-handshake":
        for octet in head:
            await wire.write(bytes([octet]))
            await asyncio.sleep(SLOW_OCTET_S)
    else:
        await wire.write(head)
    return True


def bulky_head(head: bytes, behaviour: str) -> bytes:
    """The handshake message with one 1 MiB header line or 5000 header lines more, before
    its blank line (RFC 7230 §3.2.5: a server may refuse them; websockets caps lines at
    8 kB and headers at 128)."""
    line, _, rest = head.partition(b"\r\n")
    if behaviour == "huge-http-header":
        extra = b"X-Hostile: " + b"a" * HEADER_OCTETS + b"\r\n"
    else:
        extra = b"".join(b"X-Hostile-%d: %d\r\n" % (i, i) for i in range(HEADER_LINES))
    return line + b"\r\n" + extra + rest


async def after_upgrade(wire: Wire, behaviour: str) -> None:
    """What the row does once the WebSocket is open (stall when it names nothing)."""
    await AFTER_UPGRADE.get(behaviour, stall)(wire)


async def _answer(wire: Wire, reply: Callable[[bytes], list[bytes]]) -> None:
    """Read until the end; send `reply(request)`'s messages for each SIP request."""
    while (messages := await wire.read_messages()) is not None:
        for message in messages:
            if _is_request(message):
                for text in reply(message):
                    await send_sip(wire, text)


async def send_sip(wire: Wire, message: bytes) -> None:
    """One SIP message in one WebSocket message: a text frame when it is UTF-8, else a
    binary one (RFC 7118 §4.2), so a torture message tests SIP, not the UTF-8 check."""
    try:
        message.decode("utf-8")
    except UnicodeDecodeError:
        wire.protocol.send_binary(message)
        await wire.flush()
    else:
        await wire.send_text(message)


def _is_request(message: bytes) -> bool:
    return not message.lstrip(b"\r\n").startswith(b"SIP/")


async def stall(wire: Wire) -> None:
    await wire.discard_forever()


async def reset_mid_frame(wire: Wire) -> None:
    payload = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"
    header = frame_header(Opcode.TEXT.value, len(payload), masked=wire.masked)
    await wire.write(header + payload[: len(payload) // 2])
    await wire.writer.drain()
    await asyncio.sleep(0.2)
    wire.reset()


async def _flood(wire: Wire, send_one: Callable[[], Awaitable[None]]) -> None:
    """Call `send_one` without end while reading (and dropping) what comes, until the
    connection ends: the peer reads, so a Close or a reset from wicct stops it."""
    reading = asyncio.ensure_future(wire.discard_forever())
    try:
        while not reading.done():
            await send_one()
    finally:
        reading.cancel()


async def binary_junk(wire: Wire) -> None:
    async def one() -> None:
        wire.protocol.send_binary(os.urandom(JUNK_SIZE))
        await wire.flush()

    await _flood(wire, one)


async def raw_junk(wire: Wire) -> None:
    await _flood(wire, lambda: wire.write(os.urandom(JUNK_SIZE)))


async def oversize_message(wire: Wire) -> None:
    await wire.write(frame_header(Opcode.TEXT.value, OVERSIZE, masked=wire.masked))
    block = b"A" * CHUNK
    for _ in range(OVERSIZE // CHUNK):
        await wire.write(block)
        await wire.writer.drain()
    await wire.discard_forever()


async def huge_length(wire: Wire) -> None:
    await wire.write(frame_header(Opcode.BINARY.value, HUGE, masked=wire.masked) + b"REGISTER")
    await wire.discard_forever()


async def endless_continuations(wire: Wire) -> None:
    wire.protocol.send_text(b"REGISTER sip:", fin=False)

    async def one() -> None:
        wire.protocol.send_continuation(b"", fin=False)
        await wire.flush()

    await _flood(wire, one)


async def ping_flood(wire: Wire) -> None:
    count = iter(range(1 << 62))

    async def one() -> None:
        wire.protocol.send_ping(next(count).to_bytes(8, "big"))
        await wire.flush()

    await _flood(wire, one)


async def invalid_utf8(wire: Wire) -> None:
    for payload in INVALID_UTF8:
        await wire.send_text(payload)
    while (messages := await wire.read_messages()) is not None:
        for _message in messages:
            for payload in INVALID_UTF8:
                await wire.send_text(payload)  # a text frame on purpose


async def torture_requests(wire: Wire) -> None:
    for message in torture.messages().values():
        await send_sip(wire, message)
    await _answer(wire, lambda _request: [])


async def torture_responses(wire: Wire) -> None:
    """Every torture message where a response is awaited: after each request wicct sends."""
    await _answer(wire, lambda _request: list(torture.messages().values()))


def _answerable(request: bytes) -> SipMessage | None:
    """The request a row answers: parsed, and not an ACK (never answered, RFC 3261 §17.1.1.3)."""
    try:
        message = parse(request).message
    except SipParseError:
        return None
    return None if message.method == "ACK" else message


def _twice_200(request: bytes) -> list[bytes]:
    message = _answerable(request)
    if message is None:
        return []
    response = build_response(message, 200, to_tag="hostile").to_bytes()
    return [response, response]


async def duplicated_responses(wire: Wire) -> None:
    await _answer(wire, _twice_200)


async def request_flood(wire: Wire) -> None:
    """Valid OPTIONS and MESSAGE requests, each a new transaction, without end."""
    count = iter(range(1 << 62))

    async def one() -> None:
        n = next(count)
        await wire.send_text(sip_request("MESSAGE" if n % 2 else "OPTIONS", n, body=b"flood %d" % n))

    await _flood(wire, one)


def sip_request(
    method: str, n: int, *, headers: bytes = b"", body: bytes = b"", content_type: bytes = b"text/plain"
) -> bytes:
    """A valid out-of-dialog request (RFC 3261 §8.1.1), number `n` (its own branch and
    Call-ID), sent-by `.invalid` as RFC 7118 §5.2 wants."""
    typed = b"Content-Type: " + content_type + b"\r\n" if body else b""
    return (
        b"%s sip:bob@ims.example.test SIP/2.0\r\n"
        b"Via: SIP/2.0/WSS hostile.invalid;branch=z9hG4bKhostile%d\r\n"
        b"Max-Forwards: 70\r\nFrom: <sip:hostile@ims.example.test>;tag=h%d\r\n"
        b"To: <sip:bob@ims.example.test>\r\nCall-ID: hostile-%d\r\nCSeq: 1 %s\r\n"
        b"%s%sContent-Length: %d\r\n\r\n%s"
    ) % (method.encode(), n, n, n, method.encode(), headers, typed, len(body), body)


def many_headers(n: int) -> bytes:
    return b"".join(b"X-Hostile-%d: %d\r\n" % (i, i) for i in range(n))


def huge_offer() -> bytes:
    """An SDP offer (RFC 4566) of `M_LINES` audio m= sections."""
    head = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    return head + b"".join(b"m=audio %d RTP/AVP 0\r\n" % (10000 + 2 * i) for i in range(M_LINES))


def _bulky(kind: str) -> Callable[[bytes], list[bytes]]:
    """Answer each request with a 200 that carries 5000 headers or a 5000-m-line SDP."""

    def reply(request: bytes) -> list[bytes]:
        message = _answerable(request)
        if message is None:
            return []
        if kind == "headers":
            extra = [(f"X-Hostile-{i}", str(i)) for i in range(HEADER_LINES)]
            return [build_response(message, 200, to_tag="hostile", headers=extra).to_bytes()]
        return [build_response(message, 200, to_tag="hostile", body=huge_offer(),
                               content_type="application/sdp").to_bytes()]

    return reply


async def many_sip_headers(wire: Wire) -> None:
    """One request with 5000 header lines, then a 200 with as many to each request."""
    await wire.send_text(sip_request("MESSAGE", 1, headers=many_headers(HEADER_LINES), body=b"hi"))
    await _answer(wire, _bulky("headers"))


async def huge_sdp(wire: Wire) -> None:
    """One INVITE whose offer has 5000 m= sections, then a 200 with such an SDP to each
    request."""
    await wire.send_text(sip_request("INVITE", 1, body=huge_offer(), content_type=b"application/sdp"))
    await _answer(wire, _bulky("sdp"))


_UNRELATED = itertools.count(7000)  # each unrelated response its own transaction


def _unrelated(request: bytes) -> list[bytes]:
    """A 200 of another transaction: its own branch, Call-ID and CSeq (RFC 3261 §17.1.3:
    it matches no client transaction)."""
    if _answerable(request) is None:
        return []
    unrelated = parse(sip_request("OPTIONS", next(_UNRELATED))).message
    return [build_response(unrelated, 200, to_tag="hostile").to_bytes()]


async def unrelated_responses(wire: Wire) -> None:
    await _answer(wire, _unrelated)


async def compressed_bomb(wire: Wire) -> None:
    """Frames with RSV1 set (permessage-deflate, RFC 7692 §6) whose payload inflates 1000
    to 1 (1 MiB of zeros, deflated), though no extension was negotiated: RFC 6455 §5.2
    says the receiver fails the connection."""
    import zlib

    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = deflater.compress(b"\0" * (1 << 20)) + deflater.flush(zlib.Z_SYNC_FLUSH)
    payload = payload[:-4]  # RFC 7692 §7.2.1: the trailing 00 00 ff ff is dropped
    header = bytearray(frame_header(Opcode.TEXT.value, len(payload), masked=wire.masked))
    header[0] |= 0x40  # RSV1

    async def one() -> None:
        await wire.write(bytes(header) + payload)

    await _flood(wire, one)


AFTER_UPGRADE: dict[str, Behaviour] = {
    "request-flood": request_flood,
    "many-sip-headers": many_sip_headers,
    "huge-sdp": huge_sdp,
    "unrelated-responses": unrelated_responses,
    "deflate-bomb": compressed_bomb,
    "huge-http-header": stall,  # if a handshake that big is ever accepted
    "many-http-headers": stall,
    "many-connections": stall,  # each of the 48 holds its WebSocket
    "stall-after-upgrade": stall,
    "wrong-accept": stall,
    "slow-handshake": stall,  # if the handshake ever completes
    "reset-mid-frame": reset_mid_frame,
    "binary-junk": binary_junk,
    "raw-junk": raw_junk,
    "oversize-message": oversize_message,
    "huge-length": huge_length,
    "endless-continuations": endless_continuations,
    "ping-flood": ping_flood,
    "invalid-utf8": invalid_utf8,
    "torture-requests": torture_requests,
    "torture-responses": torture_responses,
    "duplicated-responses": duplicated_responses,
}
