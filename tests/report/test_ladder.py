"""Ladder diagrams (harness/report/ladder.py): the model read from a case's evidence, and its SVG."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from harness.evidence import Timeline
from harness.report import render_html
from harness.report.ladder import COLLAPSE_AT, build_ladder, render_svg

from .sample import XSS

REGISTER = (
    "REGISTER sip:ims.example.test SIP/2.0\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\n"
    "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
)
OK = (
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP a.invalid;branch=z9hG4bK1\r\nCSeq: 1 REGISTER\r\n"
    "To: <sip:alice@ims.example.test>\r\n"
    f"Subject: {XSS}\r\nContent-Length: 0\r\n\r\n"
)


def _timeline(pings: int = COLLAPSE_AT) -> list[dict[str, Any]]:
    """A case against an eP-CSCF as the actors record it: connect, TLS, upgrade, a REGISTER
    in one frame, its 200 OK in two fragments, the core's leg, a run of Pings and Pongs,
    an idle window, the close."""
    now = [0.0]

    def clock() -> float:
        now[0] += 0.01
        return now[0]

    tl = Timeline(clock=clock)
    tl.add("runner", "note", "step 1 (wic.connect, line 3)", step="wic.connect", line=3)  # 1
    tl.add("wic", "connect", "tcp connect", direction="tx", conn="c1", error=None)  # 2
    tl.add("wic", "tls", "tls", conn="c1", error=None, version="TLSv1.3", cipher="AES")  # 3
    tl.add("wic", "http.request", "tx GET /", direction="tx", conn="c1", method="GET", path="/")  # 4
    tl.add("wic", "http.response", "rx 101", direction="rx", conn="c1", status=101,
           reason="Switching Protocols")  # 5
    tl.add("wic", "sip", "tx REGISTER", direction="tx", conn="c1", raw=REGISTER,
           start_line="REGISTER sip:ims.example.test SIP/2.0", cseq="1 REGISTER")  # 6
    tl.add("wic", "ws.frame", "tx text", direction="tx", conn="c1", opcode="text", fin=True,
           masked=True, length=len(REGISTER), payload=REGISTER)  # 7
    tl.add("core", "sip", "rx REGISTER", direction="rx", conn="core-udp", raw=REGISTER,
           start_line="REGISTER sip:ims.example.test SIP/2.0", cseq="1 REGISTER")  # 8
    tl.add("core", "sip", "tx 200", direction="tx", conn="core-udp", raw=OK,
           start_line="SIP/2.0 200 OK", cseq="1 REGISTER")  # 9
    tl.add("wic", "ws.frame", "rx text", direction="rx", conn="c1", opcode="text", fin=False,
           masked=False, length=40, payload=OK[:40])  # 10
    tl.add("wic", "ws.frame", "rx cont", direction="rx", conn="c1", opcode="continuation",
           fin=True, masked=False, length=len(OK) - 40, payload=OK[40:])  # 11
    tl.add("wic", "ws.message", "rx message", direction="rx", conn="c1", opcode="text",
           length=len(OK), payload=OK, frames=[10, 11])  # 12
    tl.add("wic", "sip", "rx 200", direction="rx", conn="c1", raw=OK, start_line="SIP/2.0 200 OK",
           cseq="1 REGISTER", ws_message=12)  # 13
    for _ in range(pings):
        tl.add("wic", "ws.frame", "rx ping", direction="rx", conn="c1", opcode="ping", fin=True,
               masked=False, length=0, payload="")
        tl.add("wic", "ws.frame", "tx pong", direction="tx", conn="c1", opcode="pong", fin=True,
               masked=True, length=0, payload="")
    now[0] += 6.0  # the idle window
    tl.add("runner", "note", "watched the idle WebSocket for 5.5 s", mandated_wait=5.5)
    tl.add("wic", "ws.close", "close rcvd 1000 sent 1000", conn="c1", code=1000, clean=True,
           error=None)
    return tl.to_json()


def _case(verdict: str = "FAIL", pings: int = COLLAPSE_AT) -> dict[str, Any]:
    return {
        "id": "EPC-TP-01-x",
        "profile": "p",
        "sut_role": "epcscf",
        "verdict": verdict,
        "findings": [
            {"requirement": "EPC-TP-01", "verdict": verdict,
             "reason": "the 200's Via names transport TCP, not WSS", "evidence": [13]},
            {"requirement": "EPC-HS-01", "verdict": "PASS", "reason": "101", "evidence": [5]},
        ],
        "evidence": _timeline(pings),
    }


class _Svg(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


class TestModel:
    def test_lanes_put_the_sut_between_the_wic_and_the_core(self) -> None:
        ladder = build_ladder(_case())
        assert [(lane.key, lane.sut) for lane in ladder.lanes] == [
            ("wic", False), ("epcscf", True), ("core", False)
        ]
        assert [lane.label for lane in ladder.lanes] == ["wicct WIC", "eP-CSCF (SUT)", "wicct core stub"]

    def test_connection_then_upgrade_first(self) -> None:
        wire = [r for r in build_ladder(_case()).rungs if r.shape in ("arrow", "span")]
        assert [(r.shape, r.label, r.src, r.dst) for r in wire[:4]] == [
            ("arrow", "TCP connect", "wic", "epcscf"),
            ("span", "TLSv1.3 AES", "wic", "epcscf"),
            ("arrow", "GET / (upgrade)", "wic", "epcscf"),
            ("arrow", "HTTP 101 Switching Protocols", "epcscf", "wic"),
        ]

    def test_each_sip_message_one_arrow_with_its_frames_under_it(self) -> None:
        rungs = {r.seq: r for r in build_ladder(_case()).rungs}
        assert rungs[6].label == "REGISTER sip:ims.example.test"
        assert rungs[6].details == (f"frame: text {len(REGISTER)}B FIN MASK",)
        assert (rungs[8].src, rungs[8].dst, rungs[9].src, rungs[9].dst) == (
            "epcscf", "core", "core", "epcscf"
        )
        assert rungs[13].label == "200 OK (REGISTER)" and (rungs[13].src, rungs[13].dst) == (
            "epcscf", "wic"
        )
        assert rungs[13].details[0] == f"2 frames: text 40B no FIN | continuation {len(OK) - 40}B FIN"
        assert set(rungs[13].seqs) == {13, 12, 10, 11}
        for claimed in (7, 10, 11, 12):  # drawn under their message, not on their own
            assert claimed not in rungs

    def test_failing_header_highlighted(self) -> None:
        rungs = {r.seq: r for r in build_ladder(_case()).rungs}
        assert rungs[13].tone == "fail"
        assert rungs[13].details[-1] == "✗ Via: SIP/2.0/TCP a.invalid;branch=z9hG4bK1"
        assert rungs[5].tone == "cited" and rungs[6].tone == ""

    def test_no_failing_header_without_a_fail(self) -> None:
        rungs = {r.seq: r for r in build_ladder(_case("PASS")).rungs}
        assert rungs[13].tone == "cited" and not any("✗" in d for d in rungs[13].details)

    def test_long_run_of_control_frames_collapsed(self) -> None:
        rungs = build_ladder(_case(pings=COLLAPSE_AT)).rungs
        collapsed = [r for r in rungs if "control frames" in r.label]
        assert [r.label.split(" over ")[0] for r in collapsed] == [
            f"{2 * COLLAPSE_AT} control frames: {COLLAPSE_AT} ping ←, {COLLAPSE_AT} pong →"
        ]
        assert len(collapsed[0].seqs) == 2 * COLLAPSE_AT
        few = build_ladder(_case(pings=1)).rungs
        assert [r.label for r in few if "ping" in r.label or "pong" in r.label] == [
            "frame ping 0B FIN", "frame pong 0B FIN MASK"
        ]

    def test_watched_window_to_scale_and_the_pause_before_it(self) -> None:
        case = _case()
        ladder = build_ladder(case)
        (window,) = ladder.windows
        (note,) = [e for e in case["evidence"] if "mandated_wait" in e["data"]]
        assert (window.start, window.end) == (note["t"] - 5.5, note["t"])
        assert window.seq == note["seq"]
        assert any(r.shape == "gap" and r.label.endswith("s later") for r in ladder.rungs)
        assert len(ladder.ticks) == 3 + 2 * COLLAPSE_AT

    def test_compact_has_no_frame_lines_steps_or_links(self) -> None:
        ladder = build_ladder(_case("PASS"), compact=True)
        assert not any(r.details for r in ladder.rungs if r.tone != "cited")
        assert not any(r.label.startswith("step ") for r in ladder.rungs)
        assert "<a " not in render_svg(ladder, "case-x")

    def test_tolerates_a_broken_case(self) -> None:
        assert not build_ladder({}).drawable
        odd = {"evidence": [{"seq": "x", "kind": 3, "data": []}, 7, {"kind": "sip", "direction": "tx",
                                                                    "actor": "wic", "data": None}]}
        assert build_ladder(odd).drawable


class TestSvg:
    def test_every_rung_links_to_its_entry(self) -> None:
        case = _case()
        svg = _Svg(render_svg(build_ladder(case), "case-p--X"))
        hrefs = {a["href"] for t, a in svg.tags if t == "a"}
        drawn = {r.seq for r in build_ladder(case).rungs if r.seq is not None}
        assert hrefs == {f"#case-p--X.e{s}" for s in drawn}

    def test_hostile_text_escaped(self) -> None:
        case = _case()
        case["evidence"][12]["data"]["start_line"] = XSS
        svg = str(render_svg(build_ladder(case), "case-p--X"))
        assert "<script" not in svg and "&lt;script&gt;" in svg
        assert {t for t, _ in _Svg(svg).tags} <= {"svg", "path", "text", "rect", "g", "a"}

    def test_fail_drawn_in_the_fail_class(self) -> None:
        svg = _Svg(render_svg(build_ladder(_case()), "case-p--X"))
        assert any(t == "g" and a.get("class") == "arrow fail" for t, a in svg.tags)
        assert "✗ Via: SIP/2.0/TCP a.invalid;branch=z9hG4bK1" in svg.text


class TestInReport:
    def test_non_pass_case_has_a_full_ladder_pass_a_compact_one(self, report: dict) -> None:
        html = render_html(report)
        fail = html.index('id="case-reference-wic--WIC-FR-01-one-per-message"')
        article = html[fail : html.index("</article>", fail)]
        assert '<figure class="ladder"><svg class="ladder"' in article
        passed = html.index('id="case-reference-epcscf--EPC-HS-01-basic"')
        article = html[passed : html.index("</article>", passed)]
        assert '<details class="ladder"><summary>Ladder diagram</summary><svg' in article


def test_a_header_named_like_a_word_only_when_called_a_header() -> None:
    case = _case()
    case["findings"][0]["reason"] = "a close to the WIC came 5 s after the release"
    assert not any("✗" in d for r in build_ladder(case).rungs for d in r.details)
    case["findings"][0]["reason"] = "the To header has no tag"
    (hint,) = [d for r in build_ladder(case).rungs for d in r.details if "✗" in d]
    assert hint == "✗ To: <sip:alice@ims.example.test>"


# -- timers a finding names, and rungs whose row the page leaves out (issue 10 item 6) ----


def _pong_case(timer: float, verdict: str = "FAIL") -> dict[str, Any]:
    """A Ping that got no Pong: the step's `timer` note, cited by the finding, runs from it."""
    now = [0.0]

    def clock() -> float:
        now[0] += 0.25
        return now[0]

    tl = Timeline(clock=clock)
    tl.add("wic", "connect", "tcp connect", direction="tx", conn="c1", error=None)  # 1
    tl.add("wic", "ws.frame", "tx ping", direction="tx", conn="c1", opcode="ping", fin=True,
           masked=True, length=4, payload="ping")  # 2
    now[0] += timer
    tl.add("runner", "note", f"timer: a Pong awaited for {timer:g} s after the Ping", timer=timer, since=2)  # 3
    tl.add("runner", "note", "watched nothing", timer=99)  # 4: cited by no finding
    return {
        "id": "BOTH-KA-01-x", "profile": "p", "sut_role": "epcscf", "verdict": verdict,
        "findings": [{"requirement": "BOTH-KA-01", "verdict": verdict,
                      "reason": f"no Pong with payload b'ping' within {timer:g} s", "evidence": [2, 3]}],
        "evidence": tl.to_json(),
    }


