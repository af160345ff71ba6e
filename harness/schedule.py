"""Running cases concurrently (`wicct run --jobs N`) with the verdicts of a sequential run.

Cases are pytest items, consumed by pytest in their collected order. The scheduler runs
their `run_case` ahead of time in worker threads (one event loop per case, as
`run_case_sync` always does), and each item's setup takes its own result when pytest
reaches it: outcomes, progress lines, JUnit, Allure and report.json keep the item order,
only the waiting overlaps. With `jobs == 1` nothing runs ahead: each case runs when its
item is reached, exactly as before. Either way a case's event loop runs in a thread of its
own, watched from the thread that asked for it (harness.cases.watchdog): past its hard
deadline it is ended from outside, so no case holds a worker (or the run) beyond it.

Which profiles may run their cases concurrently (`one_at_a_time`):
- the driver must declare `concurrent_cases = True` (a SUT instance of its own per case:
  the reference SUTs, Kamailio, Chromium); a driver of one running product (`external`,
  `manual`, a vendor's own unless it says so) runs its profile's cases one at a time;
- and the profile must not pin a port wicct listens on or hands out (`core.listen` with a
  port, `driver_options.listen_port`, Kamailio's `wss_port`/`sip_port`, a browser page
  origin on a fixed loopback port): two cases cannot both bind it.
Those profiles' cases run one at a time, in the main thread, when their items are reached
(concurrently with other profiles' cases running ahead); the report and the terminal say so.

Before a profile's first case, its set-up is probed once (harness.suts.preflight). When
the probe fails (a `SutUnavailable`: unreachable, TLS verification failed, no handshake,
CA or key missing, port in use, the driver cannot start the SUT) the profile's cases are
not tried: each becomes INCONCLUSIVE "not tried: set-up failure of profile P (kind):
reason" (cases the profile declares NOT-APPLICABLE stay so), and the run exits 2.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.cases.model import Case
from harness.cases.registry import load_providers
from harness.cases.runner import missing_features, not_tried_result
from harness.pki import Pki
from harness.profiles import Profile
from harness.suts.base import SutUnavailable
from harness.verdicts import CaseResult

PROBE_SLACK = 30.0  # beyond the profile's own start and handshake timeouts


IN_PROCESS_DRIVERS = frozenset({"reference"})  # SUTs that are a few asyncio tasks, no process


def default_jobs(profiles: Iterable[Profile] = ()) -> int:
    """`--jobs` by default. A case mostly waits on protocol windows (a 5.5-32 s keep-alive
    watch, 64 x T1 for retransmissions) rather than computing. Against in-process SUTs
    (the reference ones) a case costs a few tasks: six per core (2 cores: the default run of
    four reference profiles in about 15 s, 34 s with two per core). A real peer costs a
    process per case (Kamailio, Chromium): two per core. `bench/bench_jobs.py` checks
    that the verdicts stay those of a sequential run."""
    cores = max(1, os.cpu_count() or 1)
    listed = list(profiles)
    if listed and all(p.driver in IN_PROCESS_DRIVERS for p in listed):
        return 6 * cores
    return 2 * cores


def pinned_ports(profile: Profile) -> list[str]:
    """The fixed ports the profile makes wicct (or the SUT it starts) listen on."""
    pinned = []
    scheme, _, rest = profile.core_listen.partition("://")
    port = rest.rstrip("/").rpartition(":")[2]
    if profile.role == "epcscf" and port.isdigit() and int(port):
        pinned.append(f"core.listen {profile.core_listen}")
    options = profile.driver_options
    for key in ("listen_port", "wss_port", "sip_port"):
        if _nonzero(options.get(key)):
            pinned.append(f"driver_options.{key} {options[key]}")
    if profile.driver == "browser":
        from harness.suts.browser.server import OriginError, plan_origin

        try:
            plan = plan_origin(profile.wwsf_origin)
        except OriginError:
            plan = None  # the driver reports it; nothing is bound
        if plan is not None and not plan.routed and plan.port is not None:
            pinned.append(f"wwsf_origin {profile.wwsf_origin} (the page server's port)")
    return pinned


def _nonzero(value: Any) -> bool:
    try:
        return int(value) != 0
    except (TypeError, ValueError):
        return value not in (None, "", 0)


def one_at_a_time(profile: Profile) -> str:
    """Why the profile's cases must run one at a time ("" when they may run concurrently)."""
    from harness.suts.registry import driver_class

    reasons = []
    try:
        concurrent = bool(driver_class(profile.role, profile.driver).concurrent_cases)
    except SutUnavailable:
        concurrent = False  # the probe reports why the driver cannot load
    if not concurrent:
        reasons.append(f"its {profile.driver} driver works one SUT instance for all cases")
    pinned = pinned_ports(profile)
    if pinned:
        reasons.append("it pins " + ", ".join(pinned))
    return "; ".join(reasons)


