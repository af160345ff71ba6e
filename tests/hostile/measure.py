"""Run `wicct run` against one row of the hostile-SUT matrix and measure what the issue
bounds (issue 11): the exit code, the wall time, the peak RSS of the run (resource
getrusage RUSAGE_CHILDREN, read in a process of its own so that each row's figure is its
own), report.json's size, and every case's duration against its deadline.

`python -m tests.hostile.measure ROLE BEHAVIOUR OUT [SELECT]` (from the checkout's root) is the child that runs
wicct and prints its figures as one JSON line; `measure()` is what tests and
`bench/hostile_matrix.py` call. The run is `--strict`: a run against a hostile peer is a
CI run that must not succeed, and a case that could verify nothing (INCONCLUSIVE) is not a
success there; the row's allowed case verdicts still tell FAIL from INCONCLUSIVE.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.cases.context import CaseContext
from harness.cases.model import load_case
from harness.cases.runner import TEARDOWN_TIMEOUT, budget
from harness.profiles import Profile, load_profile
from harness.suts.hostile.matrix import MAX_REPORT_BYTES, MAX_RSS_MIB, Expectation, profile_text
from harness.verdicts import Verdict

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 1800.0  # seconds: a run that outlives this is killed and reported as such


@dataclass(frozen=True)
class Measured:
    role: str
    behaviour: str
    exit_code: int
    seconds: float
    peak_rss_mib: float
    report_bytes: int  # 0: no report.json written
    report: dict[str, Any] | None
    profile: Path
    output: str  # the last lines wicct printed

    def overruns(self) -> list[str]:
        """`case: duration > deadline + slack` for each case past its deadline (+1 s)."""
        if self.report is None:
            return []
        profile = load_profile(self.profile)
        found = []
        for case in self.report["cases"]:
            limit = deadline(case["source"], profile)
            if limit is not None and case["duration_s"] > limit + 1.0:
                found.append(f"{case['id']}: {case['duration_s']:.1f} s > {limit:g} s + 1 s")
        return found


def deadline(source: str, profile: Profile) -> float | None:
    """The harness's own deadline of a case (runner.run_case): its budget (its `timeout:`
    plus the windows its steps watch) plus the teardown it is allowed after that."""
    path = Path(source.rsplit(":", 1)[0])
    if not path.is_file():
        return None
    case = load_case(path)
    ctx = CaseContext(case=case, profile=profile, timeline=None, pki=None, workdir=path.parent)  # type: ignore[arg-type]
    return budget(ctx) + TEARDOWN_TIMEOUT


def write_profile(role: str, behaviour: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"hostile-{role}-{behaviour}.yaml"
    path.write_text(profile_text(role, behaviour), encoding="utf-8")
    return path


def measure(role: str, behaviour: str, out: Path, select: str | None = None) -> Measured:
    """Run wicct against the row's peer in a child process and measure it."""
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tests.hostile.measure", role, behaviour, str(out)]
    if select:
        command.append(select)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT + 60, cwd=ROOT
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"measuring {role}/{behaviour} failed: {done.stderr[-2000:]}")
    figures = json.loads(lines[-1])
    report_path = out / "report" / "report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else None
    return Measured(
        role=role, behaviour=behaviour, exit_code=figures["exit_code"],
        seconds=figures["seconds"], peak_rss_mib=figures["peak_rss_mib"],
        report_bytes=report_path.stat().st_size if report_path.is_file() else 0,
        report=report, profile=Path(figures["profile"]), output=figures["output"],
    )


def problems(m: Measured, expect: Expectation) -> list[str]:
    """Every way the run broke its row's expectation or a bound; [] when it held."""
    found: list[str] = []
    if m.exit_code not in expect.exit_codes:
        found.append(f"exit code {m.exit_code}, expected one of {sorted(expect.exit_codes)}")
    if m.peak_rss_mib >= MAX_RSS_MIB:
        found.append(f"peak RSS {m.peak_rss_mib:.0f} MiB >= {MAX_RSS_MIB} MiB")
    if m.report is None:
        found.append("no report.json written")
        return found
    if m.report_bytes >= MAX_REPORT_BYTES:
        found.append(f"report.json {m.report_bytes} bytes >= {MAX_REPORT_BYTES}")
    allowed = {str(v) for v in expect.case_verdicts}
    for case in m.report["cases"]:
        # a case the profile does not claim (its `requires:`) is NOT-APPLICABLE whatever the row
        if case["verdict"] not in allowed and case["verdict"] != str(Verdict.NOT_APPLICABLE):
            found.append(f"{case['id']}: {case['verdict']} ({case['reason'][:160]})")
        for finding in case["findings"]:
            if finding["verdict"] == str(Verdict.PASS) and finding["requirement"].startswith(
                expect.no_pass_on
            ):
                found.append(f"{case['id']}: PASS on {finding['requirement']}")
    failed = {
        f["requirement"]
        for case in m.report["cases"]
        for f in case["findings"]
        if f["verdict"] == str(Verdict.FAIL)
    }
    found += [f"no FAIL on {rid}: the peer was not caught" for rid in expect.fails if rid not in failed]
    found += [f"deadline: {o}" for o in m.overruns()]
    return found


def main(argv: list[str]) -> int:
    role, behaviour, out = argv[0], argv[1], Path(argv[2])
    profile = write_profile(role, behaviour, out)
    command = [
        sys.executable, "-m", "harness.cli", "run", "--profile", str(profile),
        "--out", str(out / "report"), "-q", "--strict",
    ]
    if len(argv) > 3:
        command += ["--select", argv[3]]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        code, output = done.returncode, (done.stdout + done.stderr)[-3000:]
    except subprocess.TimeoutExpired:
        code, output = -9, f"killed after {RUN_TIMEOUT:g} s"
    seconds = time.monotonic() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "exit_code": code, "seconds": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024, 1),
        "profile": str(profile), "output": output,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
