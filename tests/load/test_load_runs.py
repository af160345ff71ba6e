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
    # the generator's own CPU, sampled from its process: three users never saturate it
    generator = load["generator_cpu"]
    assert generator["processes"] == 1 and generator["over_time"] and not generator["limited"]
    assert max(total for _, _, total in generator["over_time"]) > 0
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


@pytest.mark.realpeer
def test_kamailio_restarted_mid_run_is_reported_restarted_not_crashed(tmp_path: Path) -> None:
    """The host's restart hook kills Kamailio's process group 3 s in and starts it again on
    the same ports: the users lose their connections, connect and register again."""
    need_kamailio()
    out = tmp_path / "kamailio-restarted"
    code, output = finish(start(out, "kamailio-epcscf.yaml", "--users", "4", "--spawn-rate", "4",
                                "--time", "9", "--scenario", "register", "--reregister-interval",
                                "0", "--restart-sut-after", "3"))
    load = load_section(out)
    assert load["crash"] is None, output
    [restart] = load["restarts"]
    assert restart["hook"] and "replaced by" in restart["how"] and restart["at"]
    assert 2.5 <= restart["after_s"] <= 9.0
    assert restart["connections_lost"] >= 1 and restart["connections_accepted_after"] >= 4
    assert restart["unanswered"] == sum(load["unanswered"].values())
    assert "SUT restarted" in output and "SUT crashed" not in output
    record = json.loads((out / "host" / "restarts.json").read_text())
    assert record[0]["new_pid"] != record[0]["old_pid"] == load["sut"]["pid"]
    assert "--- restarted ---" in (out / "host" / "sut.log").read_text()
    assert code == 0, output  # restarted by wicct and accepting again: not a failure


def test_a_master_and_a_worker_started_as_separate_commands_share_the_load(tmp_path: Path) -> None:
    """Workers on other machines, played on loopback: `wicct load --master` starts the SUT
    host and Locust's master alone; `wicct load --worker --master-host` is a second command
    with no settings file: the master sends it the settings, its figures come back."""
    from harness.load.run import free_port

    port = free_port()
    out = tmp_path / "distributed"
    master = start(out, "reference-epcscf.yaml", "--users", "3", "--spawn-rate", "3", "--time", "4",
                   "--scenario", "register", "--master", "--expect-workers", "1",
                   "--master-bind-port", str(port))
    worker = subprocess.Popen(
        [sys.executable, "-c", CLI, "load", "--worker", "--master-host", "127.0.0.1",
         "--master-port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=ROOT, env={k: v for k, v in os.environ.items() if not k.startswith("WICCT_LOAD")})
    code, output = finish(master)
    worker_code, worker_output = finish(worker)
    assert code == 0, output
    assert worker_code == 0, worker_output
    load = load_section(out)
    figures = sorted(p.name for p in (out / "figures").glob("stats-*.json"))
    assert len(figures) == 1 and figures[0].startswith("stats-remote-")  # the worker's, via reports
    registers = load["requests"]["REGISTER"]
    assert registers >= 3 and load["responses"]["REGISTER 200"] >= 3
    assert load["peak_connections"] == 3 and load["violations"] == [] and load["crash"] is None
    assert load["core"]["REGISTER"] >= load["responses"]["REGISTER 200"]
    with open(out / "locust_stats.csv", newline="") as stats:  # Locust's own aggregation
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    assert int(rows["REGISTER"]["Request Count"]) >= 3


def test_a_worker_without_its_master_or_a_master_with_local_workers_is_refused(tmp_path: Path) -> None:
    lone = subprocess.run([sys.executable, "-c", CLI, "load", "--worker"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert lone.returncode == 2 and "--master-host" in lone.stderr
    both = subprocess.run([sys.executable, "-c", CLI, "load", "--profile", "reference-epcscf",
                           "--master", "--workers", "2", "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert both.returncode == 2 and "--expect-workers" in both.stderr
