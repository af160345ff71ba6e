"""SIP over a byte stream (TCP towards the IMS core): framing by Content-Length.

RFC 3261 §18.3: on a stream-oriented transport the Content-Length frames each message.
Shared by wicct's IMS-core stub and the reference eP-CSCF's core-facing side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

# The largest body wicct reads from the stream: 1 MiB, the WebSocket side's message limit.
# A peer announcing more (a Content-Length of 10**12) would make `readexactly` buffer
# without end; such a stream is unframeable and ends like one (issue 11: bounded memory).
MAX_BODY = 1024 * 1024


async def read_sip_stream(
    reader: asyncio.StreamReader, unframeable: Callable[[str], None] | None = None
) -> bytes | None:
    """One SIP message from a TCP stream, framed by its Content-Length (RFC 3261 §18.3).

    None at end of stream (or on an unframeable head, or a Content-Length over `MAX_BODY`);
    b"" for a CRLF keep-alive. When the stream ends because it cannot be framed (not at a
    plain end of stream), `unframeable` gets why, for the caller's evidence: a stream
    never ends silently.
    Yields to the event loop first: a buffered stream returns without suspending, and a
    peer sending without pause must not starve the loop's timers.
    """
    def ended(why: str) -> None:
        if unframeable is not None:
            unframeable(why)

    await asyncio.sleep(0)
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip(b"\r\n"):
            ended(f"the stream ended in the middle of a message head ({len(exc.partial)} octets)")
        return None
    except asyncio.LimitOverrunError as exc:
        ended(f"a message head longer than the reader's limit ({exc.consumed}+ octets without "
              "a blank line): the stream cannot be framed, read as its end")
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
        ended(f"Content-Length {length} is over the {MAX_BODY}-octet limit: the stream is "
              "unframeable, read as its end (RFC 3261 §18.3)")
        return None
    try:
        return stripped + await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        ended(f"the stream ended {length - len(exc.partial)} octets short of a "
              f"Content-Length of {length}")
        return None
