"""wicct against a hostile eP-CSCF (bench/hostile_sut.py): time, peak memory, evidence and
report sizes of `wicct run` for each flood (issue 11). Prints one line of figures per mode.

    .venv/bin/python bench/bench_hostile.py [--select EXPR] [MODE ...]

Each run is `wicct run` in a child process; its peak RSS is that child's `ru_maxrss`
(read in a small parent of its own, so the SUT's memory is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUT = Path(__file__).resolve().parent / "hostile_sut.py"
MODES = ("continuations", "pings", "binary")
DEFAULT_SELECT = "EPC-HS-01 or EPC-HS-03 or EPC-FR-08-opcode"

# runs `wicct run ...` and prints its exit code and the child's peak RSS in KiB
_PARENT = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], check=False).returncode\n"
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(mode: str, work: Path, select: str = DEFAULT_SELECT, timeout: float = 600) -> dict[str, Any]:
    """Run the selected cases against the hostile SUT in `mode`; the figures."""
    work.mkdir(parents=True, exist_ok=True)
    sut = subprocess.Popen(
        [sys.executable, str(SUT), mode, str(work / "sut")], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,  # asyncio's complaints about writes to closed sockets
    )
    try:
        assert sut.stdout is not None
        ready = sut.stdout.readline().split()
        if len(ready) != 3 or ready[0] != "READY":
            raise RuntimeError(f"hostile SUT did not start: {ready}")
        port, ca = ready[1], ready[2]
        profile = work / "hostile.yaml"
        profile.write_text(
            f"name: hostile {mode}\nrole: epcscf\ndriver: external\n"
            f"sut: {{url: 'wss://127.0.0.1:{port}/', ca: '{ca}'}}\n"
            f"core: {{listen: 'udp://127.0.0.1:{_free_udp_port()}'}}\n"
        )
        out = work / "out"
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", _PARENT, sys.executable, "-m", "harness.cli", "run", "-q",
             "--profile", str(profile), "--select", select, "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        elapsed = time.monotonic() - started
    finally:
        sut.kill()
        sut.wait()
    code, rss_kib = (int(x) for x in proc.stdout.strip().splitlines()[-1].split())
    report_path = out / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    cases = report.get("cases") or []
    return {
        "mode": mode,
        "exit": code,
        "elapsed_s": round(elapsed, 1),
        "peak_rss_mib": round(rss_kib / 1024, 1),
        "cases": len(cases),
        "verdicts": sorted(f"{c['id']}={c['verdict']}" for c in cases),
        "max_case_s": round(max((c["duration_s"] for c in cases), default=0.0), 1),
        "max_entries": max((len(c["evidence"]) for c in cases), default=0),
        "capped": sum(1 for c in cases if any(e["summary"].startswith("evidence capped") for e in c["evidence"])),
        "report_json_mib": round(report_path.stat().st_size / 2**20, 2) if report_path.exists() else None,
        "report_html_mib": round((out / "report.html").stat().st_size / 2**20, 2) if (out / "report.html").exists() else None,
        "reasons": [c["reason"] for c in cases],
        "stderr": proc.stderr[-2000:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modes", nargs="*", default=list(MODES))
    parser.add_argument("--select", default=DEFAULT_SELECT)
    args = parser.parse_args()
    for mode in args.modes:
        with tempfile.TemporaryDirectory(prefix=f"wicct-hostile-{mode}-") as tmp:
            figures = measure(mode, Path(tmp), args.select)
        shown = {k: v for k, v in figures.items() if k not in ("reasons", "stderr")}
        print(json.dumps(shown))
        for reason in figures["reasons"]:
            print(f"    {reason[:200]}")


if __name__ == "__main__":
    main()
