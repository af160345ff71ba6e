"""write_reports (never loses a run) and the terminal summary."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from harness.report import ReportValidationError, render_summary, write_reports


class TestWriteReports:
    def test_writes_both_files(self, report: dict, tmp_path: Path) -> None:
        paths = write_reports(report, tmp_path / "out")
        assert paths == {
            "json": tmp_path / "out" / "report.json",
            "html": tmp_path / "out" / "report.html",
        }
        assert json.loads(paths["json"].read_text(encoding="utf-8")) == report
        assert (
            paths["json"].read_text(encoding="utf-8").startswith('{\n  "format": "wicct-report/2"')
        )
        html = paths["html"].read_text(encoding="utf-8")
        assert all(c["id"] in html for c in report["cases"])
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
            "report.html",
            "report.json",
        ]

    def test_unserialisable_key_does_not_lose_the_run(self, tamper, tmp_path: Path) -> None:
        report = tamper()
        report["suts"][0]["details"] = {("host", 5060): "a driver's tuple key"}
        paths = write_reports(report, tmp_path / "out")
        assert "unserialisable_report" in json.loads(paths["json"].read_text(encoding="utf-8"))
        assert paths["html"].exists()

    def test_invalid_report_still_written_with_error(self, tamper, tmp_path: Path) -> None:
        report = tamper()
        report["cases"][0]["verdict"] = "BOGUS"
        paths = write_reports(report, tmp_path)
        assert set(paths) == {"json", "html", "errors"}
        assert json.loads(paths["json"].read_text(encoding="utf-8")) == report  # nothing lost
        assert 'id="validation-banner"' in paths["html"].read_text(encoding="utf-8")
        errors = paths["errors"].read_text(encoding="utf-8")
        assert errors.startswith("report does not conform to wicct-report/2")
        assert "cases[0].verdict" in errors and "BOGUS" in errors

    def test_strict_raises_after_writing(self, tamper, tmp_path: Path) -> None:
        report = tamper()
        report["summary"]["cases"] = 99
        with pytest.raises(ReportValidationError, match="summary.cases"):
            write_reports(report, tmp_path, strict=True)
        assert (tmp_path / "report.json").exists() and (tmp_path / "report.html").exists()

    def test_unrenderable_report_gets_a_fallback_page(self, tmp_path: Path) -> None:
        report = {"format": "wicct-report/2", "cases": "<not a list>", "harness": 5}
        paths = write_reports(report, tmp_path)
        html = paths["html"].read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>")
        assert "&lt;not a list&gt;" in html and "<not a list>" not in html
        assert "errors" in paths

    def test_stale_errors_file_removed(self, report: dict, tmp_path: Path) -> None:
        (tmp_path / "report.errors.txt").write_text("old complaint", encoding="utf-8")
        paths = write_reports(report, tmp_path)
        assert "errors" not in paths and not (tmp_path / "report.errors.txt").exists()


def summary_text(report: dict, width: int = 140) -> str:
    out = io.StringIO()
    render_summary(report, Console(file=out, width=width, force_terminal=False, color_system=None))
    return out.getvalue()


class TestRenderSummary:
    def test_per_profile_counts_and_failures(self, report: dict) -> None:
        text = summary_text(report)
        assert "reference-epcscf" in text and "reference-wic" in text
        for cid in ("WIC-FR-01-one-per-message", "WIC-SES-04-media", "EPC-HS-02-no-sip"):
            assert cid in text
        assert "EPC-HS-01-basic" not in text  # PASS cases are not listed
        assert "harness error: KeyError 'via'" in text
        assert "should-level failures: 1; informational findings: 1" in text

    def test_long_reason_whole_on_its_own_indented_line(self, tamper) -> None:
        """Not cut, not wrapped into a narrow column: a log keeps it on one line."""
        report = tamper()
        words = " ".join(f"word{i}" for i in range(120))
        report["cases"][1]["reason"] = words
        lines = summary_text(report, width=80).splitlines()
        at = next(i for i, line in enumerate(lines) if "WIC-FR-01-one-per-message" in line)
        assert lines[at].split() == ["FAIL", "WIC-FR-01-one-per-message", "reference-wic"]
        assert lines[at + 1] == "      " + words

    def test_long_reason_wrapped_on_a_terminal_under_its_indent(self, tamper) -> None:
        report = tamper()
        words = " ".join(f"word{i}" for i in range(120))
        report["cases"][1]["reason"] = words
        out = io.StringIO()
        render_summary(report, Console(file=out, width=100, force_terminal=True, color_system=None))
        lines = out.getvalue().splitlines()
        at = next(i for i, line in enumerate(lines) if "WIC-FR-01-one-per-message" in line)
        wrapped = []
        for line in lines[at + 1:]:
            if not line.startswith("      word"):
                break
            assert len(line) <= 100
            wrapped.append(line.strip())
        assert " ".join(wrapped) == words and len(wrapped) > 1

    def test_reasons_left_out_on_request(self, report: dict) -> None:
        out = io.StringIO()
        render_summary(report, Console(file=out, width=140), reasons=False)
        assert "WIC-FR-01-one-per-message" in out.getvalue()
        assert "harness error: KeyError 'via'" not in out.getvalue()

    def test_sut_text_is_neither_markup_nor_terminal_codes(self, tamper) -> None:
        report = tamper()
        report["cases"][1]["reason"] = "[bold red]boom[/] \x1b[2J"
        text = summary_text(report)
        assert "[bold red]boom[/]" in text
        assert "\x1b" not in text and "\\x1b[2J" in text

    def test_insecure_warning(self, report: dict, insecure_report: dict) -> None:
        assert "DISABLED" not in summary_text(report)
        assert "TLS certificate verification was DISABLED for reference-epcscf" in summary_text(
            insecure_report
        )


def test_report_json_keeps_each_evidence_entry_and_check_call_on_one_line() -> None:
    """Indented for reading, but an entry and a recorded check call are one compact line
    each: indenting a flooded case's thousands of entries tripled report.json (issue 11)."""
    from harness.report.writer import _dump

    entry = {"seq": 1, "kind": "sip", "data": {"raw": 'a "quoted" @@wicct-row-0@@ text'}}
    check = {"name": "framing.frames_masked", "args": [{"entries": [[1, 9]]}, "wic"]}
    report = {"format": "x", "cases": [
        {"id": "c", "evidence": [entry, entry], "findings": [{"verdict": "PASS", "check": check},
                                                            {"verdict": "FAIL"}]},
    ], "notes": ["n"]}
    text = _dump(report)
    assert json.loads(text) == report
    lines = [line.strip() for line in text.splitlines()]
    row = json.dumps(entry, ensure_ascii=False)
    assert lines.count(row + ",") == 1 and lines.count(row) == 1
    assert any(line.startswith('"check": {"name"') for line in lines)
    assert text.splitlines()[1] == '  "format": "x",'  # the rest stays indented
