"""`wicct load`: the SUT host, Locust's processes, the watch on the SUT, the report.

The run starts `harness.load.host` (asyncio: the SUT and the light core) and waits for its
`ready.json`; then Locust, headless, in processes of its own (one, or a master and K local
workers: `--workers K`), with the scenario's user classes. While Locust runs, the SUT's
process is watched every `WATCH` seconds: a SUT that dies is reported as crashed with the
time and the requests left unanswered; one whose process was replaced (the host's restart
hook, `--restart-sut-after`), or that dropped every connection and then accepted again, is
reported as restarted, with the time, the connections lost and the requests left unanswered. Every wait has a deadline; the report is always
written (report.json with its `load` section, report.html, Locust's CSV files).
Exit status: 0 no shall-level violation and no crash; 1 otherwise; 2 the SUT did not start.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.load import report as load_report
from harness.load import wire as load_wire
from harness.load.cpu import BUSY, Sample, cpu_seconds
from harness.load.cpu import summary as generator_cpu
from harness.load.host import BEARER, READY, RESTARTS
from harness.load.settings import ENV, SCENARIOS, LoadSettings
from harness.load.stats import merge

WATCH = 0.1  # seconds between two looks at the SUT's process
WORKERS_WAIT = 120  # seconds a master waits for the workers it expects (Locust's max wait)
READY_TIMEOUT = 60.0  # the host's start-up (the driver's own start_timeout is inside it)
GRACE = 30.0  # beyond --time: Locust's stop timeout and its reports
USERS = {
    "register": ["RegisterUser"],
    "idle": ["IdleUser"],
    "call": ["CallUser"],
    "mixed": ["IdleUser", "RegisterUser", "CallUser"],
}
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass(frozen=True)
class LoadOptions:
    profile: Path
    users: int
    spawn_rate: float
    time_s: float
    scenario: str
    out: Path
    workers: int = 0
    reregister_interval: float = 1.0
    keepalive_interval: float = 2.0
    call_hold: float = 0.5
    response_timeout: float = 5.0
    # a SUT host already running (its directory with ready.json): several loads against the
    # same SUT (bench/load_bench.py); it is neither started nor stopped by this run
    attach: Path | None = None
    # seconds into the load when the host's restart hook replaces the SUT's process
    restart_after: float | None = None
    # a master alone, for `expect_workers` workers started elsewhere (`wicct load --worker`)
    master: bool = False
    expect_workers: int = 1
    master_bind_host: str = "127.0.0.1"
    master_bind_port: int = 5557  # Locust's own default

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, not {self.scenario!r}")
        if self.users < 1 or self.spawn_rate <= 0 or self.time_s <= 0 or self.workers < 0:
            raise ValueError("users ≥ 1, spawn rate > 0, time > 0 and workers ≥ 0")
        if self.master and (self.workers or self.expect_workers < 1):
            raise ValueError("--master waits for --expect-workers ≥ 1 workers started elsewhere; "
                             "--workers starts local ones instead")
        if self.restart_after is not None and not 0 < self.restart_after < self.time_s:
            raise ValueError("the SUT's restart comes within the load: 0 < seconds < --time")
        if min(self.reregister_interval, self.keepalive_interval, self.call_hold) < 0:
            raise ValueError("intervals and the call hold are seconds ≥ 0")


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a dead child not yet reaped by its parent)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def locust_commands(options: LoadOptions, csv_prefix: Path) -> list[list[str]]:
    """Locust's own command lines: one headless process, or a master and its workers."""
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    run = ["--headless", "-u", str(options.users), "-r", f"{options.spawn_rate:g}",
           "-t", f"{max(1, round(options.time_s))}s", "--csv", str(csv_prefix),
           "--stop-timeout", f"{max(1, round(options.response_timeout))}", "--only-summary",
           "--loglevel", "WARNING", *USERS[options.scenario]]
    if options.master:
        return [base + run + ["--master", "--expect-workers", str(options.expect_workers),
                              "--expect-workers-max-wait", str(WORKERS_WAIT),
                              "--master-bind-host", options.master_bind_host,
                              "--master-bind-port", str(options.master_bind_port)]]
    if options.workers == 0:
        return [base + run]
    port = free_port()
    master = base + run + ["--master", "--expect-workers", str(options.workers),
                           "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    worker = base + ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port),
                     "--loglevel", "WARNING", *USERS[options.scenario]]
    return [master] + [worker] * options.workers


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def rss_kib(pid: int) -> int:
    """The resident set of a process in KiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Attached:
    """A SUT host this run did not start: looks like a process that never ends."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return None if alive(self.pid) else 0


