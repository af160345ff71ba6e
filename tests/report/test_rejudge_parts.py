"""The parts of rejudging and of the bundle, in memory: a stored timeline read back into
entries, check calls recorded and replayed, the status check moved out of a step, the
run's TLS key log, a bundle of a sample run verified."""

from __future__ import annotations

import contextvars
import json
import ssl
from pathlib import Path

import pytest

from harness import pki
from harness.checks import binding, framing, handshake, registry, status
from harness.evidence import (
    HTTP_REQUEST,
    HTTP_RESPONSE,
    NOTE,
    SIP,
    STIMULUS,
    WS_FRAME,
    WS_MESSAGE,
    Timeline,
)
from harness.report.bundle import KEYLOG, generate_key, write_both
from harness.report.rejudge import entry_from_json
from harness.report.verify import read_bundle, verify
from harness.sip.message import parse
from harness.verdicts import Verdict

RESPONSE = (
    b"SIP/2.0 403 Forbidden\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\n"
    b"To: <sip:a@ims.example.test>;tag=2\r\nFrom: <sip:a@ims.example.test>;tag=1\r\n"
    b"Call-ID: c1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
)


def _timeline() -> Timeline:
    t = Timeline()
    t.add("epcscf", WS_FRAME, "rx text", direction="rx", masked=True, opcode="text",
          payload="hello")
    t.add("epcscf", WS_FRAME, "rx text", direction="rx", masked=False, opcode="text",
          payload=b"\xff\xfe")
    t.add("epcscf", WS_MESSAGE, "rx text", direction="rx", opcode="text", payload=b"\xc3\x28",
          length=2, frames=[2])
    t.add("wic", SIP, "rx 403", direction="rx", raw=RESPONSE, start_line="SIP/2.0 403 Forbidden",
          call_id="c1")
    t.add("wic", NOTE, "keep-alive", keepalive=b"\r\n\r\n")
    t.add("wic", STIMULUS, "raw", direction="tx", payload=b"\x00\x01", raw=b"ok")
    return t


def test_a_stored_entry_reads_back_as_it_was_judged() -> None:
    timeline = _timeline()
    for entry, stored in zip(timeline, json.loads(json.dumps(timeline.to_json())), strict=True):
        back = entry_from_json(stored)
        assert back.data == entry.data, entry.kind
        assert (back.seq, back.actor, back.kind, back.direction) == (entry.seq, entry.actor, entry.kind,
                                                                     entry.direction)


def test_arguments_encode_and_decode_against_the_timeline() -> None:
    entries = list(_timeline())
    by_seq = {e.seq: e for e in entries}
    assert registry.ranges([1, 2, 3, 7, 8, 5]) == [[1, 3], [7, 8], [5, 5]]
    claim = binding.Claim(seq=4, conn="c2", method="INVITE", call_id="x", cseq="1 INVITE")
    message = parse(RESPONSE).message
    for value in (entries[1:4], entries[2], claim, ["4xx", 403], {"a": 1}, "text", None):
        assert registry.decode(json.loads(json.dumps(registry.encode(value))), by_seq) == value
    again = registry.decode(registry.encode(message), by_seq)
    assert again.to_bytes() == message.to_bytes()
    with pytest.raises(registry.Unrecordable, match="an argument is a object"):
        registry.encode(object())