@dataclass
class Lane:
    """One profile's share of the run: its concurrency policy and its probe's outcome."""

    profile: Profile
    one_at_a_time: str
    failure: SutUnavailable | None = None
    probe_note: str = ""  # what the probe found, or its own error (a wicct bug)
    probed: bool = False
    not_tried: int = 0
    probe_future: Future[None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def failure_reason(self) -> str:
        assert self.failure is not None
        return f"{self.failure.label}: {self.failure}"


class Scheduler:
    """Runs the cases of a session, concurrently where allowed; see the module docstring."""

    def __init__(
        self,
        jobs: int,
        pki_source: Callable[[], Pki],
        run: Callable[[Case, Profile], CaseResult],
    ) -> None:
        self.jobs = max(1, jobs)
        self._pki_source = pki_source
        self._run_case = run  # never raises: a wicct bug is an ERROR result
        self.lanes: dict[str, Lane] = {}
        self._futures: dict[Hashable, Future[CaseResult]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def lane(self, profile: Profile) -> Lane:
        if profile.id not in self.lanes:
            self.lanes[profile.id] = Lane(profile, one_at_a_time(profile))
        return self.lanes[profile.id]

    def start(self, work: Sequence[tuple[Hashable, Case, Profile]]) -> None:
        """Plan the run (every profile's lane) and, with jobs > 1, start the cases of the
        concurrent profiles in worker threads, each profile's probe first."""
        for _key, _case, profile in work:
            self.lane(profile)
        ahead = [w for w in work if not self.lane(w[2]).one_at_a_time]
        if self.jobs == 1 or not ahead:
            return
        load_providers()  # import every step provider once, before threads race to
        self._pki_source()  # the run's CA, made once
        self._pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="wicct-case")
        for _key, _case, profile in ahead:  # probes first: no case waits behind a case
            lane = self.lane(profile)
            if lane.probe_future is None:
                lane.probe_future = self._pool.submit(self._probe, lane)
        for key, case, profile in ahead:
            self._futures[key] = self._pool.submit(self._ahead, self.lane(profile), case)

    def result(self, key: Hashable, case: Case, profile: Profile) -> CaseResult:
        """The case's result: taken from its worker, or run now in this thread."""
        future = self._futures.pop(key, None)
        if future is not None:
            return future.result()
        lane = self.lane(profile)
        self._probe(lane)
        return self._run(lane, case)

    def finished_ahead(self) -> list[CaseResult]:
        """The results of cases that finished ahead and were never taken (a run that ended
        early), in case order; they are taken now."""
        done = [(k, f) for k, f in self._futures.items() if f.done() and not f.cancelled()]
        results = []
        for key, future in done:
            del self._futures[key]
            if future.exception() is None:
                results.append(future.result())
        return results

    def close(self) -> None:
        """Cancel what has not started (an interrupted or stopped session); cases already
        running end within their own timeouts."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    # -- in the workers --------------------------------------------------------------------

    def _ahead(self, lane: Lane, case: Case) -> CaseResult:
        assert lane.probe_future is not None
        lane.probe_future.result()
        return self._run(lane, case)

    def _run(self, lane: Lane, case: Case) -> CaseResult:
        if lane.failure is not None and not missing_features(case, lane.profile):
            with lane.lock:
                lane.not_tried += 1
            reason = (
                f"not tried: set-up failure of profile {lane.profile.id} "
                f"({lane.failure.kind}): {lane.failure_reason}"
            )
            return not_tried_result(case, lane.profile, reason)
        return self._run_case(case, lane.profile)

    def _probe(self, lane: Lane) -> None:
        with lane.lock:
            if lane.probed:
                return
            lane.probed = True
            lane.failure, lane.probe_note = probe_profile(lane.profile, self._pki_source)


def probe_profile(
    profile: Profile, pki_source: Callable[[], Pki]
) -> tuple[SutUnavailable | None, str]:
    """Run the profile's pre-flight probe in a fresh event loop: (failure or None, note)."""
    from harness.suts.preflight import probe

    timers = profile.timers
    bound = 2 * timers.start_timeout + 2 * timers.handshake_timeout + PROBE_SLACK
    with tempfile.TemporaryDirectory(prefix=f"wicct-probe-{profile.id}-") as tmp:
        try:
            note = asyncio.run(asyncio.wait_for(probe(profile, pki_source(), Path(tmp)), bound))
        except SutUnavailable as exc:
            return exc, ""
        except TimeoutError:
            return SutUnavailable(f"the pre-flight probe did not finish within {bound:g} s"), ""
        except Exception as exc:  # noqa: BLE001 - a wicct bug: the cases run and show it
            return None, f"pre-flight probe error (the cases ran anyway): {exc!r}"
    return None, note

