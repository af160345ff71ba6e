"""Validate a report dict against `schema.json` (format wicct-report/1) and its own counts.

Two layers, every problem collected before failing once (Tavern's verifiers):

1. the JSON Schema, draft 2020-12, the contract between `RunResult.to_json()` and the writers;
2. consistency the schema cannot say: the summary counts match the cases, each finding
   cites evidence entries its case holds, each requirement row names cases of the run.
   A report whose numbers disagree with its own rows would lie (docs/architecture.md principle 6).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

import jsonschema

FORMAT = "wicct-report/1"
_SHOWN = 25  # problems listed in the message; all of them stay in `.problems`


class ReportValidationError(ValueError):
    """The report does not conform to wicct-report/1; `.problems` lists every mismatch."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = [f"  - {p}" for p in self.problems[:_SHOWN]]
        if len(self.problems) > _SHOWN:
            lines.append(f"  ... and {len(self.problems) - _SHOWN} more")
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"report does not conform to {FORMAT} ({count} {noun}):\n" + "\n".join(lines)
        )


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of report.json, as shipped in the package."""
    text = resources.files("harness.report").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema())
    return cls(schema())


def validate_report(report: Mapping[str, Any]) -> None:
    """Raise `ReportValidationError` naming each place where `report` breaks wicct-report/1."""
    if not isinstance(report, Mapping):
        raise ReportValidationError([f"(root): expected an object, got {type(report).__name__}"])
    if "format" in report and report["format"] != FORMAT:
        # Say it plainly: every other error would follow from a different format.
        raise ReportValidationError(
            [f"format: unsupported format {report['format']!r}, this writer reads {FORMAT!r}"]
        )
    problems = [_describe(e) for e in _sorted(_validator().iter_errors(_sampled(report)))]
    problems += _entry_problems(report)
    if not problems:
        problems = list(_consistency(report))
    if problems:
        raise ReportValidationError(problems)


SCHEMA_ENTRIES = 50  # evidence entries per case the JSON Schema validator reads


def _sampled(report: Mapping[str, Any]) -> Mapping[str, Any]:
    """`report` with each case's evidence cut to its first `SCHEMA_ENTRIES` for the JSON
    Schema validator (slow per entry: issue 11 measured minutes for a flood's evidence);
    `_entry_problems` checks every entry against the same definition, cheaply."""
    cases = report.get("cases")
    if not isinstance(cases, list):
        return report
    cut = [
        {**c, "evidence": c["evidence"][:SCHEMA_ENTRIES]}
        if isinstance(c, dict) and isinstance(c.get("evidence"), list) else c
        for c in cases
    ]
    return {**report, "cases": cut}


_ENTRY_TYPES: dict[str, type | tuple[type, ...]] = {
    "seq": int, "t": (int, float), "actor": str, "kind": str, "direction": str,
    "conn": str, "summary": str, "data": dict,
}


def _entry_problems(report: Mapping[str, Any]) -> list[str]:
    """The schema's `evidenceEntry` for the entries `_sampled` left out."""
    problems: list[str] = []
    cases = report.get("cases")
    for i, case in enumerate(cases if isinstance(cases, list) else []):
        evidence = case.get("evidence") if isinstance(case, dict) else None
        if not isinstance(evidence, list):
            continue
        for j in range(SCHEMA_ENTRIES, len(evidence)):
            entry = evidence[j]
            where = f"cases[{i}].evidence[{j}]"
            if not isinstance(entry, dict) or set(entry) != set(_ENTRY_TYPES):
                problems.append(f"{where}: not an evidence entry (keys {sorted(entry) if isinstance(entry, dict) else type(entry).__name__})")
            elif bad := [k for k, t in _ENTRY_TYPES.items() if not isinstance(entry[k], t) or entry[k] is True or entry[k] is False]:
                problems.append(f"{where}: wrong type of {', '.join(bad)}")
            elif entry["seq"] < 1 or entry["direction"] not in ("rx", "tx", ""):
                problems.append(f"{where}: seq below 1 or direction not rx, tx or empty")
            if len(problems) > 100:
                return problems
    return problems


def _sorted(errors: Iterable[jsonschema.ValidationError]) -> list[jsonschema.ValidationError]:
    return sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _describe(error: jsonschema.ValidationError) -> str:
    message = error.message
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{_path(error.absolute_path)}: {message}"


def _consistency(report: Mapping[str, Any]) -> Iterable[str]:
    """Checks across fields; only run on a report the schema accepted."""
    cases = report["cases"]
    summary = report["summary"]
    counts = Counter(c["verdict"] for c in cases)
    if summary["cases"] != len(cases):
        yield f"summary.cases: says {summary['cases']}, the report holds {len(cases)} cases"
    for verdict in ("PASS", "FAIL", "INCONCLUSIVE", "NOT-APPLICABLE", "ERROR"):
        if summary[verdict] != counts.get(verdict, 0):
            yield f"summary.{verdict}: says {summary[verdict]}, the cases give {counts.get(verdict, 0)}"
    findings = [f for c in cases for f in c["findings"]]
    informational = sum(1 for f in findings if f["verdict"] == "INFORMATIONAL")
    if summary["informational_findings"] != informational:
        yield (
            f"summary.informational_findings: says {summary['informational_findings']}, "
            f"the findings give {informational}"
        )
    should = sum(1 for f in findings if f["verdict"] == "FAIL" and f["strength"] == "should")
    if summary["should_failures"] != should:
        yield f"summary.should_failures: says {summary['should_failures']}, the findings give {should}"

    for i, case in enumerate(cases):
        seqs = [e["seq"] for e in case["evidence"]]
        duplicates = sorted(s for s, n in Counter(seqs).items() if n > 1)
        if duplicates:
            yield f"cases[{i}].evidence: seq repeated: {duplicates}"
        known = set(seqs)
        for j, finding in enumerate(case["findings"]):
            missing = [s for s in finding["evidence"] if s not in known]
            if missing:
                yield (
                    f"cases[{i}].findings[{j}].evidence: cites {missing}, "
                    f"not in the evidence of case {case['id']!r}"
                )

    run = {(c["profile"], c["id"]) for c in cases}
    for i, row in enumerate(report["requirements"]):
        unknown = [cid for cid in row["cases"] if (row["profile"], cid) not in run]
        if unknown:
            yield f"requirements[{i}].cases: {unknown} not among the cases of profile {row['profile']!r}"
