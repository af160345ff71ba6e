"""harness/checks/media.py: WIC-SES-04's outcomes from wicct's peer's media facts."""

from harness.checks.media import MediaLeg, media_outcome, media_through, no_media_path
from harness.sdp.media import MediaFacts, RtpCounts
from harness.verdicts import Verdict


def facts(ice: str, connection: str, received: int = 0, sent: int = 0) -> MediaFacts:
    return MediaFacts(ice=ice, connection=connection, rtp_received=received, rtp_sent=sent)


def test_media_that_connects_and_flows_is_informational_with_the_time():
    judged = media_outcome(facts("completed", "connected", 3, 4), waited=0.2, window=5,
                           connected_after=0.048)
    assert judged.verdict is Verdict.INFORMATIONAL
    assert "48 ms after the 200" in judged.reason and "RTP flows" in judged.reason


def test_connected_without_rtp_says_so():
    judged = media_outcome(facts("completed", "connected", 0, 9), waited=5, window=5,
                           connected_after=0.05)
    assert judged.verdict is Verdict.INFORMATIONAL and "no RTP from the WIC" in judged.reason


def test_dtls_failing_after_ice_is_informational():
    judged = media_outcome(facts("completed", "failed"), waited=1, window=5, connected_after=None)
    assert judged.verdict is Verdict.INFORMATIONAL and "DTLS did not" in judged.reason


def test_ice_that_never_answers_is_inconclusive_within_the_window():
    for ice in ("checking", "new", "failed"):
        judged = media_outcome(facts(ice, "connecting"), waited=5, window=5, connected_after=None)
        assert judged.verdict is Verdict.INCONCLUSIVE and "within 5 s" in judged.reason


WEBRTC, PLAIN = ("UDP/TLS/RTP/SAVPF",), ("RTP/AVP",)


def core_port(packets: int, first_t: float | None) -> RtpCounts:
    return RtpCounts(kind="audio", port=40000, rtp_packets=packets, rtp_echoed=packets,
                     first_seq=7 if packets else 0, first_t=first_t)


def leg(**kw: object) -> MediaLeg:
    base: dict[str, object] = dict(direction="originating", status=200, wic_protocols=WEBRTC,
                                   core_protocols=PLAIN, window=5.0, waited=0.4, answered_t=1.0)
    base.update(kw)
    return MediaLeg(**base)  # type: ignore[arg-type]


def test_media_through_the_edge_both_ways_counts_and_times():
    judged = media_through(leg(wic=facts("completed", "connected", 16, 17), core=(core_port(15, 1.062),),
                               connected_t=1.041))
    assert judged.verdict is Verdict.INFORMATIONAL and judged.flowed
    assert "flowed both ways" in judged.reason and "15 RTP packet(s) WIC→core" in judged.reason
    assert "16 core→WIC" in judged.reason and "first packet at the core 62 ms after" in judged.reason


def test_media_one_way_only_is_not_flowing():
    judged = media_through(leg(direction="terminating", wic=facts("completed", "connected", 0, 9),
                               core=(core_port(9, 1.1),), connected_t=1.05))
    assert judged.verdict is Verdict.INFORMATIONAL and not judged.flowed
    assert "did not flow both ways" in judged.reason and "terminating call" in judged.reason


def test_ice_never_answered_is_informational_within_the_window():
    """No media requirement binds an eP-CSCF: never a FAIL, never a wait past the window."""
    judged = media_through(leg(wic=facts("checking", "connecting"), core=(core_port(0, None),), waited=5.0))
    assert judged.verdict is Verdict.INFORMATIONAL and not judged.flowed
    assert "did not complete ICE" in judged.reason and "within 5 s" in judged.reason


def test_no_media_path_through_a_sut_that_converts_nothing():
    assert no_media_path(leg()) is None
    webrtc_core = no_media_path(leg(core_protocols=WEBRTC))
    assert webrtc_core is not None and "not through the SUT" in webrtc_core
    unconverted = no_media_path(leg(direction="terminating", status=488, wic_protocols=PLAIN))
    assert unconverted is not None and "unconverted" in unconverted and "488" in unconverted
    plain_wic = no_media_path(leg(wic_protocols=PLAIN))
    assert plain_wic is not None and "converted no media" in plain_wic
    for reason in (webrtc_core, unconverted, plain_wic):
        judged = media_through(leg(core_protocols=WEBRTC) if reason is webrtc_core else
                               leg(direction="terminating", status=488, wic_protocols=PLAIN)
                               if reason is unconverted else leg(wic_protocols=PLAIN))
        assert judged.verdict is Verdict.INFORMATIONAL and judged.reason == reason and not judged.flowed
