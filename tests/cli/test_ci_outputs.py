"""What a CI reads from `wicct run` (issue 10 item 7), tried as a new user would: one run
against the reference eP-CSCF and a fault-switched copy of it, with a case of every
verdict, read back through junitparser (JUnit), the Allure result files and the terminal
output; then `wicct ... | head` ends quietly.

The run: `faulty` (accept_any_origin, no `calls` feature) and `reference-epcscf`; the
cases EPC-ORIGIN-02-foreign (FAIL on faulty), EPC-HS-01 (PASS), EPC-KA-04 (NOT-APPLICABLE
on faulty), ACME-INC-01 (judges nothing: INCONCLUSIVE) and ACME-ERR-01 (its run raises, as
a wicct bug would: ERROR; planted by a launcher that wraps harness.plugin.run_case_sync).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "harness" / "data" / "profiles"
SELECT = "ORIGIN-02-foreign or (EPC-HS-01 and not reconnect) or (EPC-KA-04 and not core) or ACME"

LAUNCHER = """
import sys
from harness import plugin

_run = plugin.run_case_sync

def run(case, profile, pki):
    if case.id == "ACME-ERR-01":
        raise RuntimeError("a wicct bug planted by the test")
    return _run(case, profile, pki)

plugin.run_case_sync = run
from harness.cli import main
sys.exit(main(sys.argv[1:]))
"""

EXPECTED = {
    ("faulty", "EPC-ORIGIN-02-foreign"): "FAIL",
    ("faulty", "EPC-HS-01"): "PASS",
    ("faulty", "EPC-KA-04"): "NOT-APPLICABLE",
    ("faulty", "ACME-INC-01"): "INCONCLUSIVE",
    ("faulty", "ACME-ERR-01"): "ERROR",
    ("reference-epcscf", "EPC-ORIGIN-02-foreign"): "PASS",
    ("reference-epcscf", "EPC-HS-01"): "PASS",
    ("reference-epcscf", "EPC-KA-04"): "PASS",
    ("reference-epcscf", "ACME-INC-01"): "INCONCLUSIVE",
    ("reference-epcscf", "ACME-ERR-01"): "ERROR",
}


class Run:
    def __init__(self, base: Path, *extra: str) -> None:
        own = base / "own"
        own.mkdir(parents=True)
        (own / "ACME-INC-01.yaml").write_text(
            "id: ACME-INC-01\ntitle: judges nothing\ndescription: waits, so it cannot decide\n"
            "sut: epcscf\nverifies: [EPC-HS-01]\nsteps:\n  - wait: {for: 1ms}\n"
        )
        hs = (ROOT / "testcases" / "epcscf" / "EPC-HS-01.yaml").read_text()
        (own / "ACME-ERR-01.yaml").write_text(hs.replace("id: EPC-HS-01", "id: ACME-ERR-01"))
        text = (PROFILES / "reference-epcscf.yaml").read_text()
        faulty = text.replace("faults: []", "faults: [accept_any_origin]")
        # whatever the reference claims, only outbound here (calls cases NOT-APPLICABLE)
        faulty = re.sub(r"^features: \[.*\]$", "features: [outbound]", faulty, flags=re.M)
        assert faulty.count("accept_any_origin") == 1 and "features: [outbound]" in faulty
        (base / "faulty.yaml").write_text(faulty)
        self.out, self.allure = base / "out", base / "allure"
        self.proc = subprocess.run(
            [sys.executable, "-c", LAUNCHER, "run", "--profile", str(base / "faulty.yaml"),
             "--profile", "reference-epcscf", "--cases", str(own), "--select", SELECT,
             "--out", str(self.out), "--alluredir", str(self.allure), *extra],
            cwd=base, capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "COLUMNS": "100"},
        )
        self.report = json.loads((self.out / "report.json").read_text())

    def allure_results(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(profile, case id) -> the Allure result."""
        results = {}
        for path in self.allure.glob("*-result.json"):
            data = json.loads(path.read_text())
            params = {p["name"]: p["value"].strip("'") for p in data["parameters"]}
            case_id = data["name"].split(" [", 1)[0]
            assert (params["profile"], case_id) not in results, "one result per case and profile"
            results[(params["profile"], case_id)] = data
        return results


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run(tmp_path_factory.mktemp("ci"))


