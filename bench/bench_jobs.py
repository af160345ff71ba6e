"""Benchmark: `wicct run --jobs N` against a sequential run, and whether verdicts agree.

Runs the default suite (the reference profiles) through the real command, once with
`--jobs 1` and `--runs` times (default 20) with `--jobs N` (default: as `wicct run`,
`harness.schedule.default_jobs`: six per core for in-process SUTs),
each in a subprocess writing its own report. Prints the wall times of both (min and
median), and every case whose verdict in some jobs run differs from the sequential run;
exits 1 if any differed (or a run failed to produce a report).

    .venv/bin/python bench/bench_jobs.py [--runs 20] [--jobs N] [--sequential 1]

Several minutes in all (the sequential run alone takes minutes with four profiles).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

Verdicts = dict[str, str]  # "CASE[profile]" -> verdict


def run(jobs: int, out: Path) -> tuple[float, Verdicts, int]:
    """One `wicct run -q --jobs N`: wall seconds, verdicts per case, exit code."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-q", "--jobs", str(jobs), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - started
    report = out / "report.json"
    if not report.exists():
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        return wall, {}, proc.returncode
    cases = json.loads(report.read_text("utf-8"))["cases"]
    return wall, {f"{c['id']}[{c['profile']}]": c["verdict"] for c in cases}, proc.returncode


def summary(label: str, walls: list[float]) -> str:
    return (
        f"{label:<22} runs {len(walls):>2}  min {min(walls):6.2f} s  "
        f"median {statistics.median(walls):6.2f} s  max {max(walls):6.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs with --jobs N (default 20)")
    parser.add_argument("--jobs", type=int, default=6 * (os.cpu_count() or 1),
                        help="default: six per core, as wicct run for the reference profiles")
    parser.add_argument("--sequential", type=int, default=1, help="runs with --jobs 1")
    args = parser.parse_args()

    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="wicct-bench-jobs-") as tmp:
        seq_walls: list[float] = []
        reference: Verdicts = {}
        for index in range(args.sequential):
            wall, verdicts, code = run(1, Path(tmp) / f"seq{index}")
            seq_walls.append(wall)
            print(f"sequential run {index + 1}: {wall:.2f} s, {len(verdicts)} cases, exit {code}")
            if not verdicts:
                problems.append(f"sequential run {index + 1} wrote no report (exit {code})")
            elif not reference:
                reference = verdicts
            elif verdicts != reference:
                problems.append(f"sequential run {index + 1} differs from sequential run 1")
        job_walls: list[float] = []
        differ: dict[str, list[str]] = {}
        for index in range(args.runs):
            wall, verdicts, code = run(args.jobs, Path(tmp) / f"jobs{index}")
            job_walls.append(wall)
            print(f"--jobs {args.jobs} run {index + 1}: {wall:.2f} s, {len(verdicts)} cases, "
                  f"exit {code}")
            if not verdicts:
                problems.append(f"--jobs {args.jobs} run {index + 1} wrote no report (exit {code})")
                continue
            if list(verdicts) != list(reference):
                problems.append(f"--jobs {args.jobs} run {index + 1}: report order or cases differ")
            for case in sorted(set(verdicts) | set(reference)):
                if verdicts.get(case) != reference.get(case):
                    differ.setdefault(case, []).append(
                        f"run {index + 1}: {verdicts.get(case)} (sequential {reference.get(case)})"
                    )

    print()
    print(summary("sequential (--jobs 1)", seq_walls))
    print(summary(f"--jobs {args.jobs}", job_walls))
    print(f"speed-up (median): {statistics.median(seq_walls) / statistics.median(job_walls):.2f}x")
    if differ:
        print(f"\n{len(differ)} case(s) whose verdict differed from the sequential run:")
        for case, runs in differ.items():
            print(f"  {case}: " + "; ".join(runs))
    else:
        print("verdicts: every case identical to the sequential run in every jobs run")
    for problem in problems:
        print(f"problem: {problem}")
    return 1 if differ or problems else 0


if __name__ == "__main__":
    sys.exit(main())
