"""Benchmark: `wicct load` against a raw asyncio websockets client, side by side in one run
against the same Kamailio (issue 12).

One SUT host (`python -m harness.load.host`: Kamailio with the driver's load preset, and
wicct's light IMS core behind it, which challenges and verifies digest) serves every run:
  1. REGISTER rate at 10 and 1,000 users: the raw client (`--baseline`, in a process of its
     own: asyncio `websockets` connections registering back to back, digest answered) and
     `wicct load --scenario register --reregister-interval 0`, run in the order raw, wicct,
     wicct, raw (the SUT's state grows from run to run); the mean steady rate of each
     (after every user connected) and their ratio (target ≥ 0.9); first with every process
     on every CPU (each client competes with the SUT for them, so a client's own cost
     lowers the rate), then, on a second SUT host, with the SUT on half the CPUs and each
     client on the other half, as a load generator on a machine of its own would be (what
     limits is then the SUT, or the client if it needs more than its CPUs). Each pair also
     prints each client's CPU per REGISTER over its measured window (the raw process's own
     CPU time; Locust's processes as `wicct load` samples them, `harness.load.cpu`), and the
     SUT's (Kamailio's and the light core's processes, `SutCpu`) over the same windows: on
     shared CPUs what either client costs, and what its traffic costs the SUT, is taken
     from the other.
  2. The harness's memory per connection: `wicct load --scenario idle` at 10, 1,000 and
     5,000 users, (RSS of Locust's processes while the N users are all held − at 10) /
     (connections held at N − at 10) (target ≤ 40 KiB; ≥ 5,000 connections held); the RSS
     while held is the median of the per-second samples once every user connected, as the
     peak also holds what starting and stopping them allocated (printed beside it). The idle
     users connect at `--idle-spawn` a second (100), a rate the SUT takes: a failed connect's
     allocations stay in the heap (`IDLE_SPAWN_RATE`); the REGISTER runs at `--spawn` (500).
  3. A two-worker run (`--workers 2`) at 1,000 registering users.
Every REGISTER goes through Kamailio to the light core and back, for both clients. The
machine may be shared: the figures are printed with the number of cores and the load
average before the run.

    .venv/bin/python bench/load_bench.py [--time 10] [--large 1000] [--idle 1000,5000] [--ramp 45]
        [--spawn 500] [--idle-spawn 100]

A wicct run above 100 users allows `--ramp` seconds for its users' connects before the
measured window; a run left with less than half of `--time` measured says so instead of
a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as _dt
import json
import os
import resource
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.load.cpu import cpu_seconds, per_response_us  # noqa: E402
from harness.load.host import READY  # noqa: E402
from harness.load.run import LoadOptions, run_load  # noqa: E402
from harness.load.wic import USER_AGENT  # noqa: E402
from harness.profiles import load_profile  # noqa: E402
from harness.sip import (  # noqa: E402
    build_digest_authorization,
    build_request,
    new_branch,
    new_tag,
    parse,
    parse_challenge,
)

# -- the raw client (run with --baseline, in its own process) ---------------------------------
SPAWN_RATE = 500.0  # connections a second of both clients' REGISTER runs (`--spawn`)
# connections a second of the idle runs (`--idle-spawn`): what they measure is memory per
# held connection, and a ramp faster than the SUT takes its handshakes leaves the failed
# connects' allocations in the process's heap. Measured on a 2-core VM at 5,000 users: at 500
# a second Kamailio closed 2,329 handshakes and the figure read 46.1 KiB, at 100 a second
# none and 37.5 KiB; 20,000 failed connects alone leave nothing (no leak, the heap's peak)
IDLE_SPAWN_RATE = 100.0
# seconds a wicct run allows, beyond its spawn time, for every user to connect before the
# measured window: at 1,000 users on a slower machine (a nested VM) the last connects came
# 30 to 49 s late, the SUT (one TLS worker, busy with the users already registering) being
# slow to take them; 1 + 2 + 4 + 8 + 16 s, the kernel's SYN retries, fits that spread
RAMP_SMALL, RAMP_LARGE = 12.0, 45.0
CONNECT_ATTEMPTS = 3


def _register(user: str, host: str, call_id: str, tag: str, cseq: int, domain: str,
              authorization: str | None) -> bytes:
    fields = [("Via", f"SIP/2.0/WSS {host};branch={new_branch()}"), ("Max-Forwards", "70"),
              ("To", f"<sip:{user}@{domain}>"), ("From", f"<sip:{user}@{domain}>;tag={tag}"),
              ("Call-ID", call_id), ("CSeq", f"{cseq} REGISTER"),
              ("Contact", f"<sip:{user}@{host};transport=ws>"), ("Expires", "600"),
              ("Supported", "path")]
    if authorization:
        fields.append(("Authorization", authorization))
    fields.append(("User-Agent", USER_AGENT))  # the same REGISTER as wicct load's users send
    return build_request("REGISTER", f"sip:{domain}", fields).to_bytes()


async def _raw_user(context: ssl.SSLContext, args: argparse.Namespace, state: dict[str, Any]) -> None:
    """One raw WIC: connect, wait for all, then REGISTER back to back (digest answered)."""
    from websockets.asyncio.client import connect
    from websockets.typing import Origin, Subprotocol

    user = f"raw{os.getpid()}x{secrets.token_hex(4)}"
    host = f"{secrets.token_hex(6)}.invalid"
    call_id, tag, cseq, nc = f"{secrets.token_hex(10)}@{host}", new_tag(), 0, 0
    challenge = None
    # connect as wicct load's users do: spread at the same spawn rate (`--spawn`), and
    # a refused or reset handshake tried again, so both clients reach the same SUT alike
    index, state["index"] = state["index"], state["index"] + 1
    await asyncio.sleep(index / args.spawn)
    for attempt in range(CONNECT_ATTEMPTS):
        try:
            ws = await connect(args.url, ssl=context, server_hostname=args.server_hostname,
                               origin=Origin(args.origin), subprotocols=[Subprotocol("sip")],
                               max_size=None, compression=None, open_timeout=120)
            break
        except OSError:
            if attempt == CONNECT_ATTEMPTS - 1:
                raise
            state["retried"] += 1  # wicct load counts these as connect errors by cause
            await asyncio.sleep(0.5)
    async with ws:
        state["connected"] += 1
        if state["connected"] == args.users:
            state["all"].set()
        await state["all"].wait()
        while time.monotonic() < state["until"]:
            cseq += 1
            authorization = None
            if challenge is not None:
                nc += 1
                authorization = build_digest_authorization(
                    username=f"{user}@{args.domain}", realm=challenge.param("realm") or args.domain,
                    password=args.password, method="REGISTER", uri=f"sip:{args.domain}",
                    nonce=challenge.param("nonce") or "", qop="auth", nc=nc)
            sent = time.monotonic()
            await ws.send(_register(user, host, call_id, tag, cseq, args.domain, authorization).decode())
            while True:
                data = await ws.recv()
                payload = data.encode() if isinstance(data, str) else data
                if payload.strip(b"\r\n"):
                    break
            response = parse(payload).message
            if response.status == 401:
                challenge = parse_challenge(response.header("WWW-Authenticate") or "")
            elif response.status == 200 and time.monotonic() >= state["from"]:
                state["registered"] += 1
                state["latency"].append(time.monotonic() - sent)


async def _raw(args: argparse.Namespace) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=args.ca)
    state: dict[str, Any] = {"connected": 0, "all": asyncio.Event(), "registered": 0, "retried": 0,
                             "until": float("inf"), "from": float("inf"), "index": 0,
                             "latency": []}
    tasks = [asyncio.create_task(_raw_user(context, args, state)) for _ in range(args.users)]
    await asyncio.wait_for(state["all"].wait(), 180)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    state["from"] = time.monotonic() + 1.0  # a second to settle, then measure
    state["until"] = state["from"] + args.time
    await asyncio.sleep(1.0)
    cpu, wall = time.process_time(), [time.time()]  # this process's CPU over the measured window only
    await asyncio.sleep(max(0.0, state["until"] - time.monotonic()))
    cpu = time.process_time() - cpu
    wall.append(time.time())
    done, _ = await asyncio.wait(tasks, timeout=args.time + 60)
    errors = [repr(t.exception()) for t in done if t.exception() is not None]
    latency = sorted(state["latency"]) or [0.0]
    percentiles = {f"p{p:g}": round(1000 * latency[min(len(latency) - 1, int(len(latency) * p / 100))], 3)
                   for p in (50, 90, 99, 99.9)}
    return {"users": args.users, "registered": state["registered"], "latency_ms": percentiles,
            "rate": state["registered"] / args.time, "rss_kib_connected": rss,
            "cpu_us_per_register": round(1e6 * cpu / state["registered"], 1) if state["registered"] else 0.0,
            "errors": len(errors), "first_error": errors[0] if errors else None, "window": wall,
            "connects_retried": state["retried"]}


# -- the comparison ------------------------------------------------------------------------
def steady_window(load: dict[str, Any], run_seconds: float) -> tuple[int, int]:
    """The seconds [start, end) of the run once every user connected, as the raw client
    measures: from a second after the last connection opened to the end of Locust's run
    time, its last second left out (Locust stops users in it)."""
    opened = [t for t, n, _ in load["connections_over_time"] if n]
    return (opened[-1] if opened else 0) + 2, int(run_seconds) - 1


def steady_rate(load: dict[str, Any], run_seconds: float) -> tuple[float, int]:
    """REGISTER 200s per second over the steady window, and its length in seconds."""
    start, end = steady_window(load, run_seconds)
    window = [n for t, n in load["rate_over_time"] if start <= t < end]
    return (sum(window) / len(window) if window else 0.0), len(window)


def raw_run(ready: dict[str, Any], profile: Any, users: int, seconds: float,
            spawn: float = SPAWN_RATE) -> dict[str, Any]:
    command = [sys.executable, __file__, "--baseline", "--url", ready["ws_url"], "--ca", ready["ca_pem"],
               "--server-hostname", ready["host"], "--origin", profile.wwsf_origin,
               "--domain", profile.domain, "--users", str(users), "--time", str(seconds),
               "--spawn", str(spawn)]
    env = {**os.environ, "WICCT_BENCH_PASSWORD": profile.password}
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300, env=env)
    if done.returncode != 0:
        return {"rate": 0.0, "error": done.stderr[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def ramp_allowance(users: int, large: float = RAMP_LARGE) -> float:
    """Seconds allowed for the ramp's connects beyond the spawn time (`RAMP_LARGE`)."""
    return RAMP_SMALL if users <= 100 else large


