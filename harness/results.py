"""The run's result model and its canonical JSON form (`report.json`, format wicct-report/2).

Every writer (HTML, JUnit, the terminal summary, diff, matrix) reads the dict from
`RunResult.to_json()`, never the live objects: one result model, many writers
(docs/architecture.md principle 5).

Format 2 adds what a test report must state (ISO/IEC 9646-5 PCTR; ISO/IEC 17025 §7.8):
the report's identity (`report`: unique id, issuer, date, "results relate only to the
items tested", the documents the clauses cite), the implementation, PICS and PIXIT of each
SUT and its conformance status, the case set's hash and wicct's commit, the `--select`
expression, every catalogue id not tested and why, and an optional lab block.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness import __version__, requirements
from harness.report import identity
from harness.verdicts import CaseResult, Finding, Strength, SutInfo, Verdict, worst

FORMAT = "wicct-report/2"
# report.json holds at most this many characters of evidence for the whole run (issue 11:
# under 10 MB whatever a SUT sent). Each case is bounded already (harness.evidence); a run of
# many flooded cases is bounded here: past the budget the largest cases keep the entries
# their findings cite and say what they dropped (`evidence_cut`). The default run's
# evidence is about 4 MiB, none of it cut.
RUN_EVIDENCE = 6 * 1024 * 1024
VERDICTS = [v.value for v in Verdict if v is not Verdict.INFORMATIONAL]


@dataclass
class RunResult:
    suts: list[SutInfo] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    started: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.UTC))
    finished: _dt.datetime | None = None
    notes: list[str] = field(default_factory=list)
    jobs: int | None = None  # cases run at once (`wicct run --jobs`); None: not recorded
    report_id: str = field(default_factory=identity.new_report_id)
    commit: str | None = field(default_factory=identity.git_commit)  # None: not a checkout
    select: str | None = None  # `wicct run --select` (pytest -k); None: every case
    suite_hash: str | None = None  # identity.suite_hash of the collected case files
    # every case collected, selected or not: id -> (SUT role, requirement ids it verifies)
    collected: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # per profile id: "implementation", "pics", "pixit" (plugin.sut_identity)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    lab: dict[str, Any] | None = None  # `wicct run --lab-info FILE` (harness.report.lab)

    def add(self, result: CaseResult) -> None:
        self.cases.append(result)

    @property
    def failed(self) -> bool:
        return any(c.verdict in (Verdict.FAIL, Verdict.ERROR) for c in self.cases)

    def to_json(self) -> dict[str, Any]:
        cases, cut = within_run_budget([c.to_json() for c in self.cases])
        finished = self.finished or _dt.datetime.now(_dt.UTC)
        counts = Counter(str(c.verdict) for c in self.cases)
        rollup = requirement_rollup(self.cases)
        suts = [self._sut_json(s) for s in self.suts]
        return {
            "format": FORMAT,
            "report": {
                "id": self.report_id,
                "issuer": identity.ISSUER,
                "issued": finished.isoformat(timespec="seconds"),
                "statement": identity.STATEMENT,
                "references": [dict(r) for r in identity.REFERENCES],
            },
            "harness": {
                "name": "wicct",
                "version": __version__,
                "python": platform.python_version(),
                **identity.harness_identity(self.commit),
            },
            "suite": {
                **({"hash": self.suite_hash} if self.suite_hash else
                   {"hash_note": "no case file was collected: no case set to hash"}),
                "cases": len(self.collected),
                "select": self.select,
            },
            **({"lab": self.lab} if self.lab else {}),
            "started": self.started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "duration_s": round((finished - self.started).total_seconds(), 3),
            "suts": suts,
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
            "requirements": rollup,
            "not_tested": not_tested(
                [(s.profile, s.role) for s in self.suts], self.collected, self.cases
            ),
            "cases": cases,
            "notes": list(self.notes) + ([cut_note(cut)] if cut else []),
            **({"jobs": self.jobs} if self.jobs else {}),
        }


    def _sut_json(self, sut: SutInfo) -> dict[str, Any]:
        out = sut.to_json()
        out.update(self.identities.get(sut.profile, {}))
        out["conformance"] = conformance(
            [c for c in self.cases if c.profile == sut.profile], sut.setup_failure is not None
        )
        return out


def within_run_budget(cases: list[dict[str, Any]], budget: int = RUN_EVIDENCE) -> tuple[list[dict[str, Any]], int]:
    """The cases with all their evidence while the run's evidence fits `budget` characters;
    past it the largest cases first (a flooded case, not the many ordinary ones) keep only
    the entries their findings cite, with `evidence_cut` saying how many they kept and
    dropped, until the rest fits. Returns the cases and how many were cut."""

    def size(evidence: list[Any]) -> int:
        return len(json.dumps(evidence, ensure_ascii=False, default=str))

    sizes = [size(case.get("evidence") or []) for case in cases]
    total, cut = sum(sizes), 0
    for index in sorted(range(len(cases)), key=lambda i: -sizes[i]):
        if total <= budget:
            break
        case = cases[index]
        evidence = case.get("evidence") or []
        cited = {seq for f in case.get("findings") or [] for seq in f.get("evidence") or []}
        kept = [e for e in evidence if e.get("seq") in cited]
        case["evidence"] = kept
        case["evidence_cut"] = {
            "kept": len(kept),
            "dropped": len(evidence) - len(kept),
            "reason": f"the run's report.json evidence budget ({budget:,} characters) was spent: this "
                      "case, among the largest, keeps only the entries its findings cite",
        }
        total -= sizes[index] - size(kept)
        cut += 1
    return cases, cut


def cut_note(cut: int) -> str:
    """The run note for `within_run_budget`'s cut cases."""
    return (f"{cut} case(s) keep only their cited evidence: the run's report.json evidence budget "
            f"({RUN_EVIDENCE // (1024 * 1024)} MiB) was spent (harness.results.RUN_EVIDENCE)")


