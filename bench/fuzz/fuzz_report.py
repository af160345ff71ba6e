"""Fuzz target: the report writers (harness/report/: report.json, report.html, junit.xml,
the terminal summary and the plain-text case view) over arbitrary findings and evidence.

Property: for any text in reasons, notes, titles and evidence (invalid UTF-8 bytes, text
read with `surrogateescape`, control characters, markup, huge strings), validation raises
only `ReportValidationError`, every writer returns, report.json is JSON, junit.xml is XML a
parser reads back, and the HTML escapes the text (no markup from the SUT survives).

    python bench/fuzz/fuzz_report.py -runs=1000000        # atheris
    python bench/fuzz/fuzz_report.py --hypothesis 10000   # hypothesis
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import Property, instrumented, main  # noqa: E402

with instrumented(__name__ == "__main__"):
    from rich.console import Console

    from harness.evidence import Timeline
    from harness.report.html import render_html
    from harness.report.junit import render_junit
    from harness.report.text import case_text
    from harness.report.validate import ReportValidationError, validate_report
    from harness.report.writer import _dump, render_summary, write_reports
    from harness.results import RunResult
    from harness.verdicts import CaseResult, Finding, Strength, SutInfo, Verdict

NAME = "report"
MARK = "<script>wicct-fuzz</script>"


def run_of(texts: list[str], blobs: list[bytes]) -> RunResult:
    """One run: a SUT and a case per verdict, whose every text field and evidence entry
    carries the fuzzed texts and bytes."""
    def text(i: int) -> str:
        return texts[i % len(texts)] if texts else ""

    run = RunResult(started=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    run.finished = run.started + dt.timedelta(seconds=1)
    run.suts = [SutInfo(profile=text(0), role="wic", name=text(1), driver=text(2),
                        faults=(text(3),), warnings=(text(4),))]
    run.notes = [text(5)]
    for n, verdict in enumerate(Verdict):
        timeline = Timeline()
        for i, blob in enumerate(blobs or [b""]):
            timeline.add(text(i), "ws.frame", text(i + 1), direction="rx", conn=text(i + 2),
                         payload=blob, text=text(i + 3), opcode=1)
        findings = tuple(
            Finding(requirement=text(i + n), clause=text(i + 1), strength=strength,
                    verdict=verdict, reason=text(i + 2), evidence=(1, len(blobs) + 5),
                    note=text(i + 3))
            for i, strength in enumerate(Strength))
        run.add(CaseResult(
            case_id=f"{text(n)}-{n}", title=text(n + 1), sut_role=text(n + 2),
            profile=text(n + 3), verifies=(text(n + 4),), clauses=(text(n + 5),),
            verdict=verdict, reason=text(n + 6), findings=findings,
            evidence=tuple(timeline.to_json()), duration_s=0.5, source=text(n + 7),
            description=text(n + 8)))
    return run


def check(pieces: tuple[list[str], list[bytes]], *, files: bool = False) -> None:
    texts, blobs = pieces
    report = run_of([*texts, MARK], blobs).to_json()
    with contextlib.suppress(ReportValidationError):
        validate_report(report)
    json.loads(_dump(report))
    page = render_html(report)
    assert MARK not in page
    ET.fromstring(ET.tostring(render_junit(report), encoding="utf-8"))
    render_summary(report, Console(file=io.StringIO(), width=100))
    for case in report["cases"]:
        case_text(case)
    if files:
        with tempfile.TemporaryDirectory() as out:
            paths = write_reports(report, out)
            json.loads(paths["json"].read_text(encoding="utf-8"))
            assert MARK not in paths["html"].read_text(encoding="utf-8")


def one_input(data: bytes) -> None:
    """Split on NUL: odd pieces are evidence bytes, even pieces texts (surrogateescape)."""
    pieces = data.split(b"\x00")
    texts = [p.decode("utf-8", "surrogateescape") for p in pieces[::2]]
    check((texts, pieces[1::2]))


def seeds() -> list[bytes]:
    return [b"reason \x1b[31m<b>\x00\xff\xfe binary\x00\xed\xa0\x80 surrogate\x00" + MARK.encode(),
            b"PASS\x00SIP/2.0 200 OK\r\n\r\n\x00\x7f\x85" + "\u2028".encode()]


_TEXT = st.text(max_size=80) | st.binary(max_size=80).map(
    lambda b: b.decode("utf-8", "surrogateescape")) | st.sampled_from(
    ["", "\x00", "\x1b[2J", "]]>", "&#0;", "\ud800", "\ufffe", "\u2028", "</pre>", "{{ x }}"])

PROPERTIES: list[Property] = [
    (st.binary(max_size=1024), one_input),
    (st.tuples(st.lists(_TEXT, max_size=8), st.lists(st.binary(max_size=100), max_size=4)),
     check),
]
# huge strings, written to files: slow (seconds an example), run with few examples
HUGE: Property = (
    st.tuples(st.lists(_TEXT | st.just("\x85<" * 500_000), min_size=1, max_size=3),
              st.lists(st.binary(max_size=100), max_size=2)),
    lambda pieces: check(pieces, files=True))

if __name__ == "__main__":
    sys.exit(main(NAME, one_input, seeds, [*PROPERTIES, HUGE]))