def wicct_run(out: Path, hostdir: Path, profile_path: Path, scenario: str, users: int,
              seconds: float, workers: int = 0, ramp: float = RAMP_LARGE,
              spawn: float = SPAWN_RATE) -> dict[str, Any]:
    spawn = float(min(users, spawn))
    # the ramp, its connects (slower than the spawn rate while the first users already
    # load the SUT), then the measured window
    run_seconds = round(seconds + users / spawn + ramp_allowance(users, ramp))
    # a response timeout of 120 s, as the raw client has 120 s to open a connection (and waits
    # for responses without limit): a SUT on one CPU, registering the users already
    # connected, takes more than 10 s to finish some handshakes of the ramp
    options = LoadOptions(profile=profile_path, users=users, spawn_rate=spawn,
                          time_s=run_seconds, scenario=scenario, out=out,
                          workers=workers, reregister_interval=0.0, keepalive_interval=20.0,
                          response_timeout=120.0, attach=hostdir)
    code = run_load(options, say=lambda text: None)
    document = json.loads((out / "report.json").read_text())
    load = document["load"]
    load["exit"], load["started"], load["run_seconds"] = code, document["started"], run_seconds
    load["steady_rate"], load["steady_seconds"] = steady_rate(load, run_seconds)
    load["asked_seconds"] = seconds
    # the Locust processes' CPU per REGISTER over the same window (harness.load.cpu)
    load["cpu_us_per_register"] = round(per_response_us(
        load["generator_cpu"], load["rate_over_time"], *steady_window(load, run_seconds)), 1)
    load["held_rss_kib"] = held_rss(load, run_seconds)
    return load