def _start_host(options: LoadOptions, hostdir: Path, log: IO[bytes]) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    hostdir.mkdir(parents=True, exist_ok=True)
    (hostdir / READY).unlink(missing_ok=True)
    host = subprocess.Popen(
        [sys.executable, "-m", "harness.load.host", "--profile", str(options.profile), "--dir", str(hostdir)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        ready = hostdir / READY
        if ready.exists():
            try:
                return host, json.loads(ready.read_text())
            except json.JSONDecodeError:
                pass  # being written
        if host.poll() is not None:
            return host, {"error": f"the SUT host exited with {host.returncode} before it was ready"}
        time.sleep(WATCH)
    return host, {"error": f"the SUT was not ready within {READY_TIMEOUT:g} s"}


def run_load(options: LoadOptions, say: Any = print) -> int:
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    figures_dir = out / "figures"
    figures_dir.mkdir(exist_ok=True)
    for old in figures_dir.glob("stats-*.json"):
        old.unlink()
    started_iso, started = _now_iso(), time.time()
    parameters = {"scenario": options.scenario, "users": options.users,
                  "spawn_rate": options.spawn_rate, "time_s": options.time_s,
                  "workers": options.workers, "reregister_interval_s": options.reregister_interval,
                  "keepalive_interval_s": options.keepalive_interval, "call_hold_s": options.call_hold,
                  "response_timeout_s": options.response_timeout,
                  "response_deadline_sweep_s": load_wire.Watch.SWEEP, "profile": str(options.profile)}
    with open(out / "host.log", "wb") as host_log, open(out / "locust.log", "wb") as locust_log:
        host: Any
        if options.attach is not None:
            ready = json.loads((options.attach / READY).read_text())
            host = Attached(int(ready.get("host_pid", 0)))
        else:
            host, ready = _start_host(options, out / "host", host_log)
        if "error" in ready:
            if options.attach is None:
                _stop(host, 10)
            say(f"wicct load: set-up failure: {ready['error']}")
            _write(out, parameters, {"profile": options.profile.stem, "setup_failure": ready["error"]},
                   merge([]), started, started, started_iso, None, {})
            return 2
        if options.restart_after is not None and ready["driver"] != "kamailio":
            problem = f"the {ready['driver']} driver has no restart hook (kamailio has)"
            if options.attach is None:
                _stop(host, 10)
            say(f"wicct load: set-up failure: {problem}")
            _write(out, parameters, {"profile": options.profile.stem, "setup_failure": problem},
                   merge([]), started, started, started_iso, None, {})
            return 2
        say(f"wicct load: {options.scenario}, {options.users} users against {ready['ws_url']} "
            f"({ready['driver']}, pid {ready['sut_pid']})")
        settings = LoadSettings(
            ws_url=ready["ws_url"], ca_pem=ready["ca_pem"], tls_verify=True,
            server_hostname=ready["host"], origin=_profile_value(options.profile, "wwsf_origin"),
            domain=_profile_value(options.profile, "domain"), callee=_profile_value(options.profile, "callee"),
            password=_profile_value(options.profile, "password"),
            auth="bearer" if ready.get("bearer") else "digest" if ready["challenge"] else "none",
            bearer=_take_secret((options.attach or out / "host") / BEARER,
                                remove=options.attach is None), offer=ready["offer"],
            stats_dir=str(figures_dir), response_timeout=options.response_timeout,
            reregister_interval=options.reregister_interval,
            keepalive_interval=options.keepalive_interval, call_hold=options.call_hold,
        )
        private = Path(tempfile.mkdtemp(prefix="wicct-load-"))  # the settings hold secrets
        settings_path = private / "settings.json"
        settings.write(settings_path)
        env = {**os.environ, ENV: str(settings_path), "PYTHONUNBUFFERED": "1"}
        started = time.time()  # the load itself: from Locust's start to its end
        processes = [subprocess.Popen(cmd, stdout=locust_log, stderr=subprocess.STDOUT, env=env,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
                     for cmd in locust_commands(options, out / "locust")]
        rss: list[tuple[float, int]] = []  # (time.time(), KiB)
        cpu: list[Sample] = []
        hostdir = options.attach or out / "host"
        limit = options.time_s + GRACE + 10 * options.workers + (WORKERS_WAIT if options.master else 0)
        crash = _watch(processes, host, ready, started, limit, rss, hostdir, options.restart_after, cpu)
        finished = time.time()
        for process in processes[1:]:
            try:
                process.wait(GRACE)
            except subprocess.TimeoutExpired:
                _stop(process, 5)
        for process in processes:
            _stop(process, 5)
        if options.attach is None:
            _stop(host, 15)
        shutil.rmtree(private, ignore_errors=True)
    sut_log = hostdir / "sut.log"
    if crash is not None:
        tail = sut_log.read_text(errors="replace").splitlines()[-30:] if sut_log.exists() else []
        crash["log_tail"] = "\n".join(tail) or "(no SUT log: its process was killed)"
    parts = [json.loads(p.read_text()) for p in sorted(figures_dir.glob("stats-*.json"))]
    figures = merge(parts)
    restarts = process_restarts(_read_restarts(hostdir), started, figures)
    if not restarts and crash is None:
        restarts = dropped_and_accepted(figures, started)
    if crash is None:  # its process lived on (or there is none), its listener did not
        crash = refusals(figures, started, watched=bool(ready.get("watched", True)))
    if crash is None:
        crash = unresponsive(figures, started)
    if crash is not None:
        lost = sum(figures["unanswered"].values())
        crash["unanswered"] = lost
        crash["summary"] = (f"SUT crashed {crash['after_s']:.1f} s into the run "
                            f"({crash['how']}); {lost} request(s) left unanswered")
    core_file = hostdir / "core.json"
    core = json.loads(core_file.read_text()) if core_file.exists() else {}
    sut = {"profile": ready["profile"], "driver": ready["driver"], "ws_url": ready["ws_url"],
           "pid": ready["sut_pid"], "start_log": ready.get("log", [])}
    figures["harness_rss_peak_kib"] = max((kib for _, kib in rss), default=0)  # Locust's, summed
    figures["harness_rss_over_time"] = rss_over_time(rss, started)
    figures["generator_cpu"] = generator_cpu(
        cpu, started, finished, load_report.rate_over_time(figures["per_second"], started, finished))
    document = _write(out, parameters, sut, figures, started, finished, started_iso, crash, core,
                      restarts)
    load = document["load"]
    say(f"wicct load: {load['final_responses']} final responses in {load['duration_s']:.1f} s "
        f"({load['rate_per_s']}/s); {load['judged_messages']} messages judged, "
        f"{sum(v['count'] for v in load['violations'])} violation(s); "
        f"errors: {_errors_line(load['errors'])}")
    generator = load["generator_cpu"]
    if generator["limited"]:
        say(f"wicct load: the load generator was CPU-bound for {generator['busy_seconds']} s of the "
            f"run (a Locust process at {BUSY:g} % of a CPU or more): the rate shows wicct's limit "
            f"as much as the SUT's; give it more processes (--workers) or another machine")
    if crash is not None:
        say(f"wicct load: {crash['summary']}")
    for restart in restarts:
        say(f"wicct load: {restart['summary']}")
    say(f"report: {out / 'report.html'}  (json: {out / 'report.json'}, Locust CSV: {out}/locust_*.csv)")
    failed = any(v["verdict"] == "FAIL" and v["strength"] == "shall" for v in load["violations"])
    broken = "wicct-error" in load["errors"] or not parts or load["final_responses"] == 0
    unprompted = any(not r["hook"] for r in restarts)  # the SUT restarted on its own
    return 1 if crash is not None or failed or broken or unprompted else 0


def run_worker(master_host: str, master_port: int, say: Any = print) -> int:
    """`wicct load --worker`: one Locust worker for a master on another machine (Locust's
    `--worker --master-host H --master-port P`); its settings come from the master when it
    connects, its figures go back in its reports (locustfile.py). It ends when the master
    quits, or when the master has been silent for Locust's heartbeat timeout."""
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
               "--master-host", master_host, "--master-port", str(master_port),
               "--loglevel", "WARNING"]
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["PYTHONUNBUFFERED"] = "1"
    say(f"wicct load: a worker for the master at {master_host}:{master_port}")
    worker = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        return worker.wait()
    except KeyboardInterrupt:
        _stop(worker, 5)
        return 130


def refusals(figures: dict[str, Any], started: float, *, watched: bool = False) -> dict[str, Any] | None:
    """Connections refused after some succeeded: the SUT's listener is gone, so the SUT is
    down even when its process lingers (a Kamailio whose worker died, shutting down) or when
    there is no process to watch (an external SUT). Dated by the first refusal."""
    first = figures["error_first"].get("refused")
    if first is None or not figures["connects"].get("ok"):
        return None
    if _opened_after(figures, first + 1):  # a later second: not one opened just before it
        return None  # it came back: a restart (`dropped_and_accepted`), not a crash
    return {"at": _dt.datetime.fromtimestamp(first, _dt.UTC).isoformat(timespec="seconds"),
            "after_s": round(first - started, 3), "pid": None,
            "how": f"connections refused after {figures['connects']['ok']} succeeded "
                   + ("(its process was still there)" if watched else "(no SUT process to watch)")}


def _read_restarts(hostdir: Path) -> list[dict[str, Any]]:
    try:
        found = json.loads((hostdir / RESTARTS).read_text())
    except (OSError, json.JSONDecodeError):
        return []
    return found if isinstance(found, list) else []


def _lost_between(figures: dict[str, Any], first: float, last: float) -> int:
    return sum(n for t, n in figures["lost_per_second"].items() if first <= int(t) <= last)


def _opened_after(figures: dict[str, Any], at: float) -> int:
    """Connections opened from the second of `at` on (per-second counts: that whole second)."""
    return sum(n for t, n in figures["opened_per_second"].items() if int(t) >= int(at))


def process_restarts(record: list[dict[str, Any]], started: float,
                     figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The SUT's process replaced during the load (the host's restart hook, restarts.json):
    when, how long it was down, the connections it dropped (lost from a second before the
    kill to the new process's start plus a few seconds: a dropped connection is noticed at
    the next read) and the connections accepted after it."""
    found = []
    for entry in record:
        at = float(entry.get("at", 0))
        if at < started:
            continue  # an attached host's earlier restart, not this load's
        back = entry.get("ready_at")
        lost = _lost_between(figures, at - 1, (back or at) + 5)
        accepted = _opened_after(figures, back or at) if back else 0
        how = (f"process {entry.get('old_pid')} replaced by {entry.get('new_pid')} "
               f"(down {back - at:.1f} s)" if back else
               f"process {entry.get('old_pid')} killed; {entry.get('error', 'not started again')}")
        found.append(_restart(at, started, how, lost, accepted, figures, hook=True))
    return found


def dropped_and_accepted(figures: dict[str, Any], started: float) -> list[dict[str, Any]]:
    """A SUT that dropped every connection it held within two seconds, then accepted
    connections again: restarted (its registrations are gone), although no process of its
    was seen replaced (an external SUT, or one restarted by its own supervisor)."""
    peak = figures["peak_connections"]
    lost = {int(t): n for t, n in figures["lost_per_second"].items()}
    for second in sorted(lost):
        dropped = lost[second] + lost.get(second + 1, 0)
        if peak >= 2 and dropped >= peak:
            accepted = _opened_after(figures, second + 2)
            if accepted:
                return [_restart(second, started, f"every connection dropped ({dropped} of "
                                 f"{peak}), then connections accepted again", dropped, accepted,
                                 figures, hook=False)]
    return []


def _restart(at: float, started: float, how: str, lost: int, accepted: int,
             figures: dict[str, Any], *, hook: bool) -> dict[str, Any]:
    unanswered = sum(figures["unanswered"].values())
    return {"at": _dt.datetime.fromtimestamp(at, _dt.UTC).isoformat(timespec="seconds"),
            "after_s": round(at - started, 3), "how": how, "connections_lost": lost,
            "connections_accepted_after": accepted, "unanswered": unanswered, "hook": hook,
            "summary": f"SUT restarted {at - started:.1f} s into the run ({how}"
                       f"{', by wicct' if hook else ''}); {lost} connection(s) lost, "
                       f"{accepted} accepted after it, {unanswered} request(s) left unanswered"}


def _take_secret(path: Path, *, remove: bool) -> str:
    """The token the host minted ("" without one); the file is removed once read unless
    the host is an attached one that later runs still use."""
    if not path.exists():
        return ""
    token = path.read_text(encoding="utf-8").strip()
    if remove:
        path.unlink(missing_ok=True)
    return token


def unresponsive(figures: dict[str, Any], started: float) -> dict[str, Any] | None:
    """A SUT whose process lives but that accepted no connection at all while every
    attempt timed out (a hung Kamailio): reported like a crash, dated by the first timeout."""
    timeouts = [c for c in ("connect-timeout", "timeout") if c in figures["errors"]]
    if figures["connects"].get("ok") or not timeouts:
        return None
    first = min(figures["error_first"].get(c, started) for c in timeouts)
    return {"at": _dt.datetime.fromtimestamp(first, _dt.UTC).isoformat(timespec="seconds"),
            "after_s": round(first - started, 3), "pid": None,
            "how": "unresponsive: no connection accepted, every attempt timed out"}


def _errors_line(errors: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{cause} {e['count']}" for cause, e in errors.items()) or "none"


def rss_over_time(samples: list[tuple[float, int]], started: float) -> list[list[int]]:
    """[second of the run, the largest resident memory of Locust's processes (summed, KiB)
    sampled in it]: what holding the users costs, apart from the peak of their start or
    stop (issue 12's memory per connection is read from the seconds they were all held)."""
    per_second: dict[int, int] = {}
    for at, kib in samples:
        second = int(at) - int(started)  # the clock of `rate_over_time`
        per_second[second] = max(kib, per_second.get(second, 0))
    return [[second, kib] for second, kib in sorted(per_second.items())]


def _watch(processes: list[subprocess.Popen[bytes]], host: Any, ready: dict[str, Any],
           started: float, limit: float, rss: list[tuple[float, int]], hostdir: Path,
           restart_after: float | None, cpu: list[Sample]) -> dict[str, Any] | None:
    """Wait for Locust, looking at the SUT's process meanwhile; the crash, if it died (a
    process the host's restart hook replaced is followed to its successor instead).
    The resident memory of Locust's processes (summed) is sampled into `rss`, the CPU time
    of each into `cpu` (`harness.load.cpu`)."""
    locust = processes[0]
    crash: dict[str, Any] | None = None
    sut_pid = int(ready["sut_pid"])
    watched = ready.get("watched", True)
    deadline = time.monotonic() + limit
    hook_pid = int(ready.get("host_pid", 0)) if restart_after is not None else 0
    while locust.poll() is None:
        if time.monotonic() > deadline:
            _stop(locust, 5)
            break
        if hook_pid and time.time() - started >= (restart_after or 0):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(hook_pid, signal.SIGUSR1)  # the host's restart hook
            hook_pid = 0
        if crash is None and host.poll() is None and watched and not alive(sut_pid):
            entry = next((r for r in _read_restarts(hostdir) if r.get("old_pid") == sut_pid), None)
            if entry is not None and entry.get("new_pid"):
                sut_pid = int(entry["new_pid"])  # replaced: watch its successor
                continue
            if entry is not None and "error" not in entry:
                time.sleep(WATCH)  # being started again
                continue
        if crash is None and (host.poll() is not None or watched and not alive(sut_pid)):
            how = (f"the SUT host exited with {host.returncode}" if host.poll() is not None and
                   sut_pid == host.pid else f"process {sut_pid} is gone")
            crash = {"at": _now_iso(), "after_s": round(time.time() - started, 3), "how": how,
                     "pid": sut_pid}
        rss.append((time.time(), sum(rss_kib(p.pid) for p in processes)))
        last = cpu[-1][1] if cpu else (0.0,) * len(processes)
        cpu.append((time.time(), tuple(seconds if (seconds := cpu_seconds(p.pid)) is not None else was
                                       for p, was in zip(processes, last, strict=True))))
        time.sleep(WATCH)
    return crash


def _profile_value(path: Path, name: str) -> str:
    from harness.profiles import load_profile

    return str(getattr(load_profile(path), name))


def _write(out: Path, parameters: dict[str, Any], sut: dict[str, Any], figures: dict[str, Any],
           started: float, finished: float, started_iso: str, crash: dict[str, Any] | None,
           core: dict[str, int], restarts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    load = load_report.section(parameters=parameters, sut=sut, figures=figures, started=started,
                               finished=finished, crash=crash, core=core, restarts=restarts or [])
    document = load_report.report(load, started_iso, _now_iso())
    (out / "report.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    (out / "report.html").write_text(load_report.render_html(document), encoding="utf-8")
    return document


__all__ = ["LoadOptions", "alive", "dropped_and_accepted", "process_restarts", "rss_over_time",
           "run_load", "run_worker"]
