"""The hostile-SUT matrix, in full (issue 11 item 3): every case of a role's suite against
every row of `harness/suts/hostile/matrix.py`, each run a `wicct run` of its own.

Prints per row: the exit code, the wall time, the peak RSS of the run, report.json's size,
the verdict counts and the cases that outlived their deadline + 1 s, and whether the row's
expectation held. Takes long (the whole suite per row): run it outside CI time, niced.

    .venv/bin/python bench/hostile_matrix.py [--role epcscf|wic] [--row NAME ...]
                                             [--select EXPR] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.profiles import load_profile  # noqa: E402
from harness.suts.hostile.matrix import (  # noqa: E402
    MAX_REPORT_BYTES,
    MAX_RSS_MIB,
    ROLES,
    rows_for,
)
from tests.hostile.measure import Measured, deadline, measure, problems  # noqa: E402


def slowest(m: Measured) -> str:
    """The case that took longest, its duration against the deadline the runner gave it."""
    if m.report is None or not m.report["cases"]:
        return "-"
    profile = load_profile(m.profile)
    case = max(m.report["cases"], key=lambda c: c["duration_s"])
    limit = deadline(case["source"], profile)
    shown = f"{limit:g}" if limit is not None else "?"
    return f"{case['duration_s']:.1f}/{shown} {case['id']}"[:24]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=ROLES, action="append")
    parser.add_argument("--row", action="append", help="only these rows (repeatable)")
    parser.add_argument("--select", help="a -k expression over case ids (default: every case)")
    parser.add_argument("--out", type=Path, help="keep the reports here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="wicct-hostile-"))
    print(f"reports under {out}; bounds: RSS < {MAX_RSS_MIB} MiB, report.json < "
          f"{MAX_REPORT_BYTES // (1024 * 1024)} MB, each case within its deadline + 1 s")
    print(f"{'role':7} {'row':22} {'exit':>4} {'time s':>7} {'RSS MiB':>8} {'json kB':>8}  "
          f"{'slowest case s/deadline':24} verdicts / problems")
    failures = 0
    for role in args.role or ROLES:
        for row in rows_for(role):
            if args.row and row.name not in args.row:
                continue
            m = measure(role, row.name, out / role / row.name, args.select)
            counts = Counter(c["verdict"] for c in (m.report or {}).get("cases", []))
            found = problems(m, row.expect[role])
            failures += bool(found)
            verdicts = " ".join(f"{v}:{n}" for v, n in sorted(counts.items()))
            print(f"{role:7} {row.name:22} {m.exit_code:>4} {m.seconds:>7.1f} "
                  f"{m.peak_rss_mib:>8.1f} {m.report_bytes / 1000:>8.1f}  {slowest(m):24} {verdicts}"
                  + "".join(f"\n{'':60}! {p}" for p in found), flush=True)
    print(f"{failures} row(s) broke their expectation or a bound")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