def test_the_run_has_every_verdict(run: Run) -> None:
    assert run.proc.returncode == 1, run.proc.stdout + run.proc.stderr
    assert {(c["profile"], c["id"]): c["verdict"] for c in run.report["cases"]} == EXPECTED


def test_junit_one_suite_per_profile_read_by_junitparser(run: Run) -> None:
    xml = JUnitXml.fromfile(str(run.out / "junit.xml"))
    suites = {s.name: s for s in xml}
    assert list(suites) == ["faulty", "reference-epcscf"]
    counts = {n: (s.tests, s.failures, s.errors, s.skipped) for n, s in suites.items()}
    assert counts == {"faulty": (5, 1, 1, 2), "reference-epcscf": (5, 0, 1, 1)}
    kinds = {}
    for name, suite in suites.items():
        for case in suite:
            assert case.classname == f"wicct.epcscf.{name}"
            kinds[(name, case.name)] = [(type(r).__name__, r.type) for r in case.result]
    assert set(kinds) == set(EXPECTED)
    assert kinds[("faulty", "EPC-ORIGIN-02-foreign")] == [(Failure.__name__, "FAIL")]
    assert kinds[("faulty", "ACME-ERR-01")] == [(Error.__name__, "ERROR")]
    assert kinds[("faulty", "EPC-KA-04")] == [(Skipped.__name__, "NOT-APPLICABLE")]
    assert kinds[("faulty", "ACME-INC-01")] == [(Skipped.__name__, "INCONCLUSIVE")]
    assert kinds[("reference-epcscf", "EPC-HS-01")] == []
    fail = next(c for c in suites["faulty"] if c.name == "EPC-ORIGIN-02-foreign").result[0]
    reason = next(c["reason"] for c in run.report["cases"] if c["id"] == "EPC-ORIGIN-02-foreign"
                  and c["profile"] == "faulty")
    assert fail.message == reason
    assert "clause: SEED 5.Y.1.1" in fail.text and "101 Switching Protocols" in fail.text


def test_allure_statuses_titles_descriptions_attachments(run: Run) -> None:
    results = run.allure_results()
    status = {key: data["status"] for key, data in results.items()}
    assert status == {
        key: {"PASS": "passed", "FAIL": "failed", "ERROR": "broken",
              "INCONCLUSIVE": "skipped", "NOT-APPLICABLE": "skipped"}[verdict]
        for key, verdict in EXPECTED.items()
    }
    took = {(c["profile"], c["id"]): c["duration_s"] for c in run.report["cases"]}
    for key, data in results.items():  # the case's own time, not the instant of taking it
        assert abs(data["stop"] - data["start"] - took[key] * 1000) <= 1, key
    assert results[("reference-epcscf", "EPC-KA-04")]["stop"] - results[
        ("reference-epcscf", "EPC-KA-04")]["start"] > 1000  # a keep-alive window
    fail = results[("faulty", "EPC-ORIGIN-02-foreign")]
    assert fail["name"] == "EPC-ORIGIN-02-foreign [faulty]: eP-CSCF refuses a foreign Origin"
    assert fail["statusDetails"]["message"].startswith("CaseFailed: FAIL: EPC-ORIGIN-02: ")
    words = next(c["description"] for c in run.report["cases"] if c["id"] == "EPC-ORIGIN-02-foreign")
    assert words and fail["description"].startswith(words)
    assert "`EPC-ORIGIN-02` (shall), SEED 5.Y.1.1" in fail["description"]
    labels = {(label["name"], label["value"]) for label in fail["labels"]}
    assert ("requirement", "EPC-ORIGIN-02") in labels and ("parentSuite", "faulty") in labels
    assert {"name": "RFC 6455 §4.2.2", "type": "link",
            "url": "https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2"} in fail["links"]
    names = [a["name"] for a in fail["attachments"]]
    assert names == ["evidence (cited)", "evidence entries (cited, JSON)"]
    for attachment in fail["attachments"]:
        assert (run.allure / attachment["source"]).is_file()
    text = (run.allure / fail["attachments"][0]["source"]).read_text()
    assert "- EPC-ORIGIN-02 (shall) FAIL" in text and "rx 101 Switching Protocols" in text
    inconclusive = results[("faulty", "ACME-INC-01")]["statusDetails"]["message"]
    assert "INCONCLUSIVE: no finding on the requirements" in inconclusive
    assert results[("faulty", "ACME-ERR-01")]["statusDetails"]["message"].startswith(
        "HarnessError: ERROR: harness error")
    assert results[("faulty", "EPC-KA-04")]["name"].startswith("EPC-KA-04 [faulty]: ")
    categories = json.loads((run.allure / "categories.json").read_text())
    assert [c["matchedStatuses"] for c in categories][:2] == [["failed"], ["failed"]]
    environment = (run.allure / "environment.properties").read_text()
    assert "profile.faulty=" in environment
    report_id = json.loads((run.out / "report.json").read_text())["report"]["id"]
    assert f"wicct.report_id={report_id}\n" in environment  # the same id in every output


