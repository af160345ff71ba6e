"""The load generator's own CPU: was the rate the SUT's limit, or wicct's?

A load figure means little if the generator itself ran out of CPU: the SUT then looked
slower than it is. `wicct load` (the parent, never a Locust process) samples the CPU time
of each Locust process it started from /proc (utime + stime, `proc(5)`), and this module
turns the samples into CPU per second: the busiest process's share of one CPU (a Locust
process is one thread of gevent: 100 % is its ceiling) and all of them together. A second
at `BUSY` or more in one process is a second the generator was saturated; the report says
so, as Locust's own log warns at the same level. Workers on other machines are not sampled.
"""

from __future__ import annotations

import os
from typing import Any

BUSY = 90.0  # % of one CPU in one Locust process: the generator may be the limit
LIMITED = 0.25  # share of the run's seconds at BUSY that makes the whole run generator-limited
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

Sample = tuple[float, tuple[float, ...]]  # (wall-clock time, CPU seconds of each process)


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system) a process used so far; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    try:
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime: fields 14 and 15
    except (IndexError, ValueError):
        return None


def over_time(samples: list[Sample], started: float, finished: float) -> list[list[float]]:
    """[second since the start, the busiest process's % of one CPU, every process's %
    together] for each second of the run with samples around it; CPU between two samples is
    spread evenly over the time between them."""
    first, last = int(started), int(finished)
    used: dict[int, list[float]] = {}
    covered: dict[int, float] = {}
    for (t0, c0), (t1, c1) in zip(samples, samples[1:], strict=False):
        if t1 <= t0:
            continue
        rates = [max(0.0, b - a) / (t1 - t0) for a, b in zip(c0, c1, strict=False)]
        second = int(t0)
        while second < t1:
            overlap = min(t1, second + 1) - max(t0, second)
            if overlap > 0 and first <= second <= last:
                row = used.setdefault(second, [0.0] * len(rates))
                for i, rate in enumerate(rates[:len(row)]):
                    row[i] += rate * overlap
                covered[second] = covered.get(second, 0.0) + overlap
            second += 1
    return [[second - first, round(100 * max(row, default=0.0) / covered[second], 1),
             round(100 * sum(row) / covered[second], 1)]
            for second, row in sorted(used.items()) if covered[second] > 0]


def summary(samples: list[Sample], started: float, finished: float,
            rate: list[list[int]] | None = None) -> dict[str, Any]:
    """The `generator_cpu` of a load report: per second, the seconds at `BUSY`, and whether
    the whole run was limited by the generator (`LIMITED` of its seconds or more). With the
    `rate` over time, only the seconds that had final responses count (not Locust's start,
    its imports, nor its stop)."""
    seconds = over_time(samples, started, finished)
    loaded = {t for t, n in rate if n} if rate is not None else {t for t, _, _ in seconds}
    counted = [row for row in seconds if row[0] in loaded]
    busy = sum(1 for _, busiest, _ in counted if busiest >= BUSY)
    return {
        "processes": len(samples[0][1]) if samples else 0,
        "busy_at_percent": BUSY,
        "busy_seconds": busy,
        "peak_percent": max((busiest for _, busiest, _ in counted), default=0.0),
        "limited": bool(counted) and busy >= max(3, LIMITED * len(counted)),
        "over_time": seconds,
    }


def per_response_us(generator: dict[str, Any], rate: list[list[int]], start: int, end: int) -> float:
    """CPU microseconds of all Locust processes per final response, over the seconds
    `start` <= t < `end` of the run (the bench's steady window)."""
    cpu = sum(total for t, _, total in generator.get("over_time", []) if start <= t < end) / 100
    finals = sum(n for t, n in rate if start <= t < end)
    return 1e6 * cpu / finals if finals else 0.0