def held_rss(load: dict[str, Any], run_seconds: float) -> int:
    """The median of Locust's resident memory over the seconds every user was connected
    (`steady_window`): what holding them costs, apart from the allocations of their start
    and of their stop, which the peak includes; the peak when no second qualifies."""
    start, end = steady_window(load, run_seconds)
    held = sorted(kib for t, kib in load.get("harness_rss_over_time", []) if start <= t < end)
    return held[len(held) // 2] if held else int(load["harness_rss_peak_kib"])


@contextlib.contextmanager
def on_cpus(cpus: set[int] | None) -> Iterator[None]:
    """This process (and the processes it starts meanwhile: they inherit it) on `cpus`."""
    if not cpus:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def split_cpus() -> tuple[set[int], set[int]] | None:
    """The SUT's CPUs and the load generators' (half each), None on a single CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    half = len(cpus) // 2
    return set(cpus[:half]), set(cpus[half:])


class Host:
    """The one SUT host of the bench; started again (and said so) when the SUT died. With
    `cpus`, the SUT (its host, Kamailio, the light core) runs on those CPUs only."""

    def __init__(self, profile_path: Path, workdir: Path, cpus: set[int] | None = None) -> None:
        self.profile_path = profile_path
        self.workdir = workdir
        self.cpus = cpus
        self.process: subprocess.Popen[bytes] | None = None
        self.dir = workdir
        self.ready: dict[str, Any] = {}
        self.starts = 0

    def ensure(self, phase: str) -> dict[str, Any]:
        if self.process is not None and self.process.poll() is None:
            return self.ready
        if self.process is not None:
            print(f"  (the SUT died before {phase}: its log is in {self.dir / 'sut.log'}; started again)")
        self.starts += 1
        self.dir = self.workdir / f"host-{self.starts}"
        self.dir.mkdir(parents=True)
        with on_cpus(self.cpus):
            self.process = subprocess.Popen(
                [sys.executable, "-m", "harness.load.host", "--profile", str(self.profile_path),
                 "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, cwd=ROOT)
        deadline = time.monotonic() + 90
        while not (self.dir / READY).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        self.ready = json.loads((self.dir / READY).read_text())
        if "error" in self.ready:
            raise RuntimeError(f"the SUT did not start: {self.ready['error']}")
        return self.ready

    def dead(self) -> bool:
        return self.process is None or self.process.poll() is not None

    def once_more(self, phase: str, run: Any) -> Any:
        """`run()` on a live SUT; when the SUT died or hung during it (Kamailio 5.6.3's TLS
        workers do, see the README), said so, the SUT started again and `run()` tried once
        more: the figures then come from the second try."""
        self.ensure(phase)
        result = run()
        time.sleep(1.0)  # a SUT host whose Kamailio died is ending by now
        crashed = isinstance(result, dict) and result.get("crash") or self.dead()
        if crashed:
            print(f"  (the SUT died or hung during {phase}: {self.dir / 'sut.log'}; started "
                  "again, the run repeated once)")
            self.stop()
            self.process = None
            self.ensure(phase)
            result = run()
        return result

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


class SutCpu:
    """The SUT's CPU (its host with the light core, and Kamailio's processes: every process
    of their two sessions) sampled twice a second while it runs, to say how much CPU the
    SUT spent per REGISTER under each client over the same window as the client's own."""

    PERIOD = 0.5

    def __init__(self, host: Host) -> None:
        self.sessions: set[int] = set()
        for pid in (host.process.pid if host.process else None, host.ready.get("sut_pid")):
            with contextlib.suppress(OSError, TypeError, ValueError):  # gone, or none
                self.sessions.add(os.getsid(int(pid)))  # type: ignore[arg-type]
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> SutCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(5)

    def _watch(self) -> None:
        while not self.done.is_set():
            used = 0.0
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                with contextlib.suppress(OSError):  # gone meanwhile
                    if os.getsid(int(entry)) in self.sessions:
                        used += cpu_seconds(int(entry)) or 0.0
            self.samples.append((time.time(), used))
            self.done.wait(self.PERIOD)

    def per_register_us(self, window: list[float], rate: float) -> float:
        """CPU seconds between the samples nearest the window's ends, per REGISTER at `rate`."""
        inside = [(t, c) for t, c in self.samples if window[0] - self.PERIOD <= t <= window[1] + self.PERIOD]
        if len(inside) < 2 or rate <= 0:
            return 0.0
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return 1e6 * (c1 - c0) / ((t1 - t0) * rate) if t1 > t0 else 0.0


