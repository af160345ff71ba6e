"""`wicct load` end to end, in processes of its own (issue 12): a short load against the
reference eP-CSCF (counts and zero violations), a reference eP-CSCF killed mid-run
(reported as crashed, with the requests left unanswered), and Kamailio with its load
preset. Locust and gevent never enter the pytest process: `wicct load` runs as a child."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.suts.kamailio.driver import find_kamailio

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"
CLI = "import sys; from harness.cli import main; sys.exit(main())"
LIMIT = 180  # seconds: a run that takes longer is a hang


def start(out: Path, profile: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "load", "--profile", str(PROFILES / profile), "--out", str(out),
         *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"wicct load did not end within {LIMIT} s:\n{output}")
    return process.returncode, output


def load_section(out: Path) -> dict[str, Any]:
    document = json.loads((out / "report.json").read_text())
    assert document["format"] == "wicct-load/1"
    return document["load"]


def short_load(out: Path, profile: str, scenario: str, seconds: int, *args: str) -> dict[str, Any]:
    """A short load that must end with exit 0; its `load` section."""
    code, output = finish(start(out, profile, "--users", "3", "--spawn-rate", "3", "--time",
                                str(seconds), "--scenario", scenario, *args))
    assert code == 0, output
    return load_section(out)


def test_a_short_mixed_load_against_the_reference_is_counted_and_clean(tmp_path: Path) -> None:
    out = tmp_path / "mixed"
    load = short_load(out, "reference-epcscf.yaml", "mixed", 4)
    responses = load["responses"]
    # one user of each class: digest registration (401 then 200), a call, keep-alives
    assert responses.get("REGISTER 401", 0) >= 1 and responses.get("REGISTER 200", 0) >= 3
    assert responses.get("INVITE 180", 0) >= 1 and responses.get("INVITE 200", 0) >= 1
    assert responses.get("BYE 200", 0) == load["requests"]["BYE"] >= 1
    assert load["requests"].get("CRLF", 0) + load["requests"].get("Ping", 0) >= 1
    assert load["violations"] == [] and load["crash"] is None and load["errors"] == {}
    assert load["judged_messages"] >= sum(responses.values())
    assert load["latency"]["REGISTER"]["count"] >= 3
    assert load["core"]["REGISTER"] == load["requests"]["REGISTER"]
    with open(out / "locust_stats.csv", newline="") as stats:
        names = {row["Name"] for row in csv.DictReader(stats)}
    assert {"REGISTER", "INVITE", "BYE", "connect"} <= names
    assert "reference-secret-pw" not in (out / "report.json").read_text()
    assert "<svg" in (out / "report.html").read_text()


def test_bearer_registration_under_load_reaches_the_core_as_tna(tmp_path: Path) -> None:
    out = tmp_path / "bearer"
    load = short_load(out, "reference-epcscf-tna.yaml", "register", 3)
    registers = load["requests"]["REGISTER"]
    assert registers >= 3 and load["responses"]["REGISTER 200"] == registers  # no challenge
    assert load["core"]["REGISTER TNA"] == load["core"]["REGISTER"] == registers
    assert load["violations"] == [] and load["errors"] == {}
    assert not (out / "host" / "bearer.secret").exists()  # the token is not left behind
    assert "eyJ" not in (out / "report.json").read_text()  # nor any JWT in the report


def test_a_reference_killed_mid_run_is_reported_crashed_with_unanswered_requests(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    process = start(out, "reference-epcscf.yaml", "--users", "4", "--spawn-rate", "4", "--time", "8",
                    "--scenario", "register", "--reregister-interval", "0")
    facts = kill_when_registering(process, out, group=False)  # the reference: the SUT host
    code, output = finish(process)
    assert code == 1, output
    load = load_section(out)
    crash = load["crash"]
    assert crash is not None and crash["pid"] == facts["sut_pid"]
    assert 0.0 < crash["after_s"] < 8.0 + 30.0 and crash["at"]  # within the run and its grace
    assert crash["unanswered"] >= 1 and crash["unanswered"] == sum(load["unanswered"].values())
    assert "SUT crashed" in output and "left unanswered" in output
    assert "refused" in load["errors"]  # the users tried again and found nobody
    assert load["responses"]["REGISTER 200"] >= 4  # it did work before it died


def need_kamailio() -> None:
    """Skip loudly without Kamailio; under CI=true its absence is a failure."""
    if find_kamailio() is None:
        message = "REAL PEER MISSING: kamailio not installed (run scripts/install-real-peers.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def kill_when_registering(process: subprocess.Popen[str], out: Path, *, group: bool) -> dict[str, Any]:
    """Wait for the SUT, let the users register a while, then SIGKILL the SUT's process
    (with `group`, Kamailio's whole process group: its workers die with it, as in a crash)."""
    ready = out / "host" / "ready.json"
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    time.sleep(0.5)
    facts: dict[str, Any] = json.loads(ready.read_text())
    time.sleep(2.5)  # registering back to back by now
    if group:
        os.killpg(facts["sut_pid"], signal.SIGKILL)
    else:
        os.kill(facts["sut_pid"], signal.SIGKILL)
    return facts


@pytest.mark.realpeer
def test_kamailio_killed_mid_run_is_reported_crashed_with_its_log(tmp_path: Path) -> None:
    need_kamailio()
    out = tmp_path / "kamailio-killed"
    process = start(out, "kamailio-epcscf.yaml", "--users", "4", "--spawn-rate", "4", "--time", "8",
                    "--scenario", "register", "--reregister-interval", "0")
    facts = kill_when_registering(process, out, group=True)
    code, output = finish(process)
    assert code == 1, output
    load = load_section(out)
    crash = load["crash"]
    assert crash is not None and crash["pid"] == facts["sut_pid"] and "is gone" in crash["how"]
    assert 0.0 < crash["after_s"] < 8.0 + 30.0
    assert crash["unanswered"] >= 1 and "left unanswered" in output
    assert "kamailio" in crash["log_tail"].lower() or "tls" in crash["log_tail"].lower()
    assert load["responses"]["REGISTER 200"] >= 4


@pytest.mark.realpeer
def test_kamailio_under_its_load_preset_answers_a_short_load(tmp_path: Path) -> None:
    need_kamailio()
    out = tmp_path / "kamailio"
    code, output = finish(start(out, "kamailio-epcscf.yaml", "--users", "4", "--spawn-rate", "4",
                                "--time", "4", "--scenario", "mixed", "--workers", "2"))
    assert code == 0, output
    load = load_section(out)
    assert load["violations"] == [] and load["crash"] is None
    assert load["responses"].get("REGISTER 200", 0) >= 4
    assert load["responses"].get("INVITE 200", 0) >= 1
    config = next((out / "host" / "sut").rglob("kamailio.cfg")).read_text()
    assert "#!define WITH_LOAD_PRESET" in config
    figures = list((out / "figures").glob("stats-*.json"))
    assert len(figures) == 2  # one per worker; the master keeps none
