"""`wicct diff OLD NEW`: what changed between two runs, verdict by verdict.

Reads two report.json files (or directories holding one, such as a report or bundle
directory) and lists every case verdict that changed, per (profile, case), and every
requirement verdict that changed, per (profile, requirement), each tied to what changed in
the run's inputs: wicct's version or commit, the case set's hash or the `--select`
expression, and per profile the SUT's implementation (vendor, product, version), its
driver, fault switches, PICS and PIXIT. A case in one report only is a change too (it was
not run in the other). Pure over the two dicts; `wicct diff` prints it and exits 0 when no
verdict changed, 1 otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPORT_NAME = "report.json"
NOT_RUN = "(not run)"


class ReportNotFound(ValueError):
    """A diff or matrix argument that is not a readable report.json (exit 2)."""


def find_report(path: Path) -> Path:
    """`path` itself, or the one report.json under the directory `path` (its own first)."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise ReportNotFound(f"{path}: no such file or directory")
    if (path / REPORT_NAME).is_file():
        return path / REPORT_NAME
    found = sorted(path.rglob(REPORT_NAME))
    if not found:
        raise ReportNotFound(f"{path}: no {REPORT_NAME} in this directory")
    if len(found) > 1:
        listed = ", ".join(str(p) for p in found[:5])
        raise ReportNotFound(f"{path}: {len(found)} {REPORT_NAME} files, name one: {listed}")
    return found[0]


def load_report(path: Path) -> tuple[dict[str, Any], Path]:
    """The report dict of a file or directory, and the report.json it came from."""
    source = find_report(path)
    try:
        report = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportNotFound(f"{source}: not a readable report.json: {exc}") from None
    if not isinstance(report, dict) or not isinstance(report.get("cases"), list):
        raise ReportNotFound(f"{source}: not a wicct report (no list of cases)")
    return report, source


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    """Nested mappings as dotted keys (lists kept whole)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flat(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _changes(old: Mapping[str, Any], new: Mapping[str, Any], scope: str) -> list[dict[str, Any]]:
    a, b = _flat(old, ""), _flat(new, "")
    return [
        {"scope": scope, "what": key, "old": a.get(key), "new": b.get(key)}
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]


def _run_inputs(report: Mapping[str, Any]) -> dict[str, Any]:
    harness = _mapping(report.get("harness"))
    suite = _mapping(report.get("suite"))
    return {
        "format": report.get("format"),
        "wicct version": harness.get("version"),
        "wicct commit": harness.get("commit"),
        "case set hash": suite.get("hash"),
        "select": suite.get("select"),
    }


def _sut_inputs(sut: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "implementation": sut.get("implementation"),
        "name": sut.get("name"),
        "driver": sut.get("driver"),
        "faults": sut.get("faults"),
        "tls_insecure": sut.get("tls_insecure"),
        "pics": sut.get("pics"),
        "pixit": sut.get("pixit"),
    }


def _suts(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str(s.get("profile", "")): s for s in report.get("suts") or [] if isinstance(s, Mapping)
    }


def _verdicts(rows: Any, key: str) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {
        (str(r.get("profile", "")), str(r.get(key, ""))): r
        for r in rows or []
        if isinstance(r, Mapping)
    }


def _identity(report: Mapping[str, Any], path: Path | None) -> dict[str, Any]:
    return {
        "report_id": _mapping(report.get("report")).get("id"),
        "path": str(path) if path else None,
        "started": report.get("started"),
    }


def diff_reports(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_path: Path | None = None,
    new_path: Path | None = None,
) -> dict[str, Any]:
    """Every verdict change from `old` to `new`, with the input changes each may follow from."""
    run_changes = _changes(_run_inputs(old), _run_inputs(new), "run")
    old_suts, new_suts = _suts(old), _suts(new)
    sut_changes: dict[str, list[dict[str, Any]]] = {}
    for profile in sorted(set(old_suts) | set(new_suts)):
        if profile not in old_suts or profile not in new_suts:
            sut_changes[profile] = [{"scope": f"profile {profile}", "what": "profile",
                                     "old": profile if profile in old_suts else None,
                                     "new": profile if profile in new_suts else None}]
            continue
        changed = _changes(_sut_inputs(old_suts[profile]), _sut_inputs(new_suts[profile]),
                           f"profile {profile}")
        if changed:
            sut_changes[profile] = changed

    def because(profile: str) -> list[str]:
        return [f"{c['scope']}: {c['what']}" for c in run_changes + sut_changes.get(profile, [])]

    cases = []
    old_cases, new_cases = _verdicts(old.get("cases"), "id"), _verdicts(new.get("cases"), "id")
    for key in sorted(set(old_cases) | set(new_cases)):
        was = str(old_cases[key].get("verdict", "")) if key in old_cases else NOT_RUN
        now = str(new_cases[key].get("verdict", "")) if key in new_cases else NOT_RUN
        if was != now:
            cases.append({
                "profile": key[0], "case": key[1], "old": was, "new": now,
                "reason": str(new_cases[key].get("reason", "")) if key in new_cases else "",
                "because": because(key[0]),
            })  # fmt: skip
    requirements = []
    old_rows = _verdicts(old.get("requirements"), "id")
    new_rows = _verdicts(new.get("requirements"), "id")
    for key in sorted(set(old_rows) | set(new_rows)):
        was = str(old_rows[key].get("verdict", "")) if key in old_rows else NOT_RUN
        now = str(new_rows[key].get("verdict", "")) if key in new_rows else NOT_RUN
        if was != now:
            requirements.append({"profile": key[0], "id": key[1], "old": was, "new": now,
                                 "because": because(key[0])})
    return {
        "old": _identity(old, old_path),
        "new": _identity(new, new_path),
        "inputs_changed": run_changes + [c for p in sorted(sut_changes) for c in sut_changes[p]],
        "cases": cases,
        "requirements": requirements,
        "changed": bool(cases or requirements),
    }


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:79] + "…"


def render_text(diff: Mapping[str, Any]) -> str:
    """The diff as lines for a terminal or a log."""
    old, new = _mapping(diff.get("old")), _mapping(diff.get("new"))
    lines = [
        f"old: {old.get('report_id') or '(no report id)'}  {old.get('path') or ''}".rstrip(),
        f"new: {new.get('report_id') or '(no report id)'}  {new.get('path') or ''}".rstrip(),
    ]
    inputs = diff.get("inputs_changed") or []
    lines.append(f"inputs changed: {len(inputs)}" + ("" if inputs else " (none recorded)"))
    for c in inputs:
        lines.append(f"  {c['scope']}: {c['what']}: {_short(c['old'])} -> {_short(c['new'])}")
    for title, rows, key in (("case verdicts changed", diff.get("cases") or [], "case"),
                             ("requirement verdicts changed", diff.get("requirements") or [], "id")):
        lines.append(f"{title}: {len(rows)}")
        for row in rows:
            tied = "; ".join(row["because"]) or "no recorded input changed: the SUT behaved differently"
            lines.append(f"  {row['profile']}  {row[key]}  {row['old']} -> {row['new']}  [{tied}]")
    lines.append("verdicts changed" if diff.get("changed") else "no verdict changed")
    return "\n".join(lines)
