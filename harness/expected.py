"""Expected results of a real peer: every non-PASS case with its verdict and a written reason.

A real SUT that "fails" a case is not forced green: who is right was found out, and the
deviation is recorded here with its evidence (a defect of the peer, a setting of its
config, or a limit of wicct). The real-peer tests compare each run with this file, so a
change on either side is noticed. `docs/conformance-notes.md` publishes the table.

File format (YAML, next to the profile or named by the profile's `expected_results`):

    profile: kamailio-epcscf
    cases:
      BOTH-FR-09-epcscf:
        verdict: FAIL
        kind: peer-defect          # peer-defect | peer-config | wicct-limit | spec-reading
        strength: should           # for a FAIL: the strongest strength among its FAIL findings
        reason: ...
        evidence: ...              # what the wire showed
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import yamlmarks
from harness.cases.runner import is_not_claimed

KINDS = ("peer-defect", "peer-config", "wicct-limit", "spec-reading")

EXPECTED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["profile", "cases"],
    "additionalProperties": False,
    "properties": {
        "profile": {"type": "string"},
        "notes": {"type": "string"},
        "cases": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["verdict", "kind", "reason"],
                "additionalProperties": False,
                "properties": {
                    "verdict": {"enum": ["FAIL", "INCONCLUSIVE", "NOT-APPLICABLE", "ERROR"]},
                    "kind": {"enum": list(KINDS)},
                    "reason": {"type": "string", "minLength": 10},
                    "evidence": {"type": "string"},
                    "requirements": {"type": "array", "items": {"type": "string"}},
                    "strength": {"enum": ["shall", "should", "may"]},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Expectation:
    case_id: str
    verdict: str
    kind: str
    reason: str
    evidence: str = ""
    strength: str = ""  # for a FAIL: the strongest strength among its FAIL findings


def load_expected(path: Path) -> dict[str, Expectation]:
    document = yamlmarks.load(path)
    yamlmarks.validate(document, EXPECTED_SCHEMA, path)
    return {
        case_id: Expectation(
            case_id, row["verdict"], row["kind"], row["reason"], row.get("evidence", ""),
            row.get("strength", ""),
        )
        for case_id, row in document["cases"].items()
    }


def expected_path(profile_path: Path, declared: str = "") -> Path:
    """The expected-results file of a profile: `expected_results:` or `<stem>.expected.yaml`."""
    if declared:
        return (profile_path.parent / declared).resolve()
    return profile_path.with_name(f"{profile_path.stem}.expected.yaml")


_ORDER = ("shall", "should", "may")


def failing_strength(case: dict[str, Any]) -> str:
    """The strongest strength among a case's FAIL findings ("" when none FAILed)."""
    found = {f["strength"] for f in case.get("findings", []) if f["verdict"] == "FAIL"}
    return next((s for s in _ORDER if s in found), "")


def _not_claimed(case: dict[str, Any], profile_id: str) -> bool:
    """NOT-APPLICABLE for want of a feature the profile does not claim (the runner's
    reason, harness.cases.runner)."""
    return case["verdict"] == "NOT-APPLICABLE" and is_not_claimed(str(case.get("reason", "")), profile_id)


def compare(report: dict[str, Any], profile_id: str, expected: dict[str, Expectation]) -> list[str]:
    """Differences between a run and the expected results; empty when they match.

    Every case of the profile that is not PASS must be expected with that verdict, and
    every expected case must have come out with its expected verdict. A case that is
    NOT-APPLICABLE because the profile does not claim a feature it requires need not be
    listed: the profile's PICS says so already (a file may still list it, with why).
    """
    problems = []
    seen = {}
    for case in report["cases"]:
        if case["profile"] != profile_id:
            continue
        seen[case["id"]] = case
        want = expected.get(case["id"])
        if want is None and (case["verdict"] == "PASS" or _not_claimed(case, profile_id)):
            continue
        if want is None:
            problems.append(f"{case['id']}: {case['verdict']} but expected PASS ({case['reason'][:200]})")
        elif want.verdict != case["verdict"]:
            problems.append(
                f"{case['id']}: {case['verdict']} but expected {want.verdict} ({case['reason'][:200]})"
            )
        elif want.strength and (got := failing_strength(case)) != want.strength:
            problems.append(f"{case['id']}: FAIL at {got or 'no'} level but expected {want.strength}")
    for case_id in expected:
        if case_id not in seen:
            problems.append(f"{case_id}: expected {expected[case_id].verdict} but the case did not run")
    return problems
