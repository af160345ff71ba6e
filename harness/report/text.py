"""Plain-text views of one case of `report.json`: what a CI tool shows for it.

The JUnit writer (`harness.report.junit`), the Allure results (harness.plugin) and the
terminal read a case as report.json holds it (docs/architecture.md principle 5), so their
text is the report's, with secrets already redacted by the timeline (harness.evidence).
Pure functions of the case dict: no I/O.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

CITED_PER_FINDING = 12  # evidence lines under one finding; the rest are in report.html
# and what XML 1.0 §2.2 forbids besides: lone surrogates (a SUT's stray bytes read with
# `surrogateescape`), U+FFFE and U+FFFF
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean(value: Any) -> str:
    """Text safe for a terminal or an XML 1.0 document: control characters (ANSI escapes
    too) shown as \\xNN, lone surrogates as \\uNNNN, tabs and newlines kept."""
    return _CONTROL.sub(_escaped, str(value))


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def one_line(value: Any) -> str:
    return " ".join(clean(value).split())


def evidence_by_seq(case: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    return {
        e["seq"]: e
        for e in case.get("evidence") or []
        if isinstance(e, Mapping) and isinstance(e.get("seq"), int)
    }


def non_pass_findings(case: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        f
        for f in case.get("findings") or []
        if isinstance(f, Mapping) and f.get("verdict") != "PASS"
    ]


def cited_findings(case: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The findings a reader of this case needs: the non-PASS ones, or, for a PASS case,
    the PASS findings (their evidence is what the PASS rests on)."""
    findings = [f for f in case.get("findings") or [] if isinstance(f, Mapping)]
    return non_pass_findings(case) or findings


def cited_entries(case: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The evidence entries `cited_findings` rest on, in timeline order, each once."""
    entries = evidence_by_seq(case)
    seqs = {s for f in cited_findings(case) for s in f.get("evidence") or [] if s in entries}
    return [entries[s] for s in sorted(seqs)]


def entry_line(entry: Mapping[str, Any]) -> str:
    """`#7 0.058 s wic c1 rx 101 Switching Protocols`: seq, time, actor, connection,
    direction (unless the summary starts with it) and summary."""
    summary = one_line(entry.get("summary", ""))
    direction = str(entry.get("direction") or "")
    parts = [f"#{entry.get('seq')}"]
    if isinstance(entry.get("t"), int | float):
        parts.append(f"{entry['t']:.3f} s")
    parts += [one_line(entry.get("actor", "")), one_line(entry.get("conn") or "")]
    if direction and not summary.startswith(direction):
        parts.append(direction)
    parts.append(summary)
    return " ".join(p for p in parts if p)


def finding_lines(
    finding: Mapping[str, Any], entries: Mapping[int, Mapping[str, Any]], *, cited: int
) -> list[str]:
    """A finding as `- ID (strength) VERDICT: reason`, its clause, and up to `cited`
    evidence lines."""
    lines = [
        f"- {one_line(finding.get('requirement', ''))} ({one_line(finding.get('strength', ''))}) "
        f"{one_line(finding.get('verdict', ''))}: {one_line(finding.get('reason', ''))}",
        f"  clause: {one_line(finding.get('clause', ''))}",
    ]
    if finding.get("note"):
        lines.append(f"  note: {one_line(finding['note'])}")
    seqs = [s for s in finding.get("evidence") or [] if s in entries]
    lines += [f"  {entry_line(entries[s])}" for s in seqs[:cited]]
    if len(seqs) > cited:
        lines.append(f"  … {len(seqs) - cited} more cited entries in report.html")
    return lines


def case_text(case: Mapping[str, Any], *, cited: int = CITED_PER_FINDING) -> str:
    """The case as a CI reader needs it: verdict line, source, reason, then each cited
    finding (non-PASS ones, or the PASS ones of a PASS case) with its clause and the
    evidence it cites."""
    entries = evidence_by_seq(case)
    lines = [
        f"{one_line(case.get('id', ''))} [{one_line(case.get('profile', ''))}] "
        f"{one_line(case.get('verdict', ''))}: {one_line(case.get('title', ''))}",
        f"source: {one_line(case.get('source', ''))}",
        f"reason: {one_line(case.get('reason', ''))}",
    ]
    for finding in cited_findings(case):
        lines += finding_lines(finding, entries, cited=cited)
    return "\n".join(lines)


# -- terminal lines ----------------------------------------------------------------------


def case_line(case: Mapping[str, Any], id_width: int = 0, profile_width: int = 0) -> str:
    """`EPC-HS-01  reference-epcscf  PASS  0.09 s`: one case on one line."""
    duration = case.get("duration_s")
    took = f"{duration:.2f} s" if isinstance(duration, int | float) else ""
    return (
        f"{one_line(case.get('id', '')):<{id_width}}  {one_line(case.get('profile', '')):<{profile_width}}  "
        f"{one_line(case.get('verdict', '')):<14} {took:>8}"
    ).rstrip()


def indented(text: str, *, width: int, indent: str = "    ") -> list[str]:
    """`text` wrapped to `width` columns (never narrower than 60), every line indented:
    whole words, nothing cut."""
    return textwrap.wrap(
        one_line(text),
        width=max(width, 60),
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def widths(cases: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """Column widths for `case_line` over these cases."""
    ids = [len(one_line(c.get("id", ""))) for c in cases]
    profiles = [len(one_line(c.get("profile", ""))) for c in cases]
    return max(ids, default=0), max(profiles, default=0)
