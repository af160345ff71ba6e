"""checks.handshake: every upgrade request and every 101 of a case is judged, not the first."""

from __future__ import annotations

from harness.checks import handshake
from harness.evidence import HTTP_REQUEST, HTTP_RESPONSE, TLS, Timeline
from harness.verdicts import Verdict

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's sample: 16 octets
GOOD = [["Upgrade", "websocket"], ["Connection", "Upgrade"], ["Sec-WebSocket-Version", "13"],
        ["Sec-WebSocket-Key", KEY], ["Sec-WebSocket-Protocol", "sip"],
        ["Origin", "https://wwsf.example.test"]]


def get(timeline: Timeline, conn: str, headers: list[list[str]], tls: bool = True) -> int:
    if tls:
        timeline.add("epcscf", TLS, "tls", conn=conn, version="TLSv1.3")
    return timeline.add("epcscf", HTTP_REQUEST, "rx GET", direction="rx", conn=conn,
                        method="GET", path="/", headers=headers).seq


def replace(headers: list[list[str]], name: str, value: str | None) -> list[list[str]]:
    kept = [h for h in headers if h[0] != name]
    return kept + ([[name, value]] if value is not None else [])


def test_the_key_must_be_16_base64_octets():
    assert handshake.key_problems([["Sec-WebSocket-Key", KEY]]) == []
    assert "not base64" in handshake.key_problems([["Sec-WebSocket-Key", "not a key!"]])[0]
    short = "c2hvcnQ="  # "short"
    assert "decodes to 5 octets" in handshake.key_problems([["Sec-WebSocket-Key", short]])[0]
    assert "2 Sec-WebSocket-Key" in handshake.key_problems([["Sec-WebSocket-Key", KEY]] * 2)[0]


def test_a_bad_reconnect_fails_even_when_the_first_request_was_good():
    timeline = Timeline()
    get(timeline, "c1", GOOD)
    bad = get(timeline, "c2", replace(GOOD, "Sec-WebSocket-Key", "x"))
    judgement = handshake.upgrade_requests_valid(list(timeline), "epcscf")
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert "request 2 of 2" in judgement.reason and judgement.evidence == (bad,)


def test_every_request_over_tls_and_all_good_passes_citing_each():
    timeline = Timeline()
    seqs = [get(timeline, f"c{n}", GOOD) for n in range(3)]
    judgement = handshake.upgrade_requests_valid(list(timeline), "epcscf")
    assert judgement is not None and judgement.verdict is Verdict.PASS
    assert judgement.evidence == tuple(seqs) and "3 upgrade request(s)" in judgement.reason


def test_a_request_not_over_tls_fails():
    timeline = Timeline()
    get(timeline, "c1", GOOD)
    get(timeline, "c2", GOOD, tls=False)
    judgement = handshake.upgrade_requests_valid(list(timeline), "epcscf")
    assert judgement is not None and judgement.verdict is Verdict.FAIL and "not over TLS" in judgement.reason


def test_the_origin_of_every_request_is_judged():
    timeline = Timeline()
    get(timeline, "c1", GOOD)
    get(timeline, "c2", replace(GOOD, "Origin", "https://wwsf.example.test.evil"))
    judgement = handshake.origins_valid(list(timeline), "epcscf", "https://wwsf.example.test")
    assert judgement is not None and judgement.verdict is Verdict.FAIL and "request 2 of 2" in judgement.reason
    assert handshake.origins_valid([], "epcscf", "https://wwsf.example.test") is None


def test_every_101_is_judged_against_its_own_key():
    timeline = Timeline()
    for n, accept in enumerate([handshake.accept_value(KEY), "wrong="]):
        timeline.add("wic", HTTP_REQUEST, "tx GET", direction="tx", conn=f"c{n}", method="GET",
                     headers=[["Sec-WebSocket-Key", KEY], ["Sec-WebSocket-Protocol", "sip"]])
        timeline.add("wic", HTTP_RESPONSE, "rx 101", direction="rx", conn=f"c{n}", status=101,
                     headers=[["Sec-WebSocket-Accept", accept], ["Sec-WebSocket-Protocol", "sip"]])
    judgement = handshake.accepts_valid(list(timeline), "wic")
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert "101 2 of 2" in judgement.reason and "does not match the key" in judgement.reason


def test_a_101_selecting_an_extension_never_offered_fails():
    """RFC 6455 §4.1: the client fails a 101 with an extension it did not offer (the
    `deflate-bomb` hostile eP-CSCF); one it offered and got is fine."""

    def judged(offered: list[list[str]], selected: list[list[str]]):  # noqa: ANN202
        timeline = Timeline()
        timeline.add("wic", HTTP_REQUEST, "tx GET", direction="tx", conn="c1", method="GET",
                     headers=[["Sec-WebSocket-Key", KEY], ["Sec-WebSocket-Protocol", "sip"], *offered])
        timeline.add("wic", HTTP_RESPONSE, "rx 101", direction="rx", conn="c1", status=101,
                     headers=[["Sec-WebSocket-Accept", handshake.accept_value(KEY)],
                              ["Sec-WebSocket-Protocol", "sip"], *selected])
        return handshake.accepts_valid(list(timeline), "wic")

    deflate = [["Sec-WebSocket-Extensions", "permessage-deflate"]]
    bad = judged([], deflate)
    assert bad is not None and bad.verdict is Verdict.FAIL and "never offered" in bad.reason
    assert judged(deflate, deflate).verdict is Verdict.PASS
    assert judged([], []).verdict is Verdict.PASS
