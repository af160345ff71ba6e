"""A case's evidence is bounded (harness.evidence MAX_ENTRIES, HARD_MAX_ENTRIES, MAX_FIELD):
a flood of frames is counted, not stored, yet every distinct kind of frame stays for the
checks; long payloads reach report.json as length + SHA-256; the runner states the cap in
the findings and does not PASS a case whose evidence went past the hard cap."""

from __future__ import annotations

import hashlib
import json

import pytest
import test_runner

from harness import evidence as ev
from harness.cases import registry, runner
from harness.cases.runner import run_case_sync
from harness.checks.framing import frames_masked
from harness.evidence import Timeline
from harness.verdicts import Verdict

env = test_runner.env  # an environment that records up/down
profile = test_runner.profile


def _frame(opcode: str = "ping", *, masked: bool = True, payload: bytes = b"0123456789abcdef") -> ev.Payload:
    return ev.ws_frame({
        "opcode": opcode, "fin": True, "rsv1": False, "rsv2": False, "rsv3": False,
        "masked": masked, "length": len(payload), "payload": payload,
    })


def test_a_flood_is_counted_and_a_different_frame_after_it_is_still_judged():
    timeline = Timeline()
    seen: list[int] = []
    timeline.subscribe(lambda e: seen.append(e.seq))
    flood = 3 * ev.MAX_ENTRIES
    for _ in range(flood):
        timeline.put("wic", "rx ping", _frame(), direction="rx", conn="c1")
    late = timeline.put("wic", "rx text", _frame("text", masked=False), direction="rx", conn="c1")
    stored = list(timeline)
    assert len(stored) == ev.MAX_ENTRIES + 1  # the flood up to the cap, and the new kind
    assert len(seen) == flood + 1 and len(timeline) == flood + 1  # every entry was seen
    (repeat,) = timeline.repeats.values()
    assert repeat.count == flood - ev.MAX_ENTRIES
    assert repeat.bytes == 16 * repeat.count
    judgement = frames_masked(stored, "wic")
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert late.seq in judgement.evidence
    assert "evidence capped" in timeline.cap_summary() and str(repeat.count) in timeline.cap_summary()
    assert timeline[flood].seq == flood  # a recent counted entry can still be looked up
    with pytest.raises(ev.EvidenceDropped):
        timeline[ev.MAX_ENTRIES + 1]  # an old counted one is gone


def test_different_content_of_one_kind_is_counted_once_per_kind():
    timeline = Timeline()
    for i in range(ev.MAX_ENTRIES + 100):
        timeline.put("wic", "rx", _frame("binary", payload=i.to_bytes(4, "big")), direction="rx", conn="c1")
    assert sum(r.count for r in timeline.repeats.values()) == 100
    assert len(list(timeline)) == ev.MAX_ENTRIES


def test_a_long_payload_is_summarised_in_the_report_with_its_length_and_hash():
    timeline = Timeline()
    big = bytes(range(256)) * 1024  # 256 KiB, not UTF-8
    text = "x" * (ev.MAX_FIELD + 1)
    timeline.put("wic", "rx", _frame("binary", payload=big), direction="rx")
    timeline.add("wic", "note", "long", text=text, short="kept")
    frame, note = timeline.to_json()
    payload = frame["data"]["payload"]
    assert payload["length"] == len(big) and payload["sha256"] == hashlib.sha256(big).hexdigest()
    assert payload["head"] == {"hex": big[: ev.SUMMARY_HEAD].hex()}
    assert note["data"]["text"]["length"] == len(text) and note["data"]["short"] == "kept"
    assert len(json.dumps([frame, note])) < 4 * ev.SUMMARY_HEAD + 1000
    assert timeline[1].data["payload"] == big  # the checks still read the whole payload


def test_past_the_hard_cap_a_case_does_not_pass_and_its_findings_say_why(
    tmp_path, env, pki, profile, monkeypatch
):
    monkeypatch.setattr(ev, "MAX_ENTRIES", 50)
    monkeypatch.setattr(ev, "HARD_MAX_ENTRIES", 100)

    async def flood(ctx, args, step):
        for i in range(300):  # distinct SIP messages: no signature, stored up to the hard cap
            ctx.timeline.add("wic", ev.SIP, f"rx {i}", direction="rx", raw=b"SIP/2.0 200 OK\r\n")
        ctx.passed("every message was fine")

    monkeypatch.setitem(registry.REGISTRY.steps, "test.judge", registry.StepKind(
        "test.judge", flood, {"mode": {"type": "string"}}, registry.ROLES))
    result = run_case_sync(test_runner.case_file(tmp_path, "pass"), profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "hard cap of 100" in result.reason
    assert all("evidence capped" in f.note for f in result.findings)
    assert len(result.evidence) < 130
    note = next(e for e in result.evidence if e["summary"].startswith("evidence capped"))
    assert note["data"]["repeats"][0]["count"] == 300 - (100 - 1)  # the runner stored one note


def test_a_flood_of_one_kind_keeps_a_pass_and_states_the_cap(tmp_path, env, pki, profile, monkeypatch):
    monkeypatch.setattr(ev, "MAX_ENTRIES", 50)

    async def pings(ctx, args, step):
        for _ in range(500):
            ctx.timeline.put("wic", "rx ping", _frame(), direction="rx", conn="c1")
        ctx.passed("fine")

    monkeypatch.setitem(registry.REGISTRY.steps, "test.judge", registry.StepKind(
        "test.judge", pings, {"mode": {"type": "string"}}, registry.ROLES))
    result = run_case_sync(test_runner.case_file(tmp_path, "pass"), profile, pki)
    assert result.verdict is Verdict.PASS
    assert "evidence capped: 451 entries" in result.findings[0].note  # 500 - (50 - 1 runner note)
    assert runner  # the runner module is the one that states it


def test_a_step_that_needs_a_counted_entry_is_inconclusive_not_an_error(tmp_path, env, pki, profile, monkeypatch):
    monkeypatch.setattr(ev, "MAX_ENTRIES", 10)

    async def lookup(ctx, args, step):
        first = ctx.timeline.put("wic", "rx ping", _frame(), direction="rx", conn="c1")
        for _ in range(ev.RECENT_DROPPED + 20):
            ctx.timeline.put("wic", "rx ping", _frame(), direction="rx", conn="c1")
        late = ctx.timeline.put("wic", "rx ping", _frame(), direction="rx", conn="c1")
        assert ctx.timeline[first.seq] is first  # stored before the cap
        ctx.timeline[late.seq - ev.RECENT_DROPPED - 5]  # counted, and no longer recent

    monkeypatch.setitem(registry.REGISTRY.steps, "test.judge", registry.StepKind(
        "test.judge", lookup, {"mode": {"type": "string"}}, registry.ROLES))
    result = run_case_sync(test_runner.case_file(tmp_path, "pass"), profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "counted, not stored" in result.reason
