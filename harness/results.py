"""The run's result model and its canonical JSON form (`report.json`, format wicct-report/1).

Every writer (HTML, JUnit, the terminal summary) reads the dict from `RunResult.to_json()`,
never the live objects: one result model, many writers (docs/architecture.md principle 5).
"""

from __future__ import annotations

import datetime as _dt
import platform
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness import __version__, requirements
from harness.verdicts import CaseResult, Finding, Strength, SutInfo, Verdict, worst

FORMAT = "wicct-report/1"
VERDICTS = [v.value for v in Verdict if v is not Verdict.INFORMATIONAL]


@dataclass
class RunResult:
    suts: list[SutInfo] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    started: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.UTC))
    finished: _dt.datetime | None = None
    notes: list[str] = field(default_factory=list)
    jobs: int | None = None  # cases run at once (`wicct run --jobs`); None: not recorded

    def add(self, result: CaseResult) -> None:
        self.cases.append(result)

    @property
    def failed(self) -> bool:
        return any(c.verdict in (Verdict.FAIL, Verdict.ERROR) for c in self.cases)

    def to_json(self) -> dict[str, Any]:
        finished = self.finished or _dt.datetime.now(_dt.UTC)
        counts = Counter(str(c.verdict) for c in self.cases)
        return {
            "format": FORMAT,
            "harness": {
                "name": "wicct",
                "version": __version__,
                "python": platform.python_version(),
            },
            "started": self.started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "duration_s": round((finished - self.started).total_seconds(), 3),
            "suts": [s.to_json() for s in self.suts],
            "summary": {
                "cases": len(self.cases),
                **{v: counts.get(v, 0) for v in VERDICTS},
                "informational_findings": sum(
                    1 for c in self.cases for f in c.findings if f.verdict is Verdict.INFORMATIONAL
                ),
                "should_failures": sum(
                    1
                    for c in self.cases
                    for f in c.findings
                    if f.verdict is Verdict.FAIL and f.strength is Strength.SHOULD
                ),
            },
            "requirements": requirement_rollup(self.cases),
            "cases": [c.to_json() for c in self.cases],
            "notes": list(self.notes),
            **({"jobs": self.jobs} if self.jobs else {}),
        }


def failed_requirements(cases: list[CaseResult]) -> set[str]:
    """Ids with at least one FAIL finding: the roll-up the fault self-tests assert on."""
    return {f.requirement for c in cases for f in c.findings if f.verdict is Verdict.FAIL}


def duplicated_findings(cases: list[CaseResult]) -> list[str]:
    """`case: finding` for every finding a case holds more than once (a report that counts
    one judgement twice would overstate its evidence)."""
    found = []
    for case in cases:
        seen: set[Finding] = set()
        for finding in case.findings:
            if finding in seen:
                found.append(f"{case.case_id}: {finding.requirement} {finding.verdict} {finding.reason}")
            seen.add(finding)
    return found


def requirement_rollup(cases: list[CaseResult]) -> list[dict[str, Any]]:
    """One row per (requirement, profile): the worst verdict of its findings, with the cases.

    Only findings count: a case verdict is not spread over ids the case did not judge.
    A case that is NOT-APPLICABLE or INCONCLUSIVE as a whole marks the ids it verifies so.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    catalogue = requirements.catalogue()

    def row(rid: str, profile: str, role: str) -> dict[str, Any]:
        key = (rid, profile)
        if key not in rows:
            req = catalogue.get(rid)
            rows[key] = {
                "id": rid,
                "profile": profile,
                "sut_role": role,
                "clause": req.clause if req else "",
                "strength": str(req.strength) if req else "",
                "section": req.section if req else "",
                "verdicts": [],
                "cases": [],
            }
        return rows[key]

    for case in cases:
        judged: set[str] = set()
        for finding in case.findings:
            r = row(finding.requirement, case.profile, case.sut_role)
            r["verdicts"].append(finding.verdict)
            if case.case_id not in r["cases"]:
                r["cases"].append(case.case_id)
            judged.add(finding.requirement)
        for rid in case.verifies:
            if rid in judged:
                continue
            r = row(rid, case.profile, case.sut_role)
            if case.case_id not in r["cases"]:
                r["cases"].append(case.case_id)
            if case.verdict in (Verdict.NOT_APPLICABLE, Verdict.INCONCLUSIVE, Verdict.ERROR):
                r["verdicts"].append(case.verdict)
    out = []
    for key in sorted(rows):
        r = rows[key]
        verdicts = r.pop("verdicts")
        if verdicts and all(v is Verdict.NOT_APPLICABLE for v in verdicts):
            r["verdict"] = str(Verdict.NOT_APPLICABLE)
        else:
            r["verdict"] = str(worst([v for v in verdicts if v is not Verdict.NOT_APPLICABLE]))
        out.append(r)
    return out
