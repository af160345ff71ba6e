"""report.pdf (harness/report/pdf.py): the print view, and the PDF of real runs read with pypdf."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from harness.report import render_html
from harness.report.html import PrintView
from harness.report.pdf import END_MARKER, PdfError, report_id, write_pdf

from .conftest import require_chromium

ROOT = Path(__file__).resolve().parents[2]


def wicct(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )


def pages(pdf: Path) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages]


class TestReportId:
    def test_the_reports_own_id_first(self) -> None:
        assert report_id({"report_id": "LAB-2026-0042", "id": "x"}, "/tmp/run-1") == "LAB-2026-0042"
        assert report_id({"id": "R-7"}, "/tmp/run-1") == "R-7"

    def test_else_the_run_directory(self, tmp_path: Path) -> None:
        assert report_id({}, tmp_path / "run-20261128-011807") == "run-20261128-011807"
        assert report_id({"started": "2026-11-28T01:18:07"}) == "wicct-2026-11-28T01:18:07"


class TestPrintView:
    @pytest.fixture
    def printed(self, report: dict[str, Any]) -> str:
        return render_html(report, print_view=PrintView(report_id="RID-42"))

    def test_only_cases_that_did_not_pass(self, printed: str, report: dict[str, Any]) -> None:
        for case in report["cases"]:
            anchor = f'id="case-{case["profile"]}--{case["id"]}"'
            assert (anchor in printed) == (case["verdict"] != "PASS"), case["id"]

    def test_only_cited_evidence_and_the_ladder(self, printed: str) -> None:
        case = "case-reference-wic--WIC-FR-01-one-per-message"
        assert f'id="{case}.e1"' not in printed  # not cited
        assert all(f'id="{case}.e{s}"' in printed for s in (2, 3, 4))
        start = printed.index(f'id="{case}"')
        article = printed[start : printed.index("</article>", start)]
        assert '<figure class="ladder"><svg' in article and "<details class=\"evidence\" open>" in article

    def test_id_and_end_marker_no_navigation(self, printed: str) -> None:
        assert "<dd>RID-42</dd>" in printed
        assert printed.count(END_MARKER) == 1 and f"{END_MARKER} RID-42" in printed
        assert printed.index(END_MARKER) > printed.index('<section id="cases">')
        assert '<nav class="toc">' not in printed and "Appendix" not in printed

    def test_appendix_has_every_timeline(self, report: dict[str, Any]) -> None:
        printed = render_html(report, print_view=PrintView(report_id="R", appendix=True))
        appendix = printed[printed.index('<section id="appendix">') : printed.index(END_MARKER)]
        for case in report["cases"]:
            assert f"<code>{case['id']}</code>" in appendix
        assert appendix.count("<tr") == sum(len(c["evidence"]) for c in report["cases"])

    def test_the_interactive_page_is_unchanged(self, report: dict[str, Any]) -> None:
        html = render_html(report)
        assert END_MARKER not in html and '<nav class="toc">' in html


def test_no_chromium_is_a_clear_error(tmp_path: Path, report: dict[str, Any]) -> None:
    (tmp_path / "report.json").write_text(json.dumps(report))
    with pytest.raises(PdfError, match="Chromium not found at /nonexistent/chromium"):
        write_pdf(tmp_path, executable="/nonexistent/chromium")
    assert not (tmp_path / "report.pdf").exists()
    with pytest.raises(PdfError, match="cannot read"):
        write_pdf(tmp_path / "missing")


def test_wicct_pdf_without_a_report_exits_2(tmp_path: Path) -> None:
    proc = wicct("pdf", str(tmp_path))
    assert proc.returncode == 2 and "report.json" in proc.stderr


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default run against the reference SUTs, with --pdf: the reference run's PDF."""
    require_chromium()
    out = tmp_path_factory.mktemp("pdf") / "run-reference"
    proc = wicct("run", "--out", str(out), "--pdf", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"pdf: {out / 'report.pdf'}" in proc.stdout
    return out


class TestReferenceRunPdf:
    def test_a_few_dozen_pages_with_id_page_numbers_and_end(self, reference_run: Path) -> None:
        text = pages(reference_run / "report.pdf")
        assert 5 <= len(text) <= 48, len(text)  # issue 10: a few dozen pages, not hundreds
        for n, page in enumerate(text, 1):
            assert page.count("run-reference") >= 2, (n, page[:200])  # header and footer
            assert f"Page {n} of {len(text)}" in page, n
        assert [END_MARKER in page for page in text] == [False] * (len(text) - 1) + [True]

    def test_summary_requirements_and_only_non_pass_cases(self, reference_run: Path) -> None:
        report = json.loads((reference_run / "report.json").read_text())
        whole = " ".join(pages(reference_run / "report.pdf"))
        assert "Summary" in whole and "Requirements" in whole
        assert all(r["id"] in whole for r in report["requirements"])
        assert "Cases that did not pass" in whole
        not_passed = [c["id"] for c in report["cases"] if c["verdict"] != "PASS"]
        assert not_passed and all(cid in whole for cid in not_passed)
        assert "Wire evidence" not in whole  # no full timelines without --pdf-appendix

    def test_appendix_adds_the_timelines_and_keeps_the_end_last(self, reference_run: Path) -> None:
        plain = len(PdfReader(reference_run / "report.pdf").pages)
        proc = wicct("pdf", str(reference_run), "--appendix")
        assert proc.returncode == 0, proc.stderr
        text = pages(reference_run / "report.pdf")
        assert len(text) > plain
        assert "Appendix: full timelines" in " ".join(text)
        assert END_MARKER in text[-1] and not any(END_MARKER in p for p in text[:-1])
        assert all(re.search(rf"Page {n} of {len(text)}", p) for n, p in enumerate(text, 1))