def test_a_flooded_timeline_records_a_check_call_as_few_ranges_and_replays_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the cap, repeated entries are counted, not stored: their seqs are gaps in the
    stored timeline, and a check call over it spans them (one range, not one a gap)."""
    monkeypatch.setattr("harness.evidence.MAX_ENTRIES", 3)
    timeline = Timeline()
    for n in range(40):  # the same frame again and again: counted past the cap
        timeline.add("epcscf", WS_FRAME, "rx text", direction="rx", masked=True, opcode="text",
                     payload="again" if n else "first")
        if n % 10 == 9:  # a distinct kind is always stored, whatever the cap
            timeline.add("epcscf", WS_FRAME, f"rx {n}", direction="rx", masked=False,
                         opcode="binary", payload=bytes([n]))
    stored = list(timeline)
    assert len(stored) < len(timeline)  # some seqs were only counted

    def run() -> list[registry.CheckCall]:
        calls = registry.recording(timeline)
        framing.frames_masked(stored, "epcscf")
        framing.frames_masked(stored[1:2] + stored[-1:], "epcscf")  # a gap of stored entries
        return list(calls)

    whole, part = contextvars.Context().run(run)
    assert whole.args[0] == {"entries": [[stored[0].seq, stored[-1].seq]], "stored": True}
    assert len(part.args[0]["entries"]) == 2  # never stretched over a stored entry
    by_seq = {e["seq"]: entry_from_json(e) for e in json.loads(json.dumps(timeline.to_json()))}
    for call in (whole, part):
        (again,) = registry.replay(call.name, call.args, call.kwargs, by_seq)
        assert (again.verdict, again.reason) == (call.results[0].verdict, call.results[0].reason)
    # a stored end that is missing (the evidence cut it) still names its seq
    del by_seq[stored[-1].seq]
    with pytest.raises(KeyError):
        registry.decode(whole.args[0], by_seq)


def test_a_check_call_is_recorded_and_replays_on_the_stored_timeline() -> None:
    def run() -> list[registry.CheckCall]:
        calls = registry.recording()
        framing.frames_masked(list(_timeline()), "epcscf")
        return list(calls)

    (call,) = contextvars.Context().run(run)
    assert call.name == "framing.frames_masked" and not call.problem
    assert call.args == ({"entries": [[1, 6]]}, "epcscf")
    assert call.results[0].verdict is Verdict.FAIL
    stored = {e["seq"]: entry_from_json(e) for e in json.loads(json.dumps(_timeline().to_json()))}
    (again,) = registry.replay(call.name, call.args, call.kwargs, stored)
    assert (again.verdict, again.reason) == (call.results[0].verdict, call.results[0].reason)
    # outside a recording (a context where no case started one) nothing is kept
    assert contextvars.Context().run(registry._CALLS.get) is None


def test_status_answered_reads_the_response_from_the_wire() -> None:
    response = list(_timeline())[3]
    refused = status.answered(response, "4xx", request=1)
    assert (refused.verdict, refused.reason, refused.evidence) == (Verdict.PASS, "MESSAGE answered 403", (1, 4))
    wrong = status.answered(response, [200, "3xx"])
    assert wrong.verdict is Verdict.FAIL
    assert wrong.reason == "MESSAGE answered 403, expected [200, '3xx']"


def test_contexts_write_the_run_key_log_only_while_it_is_set(tmp_path: Path) -> None:
    keys = tmp_path / "keys.log"
    made = pki.Pki(tmp_path / "pki")
    try:
        pki.log_keys(keys)
        assert made.server_context().keylog_filename == str(keys)
        assert made.client_context().keylog_filename == str(keys)
        assert pki.keylogged(ssl.create_default_context()).keylog_filename == str(keys)
    finally:
        pki.log_keys(None)
    assert made.server_context().keylog_filename is None
    made.close()


def test_a_sample_run_bundles_and_verifies(tmp_path: Path, report: dict) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text(json.dumps(report))
    (run / "junit.xml").write_text("<testsuites/>")
    keylog = tmp_path / "keys.log"
    keylog.write_text("CLIENT_RANDOM aa bb\n")
    lab, customer = write_both(run, tmp_path / "b", generate_key(), keylog=keylog, ephemeral=True)
    for written in (lab, customer):
        for where in (written.directory, written.archive):
            assert verify(read_bundle(where)).ok, where
    assert KEYLOG in read_bundle(lab.directory) and KEYLOG not in read_bundle(customer.archive)
    manifest = json.loads((lab.directory / "manifest.json").read_text())
    assert manifest["signature"]["key"].startswith("ephemeral")
    assert "report.pdf" not in manifest["files"]  # only the files the run wrote


def test_a_pong_is_judged_on_its_recorded_payload() -> None:
    t = Timeline()
    ping = t.add("wic", WS_FRAME, "tx ping", direction="tx", opcode="ping", payload="abc")
    pong = t.add("wic", WS_FRAME, "rx pong", direction="rx", opcode="pong", payload="abc")
    odd = t.add("wic", WS_FRAME, "rx pong", direction="rx", opcode="pong", payload=b"\xff")
    good = framing.pong_echoes(pong, b"abc", ping=ping.seq)
    assert (good.verdict, good.reason, good.evidence) == (Verdict.PASS, "Pong with payload b'abc'", (1, 2))
    bad = framing.pong_echoes(odd, b"abc")
    assert (bad.verdict, bad.reason) == (Verdict.FAIL, "Pong with payload b'\\xff', expected b'abc'")


def test_a_handshake_refusal_is_judged_on_the_recorded_response() -> None:
    def response(status: int, phrase: str, *headers: tuple[str, str]) -> list:
        t = Timeline()
        t.add("wic", HTTP_REQUEST, "tx GET", direction="tx", headers=[], raw="GET / HTTP/1.1")
        t.add("wic", HTTP_RESPONSE, f"rx {status}", direction="rx", status=status, reason=phrase,
              headers=[list(h) for h in headers], raw="", error=None)
        return list(t)

    assert handshake.refusal(response(403, "Forbidden"), "4xx").reason == "refused with 403 Forbidden"
    assert handshake.refusal(response(403, "Forbidden"), 400).verdict is Verdict.FAIL
    assert handshake.refusal(response(426, "Upgrade Required"), 400, any_4xx=True).verdict is Verdict.PASS
    accepted = handshake.refusal(response(101, "Switching Protocols"), "4xx", any_4xx=True)
    assert accepted.verdict is Verdict.FAIL and "101" in accepted.reason
    upgrade = response(426, "Upgrade Required", ("Sec-WebSocket-Version", "13, 8"))
    assert handshake.refusal(upgrade, 426, headers={"Sec-WebSocket-Version": "13"}).verdict is Verdict.PASS
    missing = handshake.refusal(upgrade, 426, headers={"Sec-WebSocket-Version": "14"})
    assert missing.reason == "426 without Sec-WebSocket-Version: 14 (got ['13', '8'])"
    assert handshake.refusal(response(403, "x")[:1], "4xx") is None


def test_a_finding_names_the_check_whose_judgement_it_records(tmp_path: Path) -> None:
    from harness import builtin
    from harness.cases.context import CaseContext
    from harness.cases.model import load_case
    from harness.profiles import load_profile

    case_path = tmp_path / "C.yaml"
    case_path.write_text("id: C\ntitle: t\nsut: epcscf\nverifies: [BOTH-FR-05]\nsteps:\n  - wait: {for: 1s}\n")

    def run() -> list:
        timeline = _timeline()
        ctx = CaseContext(case=load_case(case_path), profile=load_profile(builtin.profiles_dir() / "reference-epcscf.yaml"),
                          timeline=timeline, pki=None, workdir=tmp_path)  # type: ignore[arg-type]
        judged = status.answered(timeline[4], "4xx", request=1)
        ctx.passed(judged.reason, evidence=[1, 4])  # the check's judgement, as a step records it
        ctx.passed("MESSAGE answered 403 (cited elsewhere)", evidence=[2])  # same words, other entries
        ctx.passed("the SUT did something", evidence=[1, 4])
        return ctx.findings

    linked, elsewhere, own = contextvars.Context().run(run)
    assert linked.check == {"name": "status.answered", "args": [{"entry": 4}, "4xx"],
                            "kwargs": {"request": 1}, "pick": 0}
    assert elsewhere.check is None and own.check is None
    assert linked.to_json()["check"]["name"] == "status.answered" and "check" not in own.to_json()
