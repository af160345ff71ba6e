"""Report writers: everything here reads the canonical dict of `RunResult.to_json()`.

- `validate_report`: check a report against `schema.json` (format wicct-report/1);
- `render_html` / `write_html`: the self-contained compliance page;
- `write_reports`: report.json and report.html into a directory, never losing a run;
- `render_summary`: the short terminal table the CLI prints.
"""

from harness.report.html import render_html, write_html
from harness.report.validate import ReportValidationError, validate_report
from harness.report.writer import render_summary, write_reports

__all__ = [
    "ReportValidationError",
    "render_html",
    "render_summary",
    "validate_report",
    "write_html",
    "write_reports",
]
