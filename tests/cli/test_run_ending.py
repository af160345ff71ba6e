"""The report is written however the run ends (harness.plugin.run_ending,
write_run_reports): an internal error or an interruption is named in its notes with the
results there are, and a report that cannot be built whole (memory exhausted) is written
without its evidence, or as counts alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import plugin
from harness.results import RunResult
from harness.verdicts import CaseResult, Finding, Strength, Verdict

ROOT = Path(__file__).resolve().parents[2]


def _result(case_id: str) -> CaseResult:
    return CaseResult(
        case_id=case_id, title="t", sut_role="epcscf", profile="reference-epcscf",
        verifies=("EPC-HS-01",), clauses=("RFC 7118 §5",), verdict=Verdict.PASS, reason="fine",
        findings=(Finding(requirement="EPC-HS-01", clause="RFC 7118 §5", strength=Strength.SHALL,
                          verdict=Verdict.PASS, reason="fine", evidence=(1,)),),
        evidence=({"seq": 1, "t": 0.0, "actor": "wic", "kind": "note", "direction": "", "conn": "",
                   "summary": "evidence", "data": {}},),
        duration_s=0.1, source="x.yaml:1",
    )


def _finish(tmp_path: Path, exitstatus: int) -> dict:
    profile = plugin.load_profiles(plugin.DEFAULT_PROFILES)[0]
    state = plugin.WicctState(profiles=[profile], out=tmp_path / "out", strict=False)
    state.run.add(_result("A-1"))
    session = SimpleNamespace(config=SimpleNamespace(stash={plugin.STATE: state}))
    plugin.pytest_sessionfinish(session, exitstatus)
    return json.loads((tmp_path / "out" / "report.json").read_text())


def test_a_report_too_big_to_build_is_written_without_evidence(tmp_path, monkeypatch):
    real = RunResult.to_json
    calls = []

    def once_out_of_memory(self):
        calls.append(1)
        if len(calls) == 1:
            raise MemoryError("simulated")
        return real(self)

    monkeypatch.setattr(RunResult, "to_json", once_out_of_memory)
    report = _finish(tmp_path, pytest.ExitCode.OK)
    assert [c["id"] for c in report["cases"]] == ["A-1"]
    assert report["cases"][0]["evidence"] == [] and report["cases"][0]["verdict"] == "PASS"
    assert any("MemoryError: simulated" in n and "evidence is left out" in n for n in report["notes"])
    assert (tmp_path / "out" / "report.html").exists() and (tmp_path / "out" / "junit.xml").exists()


def test_when_even_that_fails_the_counts_and_the_reason_are_written(tmp_path, monkeypatch):
    def never(self):
        raise MemoryError("simulated")

    monkeypatch.setattr(RunResult, "to_json", never)
    report = _finish(tmp_path, pytest.ExitCode.OK)
    assert report["summary"] == {"cases": 1, "PASS": 1}
    assert any("MemoryError" in n for n in report["notes"])


def test_an_internal_error_is_named_in_the_report(tmp_path):
    plugin._INTERNAL_ERRORS.append("MemoryError: simulated")
    report = _finish(tmp_path, pytest.ExitCode.INTERNAL_ERROR)
    assert any(
        n.startswith("run ended by an internal error: MemoryError: simulated after 1 case(s)")
        for n in report["notes"]
    )


def test_wicct_run_killed_by_an_internal_error_still_writes_its_report(tmp_path):
    """End to end: a plugin raising MemoryError after the first case makes pytest stop with
    INTERNALERROR; the report holds the case that ran and says why the run ended."""
    (tmp_path / "oom_plugin.py").write_text(
        "def pytest_runtest_logfinish(nodeid, location):\n"
        "    raise MemoryError('simulated out of memory')\n"
    )
    env = {**os.environ, "PYTEST_PLUGINS": "oom_plugin",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--profile", "reference-epcscf",
         "--select", "EPC-HS-01", "--jobs", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert len(report["cases"]) >= 1
    assert any("internal error: MemoryError: simulated out of memory" in n for n in report["notes"])
    assert (out / "report.html").exists()
    assert "internal error: MemoryError" in proc.stderr  # and the terminal says why