NOT_TESTED_REASONS = ("not-selected", "no-case", "not-applicable")


def not_tested(
    suts: list[tuple[str, str]],
    collected: dict[str, tuple[str, tuple[str, ...]]],
    cases: list[CaseResult],
) -> list[dict[str, Any]]:
    """Every catalogue id this run did not test, per SUT profile of its role, and why
    (ISO/IEC 9646-5 PCTR "test selection"): `no-case` (no collected case verifies it for
    the role), `not-selected` (cases exist, none ran against the profile: `--select`, or
    no profile of the role in the run: profile ""), `not-applicable` (every case that ran
    for it was NOT-APPLICABLE: the profile does not claim the feature)."""
    verified_by: dict[tuple[str, str], list[str]] = {}
    for cid, (role, ids) in collected.items():
        for rid in ids:
            verified_by.setdefault((rid, role), []).append(cid)
    ran: dict[tuple[str, str], list[CaseResult]] = {}
    for case in cases:  # the ids a case lists, and those its always-on monitors judged
        for rid in dict.fromkeys([*case.verifies, *(f.requirement for f in case.findings)]):
            ran.setdefault((rid, case.profile), []).append(case)
    rows: list[dict[str, Any]] = []
    for rid, req in sorted(requirements.catalogue().items()):
        for role in req.roles:
            profiles = [p for p, r in suts if r == role]
            if not profiles:
                rows.append({"id": rid, "profile": "", "sut_role": role, "reason": "not-selected",
                             "detail": f"no profile with a {role} SUT in this run"})
                continue
            for profile in profiles:
                results = ran.get((rid, profile), [])
                if not verified_by.get((rid, role)) and not results:
                    rows.append({"id": rid, "profile": profile, "sut_role": role,
                                 "reason": "no-case", "detail": "no case in the case set verifies it"})
                elif not results:
                    rows.append({"id": rid, "profile": profile, "sut_role": role,
                                 "reason": "not-selected",
                                 "detail": "cases " + ", ".join(sorted(verified_by[(rid, role)]))
                                 + " were not selected"})
                elif all(c.verdict is Verdict.NOT_APPLICABLE for c in results):
                    rows.append({"id": rid, "profile": profile, "sut_role": role,
                                 "reason": "not-applicable", "detail": results[0].reason})
    return rows


CONFORMANCE = (
    "non-conforming",
    "undetermined",
    "conforming with should-level failures",
    "conforming",
)


def conformance(cases: list[CaseResult], setup_failed: bool = False) -> dict[str, Any]:
    """One SUT's conformance status over the requirements tested (ISO/IEC 9646-5 PCTR
    "conformance status"): `non-conforming` on any shall-level FAIL finding; else
    `undetermined` when a requirement was INCONCLUSIVE or ERROR, or the set-up failed;
    else `conforming with should-level failures`; else `conforming`."""
    by_verdict: dict[str, set[str]] = {"shall": set(), "should": set(), "INCONCLUSIVE": set(),
                                       "ERROR": set(), "PASS": set()}
    tested: set[str] = set()
    for case in cases:
        judged = set()
        for f in case.findings:
            judged.add(f.requirement)
            if f.verdict is Verdict.FAIL:
                by_verdict["shall" if f.strength is Strength.SHALL else "should"].add(f.requirement)
            elif f.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR, Verdict.PASS):
                by_verdict[str(f.verdict)].add(f.requirement)
        if case.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR):
            by_verdict[str(case.verdict)].update(r for r in case.verifies if r not in judged)
        if case.verdict is not Verdict.NOT_APPLICABLE:
            tested.update(case.verifies)
            tested.update(judged)
    failed = by_verdict["shall"] | by_verdict["should"]
    open_ = (by_verdict["INCONCLUSIVE"] | by_verdict["ERROR"]) - failed
    if by_verdict["shall"]:
        status = CONFORMANCE[0]
    elif open_ or setup_failed:
        status = CONFORMANCE[1]
    elif by_verdict["should"]:
        status = CONFORMANCE[2]
    else:
        status = CONFORMANCE[3]
    return {
        "status": status,
        "requirements_tested": len(tested),
        "requirements_passed": len(tested - failed - open_),
        "shall_failures": sorted(by_verdict["shall"]),
        "should_failures": sorted(by_verdict["should"] - by_verdict["shall"]),
        "undecided": sorted(open_),
        **({"setup_failure": True} if setup_failed else {}),
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
