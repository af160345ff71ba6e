"""Benchmark: calls in the default suite (issue 9): how long an INVITE waits for its 200, and
how long after the 200 media flows, next to aiortc's own offer time measured in the same run.

Runs the default suite through the real command (`wicct run`, the reference SUTs; `--select`
narrows it), reads `report.json`: every call of every case, i.e. every INVITE transaction
(Call-ID and CSeq, read from the recorded message itself, since a sent response's entry
carries no CSeq field), is timed at the wicct actor that recorded the INVITE first, from
that INVITE to the first 2xx of the transaction the same actor recorded (one case's actors
share one clock). When that actor sent the INVITE (wicct called), the time is the round trip
through the SUT; when it received it (the SUT called), it is wicct's own answering time
(180, aiortc's answer, 200): the two are printed apart. Every WIC-SES-04 finding "ICE and
DTLS connected N ms after the 200" (and every EPC-SES-01 media finding of an eP-CSCF with
media at its edge, "... connected N ms after the WIC's 200") gives a 200->media time. Then times
`harness.sdp.jsep.make_offer()` (aiortc: ICE gathering on loopback, DTLS certificate, SDP)
`--offers` times in this process. Prints medians.

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
from harness.sip import SipParseError, parse  # noqa: E402

MEDIA = re.compile(r"connected (\d+) ms after the (?:WIC's )?200")


def _invite_transaction(entry: dict[str, Any]) -> tuple[str, int, bool] | None:
    """(Call-ID, CSeq number, is a request) of a recorded INVITE or 2xx to one; None else."""
    raw = entry.get("data", {}).get("raw")
    if entry.get("kind") != "sip" or not isinstance(raw, str):
        return None  # an entry without the message as text ({"hex": ...}) is not read
    try:
        message = parse(raw.encode("utf-8", "surrogateescape")).message
    except (SipParseError, ValueError):
        return None
    if message.cseq.method != "INVITE" or not (message.is_request or 200 <= (message.status or 0) < 300):
        return None
    if message.is_request and message.method != "INVITE":
        return None
    return message.call_id, message.cseq.number, message.is_request


def invite_to_200(case: dict[str, Any]) -> dict[str, list[float]]:
    """Seconds from each INVITE to the first 2xx of its transaction, at the actor that
    recorded the INVITE first: {"tx": wicct called (round trip through the SUT),
    "rx": the SUT called (wicct's answering time)}."""
    first: dict[tuple[str, int], tuple[str, str, float]] = {}  # key -> (actor, direction, t)
    times: dict[str, list[float]] = {"tx": [], "rx": []}
    for entry in case.get("evidence", []):
        found = _invite_transaction(entry)
        if found is None:
            continue
        call_id, number, is_request = found
        key, actor, t = (call_id, number), str(entry.get("actor", "")), float(entry["t"])
        if is_request:
            first.setdefault(key, (actor, str(entry.get("direction", "")), t))
        elif key in first and first[key][0] == actor and first[key][1] in times:
            _, direction, sent = first.pop(key)
            times[direction].append(t - sent)
    return times


def to_media(case: dict[str, Any]) -> list[float]:
    """Seconds from the 200 to media connected, from the WIC-SES-04 findings (and the
    EPC-SES-01 media findings of an eP-CSCF with media at its edge)."""
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
    parser.add_argument("--select", default="", help="wicct run --select (default: the whole default suite; pytest -k matches parent names too, and \"testcases\" contains \"ses\")")
    parser.add_argument("--offers", type=int, default=20, help="aiortc offers to time (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wicct-bench-calls-") as tmp:
        out = Path(tmp) / "out"
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", "-q", *(["--select", args.select] if args.select else []),
             "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )
        report_path = out / "report.json"
        if not report_path.is_file():
            print(f"wicct run wrote no report (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            return 1
        report = json.loads(report_path.read_text())
    cases = report["cases"]
    verdicts = sorted({c["verdict"] for c in cases})
    calls = [invite_to_200(c) for c in cases]
    print(f"{len(cases)} case(s) run ({', '.join(verdicts)}), exit {proc.returncode}; "
          f"{sum(1 for c in calls if c['tx'] or c['rx'])} with calls")
    show("INVITE -> 200 (wicct calls)", [t for c in calls for t in c["tx"]])
    show("INVITE -> 200 (SUT calls)", [t for c in calls for t in c["rx"]])
    show("200 -> media connected", [t for c in cases for t in to_media(c)])
    show("aiortc make_offer()", asyncio.run(offer_times(args.offers)))
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
