"""A plain RTP/AVP answer, as an IMS core's media endpoint gives one (RFC 3264 §6; RFC 3551).

Behind an eP-CSCF with an eIMS-AGW the core receives `RTP/AVP` offers with no ICE, DTLS or
BUNDLE (TS 23.228 U.1); aiortc cannot answer those, so wicct's core answers each m= line
with its own UDP port, the offer's first format (and its rtpmap) and `sendrecv`. Pure.
"""

from __future__ import annotations

PLAIN_PROTOCOLS = frozenset({"RTP/AVP", "RTP/AVPF"})


def plain_media(offer: str) -> list[tuple[str, str, str]]:
    """(kind, protocol, first format) of each m= line of an offer, in order."""
    out = []
    for line in offer.splitlines():
        if line.startswith("m="):
            parts = line[2:].split()
            if len(parts) >= 4:
                out.append((parts[0], parts[2], parts[3]))
    return out


def is_plain(offer: str) -> bool:
    """Every m= line is plain RTP (no DTLS-SRTP): the offer an IMS core gets past an AGW."""
    media = plain_media(offer)
    return bool(media) and all(proto in PLAIN_PROTOCOLS for _, proto, _ in media)


def _rtpmap(offer: str, fmt: str) -> str | None:
    return next((line for line in offer.splitlines() if line.startswith(f"a=rtpmap:{fmt} ")), None)


def plain_answer(offer: str, host: str, ports: list[int], session_id: int) -> str:
    """The answer: one m= line per offered one (same kind and protocol, RFC 3264 §6), on
    `ports` (0 rejects a line), each with the offer's first format."""
    lines = ["v=0", f"o=wicct-core {session_id} 1 IN IP4 {host}", "s=wicct core", f"c=IN IP4 {host}", "t=0 0"]
    for (kind, proto, fmt), port in zip(plain_media(offer), ports, strict=True):
        lines.append(f"m={kind} {port} {proto} {fmt}")
        rtpmap = _rtpmap(offer, fmt)
        if rtpmap:
            lines.append(rtpmap)
        lines.append("a=sendrecv")
    return "\r\n".join(lines) + "\r\n"


__all__ = ["is_plain", "plain_answer", "plain_media"]
