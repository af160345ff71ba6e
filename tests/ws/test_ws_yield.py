"""A SUT that never stops sending cannot starve the event loop (issue: hostile SUTs): the
connection's read loop yields between reads even when its stream returns at once (bytes
already buffered, TLS records already decrypted), so timers and other tasks, the case's
deadline among them, still run."""

from __future__ import annotations

import asyncio

from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN
from websockets.uri import parse_uri

from harness.evidence import Timeline
from harness.ws.observe import ObservedClient
from harness.ws.record import Recorder
from harness.ws.shell import WsConnection
from harness.ws.stream import PlainStream

CHUNKS = 5
PINGS_PER_CHUNK = 50


class BufferedStream(PlainStream):
    """A stream whose bytes are all buffered: `read` returns without suspending until the
    buffer is empty (as asyncio's StreamReader and TlsStream do), then waits forever."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks
        self.closing = False
        self.reads = 0

    async def read(self) -> bytes:
        if self._chunks:
            self.reads += 1
            return self._chunks.pop(0)
        await asyncio.Event().wait()
        return b""

    def write(self, data: bytes) -> None:
        pass

    async def drain(self) -> None:
        pass  # nothing waits to be sent

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


def server_ping(payload: bytes) -> bytes:
    # an unmasked server frame (RFC 6455 §5.1); header bytes as §5.2 lays them out
    frame = Frame(Opcode.PING, payload)
    return bytes([0x80 | frame.opcode.value, len(payload)]) + payload


async def test_the_read_loop_yields_between_reads() -> None:
    chunks = [b"".join(server_ping(b"%d-%d" % (c, i)) for i in range(PINGS_PER_CHUNK)) for c in range(CHUNKS)]
    stream = BufferedStream(list(chunks))
    protocol = ObservedClient(parse_uri("wss://127.0.0.1/"), state=OPEN)
    conn = WsConnection(protocol, stream, recorder=Recorder(Timeline(), "wic", "c1"))
    seen: list[int] = []

    async def other_task() -> None:
        while stream.reads < CHUNKS:
            seen.append(stream.reads)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(other_task())
    conn.start()
    await asyncio.wait_for(watcher, 5.0)
    # the other task ran while the connection still had buffered chunks to read, not only
    # before the first and after the last
    assert any(0 < n < CHUNKS for n in seen), seen
    conn.abort()


async def test_a_message_is_limited_in_frames_not_only_bytes(pair, timeline) -> None:
    """Empty continuation frames add no bytes, so websockets' max_size never trips: wicct
    fails the connection with 1009 once a message spans more than MAX_FRAGMENTS frames."""
    from harness import evidence as ev
    from harness.ws.record import MAX_FRAGMENTS

    client, server = pair
    await server.send_raw_frame(opcode="text", payload=b"REGISTER", fin=False)
    for _ in range(MAX_FRAGMENTS + 5):
        await server.send_raw_frame(opcode=0, payload=b"", fin=False)
    assert await client.wait_closed(5.0)
    errors = [ev.ws_error.of(e) for e in timeline if e.kind == ev.WS_ERROR and e.actor == "wic"]
    assert [(e["code"], e["error"]) for e in errors] == [
        (1009, f"message too big: more than {MAX_FRAGMENTS} frames")]
    close = ev.ws_close.of(timeline[client.close_entry])
    assert close["sent_code"] == 1009 and close["by"] == "us"
