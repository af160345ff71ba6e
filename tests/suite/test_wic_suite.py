"""The WIC-role suite end to end: testcases/wic against the reference WIC.

(a) every case PASSes against the conforming reference WIC (or is NOT-APPLICABLE with a
reason), with each of its built-in profiles: `reference-wic` (Digest) and
`reference-wic-bearer` (web credentials); (b) each fault switch of the reference WIC makes
exactly the requirement ids it lists in harness/suts/faults.py FAIL, and no other, run
against the profile that claims what the switch `needs` (web-credentials: the bearer
profile; nothing: reference-wic); (c) a WIC that never connects gives INCONCLUSIVE cases
with a reason, promptly; every WIC-role requirement of sections 1 to 5 of the catalogue
has a case.

Each case runs through `run_case_sync` (its own event loop). The fault matrix runs
(fault, case) pairs on a few threads: the cases mostly wait on protocol windows.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import requirements
from harness.cases.model import Case, discover, load_case
from harness.cases.registry import load_providers
from harness.cases.runner import run_case_sync
from harness.pki import Pki
from harness.profiles import Profile, Timers, load_profile
from harness.results import duplicated_findings, failed_requirements
from harness.steps.wic import env as wic_role
from harness.suts.base import WicDriver, WicEnv, WicState
from harness.suts.faults import for_role
from harness.verdicts import CaseResult, Strength, Verdict

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "reference-wic.yaml"
BEARER_PROFILE = ROOT / "profiles" / "reference-wic-bearer.yaml"
CASES = discover(ROOT / "testcases" / "wic")
WIC_FAULTS = for_role("wic")
SECTIONS = ("1.", "2.", "3.", "4.", "5.")
WORKERS = 10



@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile(PROFILE)


@pytest.fixture(scope="module")
def bearer_profile() -> Profile:
    return load_profile(BEARER_PROFILE)


def profile_for(fault: str, profile: Profile, bearer_profile: Profile) -> Profile:
    """The built-in profile a fault switch is run against: the one claiming its `needs`."""
    needs = set(WIC_FAULTS[fault].needs)
    chosen = bearer_profile if needs else profile
    assert needs <= chosen.features, (fault, needs)
    return dataclasses.replace(chosen, faults=(fault,))


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    load_providers()
    return [load_case(path) for path in CASES]


def run_all(jobs: Iterable[tuple[str, Case, Profile]], pki: Pki) -> dict[str, list[CaseResult]]:
    """Run (label, case, profile) jobs on a thread pool; results grouped by label."""
    jobs = list(jobs)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [(label, pool.submit(run_case_sync, case, prof, pki)) for label, case, prof in jobs]
        results: dict[str, list[CaseResult]] = {}
        for label, future in futures:
            results.setdefault(label, []).append(future.result(timeout=120))
    return results



def describe(results: Iterable[CaseResult]) -> str:
    lines = []
    for r in results:
        if r.verdict is not Verdict.PASS:
            lines.append(f"{r.case_id}: {r.verdict} {r.reason}")
    return "\n".join(lines)


# -- coverage ---------------------------------------------------------------------------------


def test_every_WIC_requirement_of_sections_1_to_5_has_a_case(cases: list[Case]) -> None:
    wanted = {r.id for r in requirements.catalogue().values()
              if "wic" in r.roles and r.section.startswith(SECTIONS)}
    assert {"WIC-HS-01", "WIC-REG-01", "WIC-REG-02"} <= wanted  # the catalogue is read
    verified = {rid for case in cases for rid in case.verifies}
    assert wanted - verified == set()
    assert all(case.sut == "wic" and case.description for case in cases)


# -- (a) the conforming reference WIC ---------------------------------------------------------


class TestReference:
    """Every case of testcases/wic against profiles/reference-wic.yaml."""

    def test_every_case_is_pass(
        self, cases: list[Case], profile: Profile, bearer_profile: Profile, pki: Pki
    ) -> None:
        by_profile = run_all(
            ((prof.name, case, prof) for prof in (profile, bearer_profile) for case in cases), pki
        )
        results = [r for rs in by_profile.values() for r in rs]
        bad = [
            r for r in results
            if not (r.verdict is Verdict.PASS or (r.verdict is Verdict.NOT_APPLICABLE and r.reason))
        ]
        assert not bad, describe(bad)
        assert not duplicated_findings(results)
        passed = {rid for r in results if r.verdict is Verdict.PASS for rid in r.verifies}
        assert passed >= {
            "WIC-HS-01", "WIC-HS-02", "WIC-HS-03", "WIC-FR-01", "WIC-FR-02", "WIC-FR-03",
            "BOTH-FR-04", "BOTH-FR-05", "BOTH-FR-06", "BOTH-FR-07", "BOTH-FR-09", "BOTH-FR-10",
            "WIC-TP-01", "WIC-TP-02", "WIC-TP-03", "BOTH-TP-04", "BOTH-KA-01", "BOTH-KA-02",
            "WIC-KA-04", "BOTH-KA-05", "WIC-REG-01", "WIC-REG-02",
            "WIC-SES-01", "WIC-SES-02", "WIC-SES-03", "WIC-SES-04",
        }
        # the Digest profile registers through a 401 round in every case that registers
        digest = by_profile[profile.name]
        assert all(r.verdict is not Verdict.NOT_APPLICABLE for r in digest
                   if r.case_id.startswith("WIC-REG-01")), describe(digest)

    def test_without_a_feature_the_case_is_not_applicable(
        self, cases: list[Case], profile: Profile, pki: Pki
    ) -> None:
        bare = dataclasses.replace(profile, features=frozenset())
        case = next(c for c in cases if c.requires)
        result = run_case_sync(case, bare, pki)
        assert result.verdict is Verdict.NOT_APPLICABLE
        assert "does not declare feature" in result.reason


# -- (b) each fault breaks exactly its ids ----------------------------------------------------


@pytest.fixture(scope="module")
def fault_results(
    cases: list[Case], profile: Profile, bearer_profile: Profile, pki: Pki
) -> dict[str, list[CaseResult]]:
    jobs = [
        (name, case, profile_for(name, profile, bearer_profile))
        for name in WIC_FAULTS
        for case in cases
    ]
    return run_all(jobs, pki)


@pytest.mark.parametrize("name", sorted(WIC_FAULTS))
def test_fault_breaks_exactly_its_requirements(
    name: str, fault_results: dict[str, list[CaseResult]]
) -> None:
    results = fault_results[name]
    errors = [r for r in results if r.verdict is Verdict.ERROR]
    assert not errors, describe(errors)
    assert failed_requirements(results) == set(WIC_FAULTS[name].breaks), describe(results)
    assert not duplicated_findings(results)


def test_no_initial_authorization_fails_at_should_level(fault_results: dict[str, list[CaseResult]]) -> None:
    failed = [
        f for r in fault_results["no_initial_authorization"] for f in r.findings
        if f.verdict is Verdict.FAIL
    ]
    assert failed and all(f.strength is Strength.SHOULD for f in failed)


@pytest.mark.parametrize(
    ("fault", "requirement"),
    [("contact_transport_wss", "WIC-TP-02"), ("bearer_access_token_form", "WIC-REG-02")],
)
def test_non_strict_switches_pass_with_a_note(
    fault: str, requirement: str, fault_results: dict[str, list[CaseResult]]
) -> None:
    findings = [
        f for r in fault_results[fault] for f in r.findings
        if f.requirement == requirement
    ]
    assert findings and all(f.verdict is Verdict.PASS for f in findings)
    assert all(f.note == "NON-STRICT" for f in findings)


# -- (c) a WIC that never connects ------------------------------------------------------------


class SilentWic(WicDriver):
    """A WIC app that accepts every verb and never opens a connection."""

    name = "silent"

    async def start(self, env: WicEnv) -> None:
        self.env = env

    async def register(self) -> None:
        return None

    async def call(self, target: str) -> None:
        return None

    async def answer(self) -> None:
        return None

    async def hangup(self) -> None:
        return None

    async def state(self) -> WicState:
        return WicState(detail="idle")

    async def stop(self) -> None:
        return None

    def log_text(self) -> str:
        return "never connected"


def test_a_wic_that_never_connects_is_inconclusive(
    cases: list[Case], profile: Profile, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wic_role, "wic_driver", lambda ctx: SilentWic())
    short = dataclasses.replace(
        profile,
        timers=Timers(t1=0.05, handshake_timeout=0.2, response_timeout=0.2, pong_timeout=0.2,
                      keepalive_window=0.2, silence_window=0.2, start_timeout=1.0),
    )
    started = time.monotonic()
    applicable = [case for case in cases if set(case.requires) <= short.features]
    results = run_all((("silent", case, short) for case in applicable), pki)["silent"]
    elapsed = time.monotonic() - started
    for result in results:
        assert result.verdict is Verdict.INCONCLUSIVE, f"{result.case_id}: {result.verdict} {result.reason}"
        assert result.reason
        assert "connection" in result.reason or "no REGISTER" in result.reason, result.reason
        assert result.duration_s < 5, f"{result.case_id} took {result.duration_s:.1f} s"
    assert elapsed < 30
