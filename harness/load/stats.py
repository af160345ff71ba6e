"""The figures of a load run, per Locust process, and their merge (pure; no gevent).

Latency goes to HDR histograms in microseconds (Locust's own statistics round to whole
milliseconds); requests, responses, connects, errors by cause, violations (with the first
sample of each) and unanswered requests are counted; final responses are counted per
second for the rate over time. Each Locust process writes its `LoadStats` as JSON
(`to_json`); the run merges them (`merge`).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict
from typing import Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from harness.load.judge import Violation

LOWEST_US, HIGHEST_US, DIGITS = 1, 120_000_000, 3  # 1 µs .. 120 s, 3 significant digits
PERCENTILES = (50.0, 90.0, 99.0, 99.9, 100.0)


def histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


# below 2**EXACT_BITS µs the histogram keeps each value, above it as many steps a power of
# two: its sub-bucket count (2,048 for DIGITS = 3), read from the library, not restated (a
# LOWEST_US of 1 gives it a unit magnitude of 0: steps of whole µs)
EXACT_BITS = histogram().sub_bucket_count.bit_length() - 1


def hdr_step(us: int) -> int:
    """The lowest value the histogram holds `us` as (its bucket's first): recording the step
    instead of the value changes no count. A count per step, folded into a histogram when
    the figures are written, costs a process a fraction of recording each value (a few µs
    of Python each, at thousands of responses a second: issue 12)."""
    us = max(LOWEST_US, min(HIGHEST_US, us))
    shift = us.bit_length() - EXACT_BITS
    return us >> shift << shift if shift > 0 else us


class LoadStats:
    """What one Locust process saw. Not thread-safe; gevent users switch only at I/O."""

    def __init__(self) -> None:
        self.latency: dict[str, dict[int, int]] = {}  # per name: count per `hdr_step`
        self.requests: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()
        self.connects: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.error_samples: dict[str, str] = {}
        self.error_first: dict[str, float] = {}  # wall-clock time of each cause's first error
        self.violations: Counter[str] = Counter()
        self.violation_samples: dict[str, dict[str, str]] = {}
        self.judged = 0  # WebSocket messages judged by the checks
        self.unanswered: Counter[str] = Counter()  # requests whose final response never came
        self.late: Counter[str] = Counter()  # responses of transactions already completed
        self.keepalive_replies: Counter[str] = Counter()  # CRLF and Pong answers received
        self.per_second: Counter[int] = Counter()  # final responses per wall-clock second
        # connections the SUT dropped (lost after they opened) and connections opened, per
        # wall-clock second: what tells a SUT that restarted (every connection dropped, then
        # accepted again) from one that crashed (never accepted again)
        self.lost_per_second: Counter[int] = Counter()
        self.opened_per_second: Counter[int] = Counter()
        self.open_connections = 0
        self.peak_connections = 0
        self._keys: dict[tuple[str, int], str] = {}

    def record_latency(self, name: str, seconds: float) -> None:
        counts = self.latency.get(name)
        if counts is None:
            counts = self.latency[name] = {}
        step = hdr_step(int(seconds * 1e6))
        counts[step] = counts.get(step, 0) + 1

    def histograms(self) -> dict[str, HdrHistogram]:
        """The latencies recorded, one HDR histogram a name."""
        made = {}
        for name, counts in self.latency.items():
            made[name] = h = histogram()
            for step, count in counts.items():
                h.record_value(step, count)
        return made

    def answered(self, method: str, status: int, seconds: float) -> None:
        key = self._keys.get((method, status))
        if key is None:  # one string per kind of response, not one per response
            key = self._keys[(method, status)] = f"{method} {status}"
        self.responses[key] += 1
        if status >= 200:
            self.per_second[int(time.time())] += 1
            self.record_latency(method, seconds)

    def error(self, cause: str, detail: str) -> None:
        self.errors[cause] += 1
        self.error_samples.setdefault(cause, detail[:400])
        self.error_first.setdefault(cause, time.time())

    def violation(self, found: Violation) -> None:
        key = f"{found.requirement}: {found.check}"
        self.violations[key] += 1
        if key not in self.violation_samples:
            self.violation_samples[key] = {k: str(v) for k, v in asdict(found).items()}

    def lost(self, cause: str, detail: str) -> None:
        """An open connection lost (the SUT closed or reset it): counted as an error too."""
        self.error(cause, detail)
        self.lost_per_second[int(time.time())] += 1

    def opened(self) -> None:
        self.connects["ok"] += 1
        self.opened_per_second[int(time.time())] += 1
        self.open_connections += 1
        self.peak_connections = max(self.peak_connections, self.open_connections)

    def closed(self) -> None:
        self.open_connections -= 1

    def to_json(self) -> dict[str, Any]:
        return {
            "latency": {k: h.encode().decode("ascii") for k, h in self.histograms().items()},
            "requests": dict(self.requests), "responses": dict(self.responses),
            "connects": dict(self.connects), "errors": dict(self.errors),
            "error_samples": self.error_samples, "error_first": self.error_first,
            "violations": dict(self.violations),
            "violation_samples": self.violation_samples, "judged": self.judged,
            "unanswered": dict(self.unanswered), "late": dict(self.late),
            "keepalive_replies": dict(self.keepalive_replies),
            "per_second": {str(k): v for k, v in self.per_second.items()},
            "lost_per_second": {str(k): v for k, v in self.lost_per_second.items()},
            "opened_per_second": {str(k): v for k, v in self.opened_per_second.items()},
            "peak_connections": self.peak_connections,
        }


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of several processes as one: counters added, histograms merged,
    the first sample of each error cause and violation kept, peaks added (the processes
    hold their connections at the same time)."""
    latency: dict[str, HdrHistogram] = {}
    counters = ("requests", "responses", "connects", "errors", "violations", "unanswered", "late",
                "keepalive_replies", "per_second", "lost_per_second", "opened_per_second")
    out: dict[str, Any] = {name: Counter() for name in counters}
    out.update(error_samples={}, error_first={}, violation_samples={}, judged=0, peak_connections=0)
    for part in parts:
        for name, encoded in part["latency"].items():
            if name not in latency:
                latency[name] = histogram()
            latency[name].decode_and_add(encoded.encode("ascii"))
        for name in counters:
            out[name].update(part.get(name, {}))
        for cause, sample in part["error_samples"].items():
            out["error_samples"].setdefault(cause, sample)
        for cause, at in part.get("error_first", {}).items():
            out["error_first"][cause] = min(at, out["error_first"].get(cause, at))
        for key, sample in part["violation_samples"].items():
            out["violation_samples"].setdefault(key, sample)
        out["judged"] += part["judged"]
        out["peak_connections"] += part["peak_connections"]
    for name in counters:
        out[name] = dict(out[name])
    out["latency"] = {name: summary(h) for name, h in sorted(latency.items())}
    return out


def summary(h: HdrHistogram) -> dict[str, Any]:
    """Count, mean and the percentiles of one histogram, in milliseconds."""
    return {
        "count": h.get_total_count(),
        "mean_ms": round(h.get_mean_value() / 1000, 3),
        "percentiles_ms": {f"p{p:g}": round(h.get_value_at_percentile(p) / 1000, 3)
                           for p in PERCENTILES},
    }
