"""What a hostile peer does once its WebSocket is open (either role).

Each behaviour runs until the connection ends or the peer is stopped; a flood yields to
the peer's own loop between frames and waits for the socket past a bounded buffer, so
the peer itself stays small whatever it sends.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from websockets.frames import Opcode

from harness.sip import SipParseError, build_response, parse
from harness.suts.hostile import torture
from harness.suts.hostile.wire import Wire, frame_header

OVERSIZE = 64 * 1024 * 1024  # one 64 MiB message
CHUNK = 1024 * 1024
HUGE = 1 << 62  # the announced length of `huge-length`
JUNK_SIZE = 1024
INVALID_UTF8 = (b"\xc3\x28 not UTF-8", b"SIP/2.0 200 \xff\xfe OK\r\n\r\n")  # two, different

SLOW_OCTET_S = 1.0  # `slow-handshake`: one octet a second

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
    if behaviour == "slow-handshake":
        for octet in head:
            await wire.write(bytes([octet]))
            await asyncio.sleep(SLOW_OCTET_S)
    else:
        await wire.write(head)
    return True


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


def _twice_200(request: bytes) -> list[bytes]:
    try:
        message = parse(request).message
    except SipParseError:
        return []
    if message.method == "ACK":
        return []
    response = build_response(message, 200, to_tag="hostile").to_bytes()
    return [response, response]


async def duplicated_responses(wire: Wire) -> None:
    await _answer(wire, _twice_200)


AFTER_UPGRADE: dict[str, Behaviour] = {
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
