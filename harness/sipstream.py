"""SIP over a byte stream (TCP towards the IMS core): framing by Content-Length.

RFC 3261 §18.3: on a stream-oriented transport the Content-Length frames each message.
Shared by wicct's IMS-core stub and the reference eP-CSCF's core-facing side.
"""

from __future__ import annotations

import asyncio
import contextlib

# The largest body wicct reads from the stream: 1 MiB, the WebSocket side's message limit.
# A peer announcing more (a Content-Length of 10**12) would make `readexactly` buffer
# without end; such a stream is unframeable and ends like one (issue 11: bounded memory).
MAX_BODY = 1024 * 1024


async def read_sip_stream(reader: asyncio.StreamReader) -> bytes | None:
    """One SIP message from a TCP stream, framed by its Content-Length (RFC 3261 §18.3).

    None at end of stream (or on an unframeable head, or a Content-Length over `MAX_BODY`);
    b"" for a CRLF keep-alive.
    Yields to the event loop first: a buffered stream returns without suspending, and a
    peer sending without pause must not starve the loop's timers.
    """
    await asyncio.sleep(0)
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    stripped = head.lstrip(b"\r\n")
    if not stripped:
        return b""
    length = 0
    for line in stripped.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            with contextlib.suppress(ValueError):
                length = int(value.strip())
    if length <= 0:
        return stripped
    if length > MAX_BODY:
        return None
    try:
        return stripped + await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None
