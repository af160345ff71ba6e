"""The eP-CSCF-role suite against the reference eP-CSCF: the harness's self-test.

(a) every case PASSes against the conforming reference (or is NOT-APPLICABLE with a
reason), as profiled plainly (`reference-epcscf`) and as a TNA eP-CSCF with web credentials
(`reference-epcscf-tna`: every case again, the section-5 ones and EPC-SES-03 included); (b)
with each fault switch alone, exactly the requirements the fault table says it breaks come
out FAIL (rolled up per requirement: an id FAILs if any finding for it FAILs) and no other,
run against the profile that claims what the switch `needs` (web-credentials: the TNA
profile, where the token path runs; nothing: the plain one); (c) an unreachable SUT is INCONCLUSIVE
with the reason; (d) a SUT that accepts TCP/TLS but never answers the handshake ends the
case without hanging; (e) wicct's own token issuer down or answering garbage makes the
section-5 cases INCONCLUSIVE with the reason, never PASS.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import requirements
from harness.cases.model import Case, Step, discover, load_case
from harness.cases.registry import load_providers
from harness.cases.runner import run_case, run_case_sync
from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.results import duplicated_findings, failed_requirements
from harness.suts.faults import for_role
from harness.verdicts import CaseResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
CASES = discover(ROOT / "testcases" / "epcscf")
PROFILE = ROOT / "profiles" / "reference-epcscf.yaml"
TNA_PROFILE = ROOT / "profiles" / "reference-epcscf-tna.yaml"  # web credentials, TNA
FAULTS = for_role("epcscf")
SECTIONS = ("1.", "2.", "3.", "4.", "5.", "6.")  # every section of the catalogue
BEYOND: set[str] = set()  # rows of other sections with a case
NOT_COVERED: set[str] = set()  # every eP-CSCF row has a case
WORKERS = 10  # (fault, case) pairs run in parallel threads, one event loop each



@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile(PROFILE)


@pytest.fixture(scope="module")
def tna_profile() -> Profile:
    return load_profile(TNA_PROFILE)


def profile_for(fault: str, profile: Profile, tna_profile: Profile) -> Profile:
    """The built-in profile a fault switch is run against: the one claiming its `needs`
    (web-credentials: the TNA profile; nothing: the plain one)."""
    needs = set(FAULTS[fault].needs)
    chosen = tna_profile if needs else profile
    assert needs <= chosen.features, (fault, needs)
    return chosen


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    load_providers()
    return [load_case(path) for path in CASES]





def show(results: list[CaseResult]) -> str:
    return "\n".join(f"{r.case_id}: {r.verdict} {r.reason}" for r in results if r.verdict is not Verdict.PASS)


# --- coverage ---------------------------------------------------------------------------------


def test_every_eP_CSCF_requirement_of_sections_1_to_5_has_a_case(cases: list[Case]) -> None:
    wanted = {
        r.id
        for r in requirements.catalogue().values()
        if "epcscf" in r.roles and r.section.startswith(SECTIONS) and r.id not in NOT_COVERED
    } | BEYOND
    assert set(requirements.catalogue()) >= NOT_COVERED  # no stale exemption
    verified = {rid for case in cases for rid in case.verifies}
    assert wanted - verified == set()
    assert NOT_COVERED & verified == set(), "a case covers it now: drop it from NOT_COVERED"
    assert all(case.id == path.stem for case, path in zip(cases, CASES, strict=True))
    assert all(case.sut == "epcscf" and case.description for case in cases)


def test_token_path_faults_run_against_the_tna_profile(profile: Profile, tna_profile: Profile) -> None:
    """A `tna_*` switch breaks the token path, which only runs with web credentials: its
    `needs` says so, and that picks the TNA profile."""
    for name in FAULTS:
        chosen = profile_for(name, profile, tna_profile)
        assert (chosen is tna_profile) == name.startswith("tna_"), name


def test_each_fault_breaks_something_the_suite_verifies(cases: list[Case]) -> None:
    verified = {rid for case in cases for rid in case.verifies}
    for fault in FAULTS.values():
        assert set(fault.breaks) <= verified, fault.name


# --- (a) the reference conforms ---------------------------------------------------------------


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
@pytest.mark.parametrize("which", ["plain", "tna"])
def test_reference_conforms(path: Path, which: str, profile: Profile, tna_profile: Profile, pki: Pki) -> None:
    result = run_case_sync(load_case(path), tna_profile if which == "tna" else profile, pki)
    if result.verdict is Verdict.NOT_APPLICABLE:
        assert result.reason
        return
    assert result.verdict is Verdict.PASS, show([result])
    assert not duplicated_findings([result])


# --- (b) each fault breaks exactly its requirements -------------------------------------------


@pytest.fixture(scope="module")
def fault_results(cases: list[Case], profile: Profile, tna_profile: Profile, pki: Pki) -> dict[str, list[CaseResult]]:
    """Every (fault, case) pair on one pool: the cases mostly wait on protocol windows
    (BOTH-TP-04-epcscf watches max(64×T1, 2×500 ms)), so the matrix runs them together."""
    jobs = [(name, case, dataclasses.replace(profile_for(name, profile, tna_profile), faults=(name,)))
            for name in FAULTS for case in cases]
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [(name, pool.submit(run_case_sync, case, faulty, pki)) for name, case, faulty in jobs]
        results: dict[str, list[CaseResult]] = {}
        for name, future in futures:
            results.setdefault(name, []).append(future.result(timeout=120))
    return results


@pytest.mark.parametrize("fault", sorted(FAULTS), ids=sorted(FAULTS))
def test_fault_breaks_exactly_its_requirements(fault: str, fault_results: dict[str, list[CaseResult]]) -> None:
    results = fault_results[fault]
    errors = [r for r in results if r.verdict is Verdict.ERROR]
    assert not errors, show(errors)
    assert failed_requirements(results) == set(FAULTS[fault].breaks), show(results)
    assert not duplicated_findings(results)
    # the SUT log names the fault it ran with
    assert any(fault in e.get("data", {}).get("text", "") for r in results for e in r.evidence
               if e["kind"] == "sut.log")


# --- (c) an unreachable SUT, (d) a silent one ---------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _external(profile: Profile, port: int, ca: Path, **timers: float) -> Profile:
    return dataclasses.replace(
        profile,
        driver="external",
        url=f"wss://127.0.0.1:{port}/",
        ca=str(ca),
        timers=dataclasses.replace(profile.timers, **timers),
    )


@pytest.mark.parametrize("case_id", ["EPC-HS-01", "BOTH-KA-01-epcscf", "EPC-KA-04"])
def test_unreachable_sut_is_inconclusive(case_id: str, profile: Profile, pki: Pki) -> None:
    port = _closed_port()
    result = run_case_sync(load_case(ROOT / "testcases" / "epcscf" / f"{case_id}.yaml"), _external(profile, port, pki.ca_pem), pki)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "connection refused" in result.reason
    assert str(port) in result.reason


SILENT = [
    ("EPC-HS-01", "tls"), ("EPC-ORIGIN-02-foreign", "tls"), ("BOTH-TP-04-epcscf", "tls"), ("EPC-HS-01", "tcp"),
]


@pytest.mark.parametrize(("case_id", "layer"), SILENT, ids=[f"{c}-{lay}" for c, lay in SILENT])
async def test_silent_sut_does_not_hang(case_id: str, layer: str, profile: Profile, pki: Pki) -> None:
    """`tls`: TLS completes, the upgrade request is never answered; `tcp`: no TLS either."""
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(Exception):
            await reader.read()

    context = pki.server_context() if layer == "tls" else None
    server = await asyncio.start_server(silent, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    case = load_case(ROOT / "testcases" / "epcscf" / f"{case_id}.yaml")
    started = time.monotonic()
    try:
        result = await run_case(case, _external(profile, port, pki.ca_pem, handshake_timeout=0.5), pki)
    finally:
        for writer in held:
            writer.transport.abort()
        server.close()
    assert result.verdict in (Verdict.INCONCLUSIVE, Verdict.FAIL)
    if layer == "tls":
        assert "no answer to the WebSocket handshake within 0.5 s" in result.reason
    else:
        assert "unreachable" in result.reason and "timeout" in result.reason
    assert time.monotonic() - started < 5.0


# --- (e) wicct's token issuer fails ----------------------------------------------------------

def with_issuer_mode(case_id: str, mode: str) -> Case:
    """The built-in case `case_id` with wicct's issuer set to `mode` before its first step."""
    case = load_case(ROOT / "testcases" / "epcscf" / f"{case_id}.yaml")
    first = Step(index=0, kind="issuer.mode", args={"mode": mode}, line=case.line)
    steps = (first, *(dataclasses.replace(s, index=s.index + 1) for s in case.steps))
    return dataclasses.replace(case, steps=steps)


