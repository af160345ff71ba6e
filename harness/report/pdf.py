"""report.pdf: the report printed by the Chromium that Playwright drives (issue 10, item 2).

Derived from report.json like every other output (docs/architecture.md principle 5): the
page `render_html(..., print_view=...)` makes, printed with report.css's print rules. It
holds the summary, the requirement table and, per case that did not pass, its findings,
ladder and cited evidence; `appendix=True` adds every case's full timeline. Every page has
the report id in its header and footer and "Page x of y"; the last page ends with the end
marker (ISO/IEC 17025 §7.8.2.1: unique identification on each page, page x of y, a clear
end of the report).

Chromium is Debian's (the one the browser driver launches, `harness.suts.browser.driver.
CHROMIUM`; scripts/install-real-peers.sh installs it); Playwright never downloads a browser
here. Anything that stops the PDF (no Chromium, no Playwright, a render that fails or takes
longer than `timeout_s`) is a `PdfError` naming the cause; the other reports are unaffected.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.report.html import PrintView, render_html
from harness.suts.browser.driver import CHROMIUM

PDF_NAME = "report.pdf"
END_MARKER = "End of report"  # the text of the last page's end marker
_BAR = (
    'style="font: 8px Arial, sans-serif; color: #57606a; width: 100%; margin: 0 12mm; '
    'display: flex; justify-content: space-between;"'
)


class PdfError(Exception):
    """report.pdf could not be made; the message says why."""


def report_id(report: Mapping[str, Any], directory: str | Path | None = None) -> str:
    """The report's identity, printed on every page.

    The report's own id when it has one (`report_id`, or `id`), else the name of the run's
    directory (`run-20261128-011807`), else the start time.
    """
    for key in ("report_id", "id"):
        value = report.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    if directory is not None and Path(directory).resolve().name:
        return Path(directory).resolve().name
    return f"wicct-{report.get('started', 'unknown')}"


def write_pdf(
    report_dir: str | Path,
    *,
    appendix: bool = False,
    executable: str = CHROMIUM,
    timeout_s: float = 180.0,
) -> Path:
    """Print `report_dir/report.json` to `report_dir/report.pdf` and return its path."""
    directory = Path(report_dir)
    source = directory / "report.json"
    try:
        report = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PdfError(f"cannot read {source}: {exc}") from exc
    if not isinstance(report, Mapping):
        raise PdfError(f"{source} is not a wicct report")
    if not Path(executable).is_file():
        raise PdfError(
            f"Chromium not found at {executable} (run scripts/install-real-peers.sh); "
            "report.pdf not written"
        )
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - a dependency of wicct
        raise PdfError(f"Playwright is not installed: {exc}") from exc

    rid = report_id(report, directory)
    page_html = render_html(report, print_view=PrintView(report_id=rid, appendix=appendix))
    target = directory / PDF_NAME
    with tempfile.TemporaryDirectory(prefix="wicct-pdf-") as tmp:
        page_path = Path(tmp) / "report-print.html"
        page_path.write_text(page_html, encoding="utf-8", errors="backslashreplace")
        printed = Path(tmp) / PDF_NAME
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=executable, args=["--disable-gpu"], timeout=timeout_s * 1000
                )
                try:
                    page = browser.new_page()
                    page.set_default_timeout(timeout_s * 1000)
                    page.goto(page_path.as_uri(), wait_until="load")
                    page.emulate_media(media="print")
                    page.pdf(
                        path=str(printed),
                        format="A4",
                        print_background=True,
                        display_header_footer=True,
                        header_template=_header(rid),
                        footer_template=_footer(rid),
                        margin={"top": "16mm", "bottom": "16mm", "left": "11mm", "right": "11mm"},
                    )
                finally:
                    browser.close()
        except PlaywrightError as exc:
            raise PdfError(f"Chromium could not print the report: {exc}") from exc
        os.replace(printed, target)
    return target


def _header(rid: str) -> str:
    return (
        f"<div {_BAR}><span>wicct conformance report</span>"
        f"<span>Report {html.escape(rid)}</span></div>"
    )


def _footer(rid: str) -> str:
    return (
        f"<div {_BAR}><span>{html.escape(rid)}</span>"
        '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
    )
