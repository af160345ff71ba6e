"""What an eP-CSCF relayed that it had to discard (RFC 3261 §18.3), read from the core's
side of the timeline."""

from __future__ import annotations

from typing import Any

from harness.evidence import SIP, SIP_ERROR, Entry, Timeline, sip, sip_error
from harness.sip import SipParseError, parse


def raw_bytes(raw: Any) -> bytes:
    """The recorded raw octets of a message entry (bytes, or text kept with surrogates)."""
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    return str(raw or "").encode("utf-8", "surrogateescape")


def raw_of(entry: Entry) -> bytes:
    """The bytes a `SIP` or `SIP_ERROR` entry recorded (empty for another kind)."""
    if entry.kind == SIP:
        return raw_bytes(sip.of(entry)["raw"])
    if entry.kind == SIP_ERROR:
        return raw_bytes(sip_error.of(entry)["raw"])
    return b""


def relayed_excess(timeline: Timeline, entry: int) -> bytes:
    """Octets the core received after the Content-Length of the message in `entry`.

    On a message-oriented hop (UDP) the core stub itself discards them (RFC 3261 §18.3), so
    its parsed message looks clean; non-empty here means the SUT relayed bytes it had to
    discard."""
    try:
        return parse(raw_of(timeline[entry])).excess
    except (IndexError, SipParseError):
        return b""


def relayed_unparsable_responses(
    timeline: Timeline, call_id: str, since: int = 0
) -> list[tuple[int, int]]:
    """(seq, status) of core entries holding a response for `call_id` that the core could not
    parse (e.g. a Content-Length larger than the body, which RFC 3261 §18.3 makes the
    receiver discard): the SUT relayed a response it had to discard itself."""
    found = []
    for entry in timeline.select(kind=SIP_ERROR, actor="core", direction="rx", since=since):
        raw = raw_of(entry).lstrip(b"\r\n")
        status = raw[8:11]
        if raw.startswith(b"SIP/2.0 ") and status.isdigit() and call_id.encode() in raw:
            found.append((entry.seq, int(status)))
    return found