ISSUER_CASES = ["EPC-REG-02", "EPC-REG-05-expired", "EPC-REG-06-none", "EPC-REG-07-yes"]


@pytest.mark.parametrize("mode", ["down", "garbage", "error", "stall"])
@pytest.mark.parametrize("case_id", ISSUER_CASES)
def test_issuer_failure_is_inconclusive(case_id: str, mode: str, tna_profile: Profile, pki: Pki) -> None:
    """The case runs with wicct's issuer set to `mode` first: the SUT cannot validate the
    valid token, which is wicct's failure, not the SUT's: INCONCLUSIVE, saying why."""
    result = run_case_sync(with_issuer_mode(case_id, mode), tna_profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE, show([result])
    assert f"wicct's token issuer was set to '{mode}'" in result.reason
    assert "a REGISTER with a valid token answered 503" in result.reason


@pytest.mark.parametrize("mode", ["down", "garbage"])
@pytest.mark.parametrize("case_id", ["EPC-TP-01", "EPC-TP-02"])
def test_issuer_failure_is_inconclusive_for_a_plain_registration(
    case_id: str, mode: str, tna_profile: Profile, pki: Pki
) -> None:
    """Cases outside section 5 register with `wic.register` (a valid bearer token under the
    TNA profile): with wicct's issuer failing, the SUT's refusal is no verdict on it,
    whether the registration was the case's precondition or its subject."""
    result = run_case_sync(with_issuer_mode(case_id, mode), tna_profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE, show([result])
    assert f"wicct's token issuer was set to '{mode}'" in result.reason
    assert "REGISTER answered 503" in result.reason
