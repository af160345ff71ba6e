"""The offers wicct's IMS core sends a WIC (SEED 5.1.X.3, WIC-SES-02/03), made from a real
aiortc offer: as aiortc makes it (JSEP: BUNDLE, rtcp-mux), IMS-style, or a hold re-offer.

IMS-style (WIC-SES-03, TS 24.371 7.2.1: RTP and RTCP on the same or on separate ports):
no BUNDLE group and an `a=rtcp:` port of its own in every m= section (RFC 3605), with
`a=rtcp-mux` still offered beside it (RFC 5761 §5.1.3: the answerer may take either). This
is what rtpengine, an eIMS-AGW, sends a WebRTC client (tests/corpus/sdp/README.md:
`ims-offer-wic-mux-*`). An offer with no `a=rtcp-mux` at all is refused by Chromium and
aiortc (JSEP's "require" RTCP mux policy, RFC 9429 §4.1.1): see the WIC-SES-03 case.
Pure text edits; no I/O.
"""

from __future__ import annotations

OFFER_KINDS = ("audio", "audio-video", "ims", "ims-audio-video")

KINDS = {"audio": ("audio",), "audio-video": ("audio", "video"), "ims": ("audio",),
         "ims-audio-video": ("audio", "video")}


def ims_style(sdp: str) -> str:
    """`sdp` without its BUNDLE group, with `a=rtcp:<port + 1> <c= address>` after each
    m= section's c= line (after its m= line when it has none) in place of any `a=rtcp:`
    it had; `a=rtcp-mux` is kept."""
    out: list[str] = []
    rtcp: str | None = None  # the a=rtcp line the current section still waits for
    for line in sdp.splitlines():
        if line.startswith(("a=group:BUNDLE", "a=rtcp:")):  # aiortc writes a=rtcp:9
            continue
        if rtcp is not None and not line.startswith(("c=", "b=", "i=")):
            out.append(rtcp)
            rtcp = None
        out.append(line)
        if line.startswith("m="):
            words = line.split()
            if len(words) > 1 and words[1].isdigit() and int(words[1]) > 0:
                rtcp = f"a=rtcp:{int(words[1]) + 1}"
        elif line.startswith("c=") and rtcp is not None:
            rtcp = f"{rtcp} {line[2:]}"
    if rtcp is not None:
        out.append(rtcp)
    return "\r\n".join(out) + "\r\n"


def on_hold(sdp: str) -> str:
    """A re-offer putting the call on hold (RFC 3264 §8.4): the previous offer with every
    direction `a=sendonly` (an `inactive` one stays) and the o= version one higher
    (RFC 3264 §8)."""
    return _reoffer(sdp, {"a=sendrecv": "a=sendonly", "a=recvonly": "a=sendonly"})


def off_hold(sdp: str) -> str:
    """A re-offer taking the call off hold (RFC 3264 §8.4): every `a=sendonly` back to
    `a=sendrecv` and the o= version one higher (RFC 3264 §8)."""
    return _reoffer(sdp, {"a=sendonly": "a=sendrecv"})


def _reoffer(sdp: str, directions: dict[str, str]) -> str:
    """The previous offer with its direction lines mapped and the o= version one higher."""
    out: list[str] = []
    for line in sdp.splitlines():
        if line in directions:
            line = directions[line]
        elif line.startswith("o="):
            words = line.split()
            if len(words) >= 3 and words[2].isdigit():
                words[2] = str(int(words[2]) + 1)
                line = " ".join(words)
        out.append(line)
    return "\r\n".join(out) + "\r\n"
