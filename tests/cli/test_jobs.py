"""`wicct run --jobs N`: concurrent cases, the verdicts and the order of a sequential run.

A profile that pins a port wicct listens on (or whose driver works one running SUT) runs
its cases one at a time, and says so in the output and the report.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import schedule
from harness.cases.model import discover, load_case
from harness.cases.registry import load_providers
from harness.profiles import load_profile
from harness.verdicts import CaseResult, Verdict

ROOT = Path(__file__).resolve().parents[2]


def wicct(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )


def outcome(out: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(profile, case, verdict) in report.json order; (test name, outcome) in JUnit order."""
    report = json.loads((out / "report.json").read_text())
    cases = [(c["profile"], c["id"], c["verdict"]) for c in report["cases"]]
    junit = []
    for testcase in ET.parse(out / "junit.xml").getroot().iter("testcase"):
        kinds = [child.tag for child in testcase if child.tag in ("failure", "error", "skipped")]
        junit.append((testcase.get("name", ""), kinds[0] if kinds else "passed"))
    return cases, junit


@pytest.mark.slow
def test_jobs_4_and_jobs_1_give_the_same_verdicts_in_the_same_order(tmp_path: Path) -> None:
    results = {}
    for jobs in ("1", "4"):
        out = tmp_path / f"jobs{jobs}"
        started = time.monotonic()
        proc = wicct("run", "-q", "--jobs", jobs, "--out", str(out))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        results[jobs] = (*outcome(out), time.monotonic() - started)
        assert json.loads((out / "report.json").read_text())["jobs"] == int(jobs)
    cases_1, junit_1, took_1 = results["1"]
    cases_4, junit_4, took_4 = results["4"]
    assert len(cases_1) >= 60
    assert cases_4 == cases_1
    assert junit_4 == junit_1
    assert {profile for profile, _, _ in cases_1} == {"reference-epcscf", "reference-epcscf-tna", "reference-wic", "reference-wic-bearer"}
    assert took_4 < took_1, (took_4, took_1)


def test_a_profile_with_a_pinned_core_port_runs_its_cases_one_at_a_time(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = (ROOT / "profiles" / "reference-epcscf.yaml").read_text()
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(text.replace("listen: udp://127.0.0.1:0", f"listen: udp://127.0.0.1:{port}"))
    out = tmp_path / "out"
    select = "EPC-HS-01 or EPC-ORIGIN-01 or EPC-ORIGIN-02-foreign or EPC-HS-02"
    proc = wicct("run", "--jobs", "4", "--profile", str(pinned), "--out", str(out), "--select", select)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    said = f"wicct: profile pinned runs its cases one at a time: it pins core.listen udp://127.0.0.1:{port}"
    assert said in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert f"core.listen udp://127.0.0.1:{port}" in report["suts"][0]["one_at_a_time"]
    verdicts = [c["verdict"] for c in report["cases"]]
    assert len(verdicts) >= 4 and set(verdicts) == {"PASS"}
    # every case's stub bound the pinned port, so no two of them can have overlapped (the
    # second bind would have failed: "port in use"); the scheduler test below counts too
    for case in report["cases"]:
        stub = [e for e in case["evidence"] if "IMS-core stub listening" in e["summary"]]
        assert stub and stub[0]["data"]["port"] == port, case["id"]


def _concurrency(profile_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Most cases of one profile the scheduler ran at once with 4 jobs (the cases faked)."""
    path = tmp_path / "p.yaml"
    path.write_text(profile_text)
    profile = load_profile(path)
    load_providers()
    cases = [load_case(p) for p in discover(ROOT / "testcases" / "epcscf")][:8]
    lock = threading.Lock()
    running, most = 0, 0

    def fake(case, profile) -> CaseResult:  # noqa: ANN001
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return CaseResult(case_id=case.id, title="", sut_role="epcscf", profile=profile.id,
                          verifies=(), clauses=(), verdict=Verdict.PASS, reason="",
                          findings=(), evidence=(), duration_s=0.05)

    monkeypatch.setattr(schedule, "probe_profile", lambda profile, pki_source: (None, "ok"))
    scheduler = schedule.Scheduler(4, lambda: None, fake)  # type: ignore[arg-type, return-value]
    work = [(case.id, case, profile) for case in cases]
    scheduler.start(work)
    try:
        got = [scheduler.result(key, case, prof).case_id for key, case, prof in work]
    finally:
        scheduler.close()
    assert got == [case.id for case in cases]  # results come back in item order
    return most


def test_scheduler_runs_concurrent_profiles_at_once_and_pinned_ones_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "profiles" / "reference-epcscf.yaml").read_text()
    assert _concurrency(text, tmp_path, monkeypatch) > 1
    pinned = text.replace("listen: udp://127.0.0.1:0", "listen: udp://127.0.0.1:17070")
    assert _concurrency(pinned, tmp_path, monkeypatch) == 1


def test_which_profiles_run_one_at_a_time(tmp_path: Path) -> None:
    def profile(text: str):  # noqa: ANN202
        path = tmp_path / "x.yaml"
        path.write_text(text)
        return load_profile(path)

    base = "name: x\nrole: epcscf\n"
    assert schedule.one_at_a_time(profile(base + "driver: reference\n")) == ""
    assert schedule.one_at_a_time(profile(base + "driver: kamailio\n")) == ""
    assert "wss_port 5061" in schedule.one_at_a_time(
        profile(base + "driver: kamailio\ndriver_options: {wss_port: 5061}\n")
    )
    external = schedule.one_at_a_time(
        profile(base + "driver: external\nsut: {url: 'wss://127.0.0.1:7443/'}\n"
                "core: {listen: 'udp://127.0.0.1:5060'}\n")
    )
    assert "external driver" in external and "core.listen udp://127.0.0.1:5060" in external
    wic = "name: x\nrole: wic\n"
    assert schedule.one_at_a_time(profile(wic + "driver: browser\n"
                                          "wwsf_origin: 'http://127.0.0.1:${page_port}'\n")) == ""
    assert "wwsf_origin" in schedule.one_at_a_time(
        profile(wic + "driver: browser\nwwsf_origin: 'http://127.0.0.1:8123'\n")
    )
    assert "manual driver" in schedule.one_at_a_time(profile(wic + "driver: manual\n"))


def test_default_jobs_are_more_for_in_process_suts():
    """Reference SUTs are a few tasks per case: six per core; a real peer is a process per
    case (Kamailio, Chromium): two per core."""
    import os

    from harness import builtin
    from harness.profiles import load_profile
    from harness.schedule import default_jobs

    cores = max(1, os.cpu_count() or 1)
    reference = [load_profile(p) for p in builtin.default_profiles()]
    kamailio = load_profile(builtin.profiles_dir() / "kamailio-epcscf.yaml")
    assert default_jobs(reference) == 6 * cores
    assert default_jobs([*reference, kamailio]) == 2 * cores
    assert default_jobs() == 2 * cores
