"""harness/checks/media.py: WIC-SES-04's outcomes from wicct's peer's media facts."""

from harness.checks.media import media_outcome
from harness.sdp.media import MediaFacts
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
