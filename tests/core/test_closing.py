"""harness.checks.closing: who ended a connection, from entries built in memory (RFC 6455
§7.1.1-§7.1.7)."""

from __future__ import annotations

from harness import evidence as ev
from harness.checks.closing import Closer, close_story
from harness.evidence import Timeline


def close(by: str, tcp_by: str, code: int | None, sent: int | None, error: str | None = None) -> ev.Payload:
    return ev.ws_close({"code": code, "reason": None, "by": by, "tcp_closed": True, "tcp_closed_by": tcp_by,
                        "clean": code is not None and sent is not None, "sent_code": sent, "sent_reason": None,
                        "error": error})


def frame(code: int) -> ev.Payload:
    return ev.ws_frame({"opcode": "close", "fin": True, "rsv1": False, "rsv2": False, "rsv3": False,
                        "masked": False, "length": 2, "payload": b"", "code": code, "reason": ""})


def test_open_connection() -> None:
    assert close_story(Timeline(), "wic", "c1").closer is Closer.OPEN


def test_the_suts_protocol_error_comes_first_whoever_closed_tcp() -> None:
    t = Timeline()
    err = t.put("wic", "error 1002", ev.ws_error({"error": "incorrect masking", "code": 1002, "raw": b"\x81\x85",
                                                  "frame_head": None}), direction="rx", conn="c1")
    end = t.put("wic", "close", close("us", "us", None, 1002, "incorrect masking"), conn="c1")
    story = close_story(t, "wic", "c1")
    assert story.closer is Closer.SUT_ERROR and story.by_sut
    assert story.reason == ("wicct failed the connection (Close 1002) because the SUT sent an invalid frame: "
                            "incorrect masking")
    assert story.evidence == (err.seq, end.seq)


def test_by_peer_and_by_us() -> None:
    t = Timeline()
    t.put("wic", "close", close("peer", "peer", 1000, 1000), conn="c1")
    t.put("wic", "close", close("us", "us", None, None), conn="c2")
    assert close_story(t, "wic", "c1").reason == "the SUT closed the connection (Close 1000)"
    story = close_story(t, "wic", "c2")
    assert (story.closer, story.reason) == (Closer.WICCT, "wicct dropped TCP without a Close frame")


def test_a_close_frame_before_tcp_closed_says_who_began() -> None:
    t = Timeline()
    t.put("epcscf", "rx close 1001", frame(1001), direction="rx", conn="c1")
    t.put("epcscf", "tx close 1000", frame(1000), direction="tx", conn="c2")
    assert close_story(t, "epcscf", "c1").closer is Closer.SUT
    assert close_story(t, "epcscf", "c2").closer is Closer.WICCT
    assert close_story(t, "wic", "c1").closer is Closer.OPEN  # another actor's entries
