"""One hostile connection: the socket, websockets' sans-I/O protocol over it, and the
few frames written by hand because the point is that websockets would never build them.

Frames are built by websockets' `ClientProtocol`/`ServerProtocol` (masking, fragments,
Pings, a text frame whose payload is not UTF-8: `send_text` takes bytes and does not
check them). By hand, small: a header announcing 2^62 octets (RFC 6455 §5.2 allows it,
no peer can hold it), the header of an oversize frame whose payload is streamed rather
than built in memory, and half a frame before a reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol

from harness.sip import SipParseError, parse

READ_CHUNK = 65536
WRITE_LIMIT = 1 << 20  # a flood waits for the socket past this many unsent octets
# a flood pauses 1 ms every this many writes: the peer shares wicct's process (and GIL),
# where a real SUT would have its own; the flood still outruns any reader
BURST = 64


def _registered_by(message: bytes) -> bool:
    """Whether `message` is a 2xx to a REGISTER (RFC 3261 §10.3)."""
    if not message.startswith(b"SIP/2.0 2"):
        return False
    try:
        return parse(message).message.cseq.method == "REGISTER"
    except SipParseError:
        return False


def frame_header(opcode: int, length: int, *, masked: bool, fin: bool = True) -> bytes:
    """An RFC 6455 §5.2 frame header; a masked one with the all-zero masking key, so the
    payload that follows goes out as it is (XOR with zero)."""
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    return head + (b"\x00\x00\x00\x00" if masked else b"")


class Wire:
    """A hostile side of one WebSocket connection (either role)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        protocol: ClientProtocol | ServerProtocol,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = protocol
        self._parts: list[bytes] = []
        self._writes = 0
        self.registered = False  # a 2xx to a REGISTER came (what a hostile WIC reports)

    @property
    def masked(self) -> bool:
        """A client masks its frames (RFC 6455 §5.3)."""
        return isinstance(self.protocol, ClientProtocol)

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        self._writes += 1
        if self.writer.transport.get_write_buffer_size() > WRITE_LIMIT:
            await self.writer.drain()
        elif self._writes % BURST == 0:
            await asyncio.sleep(0.001)
        else:
            await asyncio.sleep(0)  # let the peer's loop breathe between frames

    async def flush(self) -> None:
        """Write what the protocol has to send (frames, Pongs, a Close)."""
        for chunk in self.protocol.data_to_send():
            if chunk:
                await self.write(chunk)

    async def read_messages(self) -> list[bytes] | None:
        """Read once; the complete messages that arrived (None: the connection ended).
        The protocol answers Pings and Closes itself (RFC 6455 §5.5)."""
        data = await self.reader.read(READ_CHUNK)
        if not data:
            self.protocol.receive_eof()
            await self.flush()
            return None
        self.protocol.receive_data(data)
        messages = []
        for event in self.protocol.events_received():
            if not isinstance(event, Frame):
                continue
            if event.opcode in (Opcode.TEXT, Opcode.BINARY):
                self._parts = [bytes(event.data)]
            elif event.opcode is Opcode.CONT:
                self._parts.append(bytes(event.data))
            else:
                continue
            if event.fin:
                message = b"".join(self._parts)
                self._parts = []
                self.registered = self.registered or _registered_by(message)
                messages.append(message)
        await self.flush()
        return messages

    async def send_text(self, data: bytes) -> None:
        self.protocol.send_text(data)
        await self.flush()

    async def discard_forever(self) -> None:
        """Read and drop everything, answer nothing (not even a Ping), until EOF."""
        while await self.reader.read(READ_CHUNK):
            pass

    def reset(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0) rather than a FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def close(self) -> None:
        self.writer.transport.abort()
