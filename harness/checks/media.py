"""Media after offer/answer, judged from the facts wicct's media endpoints reported. Pure.

WIC-SES-04 (SEED 5.1.X.2/5.1.X.3, beyond; informational): after the answer, media
connects between the WIC and wicct's aiortc peer: ICE (RFC 8445) and DTLS-SRTP (RFC 5764)
complete and RTP flows (RFC 3550). Pure: judged from the facts wicct's peer reported.

Outcomes: connected with RTP both ways, or connected without RTP from the WIC, or DTLS
failed after ICE: INFORMATIONAL, with the time from the 200 to media; ICE that never
completes (no connectivity check answered) within the window: INCONCLUSIVE, wicct could
not learn how the WIC's media behaves.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks.registry import rejudgeable
from harness.sdp.media import MediaFacts, RtpCounts
from harness.sdp.plain import PLAIN_PROTOCOLS
from harness.verdicts import Verdict


@dataclass(frozen=True)
class MediaJudgement:
    verdict: Verdict
    reason: str


@rejudgeable
def media_outcome(facts: MediaFacts, *, waited: float, window: float,
                  connected_after: float | None) -> MediaJudgement:
    """Judge wicct's peer's media facts after `waited` seconds of a `window`;
    `connected_after`: seconds from the 200 to ICE and DTLS connected (None: never)."""
    counts = f"RTP packets from the WIC {facts['rtp_received']}, to it {facts['rtp_sent']}"
    if facts["connection"] == "connected" and connected_after is not None:
        timing = f"ICE and DTLS connected {connected_after * 1000:.0f} ms after the 200"
        if facts["rtp_received"] > 0:
            return MediaJudgement(Verdict.INFORMATIONAL,
                                  f"media connects: {timing}; RTP flows ({counts})")
        return MediaJudgement(Verdict.INFORMATIONAL,
                              f"{timing}, but no RTP from the WIC within {waited:g} s ({counts})")
    ice_done = facts["ice"] in ("connected", "completed")
    if ice_done or (facts["connection"] == "failed" and facts["ice"] != "failed"):
        return MediaJudgement(Verdict.INFORMATIONAL,
                              f"ICE completed but DTLS did not (connection {facts['connection']}) "
                              f"within {waited:g} s ({counts})")
    return MediaJudgement(Verdict.INCONCLUSIVE,
                          f"ICE did not complete within {window:g} s (ICE {facts['ice']}, "
                          f"connection {facts['connection']}): the WIC's media endpoint never "
                          "answered wicct's connectivity checks")


@dataclass(frozen=True)
class MediaLeg:
    """One call through an eP-CSCF with its eIMS-AGW, as wicct's actors saw it at both of
    the SUT's sides: the WIC emulator's aiortc peer and the IMS core's plain RTP ports."""

    direction: str  # "originating" (the WIC called) | "terminating" (the core called)
    status: int  # the INVITE's final status (0: none)
    wic_protocols: tuple[str, ...]  # m= protocols of the SDP at the WIC's side (its offer or the one it got)
    core_protocols: tuple[str, ...]  # m= protocols of the SDP at the core's side
    wic: MediaFacts | None = None  # the WIC's peer after the watch (None: not watched)
    core: tuple[RtpCounts, ...] = ()  # the core's RTP ports of the call
    answered_t: float | None = None  # the WIC's 200 on the timeline
    connected_t: float | None = None  # when the WIC's peer saw ICE and DTLS connected
    waited: float = 0.0
    window: float = 0.0


@dataclass(frozen=True)
class MediaThrough:
    verdict: Verdict
    reason: str
    flowed: bool  # RTP reached the core's plain port and the core's echo reached the WIC


def _plain(protocols: tuple[str, ...]) -> bool:
    return bool(protocols) and all(p in PLAIN_PROTOCOLS for p in protocols)


def _ms(t: float | None, since: float | None) -> str:
    return f"{(t - since) * 1000:.0f} ms" if t is not None and since is not None else "?"


def no_media_path(leg: MediaLeg) -> str | None:
    """Why the call has no media path through the SUT's edge to watch (None: it has one:
    answered 2xx, plain RTP at the core's side and WebRTC at the WIC's)."""
    side = f"{leg.direction} call"
    if not 200 <= leg.status < 300:
        said = f"answered {leg.status}" if leg.status else "not answered"
        if leg.direction == "terminating" and _plain(leg.wic_protocols):
            return (f"{side}: the SUT passed the core's plain {'/'.join(leg.wic_protocols)} offer to the WIC "
                    f"unconverted and the call was {said}: no media at the edge to watch")
        return f"{side} {said}: no media to watch"
    if not _plain(leg.core_protocols):
        return (f"{side}: no media relayed at the SUT's edge: the core's side of the call is "
                f"{'/'.join(leg.core_protocols) or 'without SDP'} (not plain RTP), so the media path is between "
                "wicct's two WebRTC peers, not through the SUT")
    if _plain(leg.wic_protocols) or not leg.wic_protocols:
        return (f"{side}: the WIC's side of the call is {'/'.join(leg.wic_protocols) or 'without SDP'}: the SUT "
                "converted no media to WebRTC towards the WIC")
    return None


@rejudgeable
def media_through(leg: MediaLeg) -> MediaThrough:
    """Whether media crossed the eP-CSCF's edge both ways (TS 23.228 U.1, the eIMS-AGW).

    The catalogue states no media requirement for an eP-CSCF (EPC-SES-01 judges the SDP
    towards the core), so every outcome is INFORMATIONAL: media that flowed (RTP counted at
    the core's plain port and the core's echo received by the WIC over SRTP, with the time
    from the WIC's 200), media that did not, a SUT that converts no media at all, and ICE
    that the SUT's media endpoint never answered within the window."""
    info = Verdict.INFORMATIONAL
    side = f"{leg.direction} call"
    why = no_media_path(leg)
    if why is not None:
        return MediaThrough(info, why, False)
    if leg.wic is None:
        return MediaThrough(info, f"{side}: the WIC emulator had no media peer for the call", False)
    to_core = sum(c["rtp_packets"] for c in leg.core)
    firsts = [c["first_t"] for c in leg.core if c["first_t"] is not None]
    first = min(firsts) if firsts else None
    to_wic = leg.wic["rtp_received"]
    counts = (f"{to_core} RTP packet(s) WIC→core (at the core's plain port), {to_wic} core→WIC (the core's "
              f"echo, received by the WIC over SRTP); the WIC sent {leg.wic['rtp_sent']}")
    if leg.wic["connection"] == "connected" and leg.connected_t is not None:
        timing = (f"ICE and DTLS-SRTP with the SUT's media endpoint connected {_ms(leg.connected_t, leg.answered_t)} "
                  f"after the WIC's 200")
        if to_core > 0 and to_wic > 0:
            return MediaThrough(info, f"{side}: media flowed both ways through the SUT: {counts}; first packet at "
                                f"the core {_ms(first, leg.answered_t)} after the WIC's 200; {timing}", True)
        return MediaThrough(info, f"{side}: {timing}, but RTP did not flow both ways within {leg.waited:g} s: "
                            f"{counts}", False)
    if leg.wic["ice"] in ("connected", "completed"):
        return MediaThrough(info, f"{side}: ICE with the SUT's media endpoint completed but DTLS did not "
                            f"(connection {leg.wic['connection']}) within {leg.waited:g} s: {counts}", False)
    return MediaThrough(info, f"{side}: the SUT's media endpoint did not complete ICE with the WIC within "
                        f"{leg.window:g} s (ICE {leg.wic['ice']}, connection {leg.wic['connection']}): no media; "
                        f"{counts}", False)
