"""Write a run's reports (report.json, report.html) and print its terminal summary.

The harness never hangs and never lies, and it never loses a run (docs/architecture.md principle 6):
a report that fails validation is still written, both files, next to `report.errors.txt`
that says what is wrong; the HTML page shows the same problems in a banner.
"""

from __future__ import annotations

import html as _html
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.report.html import write_html
from harness.report.text import indented, widths
from harness.report.validate import ReportValidationError, validate_report

log = logging.getLogger(__name__)

JSON_NAME = "report.json"
HTML_NAME = "report.html"
ERRORS_NAME = "report.errors.txt"

_VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE", "NOT-APPLICABLE", "ERROR")
_STYLE = {
    "PASS": "green",
    "FAIL": "bold red",
    "INCONCLUSIVE": "yellow",
    "NOT-APPLICABLE": "dim",
    "ERROR": "bold magenta",
}
_SEVERITY = {"ERROR": 5, "FAIL": 4, "INCONCLUSIVE": 3, "PASS": 2, "NOT-APPLICABLE": 0}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def write_reports(
    report: Mapping[str, Any], out_dir: str | Path, *, strict: bool = False
) -> dict[str, Path]:
    """Validate `report`, then write report.json and report.html into `out_dir`.

    Returns {"json": ..., "html": ...}, plus "errors" (report.errors.txt) when the report
    did not validate or the page could not be rendered; the files are written either way.
    With `strict`, a validation failure is raised after everything has been written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    error: ReportValidationError | None = None
    try:
        validate_report(report)
    except ReportValidationError as exc:
        error = exc
        problems.extend(exc.problems)

    paths = {"json": out / JSON_NAME, "html": out / HTML_NAME}
    _atomic_write(paths["json"], _dump(report))
    try:
        tmp = paths["html"].with_name(paths["html"].name + ".tmp")
        write_html(report, tmp, problems=problems)
        os.replace(tmp, paths["html"])
    except Exception as exc:  # the page must exist even if the report breaks the template
        log.exception("report.html could not be rendered")
        problems.append(f"report.html: rendering failed: {type(exc).__name__}: {exc}")
        _atomic_write(paths["html"], _fallback_html(report, problems))

    errors = out / ERRORS_NAME
    if problems:
        message = str(error) if error else "report.html could not be rendered"
        extra = [p for p in problems if not error or p not in error.problems]
        text = message + "".join(f"\n  - {p}" for p in extra) + "\n"
        _atomic_write(errors, text)
        paths["errors"] = errors
        log.warning("%s (written anyway: %s)", message.splitlines()[0], out)
    elif errors.exists():
        errors.unlink()  # a stale file from an earlier run would accuse this one
    if strict and error:
        raise error
    return paths


def _dump(report: Mapping[str, Any]) -> str:
    """report.json's text: indented for reading, except that each evidence entry and each
    finding's recorded check call is one compact line. Indenting those (a flooded case
    holds thousands of entries, a check call thousands of seq ranges) tripled the file
    (issue 11: report.json under 10 MB whatever the SUT sent)."""
    try:
        return _indented_with_compact_rows(report) + "\n"
    except (ValueError, TypeError) as exc:  # circular, or a non-str key: keep what can be kept
        return (
            json.dumps({"unserialisable_report": repr(report), "error": str(exc)}, indent=2) + "\n"
        )


def _indented_with_compact_rows(report: Mapping[str, Any]) -> str:
    # each compact row is replaced by a token string for the indented dump and put back
    # after it; a token is quoted JSON with a random part, so no text inside a JSON string
    # (whose quotes are escaped) can look like one
    mark = f"@@wicct-row-{os.urandom(6).hex()}-"
    rows: list[str] = []

    def token(value: Any) -> str:
        rows.append(json.dumps(value, ensure_ascii=False, default=repr))
        return f"{mark}{len(rows) - 1}@@"

    def case_with_tokens(case: Any) -> Any:
        if not isinstance(case, Mapping):
            return case
        out = dict(case)
        if isinstance(out.get("evidence"), list):
            out["evidence"] = [token(e) for e in out["evidence"]]
        if isinstance(out.get("findings"), list):
            out["findings"] = [
                {**f, "check": token(f["check"])} if isinstance(f, Mapping) and "check" in f else f
                for f in out["findings"]
            ]
        return out

    shaped = dict(report)
    if isinstance(shaped.get("cases"), list):
        shaped["cases"] = [case_with_tokens(c) for c in shaped["cases"]]
    text = json.dumps(shaped, indent=2, ensure_ascii=False, default=repr)
    pattern = re.compile('"' + re.escape(mark) + r'(\d+)@@"')
    return pattern.sub(lambda m: rows[int(m.group(1))], text)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
    os.replace(tmp, path)


def _fallback_html(report: Mapping[str, Any], problems: list[str]) -> str:
    items = "".join(f"<li><code>{_html.escape(p)}</code></li>" for p in problems)
    body = _html.escape(_dump(report))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        "<title>wicct report (unrendered)</title></head><body>"
        "<h1>wicct report: the page could not be rendered</h1>"
        f"<ul>{items}</ul><h2>report.json</h2><pre>{body}</pre></body></html>"
    )


# -- terminal summary --------------------------------------------------------------------


def render_summary(
    report: Mapping[str, Any], console: Console, *, max_rows: int = 40, reasons: bool = True
) -> None:
    """Print per-profile counts and the non-PASS cases, one line each (verdict, case,
    profile) and, with `reasons`, the reason on its own indented line, in full (`wicct run`
    leaves reasons out when its per-case lines have shown them)."""
    harness = _mapping(report.get("harness"))
    cases = [c for c in report.get("cases") or [] if isinstance(c, Mapping)]
    suts = [s for s in report.get("suts") or [] if isinstance(s, Mapping)]

    head = Text()
    head.append(f"wicct {_plain(harness.get('version', '?'), 20)}", style="bold")
    head.append(
        f"  {_plain(report.get('started', ''), 40)} → {_plain(report.get('finished', ''), 40)}"
    )
    console.print(head)
    for sut in suts:
        windows = (sut.get("details") or {}).get("shortened_windows") or {}
        if isinstance(windows, dict) and windows:
            shown = ", ".join(
                f"{_plain(str(k), 40)} {w.get('seconds')} s (default {w.get('certification_default')} s)"
                for k, w in windows.items() if isinstance(w, dict)
            )
            console.print(Text(f"{_plain(sut.get('profile', ''), 60)}: windows shortened by the "
                               f"profile: {shown}", style="bold yellow"))
        if sut.get("tls_insecure") is True:
            console.print(
                Text(
                    f"TLS certificate verification was DISABLED for {_plain(sut.get('profile', ''), 60)}: "
                    "transport-security results are not evidence of conformance",
                    style="bold white on red",
                )
            )

    for sut in suts:
        for warning in sut.get("warnings") or []:
            console.print(Text(f"warning: profile setting not used: {_plain(warning, 300)}",
                               style="yellow"))
        failure = sut.get("setup_failure")
        if isinstance(failure, Mapping):
            console.print(
                Text(
                    f"set-up failure of profile {_plain(sut.get('profile', ''), 60)} "
                    f"({_plain(failure.get('kind', ''), 20)}): {_plain(failure.get('reason', ''), 300)}; "
                    f"{_plain(failure.get('not_tried', 0), 8)} case(s) not tried",
                    style="bold red",
                )
            )
        if sut.get("one_at_a_time"):
            console.print(
                Text(
                    f"profile {_plain(sut.get('profile', ''), 60)} ran its cases one at a time: "
                    f"{_plain(sut.get('one_at_a_time', ''), 200)}",
                    style="dim",
                )
            )

    roles = {str(s.get("profile", "")): str(s.get("role", "")) for s in suts}
    per_profile: dict[str, Counter[str]] = {}
    for case in cases:
        profile = str(case.get("profile", ""))
        roles.setdefault(profile, str(case.get("sut_role", "")))
        per_profile.setdefault(profile, Counter())[str(case.get("verdict", ""))] += 1

    counts = Table(title="Cases per profile", title_justify="left")
    counts.add_column("Profile")
    counts.add_column("Role")
    counts.add_column("Cases", justify="right")
    for verdict in _VERDICTS:
        counts.add_column(
            verdict, justify="right", style=_STYLE[verdict], header_style=_STYLE[verdict]
        )
    for profile in sorted(per_profile):
        tally = per_profile[profile]
        cells = [Text(str(tally.get(v, 0)), style="" if tally.get(v) else "dim") for v in _VERDICTS]
        counts.add_row(
            _text(profile, 40), _text(roles.get(profile, ""), 10), str(sum(tally.values())), *cells
        )
    console.print(counts)

    # cases not tried after a set-up failure: said once per profile above, not row by row
    bad = [
        c
        for c in cases
        if str(c.get("verdict", "")) != "PASS" and not str(c.get("reason", "")).startswith("not tried: ")
    ]
    bad.sort(
        key=lambda c: (
            str(c.get("profile", "")),
            -_SEVERITY.get(str(c.get("verdict", "")), 9),
            str(c.get("id", "")),
        )
    )
    if bad:
        console.print(Text("Cases not passed", style="italic"))
        id_width, profile_width = widths(bad[:max_rows])
        # a terminal wraps a reason to its width under the indent; a log keeps it on one line
        wrap = console.width if console.is_terminal else 1_000_000
        for case in bad[:max_rows]:
            verdict = str(case.get("verdict", ""))
            line = Text("  ")
            line.append(f"{_plain(verdict, 20):<14}", style=_STYLE.get(verdict, ""))
            line.append(f" {_plain(case.get('id', ''), 200):<{id_width}}  {_plain(case.get('profile', ''), 200)}")
            console.print(line, soft_wrap=True)
            if reasons:
                for part in indented(str(case.get("reason", "")), width=wrap, indent="      "):
                    console.print(Text(part), soft_wrap=True)
        if len(bad) > max_rows:
            console.print(
                Text(f"… and {len(bad) - max_rows} more not-passed cases: see report.html")
            )

    summary = _mapping(report.get("summary"))
    tail = Text()
    tail.append(f"{len(cases)} cases", style="bold")
    tail.append(f"; should-level failures: {summary.get('should_failures', 0)}")
    tail.append(f"; informational findings: {summary.get('informational_findings', 0)}")
    console.print(tail)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _plain(value: Any, limit: int) -> str:
    """One terminal-safe line: control characters (ANSI escapes too) made visible, truncated."""
    text = " ".join(str(value).split())
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any, limit: int, style: str = "") -> Text:
    # Text, never a str: a reason like "[bold]" from the SUT must not be read as markup.
    return Text(_plain(value, limit), style=style)