def test_terminal_a_line_per_case_and_no_pytest_preamble(run: Run) -> None:
    out = run.proc.stdout
    assert "test session starts" not in out and "platform linux" not in out
    lines = out.splitlines()
    for (profile, case_id), verdict in EXPECTED.items():
        (line,) = [x for x in lines if x.split()[:3] == [case_id, profile, verdict]]
        assert line.endswith(" s")
        if verdict != "PASS":
            reason = lines[lines.index(line) + 1]
            assert reason.startswith("    ") and len(reason.strip()) > 10
    fail = next(x for x in lines if x.split()[:3] == ["EPC-ORIGIN-02-foreign", "faulty", "FAIL"])
    reason = lines[lines.index(fail) + 1].strip()
    assert reason == next(c["reason"] for c in run.report["cases"]
                          if c["id"] == "EPC-ORIGIN-02-foreign" and c["profile"] == "faulty")


def test_verbose_brings_pytest_back(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-v", "--profile", "reference-epcscf",
         "--select", "EPC-HS-01 and not reconnect", "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "test session starts" in proc.stdout
    assert "EPC-HS-01.yaml::EPC-HS-01[reference-epcscf] PASSED" in proc.stdout
    assert (tmp_path / "out" / "junit.xml").is_file()


def test_pytest_junitxml_of_the_plugin_names_cases_as_wicct_does(tmp_path: Path) -> None:
    """A pytest user's own `--junitxml` keeps pytest's layout but wicct's names; the
    `--wicct-out` folder gets wicct's junit.xml too."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "testcases" / "epcscf" / "EPC-HS-01.yaml"),
         "-p", "no:cacheprovider", "-p", "no:asyncio", "--profile", "reference-epcscf",
         "--junitxml", str(tmp_path / "pytest.xml"), "--wicct-out", str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ((case,),) = [list(s) for s in JUnitXml.fromfile(str(tmp_path / "pytest.xml"))]
    assert (case.classname, case.name) == ("wicct.epcscf.reference-epcscf", "EPC-HS-01")
    (suite,) = JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml"))
    assert suite.name == "reference-epcscf" and [c.name for c in suite] == ["EPC-HS-01"]


@pytest.mark.parametrize("command", [["faults", "--json"], ["faults"], ["list"], ["list", "--json"],
                                     ["steps"], ["steps", "--json"]])
def test_a_reader_that_stops_reading_ends_the_output_quietly(command: list[str]) -> None:
    """`wicct faults --json | head -1`, made certain: the pipe's reading end is closed before
    wicct writes its first byte, so every write meets a closed pipe (EPIPE)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "harness.cli", *command], cwd=ROOT,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
                              check=False)
    finally:
        os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr


def test_head_1_reads_one_line_and_wicct_ends_quietly() -> None:
    """The same through a reader that takes one line and closes, as `head -1` does."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "faults", "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().strip() == "["
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err, err


def test_a_run_whose_reader_went_away_still_runs_and_exits_by_its_verdicts(tmp_path: Path) -> None:
    text = (PROFILES / "reference-epcscf.yaml").read_text().replace(
        "faults: []", "faults: [accept_any_origin]")
    (tmp_path / "faulty.yaml").write_text(text)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", "--profile", str(tmp_path / "faulty.yaml"),
             "--select", "ORIGIN-02-foreign or (EPC-HS-01 and not reconnect)",
             "--out", str(tmp_path / "out")],
            cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300, check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 1, proc.stderr  # a FAIL: not hidden by the closed pipe
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert sorted(c["verdict"] for c in report["cases"]) == ["FAIL", "PASS"]
