"""Report writers: everything here reads the canonical dict of `RunResult.to_json()`.

- `validate_report`: check a report against `schema.json` (format wicct-report/1);
- `render_html` / `write_html`: the self-contained compliance page (ladder.py draws each
  case's ladder diagram; `render_html(..., print_view=...)` is the page report.pdf prints);
- pdf.py: `write_pdf`, report.pdf printed by Chromium through Playwright (`wicct pdf`);
- `write_reports`: report.json and report.html into a directory, never losing a run;
- `render_summary`: the short terminal table the CLI prints;
- `write_junit` (junit.py): junit.xml, one suite per profile;
- allure_result.py: what each case's Allure result holds; text.py: a case as plain text
  (the JUnit body, the Allure attachment, pytest's failure section, the terminal lines).
"""

from harness.report.html import render_html, write_html
from harness.report.junit import write_junit
from harness.report.validate import ReportValidationError, validate_report
from harness.report.writer import render_summary, write_reports

__all__ = [
    "ReportValidationError",
    "render_html",
    "render_summary",
    "validate_report",
    "write_html",
    "write_junit",
    "write_reports",
]