def wicct_window(load: dict[str, Any]) -> list[float]:
    """`steady_window` as wall-clock times: its seconds count from the run's start second."""
    start, end = steady_window(load, load["run_seconds"])
    origin = _dt.datetime.fromisoformat(load["started"]).timestamp()
    return [origin + start, origin + end]


def register_pair(host: Host, profile: Any, profile_path: Path, out: Path, users: int,
                  seconds: float, ramp: float = RAMP_LARGE,
                  spawn: float = SPAWN_RATE) -> dict[str, Any]:
    """The raw client and `wicct load` registering at `users` against `host`, in the order
    raw, wicct, wicct, raw: the SUT keeps state from run to run (Kamailio's hash tables of
    registered flows and identities grow for two hours) and the machine's load drifts, so
    each client's rate is the mean of a run early and a run late. One line printed with
    both means, each run's rate and their ratio; the raw client's first run returned."""
    def raw_once(run: int) -> dict[str, Any]:
        return host.once_more(f"the raw client at {users} (run {run})",
                              lambda: raw_run(host.ready, profile, users, seconds, spawn))

    def wicct_once(run: int) -> dict[str, Any]:
        return host.once_more(f"wicct load at {users} (run {run})", lambda: wicct_run(
            out / f"register-{users}-{run}", host.dir, profile_path, "register", users, seconds,
            ramp=ramp, spawn=spawn))

    starts = host.starts
    with SutCpu(host) as sut:
        raws = [raw_once(1)]
        loads = [wicct_once(1), wicct_once(2)]
        raws.append(raw_once(2))
    sut_raw = [sut.per_register_us(r["window"], r["rate"]) for r in raws if r.get("window")]
    sut_wicct = [sut.per_register_us(wicct_window(x), x["steady_rate"]) for x in loads]
    sut_line = (f"the SUT's CPU per REGISTER under raw {sum(sut_raw) / max(1, len(sut_raw)):.0f} µs, "
                f"under wicct {sum(sut_wicct) / 2:.0f} µs" if host.starts == starts
                else "the SUT's CPU not measured (it was started again meanwhile)")
    raw_rate = sum(r.get("rate", 0.0) for r in raws) / 2
    load_rate = sum(x["steady_rate"] for x in loads) / 2
    ratio = load_rate / raw_rate if raw_rate else 0.0
    short = [x for x in loads if not steady_enough(x)]
    raw, load = raws[0], loads[0]
    raw_cpu = sum(r.get("cpu_us_per_register", 0.0) for r in raws) / 2
    load_cpu = sum(x["cpu_us_per_register"] for x in loads) / 2
    print(f"  REGISTER at {users} users: raw asyncio {raw_rate:.0f}/s ({raws[0].get('rate', 0):.0f}, "
          f"{raws[1].get('rate', 0):.0f}), wicct load {load_rate:.0f}/s ({loads[0]['steady_rate']:.0f}, "
          f"{loads[1]['steady_rate']:.0f}) over {load['steady_seconds']} s once all connected, "
          + (f"ratio {ratio:.2f} (target ≥ 0.9); " if not short else
             f"ratio NOT MEASURED: {len(short)} wicct run(s) had less than half the asked "
             f"{seconds:g} s with every user connected (the ramp's connects, p99 "
             f"{[_connect_p99(x) for x in short]} s, took longer than --ramp allows); ")
          + "wicct: "
          f"{sum(len(x['violations']) for x in loads)} violation kinds, errors "
          f"{[x['errors'] for x in loads if x['errors']] or 'none'}, "
          f"p50 {load['latency'].get('REGISTER', {}).get('percentiles_ms', {}).get('p50')} ms "
          f"(raw {raw.get('latency_ms', {}).get('p50')} ms); client CPU per REGISTER: raw "
          f"{raw_cpu:.0f} µs, wicct {load_cpu:.0f} µs; {sut_line}"
          + ("; wicct's generator was CPU-bound" if any(x["generator_cpu"]["limited"] for x in loads) else "")
          + "".join(f"; raw errors {r.get('errors')} {r.get('first_error') or r.get('error') or ''}"
                    for r in raws if r.get("errors") or r.get("error"))
          + (f"; raw connects tried again {sum(r.get('connects_retried', 0) for r in raws)}"
             if any(r.get("connects_retried") for r in raws) else "")
          + "".join(_crash(x) for x in loads))
    return raw


