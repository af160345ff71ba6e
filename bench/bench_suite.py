"""Benchmark: the default suite (both reference SUTs), as `wicct run` runs it.

Prints total wall time, per-case median overhead (case duration minus the windows the case
must watch by protocol, recorded by steps through `ctx.mandated`), and peak memory.
Targets (issue 2): per-case overhead <= 50 ms, whole default run < 20 s on 2 cores.

    .venv/bin/python bench/bench_suite.py [--repeat N] [--cli]

`--cli` also times the real command (`wicct run` in a subprocess, pytest and reports
included).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import builtin  # noqa: E402
from harness.cases.model import discover, load_case  # noqa: E402
from harness.cases.runner import run_case_sync  # noqa: E402
from harness.pki import Pki  # noqa: E402
from harness.plugin import DEFAULT_PROFILES, load_profiles  # noqa: E402


def mandated_seconds(evidence: tuple[dict, ...]) -> float:
    return sum(float(e.get("data", {}).get("mandated_wait", 0.0)) for e in evidence)


def run_once() -> tuple[float, list[tuple[str, float, float, str]]]:
    profiles = load_profiles(DEFAULT_PROFILES)
    cases = [load_case(p) for p in discover(builtin.cases_dir())]
    pki = Pki()
    rows = []
    started = time.perf_counter()
    try:
        for profile in profiles:
            for case in cases:
                if case.sut != profile.role:
                    continue
                result = run_case_sync(case, profile, pki)
                waits = mandated_seconds(result.evidence)
                rows.append((f"{case.id}[{profile.id}]", result.duration_s, waits, str(result.verdict)))
    finally:
        pki.close()
    return time.perf_counter() - started, rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cli", action="store_true", help="also time `wicct run` end to end")
    parser.add_argument("--top", type=int, default=5, help="show the N slowest cases by overhead")
    args = parser.parse_args()

    walls = []
    overheads: list[float] = []
    rows: list[tuple[str, float, float, str]] = []
    for _ in range(args.repeat):
        wall, rows = run_once()
        walls.append(wall)
        overheads.extend(max(0.0, d - w) for _, d, w, _ in rows)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdicts: dict[str, int] = {}
    for *_, verdict in rows:
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    print(f"cases per run:           {len(rows)}  {verdicts}")
    print(f"suite wall time (runner): {statistics.median(walls):.2f} s (median of {len(walls)})")
    print(f"mandated waits per run:   {sum(w for _, _, w, _ in rows):.2f} s")
    print(f"per-case overhead:        median {1000 * statistics.median(overheads):.1f} ms, "
          f"p90 {1000 * statistics.quantiles(overheads, n=10)[-1]:.1f} ms, "
          f"max {1000 * max(overheads):.1f} ms")
    print(f"peak RSS (runner):        {peak_mib:.0f} MiB")
    slow = sorted(rows, key=lambda r: r[1] - r[2], reverse=True)[: args.top]
    for name, duration, waits, verdict in slow:
        print(f"  slowest: {name:<48} {duration:6.3f} s (mandated {waits:.3f} s) {verdict}")
    if args.cli:
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "harness.cli", "run", "-q", "--out", out],
                cwd=ROOT, capture_output=True, text=True, check=False,
            )
            wall = time.perf_counter() - started
            child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"`wicct run` wall time:    {wall:.2f} s (exit {proc.returncode}), peak RSS {child:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
