"""The `wicct` command end to end: exit codes, reports, bad input (issue 2 "must hold")."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.suts.faults import FAULTS

ROOT = Path(__file__).resolve().parents[2]


def wicct(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )


def test_faults_json_lists_every_switch():
    proc = wicct("faults", "--json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert len(data) == len(FAULTS) >= 10
    assert {"name", "role", "breaks"} <= set(data[0])
    assert {d["role"] for d in data} == {"wic", "epcscf"}


def test_list_json_names_ids_and_clauses():
    proc = wicct("list", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["errors"] == []
    assert len(data["cases"]) >= 30
    case = next(c for c in data["cases"] if c["id"] == "EPC-HS-01")
    assert case["verifies"] == ["EPC-HS-01"]
    assert "RFC 7118" in case["clauses"][0]


def test_malformed_profile_exits_2_before_any_case(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrole: wic\ndriver: reference\ntimers:\n  t1: soon\n")
    out = tmp_path / "out"
    proc = wicct("run", "--profile", str(bad), "--out", str(out))
    assert proc.returncode == 2
    assert "bad.yaml:5" in proc.stderr and "timers.t1" in proc.stderr
    assert not (out / "report.json").exists()


def test_unknown_fault_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrole: epcscf\ndriver: reference\nfaults: [melt_down]\n")
    proc = wicct("run", "--profile", str(bad), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "melt_down" in proc.stderr


def test_malformed_case_is_reported_and_the_rest_runs(tmp_path):
    cases = tmp_path / "testcases" / "epcscf"
    cases.mkdir(parents=True)
    shutil.copy(ROOT / "testcases" / "epcscf" / "EPC-HS-01.yaml", cases)
    (cases / "EPC-BROKEN.yaml").write_text(
        "id: EPC-BROKEN\ntitle: t\nsut: epcscf\nverifies: [EPC-HS-01]\nsteps:\n  - no.such.step: {}\n"
    )
    out = tmp_path / "out"
    proc = wicct(
        "run", "--cases", str(tmp_path / "testcases"), "--no-builtin-cases", "--out", str(out),
        "--profile", str(ROOT / "profiles" / "reference-epcscf.yaml"),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "EPC-BROKEN.yaml:6" in proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in report["cases"]}
    assert verdicts["EPC-HS-01"] == "PASS"
    assert verdicts["EPC-BROKEN"] == "ERROR"
    assert (out / "report.html").exists() and (out / "junit.xml").exists()


def _own_cases(tmp_path: Path) -> Path:
    """A vendor's case folder, not named `testcases`, with one new case and a profile."""
    own = tmp_path / "acme"
    own.mkdir()
    text = (ROOT / "testcases" / "epcscf" / "EPC-HS-01.yaml").read_text()
    (own / "ACME-HS-01.yaml").write_text(text.replace("id: EPC-HS-01", "id: ACME-HS-01"))
    shutil.copy(ROOT / "profiles" / "reference-epcscf.yaml", own / "acme-epcscf.yaml")
    return own