def test_the_timer_a_finding_names_is_drawn_from_its_note() -> None:
    for timer in (1.0, 2.5):  # two windows of other lengths: read from the note, not the prose
        case = _pong_case(timer)
        (window,) = build_ladder(case).windows
        ping = case["evidence"][1]
        assert (window.start, window.end, window.seq) == (ping["t"], ping["t"] + timer, 3)
        assert window.label.startswith(f"timer: a Pong awaited for {timer:g} s")
        svg = str(render_svg(build_ladder(case), "case-x"))
        assert f"{timer:.2f} s: timer: a Pong awaited" in svg
        assert all(r.seq != 3 for r in build_ladder(case).rungs)  # on the strip, not a rung
    assert build_ladder(_pong_case(1.0, "PASS")).windows == ()  # only a finding that did not pass
    unsure = _pong_case(1.0, "INCONCLUSIVE")
    del unsure["evidence"][2]["data"]["since"]  # no start named: the window ends at the note
    (window,) = build_ladder(unsure).windows
    assert window.end == unsure["evidence"][2]["t"] and window.start == window.end - 1.0


def test_a_rung_whose_row_is_left_out_links_to_the_report_json_text() -> None:
    from harness.report.ladder import left_out_seqs

    case = _case()
    ladder = build_ladder(case)
    drawn = {r.seq for r in ladder.rungs if r.seq is not None} | {w.seq for w in ladder.windows}
    shown = {2, 3, 13}
    svg = _Svg(render_svg(ladder, "case-p--X", shown))
    hrefs = {a["href"] for t, a in svg.tags if t == "a"}
    gone = sorted(drawn - shown)
    assert left_out_seqs(ladder, shown) == gone and gone
    assert hrefs == {f"#case-p--X.e{s}" for s in drawn & shown} | {f"#case-p--X.lo{s}" for s in gone}
    assert all(f"in report.json, entry seq {s}" in svg.text for s in gone)
    assert left_out_seqs(ladder, None) == []


def test_no_ladder_link_in_the_page_is_dead(report: dict[str, Any], monkeypatch: Any) -> None:
    import re

    from harness.report import html as page

    monkeypatch.setattr(page, "CASE_ROWS", 3)  # most rows left out
    fail = next(c for c in report["cases"] if c["verdict"] == "FAIL")
    fail.update({k: _case()[k] for k in ("evidence", "findings")})
    text = render_html(report)
    ids = set(re.findall(r'id="([^"]+)"', text))
    ladders = re.findall(r'<svg class="ladder".*?</svg>', text, re.S)
    hrefs = {h for svg in ladders for h in re.findall(r'href="#([^"]+)"', svg)}
    assert any(".lo" in h for h in hrefs) and any(".e" in h for h in hrefs)
    assert hrefs <= ids, sorted(hrefs - ids)[:5]
    assert "in report.json, entry seq " in text
