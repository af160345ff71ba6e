"""Verdicts, findings and the one result model every report writer reads.

Whose fault is carried by the verdict (h11's Local/Remote split, made graded):
FAIL — the SUT broke a requirement; ERROR — wicct itself failed; INCONCLUSIVE — could not
decide (a precondition never happened); NOT-APPLICABLE — the profile declares the feature
absent; INFORMATIONAL — recorded, never a failure (may-level requirements).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    NOT_APPLICABLE = "NOT-APPLICABLE"
    ERROR = "ERROR"
    INFORMATIONAL = "INFORMATIONAL"


class Strength(enum.StrEnum):
    """Requirement strength from the catalogue: MUST/SHALL, SHOULD, MAY/informative."""

    SHALL = "shall"
    SHOULD = "should"
    MAY = "may"


# Worst first: a case (or a requirement) takes the worst verdict among its findings.
_SEVERITY = {
    Verdict.ERROR: 5,
    Verdict.FAIL: 4,
    Verdict.INCONCLUSIVE: 3,
    Verdict.PASS: 2,
    Verdict.INFORMATIONAL: 1,
    Verdict.NOT_APPLICABLE: 0,
}


def worst(verdicts: Iterable[Verdict], default: Verdict = Verdict.INCONCLUSIVE) -> Verdict:
    """The most severe verdict; INFORMATIONAL alone rolls up to PASS."""
    items = list(verdicts)
    if not items:
        return default
    result = max(items, key=_SEVERITY.__getitem__)
    return Verdict.PASS if result is Verdict.INFORMATIONAL else result


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One judgement of one requirement, with the evidence entries (timeline seqs) it rests on."""

    requirement: str
    clause: str
    strength: Strength
    verdict: Verdict
    reason: str
    evidence: tuple[int, ...] = ()
    note: str = ""  # NON-STRICT and similar qualifiers
    # which rejudgeable check made it, with its arguments (harness.checks.registry), or why
    # it cannot be replayed; None when a step or actor decided it without one
    check: Mapping[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.strength is Strength.MAY and self.verdict is Verdict.FAIL:
            # A may-level requirement never fails a run: record it as informational.
            object.__setattr__(self, "verdict", Verdict.INFORMATIONAL)

    def to_json(self, timeline: Mapping[int, Mapping[str, Any]] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "requirement": self.requirement,
            "clause": self.clause,
            "strength": str(self.strength),
            "verdict": str(self.verdict),
            "reason": self.reason,
            "evidence": list(self.evidence),
        }
        if self.note:
            data["note"] = self.note
        if self.check is not None:
            data["check"] = dict(self.check)
        return data


@dataclass(frozen=True, kw_only=True)
class CaseResult:
    """The outcome of one case against one SUT profile."""

    case_id: str
    title: str
    sut_role: str
    profile: str
    verifies: tuple[str, ...]
    clauses: tuple[str, ...]
    verdict: Verdict
    reason: str
    findings: tuple[Finding, ...]
    evidence: tuple[Mapping[str, Any], ...]  # timeline entries as JSON
    duration_s: float
    source: str = ""  # file:line of the case
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.case_id,
            "title": self.title,
            "description": self.description,
            "sut_role": self.sut_role,
            "profile": self.profile,
            "verdict": str(self.verdict),
            "reason": self.reason,
            "verifies": list(self.verifies),
            "clauses": list(self.clauses),
            "findings": [f.to_json() for f in self.findings],
            "evidence": list(self.evidence),
            "duration_s": round(self.duration_s, 4),
            "source": self.source,
        }


def case_verdict(findings: Iterable[Finding], verifies: Iterable[str]) -> tuple[Verdict, str]:
    """Roll findings up into the case verdict and a one-line reason.

    A case with no finding on any id it verifies could not decide: INCONCLUSIVE, unless
    another finding (a monitor's, or a step's `requirement:`) FAILed: the SUT did break
    a requirement, and the case says so whether or not its own ids were reached.
    """
    items = list(findings)
    wanted = set(verifies)
    if not any(f.requirement in wanted for f in items):
        failed = [f"{f.requirement}: {f.reason}" for f in items if f.verdict is Verdict.FAIL]
        if failed:
            return Verdict.FAIL, "; ".join(failed)
        reasons = "; ".join(f.reason for f in items if f.verdict is not Verdict.PASS)
        return Verdict.INCONCLUSIVE, reasons or "no finding on the requirements this case verifies"
    verdict = worst(f.verdict for f in items)
    if verdict is Verdict.PASS:
        return verdict, "all checks passed"
    worst_reasons = [f"{f.requirement}: {f.reason}" for f in items if f.verdict is verdict]
    return verdict, "; ".join(worst_reasons)


def with_stop(rolled: tuple[Verdict, str], stopped: tuple[Verdict, str] | None) -> tuple[Verdict, str]:
    """The case verdict once the runner's stop is taken in (`rolled`: `case_verdict` of the
    findings). A FAIL stop already left its finding; a wicct bug (ERROR) outranks
    everything; a case the SUT turned out not to support (NOT-APPLICABLE) and a
    precondition that never happened (INCONCLUSIVE) outrank all but a FAIL the SUT earned
    before the stop (or a monitor found in what it watched): a SUT that did the forbidden
    thing early is a FAIL whatever came after."""
    if stopped is None:
        return rolled
    kind, why = stopped
    if kind is Verdict.ERROR or (kind in (Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE) and rolled[0] is not Verdict.FAIL):
        return kind, why
    return rolled


@dataclass(kw_only=True)
class SutInfo:
    profile: str
    role: str
    name: str
    driver: str
    faults: tuple[str, ...] = ()
    insecure: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # profile settings nothing reads (harness.suts.checks)
    # why its cases ran one at a time under `--jobs N` ("" when they could run concurrently)
    one_at_a_time: str = ""
    # the pre-flight probe's failure: {"kind", "reason", "not_tried"}; None when it passed
    setup_failure: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "role": self.role,
            "name": self.name,
            "driver": self.driver,
            "faults": list(self.faults),
            "tls_insecure": self.insecure,
            **({"details": self.details} if self.details else {}),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
            **({"one_at_a_time": self.one_at_a_time} if self.one_at_a_time else {}),
            **({"setup_failure": self.setup_failure} if self.setup_failure else {}),
        }
