"""The checks that judge what a step waited for and the exchanges it drove
(harness.checks.awaited, core_side, exchanges), from entries built in memory: each
judgement follows from the entries alone, so `wicct rejudge` reaches it again."""

from __future__ import annotations

from harness import evidence as ev
from harness.checks import awaited, core_side, exchanges
from harness.checks.handshake import accept_value
from harness.evidence import NOTE, SIP, Timeline
from harness.verdicts import Verdict

BRANCH = "z9hG4bKwicct1"


def sip_text(first: str, method: str = "MESSAGE", call_id: str = "c1@x", branch: str = BRANCH, body: str = "",
             extra: str = "") -> bytes:
    return (f"{first}\r\nVia: SIP/2.0/WSS abc.invalid;branch={branch}\r\nFrom: <sip:a@x>;tag=1\r\n"
            f"To: <sip:b@x>\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def sip(t: Timeline, raw: bytes, *, actor: str = "wic", direction: str = "rx", conn: str = "c1") -> ev.Entry:
    return t.add(actor, SIP, raw.split(b"\r\n")[0].decode(), direction=direction, conn=conn, raw=raw)


def close(t: Timeline, by: str, code: int | None, tcp_by: str = "peer", conn: str = "c1") -> ev.Entry:
    return t.put("wic", "close", ev.ws_close({
        "code": code, "reason": None, "by": by, "tcp_closed": True, "tcp_closed_by": tcp_by, "clean": True,
        "sent_code": 1000 if by == "us" else None, "sent_reason": None, "error": None}), conn=conn)


def test_crlf_pong_from_the_keepalive_note_after_the_ping() -> None:
    t = Timeline()
    ping = t.add("wic", NOTE, "tx ping", direction="tx", conn="c1")
    assert awaited.crlf_pong(list(t), "c1", 1.0, since=ping.seq).verdict is Verdict.FAIL
    pong = t.add("wic", NOTE, "rx CRLF", direction="rx", conn="c1", keepalive=b"\r\n")
    judged = awaited.crlf_pong(list(t), "c1", 1.0, since=ping.seq)
    assert (judged.verdict, judged.reason, judged.evidence) == (Verdict.PASS, "CRLF pong received",
                                                               (ping.seq, pong.seq))
    assert awaited.crlf_pong(list(t), "c2", 1.0, since=ping.seq).reason == "no CRLF pong within 1 s"


def test_stayed_open_unless_the_sut_closed_and_wicct_s_close_is_not_a_fail() -> None:
    t = Timeline()
    still = t.add("wic", NOTE, "still open", conn="c1")
    judged = awaited.stayed_open(list(t), "wic", "c1", 5.5)
    assert (judged.verdict, judged.reason, judged.evidence) == (Verdict.PASS, "connection stayed open for 5.5 s",
                                                               (still.seq,))
    close(t, "peer", 1000)
    assert awaited.stayed_open(list(t), "wic", "c1", 5.5).reason == (
        "the SUT closed the connection (Close 1000) during the window")
    mine = Timeline()
    close(mine, "us", None, tcp_by="us")
    assert awaited.stayed_open(list(mine), "wic", "c1", 5.5).verdict is Verdict.INCONCLUSIVE


def test_closed_with_judges_the_close_and_its_code() -> None:
    t = Timeline()
    assert awaited.closed_with(list(t), "c1", [1007], 2)[0].reason == "connection still open 2 s after the stimulus"
    close(t, "peer", 1002)
    split = awaited.closed_with(list(t), "c1", [1007], 2, split=True)
    assert [(j.verdict, j.reason) for j in split] == [
        (Verdict.PASS, "the SUT failed the connection (Close 1002)"),
        (Verdict.FAIL, "the SUT closed with code 1002, expected one of [1007]")]
    tcp = Timeline()
    close(tcp, "peer", None)
    assert awaited.closed_with(list(tcp), "c1", None, 2, tcp_close_ok=True)[-1].note == "NON-STRICT"
    assert awaited.closed_with(list(tcp), "c1", None, 2)[-1].reason == (
        "no Close frame from the SUT; TCP closed by the SUT")


def test_nothing_came_says_whose_close_prevented_it() -> None:
    t = Timeline()
    assert awaited.nothing_came(list(t), "wic", "c1", 2, "no response").reason == "no response (none within 2 s)"
    close(t, "us", None, tcp_by="us")
    assert awaited.nothing_came(list(t), "wic", "c1", 2, "no response").verdict is Verdict.INCONCLUSIVE


def test_unanswered_and_sent_once_read_the_transaction_from_the_entries() -> None:
    t = Timeline()
    sent = sip(t, sip_text("MESSAGE sip:b@x SIP/2.0"), direction="tx")
    other = sip(t, sip_text("SIP/2.0 200 OK", branch="z9hG4bKother"))
    assert awaited.unanswered(list(t), "MESSAGE", "c1@x", BRANCH, "c1", 0.5, since=sent.seq).reason == (
        "no response to MESSAGE")
    answer = sip(t, sip_text("SIP/2.0 202 Accepted"))
    judged = awaited.unanswered(list(t), "MESSAGE", "c1@x", BRANCH, "c1", 0.5, since=sent.seq)
    assert (judged.verdict, judged.reason, judged.evidence) == (Verdict.FAIL, "MESSAGE was answered 202",
                                                               (answer.seq,))
    assert awaited.unanswered(list(t), "MESSAGE", "c1@x", BRANCH, "c1", 0.5, "4xx", since=sent.seq).verdict \
        is Verdict.PASS
    assert other.seq < answer.seq
    u = Timeline()
    first = sip(u, sip_text("REGISTER sip:x SIP/2.0", "REGISTER"))
    assert awaited.sent_once(list(u), first, 3.2).reason == "REGISTER sent once over 3.2 s"
    again = sip(u, sip_text("REGISTER sip:x SIP/2.0", "REGISTER"))
    judged = awaited.sent_once(list(u), first, 3.2)
    assert (judged.verdict, judged.evidence) == (Verdict.FAIL, (first.seq, again.seq))


def test_core_transactions_content_and_answers() -> None:
    t = Timeline()
    rx = sip(t, sip_text("MESSAGE sip:b@x SIP/2.0", body="hi", extra="P-Access-Network-Info: x\r\n"),
             actor="core", conn="core-udp")
    made = core_side.transactions([rx], "MESSAGE", 1, count=2)
    assert [j.verdict for j in made] == [Verdict.FAIL, Verdict.PASS]
    assert made[0].reason == "the core received 1 MESSAGE transactions, expected 2"
    assert core_side.transactions([], "MESSAGE", 1)[0].reason == (
        "the core received 0 MESSAGE transaction(s), expected 1")
    assert core_side.transactions([], "OPTIONS", 0, watched=0.2)[-1].reason == "no OPTIONS reached the core in 0.2 s"
    content = core_side.request_content(rx, "bye", ["Path"], ["P-Access-Network-Info"])
    assert [j.reason for j in content] == ["MESSAGE reached the core with body b'hi' (2 octets), expected 'bye' (3 octets)",
                                           "MESSAGE reached the core without Path",
                                           "MESSAGE reached the core with P-Access-Network-Info: x"]
    ok = sip(t, sip_text("SIP/2.0 486 Busy Here", "INVITE", call_id="core1"), actor="core", conn="core-udp")
    assert core_side.answer(ok, "2xx").reason == "the core's INVITE answered 486, expected 2xx"
    assert core_side.answered_in_time(list(t), "core1", "INVITE", 2).verdict is Verdict.PASS
    assert core_side.no_answer(list(t), "core1", "INVITE", 2).reason == "the core received 486 to its INVITE"
    assert core_side.no_answer(list(t), "core1", "INVITE", 2, "2xx").verdict is Verdict.PASS


def test_register_invite_and_answered_once() -> None:
    t = Timeline()
    challenge = sip(t, sip_text("SIP/2.0 401 Unauthorized", "REGISTER"))
    final = sip(t, sip_text("SIP/2.0 200 OK", "REGISTER"))
    assert exchanges.register_answered(final, challenge).reason == "REGISTER answered 200 after a 401 digest challenge"
    assert exchanges.register_answered(challenge).verdict is Verdict.FAIL
    ok = sip(t, sip_text("SIP/2.0 200 OK", "INVITE", body="v=0\r\n"))
    made = exchanges.invite_answered(ok, [])
    assert [(j.verdict, j.reason) for j in made] == [
        (Verdict.INFORMATIONAL, "no 180 before the 200 reached the WIC"),
        (Verdict.PASS, "INVITE answered 200 with an SDP answer")]
    assert exchanges.answered_once(list(t), "REGISTER", "c1@x", BRANCH, "c1").reason == (
        "REGISTER answered 2 times: processed more than once")
    assert exchanges.answered_once(list(t), "INVITE", "c1@x", BRANCH, "c1").reason == "INVITE answered once"
    assert exchanges.answered_once(list(t), "OPTIONS", "c1@x", BRANCH, "c1").verdict is Verdict.FAIL


def test_answered_once_tells_a_second_processing_from_a_wic_that_copies_every_response() -> None:
    """BOTH-FR-07: byte-identical copies are judged by a control request of the same method."""
    def timeline(control_finals: int, different: bool = False) -> Timeline:
        t = Timeline()
        sip(t, sip_text("SIP/2.0 200 OK"))
        sip(t, sip_text("SIP/2.0 200 OK", extra="To-Tag-Was: other\r\n" if different else ""))
        for _ in range(control_finals):
            sip(t, sip_text("SIP/2.0 200 OK", call_id="ctl@x", branch="z9hG4bKctl"))
        return t

    def judge(t: Timeline, control: bool = True) -> tuple[Verdict, str]:
        got = exchanges.answered_once(list(t), "MESSAGE", "c1@x", BRANCH, "c1",
                                      "ctl@x" if control else "", "z9hG4bKctl" if control else None)
        return got.verdict, got.reason

    assert judge(timeline(1)) == (Verdict.FAIL, "MESSAGE answered 2 times with byte-identical copies while a "
                                  "well-formed MESSAGE sent after it was answered once: processed more than once")
    verdict, reason = judge(timeline(2))
    assert verdict is Verdict.INCONCLUSIVE and "copies its responses" in reason
    assert judge(timeline(0))[0] is Verdict.FAIL  # the control unanswered: a second processing not excluded
    assert judge(timeline(2, different=True)) == (Verdict.FAIL, "MESSAGE answered 2 times: processed more than once")
    assert judge(timeline(2), control=False) == (Verdict.FAIL, "MESSAGE answered 2 times: processed more than once")


def test_upgrade_accepted_from_the_recorded_101() -> None:
    t = Timeline()
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    good = t.add("wic", ev.HTTP_RESPONSE, "101", direction="rx", conn="c1", status=101, reason="Switching",
                 headers=[["Sec-WebSocket-Protocol", "sip"], ["Sec-WebSocket-Accept", accept_value(key)]])
    assert [j.verdict for j in exchanges.upgrade_accepted(good, key)] == [Verdict.PASS]
    bad = t.add("wic", ev.HTTP_RESPONSE, "101", direction="rx", conn="c1", status=101, reason="Switching",
                headers=[["Sec-WebSocket-Accept", "nope"]])
    assert [j.reason for j in exchanges.upgrade_accepted(bad, key)][:2] == [
        "101 selects subprotocol None, expected 'sip'",
        f"Sec-WebSocket-Accept 'nope' does not match the key {key!r}"]
    assert exchanges.upgrade_accepted(None, key, error="timeout")[0].reason == (
        "no HTTP response to the upgrade request (timeout)")


def test_the_wic_s_registration_state_rests_on_the_wire() -> None:
    t = Timeline()
    said = t.add("runner", ev.DRIVER, "registered", verb="state")
    assert exchanges.wic_registered(list(t), said).verdict is Verdict.FAIL
    u = Timeline()
    ok = sip(u, sip_text("SIP/2.0 200 OK", "REGISTER"), actor="epcscf", direction="tx")
    said = u.add("runner", ev.DRIVER, "registered", verb="state")
    judged = exchanges.wic_registered(list(u), said)
    assert (judged.verdict, judged.evidence) == (Verdict.PASS, (ok.seq, said.seq))
    state = u.add("runner", ev.DRIVER, "not registered", verb="state", registered=False)
    assert exchanges.stayed_unregistered(state, 0.5).reason == "the WIC did not act on the response (0.5 s)"


def test_registered_in_time_reads_the_recorded_driver_state() -> None:
    t = Timeline()
    late = t.add("runner", ev.DRIVER, "registering", verb="state", registered=False, detail="registering")
    judged = exchanges.registered_in_time(late, 2)
    assert (judged.verdict, judged.reason) == (Verdict.FAIL, "the WIC is not registered after 2 s (registering)")
    done = t.add("runner", ev.DRIVER, "registered", verb="state", registered=True)
    assert exchanges.registered_in_time(done, 2).verdict is Verdict.PASS


def test_sent_once_counts_copies_that_do_not_parse_by_their_bytes() -> None:
    """A request whose copies do not parse is recorded as `sip.error`: still sent twice."""
    bad = sip_text("MESSAGE sip:b@x SIP/2.0").replace(b"CSeq: 1 MESSAGE", b"CSeq: one MESSAGE")
    t = Timeline()
    first = t.add("wic", ev.SIP_ERROR, "rx unparsable", direction="rx", conn="c1", raw=bad)
    assert awaited.sent_once(list(t), first, 3.2).reason == "MESSAGE sent once over 3.2 s"
    t.add("wic", ev.SIP_ERROR, "rx unparsable", direction="rx", conn="c1", raw=bad.replace(b"b@x", b"c@x"))
    assert awaited.sent_once(list(t), first, 3.2).verdict is Verdict.PASS
    again = t.add("wic", ev.SIP_ERROR, "rx unparsable", direction="rx", conn="c1", raw=bad)
    judged = awaited.sent_once(list(t), first, 3.2)
    assert (judged.verdict, judged.evidence) == (Verdict.FAIL, (first.seq, again.seq))
    assert judged.reason == "MESSAGE sent 2 times within 3.2 s"


def test_sent_once_counts_a_mangled_copy_of_a_request_that_parsed() -> None:
    """The copy's transaction is read as far as it parsed (Call-ID, CSeq, top Via branch)."""
    good = sip_text("MESSAGE sip:b@x SIP/2.0", body="hi")
    t = Timeline()
    first = sip(t, good)
    t.add("wic", ev.SIP_ERROR, "rx unparsable", direction="rx", conn="c1",
          raw=good.replace(b"Content-Length: 2", b"Content-Length: 9"))
    assert awaited.sent_once(list(t), first, 3.2).verdict is Verdict.FAIL
