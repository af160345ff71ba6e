"""WIC-SES-04 (SEED 5.1.X.2/5.1.X.3, beyond; informational): after the answer, media
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
from harness.sdp.media import MediaFacts
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