def test_cases_adds_a_folder_to_the_builtin_cases(tmp_path):
    own = _own_cases(tmp_path)
    out = tmp_path / "out"
    proc = wicct(
        "run", "--cases", str(own), "--out", str(out), "--profile", "reference-epcscf",
        "--select", "HS-01 and not reconnect", cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert {c["id"]: c["verdict"] for c in report["cases"]} == {
        "ACME-HS-01": "PASS", "EPC-HS-01": "PASS",
    }


def test_list_honours_cases_and_no_builtin_cases(tmp_path):
    own = _own_cases(tmp_path)
    builtin_ids = [c["id"] for c in json.loads(wicct("list", "--json").stdout)["cases"]]
    added = json.loads(wicct("list", "--json", "--cases", str(own)).stdout)
    assert [c["id"] for c in added["cases"]] == [*builtin_ids, "ACME-HS-01"]
    only = json.loads(wicct("list", "--json", "--cases", str(own), "--no-builtin-cases").stdout)
    assert [c["id"] for c in only["cases"]] == ["ACME-HS-01"]
    same = json.loads(wicct("list", "--json", "--cases", str(ROOT / "testcases")).stdout)
    assert len(same["cases"]) == len(builtin_ids)  # the built-in folder again: listed once


def test_a_case_id_given_twice_is_an_error(tmp_path):
    own = _own_cases(tmp_path)
    shutil.copy(ROOT / "testcases" / "epcscf" / "EPC-HS-01.yaml", own / "copy.yaml")
    listed = wicct("list", "--cases", str(own))
    assert listed.returncode == 2
    assert "copy.yaml" in listed.stderr and "'EPC-HS-01' is already the id of" in listed.stderr
    out = tmp_path / "out"
    proc = wicct("run", "--cases", str(own), "--out", str(out), "--profile", "reference-epcscf",
                 "--select", "HS-01 and not reconnect")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "is already the id of" in proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    verdicts = [(c["id"], c["verdict"]) for c in report["cases"]]
    assert ("copy", "ERROR") in verdicts and ("EPC-HS-01", "PASS") in verdicts


def test_missing_case_folder_or_none_at_all_exits_2(tmp_path):
    proc = wicct("run", "--cases", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "no case directory" in proc.stderr
    proc = wicct("run", "--no-builtin-cases", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--no-builtin-cases needs" in proc.stderr


def test_profile_path_falls_back_to_the_builtin_one_outside_the_checkout(tmp_path):
    out = tmp_path / "out"
    proc = wicct("run", "-q", "--profile", "profiles/reference-epcscf.yaml", "--out", str(out),
                 "--select", "EPC-HS-01 and not reconnect", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "using the built-in" in proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert [(c["id"], c["profile"]) for c in report["cases"]] == [("EPC-HS-01", "reference-epcscf")]


def test_unknown_profile_name_lists_the_builtin_ones(tmp_path):
    proc = wicct("run", "--profile", "acme.yaml", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "acme.yaml: no such file" in proc.stderr and "reference-wic" in proc.stderr


def test_unreachable_sut_is_a_set_up_failure_and_reported(tmp_path):
    """The run-level half of "an unreachable SUT": exit 2, the cases in the report as not
    tried (each exit path of a dead SUT is in tests/cli/test_setup_failures.py)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    profile = tmp_path / "gone.yaml"
    profile.write_text(
        "name: gone\nrole: epcscf\ndriver: external\n"
        f"sut: {{url: 'wss://127.0.0.1:{port}/', ca: system}}\n"
        "timers: {start_timeout: 1s, response_timeout: 500ms}\n"
    )
    out = tmp_path / "out"
    proc = wicct("run", "--profile", str(profile), "--out", str(out), "--select", "(EPC-HS-01 and not reconnect) or ORIGIN-01")
    report = json.loads((out / "report.json").read_text())
    assert report["cases"], proc.stdout
    for case in report["cases"]:
        assert case["verdict"] == "INCONCLUSIVE", case
        assert case["reason"].startswith("not tried: set-up failure of profile gone")
        assert str(port) in case["reason"]
    assert proc.returncode == 2
    assert "set-up failure of profile gone (unreachable)" in proc.stderr


@pytest.mark.slow
def test_default_run_passes_and_writes_the_report(tmp_path):
    out = tmp_path / "out"
    proc = wicct("run", "-q", "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "wicct-report/2"
    assert report["summary"]["cases"] >= 30
    assert report["summary"]["FAIL"] == report["summary"]["ERROR"] == 0
    for case in report["cases"]:
        assert case["verdict"] in ("PASS", "NOT-APPLICABLE"), case["id"]
        if case["verdict"] == "NOT-APPLICABLE":
            assert case["reason"]
    assert {s["profile"] for s in report["suts"]} == {"reference-epcscf", "reference-epcscf-tna", "reference-wic", "reference-wic-bearer"}
    assert "reference-secret-pw" not in (out / "report.json").read_text()
    # the TNA profile's bearer tokens (JWTs: base64url JSON, "eyJ...", three dotted parts) only
    # as fingerprints; "eyJ" alone turns up inside random ICE credentials of the SDP
    written = (out / "report.json").read_text() + (out / "junit.xml").read_text()
    assert not re.search(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.", written)
    assert "<redacted sha256:" in (out / "report.json").read_text()
    junit = (out / "junit.xml").read_text()
    assert 'name="wicct.requirements"' in junit


def test_a_fault_gives_fail_exit_1_and_a_junit_failure(tmp_path):
    text = (ROOT / "profiles" / "reference-epcscf.yaml").read_text().replace("faults: []", "faults: [accept_any_origin]")
    profile = tmp_path / "faulty.yaml"
    profile.write_text(text)
    out = tmp_path / "out"
    proc = wicct("run", "--profile", str(profile), "--out", str(out), "--select", "ORIGIN-02-foreign or (HS-01 and not reconnect)")
    assert proc.returncode == 1, proc.stdout
    report = json.loads((out / "report.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in report["cases"]}
    assert verdicts == {"EPC-ORIGIN-02-foreign": "FAIL", "EPC-HS-01": "PASS"}
    assert report["suts"][0]["faults"] == ["accept_any_origin"]
    junit = (out / "junit.xml").read_text()
    assert junit.count("<failure") == 1
    assert "EPC-ORIGIN-02" in junit


def test_strict_makes_inconclusive_a_failure(tmp_path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "ACME-INC-01.yaml").write_text(
        "id: ACME-INC-01\ntitle: judges nothing\ndescription: waits, so it cannot decide\n"
        "sut: epcscf\nverifies: [EPC-HS-01]\nsteps:\n  - wait: {for: 1ms}\n"
    )
    args = ["run", "--profile", "reference-epcscf", "--cases", str(own),
            "--select", "ACME-INC-01 or (EPC-HS-01 and not reconnect)"]  # one decided case beside it
    proc = wicct(*args, "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    junit = (tmp_path / "o" / "junit.xml").read_text()
    assert 'message="INCONCLUSIVE: no finding on the requirements' in junit
    assert wicct(*args, "--strict", "--out", str(tmp_path / "s")).returncode == 1
    # alone, it decides nothing for its profile: never a green run, even without --strict
    alone = wicct("run", "--profile", "reference-epcscf", "--no-builtin-cases", "--cases", str(own),
                  "--out", str(tmp_path / "a"))
    assert alone.returncode == 1 and "profile reference-epcscf: none of its 1 case(s) could be decided" in alone.stderr


def test_interrupted_run_is_not_exit_0(tmp_path, monkeypatch, capsys):
    """A run stopped by Ctrl-C writes a partial report with no FAIL; that is not success."""
    import pytest as _pytest

    from harness import cli
    from harness.results import RunResult

    out = tmp_path / "out"

    def interrupted(args):
        (out / "report.json").write_text(json.dumps(RunResult().to_json()))
        return _pytest.ExitCode.INTERRUPTED

    monkeypatch.setattr(_pytest, "main", interrupted)
    assert cli.main(["run", "-q", "--out", str(out)]) == 1
    assert "interrupted" in capsys.readouterr().err


def test_select_matches_case_names_not_the_collector_folder(tmp_path):
    """`--select SES-02` runs the cases whose id or requirement ids contain it, and nothing
    else (pytest's -k matched the parent folder `testcases`, so `SES` selected every case)."""
    listed = json.loads(wicct("list", "--json").stdout)["cases"]
    expected = {
        c["id"] for c in listed
        if c["sut"] == "epcscf" and any("SES-02" in name for name in [c["id"], *c["verifies"]])
    }
    assert expected and len(expected) < len([c for c in listed if c["sut"] == "epcscf"])
    out = tmp_path / "out"
    proc = wicct("run", "--profile", "reference-epcscf", "--out", str(out), "--select", "SES-02")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ran = {c["id"] for c in json.loads((out / "report.json").read_text())["cases"]}
    assert ran == expected


def test_select_that_does_not_parse_is_a_usage_error(tmp_path):
    proc = wicct("run", "--profile", "reference-epcscf", "--out", str(tmp_path / "o"), "--select", "SES and")
    assert proc.returncode != 0
    assert "--select 'SES and'" in proc.stdout + proc.stderr


def test_a_profile_whose_cases_were_all_undecided_is_named_and_never_exits_0():
    """A SUT that stalls makes every case INCONCLUSIVE: nothing verified is not a green run."""
    from harness.cli import undecided_profiles

    def case(profile: str, verdict: str) -> dict[str, str]:
        return {"profile": profile, "verdict": verdict}

    report = {"cases": [
        case("stalling", "INCONCLUSIVE"), case("stalling", "NOT-APPLICABLE"), case("stalling", "INCONCLUSIVE"),
        case("fine", "PASS"), case("fine", "INCONCLUSIVE"),
        case("absent", "NOT-APPLICABLE"),
        case("broken", "INCONCLUSIVE"), case("broken", "FAIL"),
    ]}
    assert undecided_profiles(report) == {"stalling": 3}
