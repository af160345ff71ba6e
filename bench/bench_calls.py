"""Benchmark: calls in the default suite (issue 9): how long an INVITE waits for its 200, and
how long after the 200 media flows, next to aiortc's own offer time measured in the same run.

Runs the call cases of the default profiles through the real command (`wicct run --select
SES-`, the reference SUTs), reads `report.json`: every INVITE (either direction, any actor)
paired with the first 2xx of its transaction in the same case's timeline gives an
INVITE->200 time; every WIC-SES-04 finding "ICE and DTLS connected N ms after the 200" gives
a 200->media time. Then times `harness.sdp.jsep.make_offer()` (aiortc: ICE gathering on
loopback, DTLS certificate, SDP) `--offers` times in this process. Prints medians.

    .venv/bin/python bench/bench_calls.py [--select SES-] [--offers 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.sdp.jsep import make_offer  # noqa: E402

MEDIA = re.compile(r"connected (\d+) ms after the 200")


def invite_to_200(case: dict[str, Any]) -> list[float]:
    """Seconds from each INVITE sent to the first 2xx of its transaction (Call-ID, CSeq),
    as one actor of the case recorded them (so both ends of one hop are on one clock)."""
    sent: dict[tuple[str, str, str], float] = {}
    times: list[float] = []
    for entry in case.get("evidence", []):
        if entry.get("kind") != "sip":
            continue
        data = entry.get("data", {})
        line = str(data.get("start_line", ""))
        key = (entry.get("actor", ""), str(data.get("call_id", "")), str(data.get("cseq", "")))
        if not key[2].endswith("INVITE"):
            continue
        if entry.get("direction") == "tx" and line.startswith("INVITE "):
            sent.setdefault(key, float(entry["t"]))
        elif entry.get("direction") == "rx" and line.startswith("SIP/2.0 2") and key in sent:
            times.append(float(entry["t"]) - sent.pop(key))
    return times


def to_media(case: dict[str, Any]) -> list[float]:
    """Seconds from the 200 to media connected, from the WIC-SES-04 findings."""
    return [int(m.group(1)) / 1000 for f in case.get("findings", [])
            if (m := MEDIA.search(str(f.get("reason", ""))))]


async def offer_times(count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        peer = await make_offer()
        times.append(time.perf_counter() - started)
        await peer.close()
    return times


def show(name: str, values: list[float]) -> None:
    if not values:
        print(f"{name:28} none measured")
        return
    print(f"{name:28} median {1000 * statistics.median(values):7.1f} ms  "
          f"min {1000 * min(values):7.1f} ms  max {1000 * max(values):7.1f} ms  (n={len(values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--select", default="SES-", help="wicct run --select (default: SES-; pytest -k matches parent names too, and \"testcases\" contains \"ses\")")
    parser.add_argument("--offers", type=int, default=20, help="aiortc offers to time (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wicct-bench-calls-") as tmp:
        out = Path(tmp) / "out"
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", "-q", "--select", args.select, "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )
        report_path = out / "report.json"
        if not report_path.is_file():
            print(f"wicct run wrote no report (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            return 1
        report = json.loads(report_path.read_text())
    cases = report["cases"]
    verdicts = sorted({c["verdict"] for c in cases})
    print(f"{len(cases)} call case(s) run ({', '.join(verdicts)}), exit {proc.returncode}")
    show("INVITE -> 200", [t for c in cases for t in invite_to_200(c)])
    show("200 -> media connected", [t for c in cases for t in to_media(c)])
    show("aiortc make_offer()", asyncio.run(offer_times(args.offers)))
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
