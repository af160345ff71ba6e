"""A plain RTP/AVP answer, as an IMS core's media endpoint gives one (RFC 3264 §6; RFC 3551).

Behind an eP-CSCF with an eIMS-AGW the core receives `RTP/AVP` offers with no ICE, DTLS or
BUNDLE (TS 23.228 U.1); aiortc cannot answer those, so wicct's core answers each m= line
with its own UDP port, the offer's first format (and its rtpmap) and `sendrecv`. Pure; the
offer is read by aiortc's SDP parser (no SDP reading of wicct's own).
"""

from __future__ import annotations

from aiortc.sdp import SessionDescription

PLAIN_PROTOCOLS = frozenset({"RTP/AVP", "RTP/AVPF"})

# what aiortc's parser raises on an SDP it refuses (see harness/sdp/located.py)
_REFUSED = (AssertionError, ValueError, KeyError, IndexError, TypeError, AttributeError, StopIteration)


def _media(offer: str) -> list[tuple[str, str, str, str | None]]:
    """(kind, protocol, first format, its rtpmap value) of each m= line, in order, as
    aiortc's SDP parser reads the offer ([] when it refuses it)."""
    try:
        parsed = SessionDescription.parse(offer)
    except _REFUSED:
        return []
    out = []
    for m in parsed.media:
        if m.fmt:
            fmt = str(m.fmt[0])
            rtpmap = next((str(c) for c in m.rtp.codecs if str(c.payloadType) == fmt), None)
            out.append((m.kind, m.profile, fmt, rtpmap))
    return out


def plain_media(offer: str) -> list[tuple[str, str, str]]:
    """(kind, protocol, first format) of each m= line of an offer, in order."""
    return [(kind, proto, fmt) for kind, proto, fmt, _ in _media(offer)]


def is_plain(offer: str) -> bool:
    """Every m= line is plain RTP (no DTLS-SRTP): the offer an IMS core gets past an AGW."""
    media = plain_media(offer)
    return bool(media) and all(proto in PLAIN_PROTOCOLS for _, proto, _ in media)


def plain_answer(offer: str, host: str, ports: list[int], session_id: int) -> str:
    """The answer: one m= line per offered one (same kind and protocol, RFC 3264 §6), on
    `ports` (0 rejects a line), each with the offer's first format."""
    lines = ["v=0", f"o=wicct-core {session_id} 1 IN IP4 {host}", "s=wicct core", f"c=IN IP4 {host}", "t=0 0"]
    for (kind, proto, fmt, rtpmap), port in zip(_media(offer), ports, strict=True):
        lines.append(f"m={kind} {port} {proto} {fmt}")
        if rtpmap:
            lines.append(f"a=rtpmap:{fmt} {rtpmap}")
        lines.append("a=sendrecv")
    return "\r\n".join(lines) + "\r\n"


def plain_offer(host: str, ports: list[int], session_id: int) -> str:
    """An IMS core's plain offer (RFC 3264 §5; RFC 3551 §6): one `m=audio` line per port,
    `RTP/AVP` with PCMU (0) and PCMA (8), no ICE, DTLS, BUNDLE or rtcp-mux: what an
    eIMS-AGW converts to WebRTC towards the WIC (TS 23.228 U.1)."""
    lines = ["v=0", f"o=wicct-core {session_id} 1 IN IP4 {host}", "s=wicct core", f"c=IN IP4 {host}", "t=0 0"]
    for port in ports:
        lines += [f"m=audio {port} RTP/AVP 0 8", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


__all__ = ["is_plain", "plain_answer", "plain_media", "plain_offer"]