def steady_enough(load: dict[str, Any]) -> bool:
    """At least half the asked seconds measured with every user connected."""
    return 2 * load["steady_seconds"] >= load["asked_seconds"]


def _connect_p99(load: dict[str, Any]) -> float:
    ms = load["latency"].get("connect", {}).get("percentiles_ms", {}).get("p99") or 0.0
    return round(ms / 1000, 1)


def _crash(load: dict[str, Any]) -> str:
    return f"; CRASH: {load['crash']['summary']}" if load["crash"] else ""


def compare(args: argparse.Namespace) -> int:
    from harness.builtin import resolve_profile

    profile_path, _ = resolve_profile(args.profile)
    profile = load_profile(profile_path)
    workdir = Path(tempfile.mkdtemp(prefix="wicct-load-bench-"))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run "
          "(shared with other sessions: figures are indicative)")
    host = Host(profile_path, workdir)
    try:
        ready = host.ensure("the first run")
        print(f"SUT: {ready['driver']} at {ready['ws_url']} (pid {ready['sut_pid']})")
        print("every process on every CPU (the clients compete with the SUT for them):")
        for users in (args.small, args.large):
            raw = register_pair(host, profile, profile_path, workdir / "shared", users, args.time,
                                args.ramp, args.spawn)
            if users == args.large and raw.get("rss_kib_connected"):
                print(f"  raw client memory: {raw['rss_kib_connected'] / users:.0f} KiB per connection "
                      f"(whole process, {users} connections)")
        split = split_cpus()
        if split is not None:
            sut_cpus, load_cpus = split
            print(f"the SUT on CPUs {sorted(sut_cpus)}, each client on {sorted(load_cpus)} (as a load "
                  "generator on a machine of its own: what limits is the SUT or the client):")
            pinned = Host(profile_path, workdir / "pinned", sut_cpus)
            try:
                pinned.ensure("the pinned runs")
                with on_cpus(load_cpus):
                    for users in (args.small, args.large):
                        register_pair(pinned, profile, profile_path, workdir / "pinned", users,
                                      args.time, args.ramp, args.spawn)
            finally:
                pinned.stop()
        base = host.once_more("idle at 10", lambda: wicct_run(
            workdir / "idle-10", host.dir, profile_path, "idle", 10, 3, spawn=args.idle_spawn))
        for users in args.idle:
            idle = host.once_more(f"idle at {users}", lambda u=users: wicct_run(
                workdir / f"idle-{u}", host.dir, profile_path, "idle", u, 5, ramp=args.ramp,
                spawn=args.idle_spawn))
            held = idle["peak_connections"] - base["peak_connections"]
            per = (idle["held_rss_kib"] - base["held_rss_kib"]) / max(1, held)
            peak = (idle["harness_rss_peak_kib"] - base["harness_rss_peak_kib"]) / max(1, held)
            failed = idle["connects"].get("failed", 0)
            print(f"idle {users} users ({args.idle_spawn:g} connects a second): "
                  f"{idle['peak_connections']} connections held, Locust RSS "
                  f"{idle['held_rss_kib'] / 1024:.0f} MiB while held, {per:.1f} KiB per connection "
                  f"(target ≤ 40; from the peak, with the users' start and stop: {peak:.1f}"
                  + (f"; with the allocations of {failed} failed connects" if failed else "")
                  + f"); errors {idle['errors'] or 'none'}{_crash(idle)}")
        two = host.once_more("the two-worker run", lambda: wicct_run(
            workdir / "workers-2", host.dir, profile_path, "register", args.large, args.time,
            workers=2, ramp=args.ramp, spawn=args.spawn))
        print(f"two workers, {args.large} users: {two['steady_rate']:.0f} REGISTER/s over "
              f"{two['steady_seconds']} s once all connected, "
              f"{two['peak_connections']} connections, errors {two['errors'] or 'none'}, "
              f"{len(two['violations'])} violation kinds{_crash(two)}")
        print(f"reports under {workdir}")
        return 0
    except RuntimeError as exc:
        print(exc)
        return 2
    finally:
        host.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url")
    parser.add_argument("--ca")
    parser.add_argument("--server-hostname", default="127.0.0.1")
    parser.add_argument("--origin")
    parser.add_argument("--domain")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--profile", default="kamailio-epcscf")
    parser.add_argument("--time", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--ramp", type=float, default=RAMP_LARGE,
                        help="seconds a wicct run above 100 users allows for its connects")
    parser.add_argument("--idle", type=lambda t: [int(x) for x in t.split(",")], default=[1000, 5000])
    parser.add_argument("--spawn", type=float, default=SPAWN_RATE,
                        help="connections a second of the REGISTER runs (both clients)")
    parser.add_argument("--idle-spawn", type=float, default=IDLE_SPAWN_RATE,
                        help="connections a second of the idle runs")
    args = parser.parse_args()
    if args.baseline:
        args.password = os.environ.get("WICCT_BENCH_PASSWORD", "")
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        print(json.dumps(asyncio.run(_raw(args))))
        return 0
    return compare(args)


if __name__ == "__main__":
    raise SystemExit(main())
