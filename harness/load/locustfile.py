"""Locust's user classes for `wicct load` (imported by Locust only: gevent is active here).

Run by `harness.load.run` as `locust -f <this file> <UserClass...>`, alone or as a master
with workers (Locust's `--master`, `--worker`, `--expect-workers`). Each user is a
`LoadWic`; each transaction is a Locust request (its CSV files).
A process started by `wicct load` on this machine reads its settings from the file its
environment names and writes its own figures (`stats.LoadStats`) when it quits. A worker
on another machine (`wicct load --worker --master-host H`) has no such file: the master
sends it the settings (with the CA's certificate) as a Locust message when it connects,
and the worker sends its figures back in Locust's reports to the master (`report_to_master`,
every few seconds and once more when it stops); the master writes them when it quits.
Never import this module into an asyncio process: Locust's import patches `ssl`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import random
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
from gevent.event import Event  # type: ignore[import-untyped]
from gevent.socket import wait_read  # type: ignore[import-untyped]
from locust import User, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.load.settings import ENV, LoadSettings
from harness.load.stats import LoadStats
from harness.load.wic import LoadWic, Refused, Unanswered, reconnect_pause
from harness.load.wire import Watch, WireError
from harness.pki import client_context

STATS = LoadStats()
# Python's cyclic garbage collector, run after every 700 new container objects by default,
# spent about 5 % of this process's CPU under load (measured with perf: 1,000 users each
# holding their connection's objects, traversed again and again); the users make almost no
# reference cycles (reference counting frees their objects), so it runs 30 times less often
GC_THRESHOLDS = (20_000, 50, 50)
gc.set_threshold(*GC_THRESHOLDS)
BURST = 1.0  # seconds of back-to-back re-registrations in one task (RegisterUser)
SETTINGS_MESSAGE = "wicct-settings"  # master → a worker on another machine
HELLO_MESSAGE = "wicct-hello"  # that worker → master: send me the settings
SETTINGS_WAIT = 60.0  # seconds a remote worker's users wait for the master's settings
_settings: list[LoadSettings] = []
_settings_came = Event()
_remote_figures: dict[str, dict[str, Any]] = {}  # master: the latest figures of each remote worker
_context: list[Any] = []
# the deadlines of the responses this process's users await, swept by one greenlet: a
# read with a timer of its own made, armed and dropped a gevent Timeout and a libev timer
# per response (5 % of the client's CPU per REGISTER, measured; issue 12)
WATCH = Watch(wait_read)
_sweeper: list[Any] = []
if os.environ.get(ENV):
    _settings.append(LoadSettings.from_environment())
    _settings_came.set()


def settings() -> LoadSettings:
    """This process's settings: from its file, or (a remote worker) from the master."""
    if not _settings_came.wait(SETTINGS_WAIT):
        raise RuntimeError(f"no settings from the master within {SETTINGS_WAIT:g} s")
    return _settings[0]


def remote() -> bool:
    """A worker whose settings came from the master: it has no figures directory of the run."""
    return not os.environ.get(ENV)


def watch() -> Watch:
    """This process's `Watch`, its sweeping greenlet started with the first user."""
    if not _sweeper:
        _sweeper.append(gevent.spawn(_sweep))
    return WATCH


def _sweep() -> None:
    """Every awaited response's deadline rests on this loop: a wicct bug in one sweep is
    counted (an ERROR, never the SUT's fault) and the next sweep comes all the same."""
    while True:
        gevent.sleep(Watch.SWEEP)
        try:
            WATCH.expire(time.monotonic())
        except Exception as exc:
            STATS.error("wicct-error", f"deadline sweep: {type(exc).__name__}: {exc}")


def tls_context() -> Any:
    """One client context per process, made after gevent patched ssl (issue 12)."""
    mine = settings()
    if not _context and mine.ws_url.startswith("wss:"):
        ca = Path(mine.ca_pem) if mine.ca_pem else None
        _context.append(client_context(ca, verify=mine.tls_verify))
    return _context[0] if _context else None


class WicUser(User):
    """A WIC with one WebSocket; connects and registers first, again after a loss."""

    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        self.wic: LoadWic | None = None
        self.failures = 0  # consecutive lost or failed connections (RFC 5626 §4.5)

    def on_stop(self) -> None:
        if self.wic is not None:
            self.wic.close()
            self.wic = None

    def _report(self, name: str, seconds: float, length: int, error: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="WSS", name=name, response_time=seconds * 1000.0,
            response_length=length, exception=error, context={},
        )

    def ready(self) -> LoadWic | None:
        """The registered WIC, (re)connected if needed; None when that failed just now."""
        if self.wic is not None and self.wic.connected:
            return self.wic
        self.wic = LoadWic(settings(), STATS, tls_context(), self._report, watch())
        try:
            self.wic.connect()
            self.wic.register()
        except WireError as exc:
            if self.wic.connected:  # lost after the connect, which counted its own failures
                STATS.lost(exc.cause, exc.detail)
            self.lost()
            return None
        except (Unanswered, Refused):
            self.lost()
            return None
        except Exception as exc:  # a wicct bug: counted (an ERROR, never the SUT's fault)
            STATS.error("wicct-error", f"{type(exc).__name__}: {exc}")
            self.lost()
            return None
        self.failures = 0
        return self.wic

    def lost(self) -> None:
        """The WIC closed, and a wait before the next connect that grows with each failure
        in a row (`reconnect_pause`): never a busy loop against a dead or struggling SUT."""
        if self.wic is not None:
            self.wic.close()
        self.failures += 1
        time.sleep(reconnect_pause(self.failures, random.random()))

    @contextlib.contextmanager
    def outcome(self) -> Iterator[None]:
        """Around what a task does with its WIC: a lost connection, an unanswered request or a
        wicct bug is counted and the WIC dropped (the next task connects again). A context
        manager, not a call: a user blocks in its WIC's read under as few frames as can be
        (each greenlet keeps its own Python frames: every 4 KiB page of them is memory per
        connection, issue 12)."""
        try:
            yield
        except WireError as exc:
            STATS.lost(exc.cause, exc.detail)  # the connection was lost
            self.lost()
        except Unanswered:
            self.lost()
        except Refused:
            pass  # counted by the request event
        except Exception as exc:  # a wicct bug: counted (an ERROR, never the SUT's fault)
            STATS.error("wicct-error", f"{type(exc).__name__}: {exc}")
            self.lost()


class RegisterUser(WicUser):
    """Registers, then re-registers every `reregister_interval` seconds (RFC 3261 §10.2.4).

    Back to back (an interval of 0), one task re-registers for up to `BURST` seconds: a task
    ends in Locust's yield (`gevent.sleep(0)`), which runs only once the responses already
    read are handled, so with a yield after every REGISTER thousands of users send in bursts
    and the SUT idles between them. Locust still stops a user between two tasks."""

    weight = 1

    @task
    def reregister(self) -> None:
        interval = settings().reregister_interval
        wic = self.ready()
        if wic is None:
            return
        with self.outcome():
            until = time.monotonic() + (BURST if interval == 0 else 0.0)
            while True:
                wic.idle(interval)
                wic.register()
                if time.monotonic() >= until:
                    return


class IdleUser(WicUser):
    """Holds a registered WebSocket, alternating CRLF keep-alives and Pings (RFC 7118 §6)."""

    weight = 3

    def on_start(self) -> None:
        super().on_start()
        self.pings = False

    @task
    def keep_alive(self) -> None:
        wic = self.ready()
        if wic is None:
            return
        with self.outcome():
            wic.idle(settings().keepalive_interval)
            self.pings = not self.pings
            wic.keepalive(self.pings)


class CallUser(WicUser):
    """Calls the profile's callee: INVITE, 180, 200, ACK, hold, BYE, 200 (RFC 3261 §13)."""

    weight = 1

    @task
    def call(self) -> None:
        wic = self.ready()
        if wic is None:
            return
        with self.outcome():
            wic.call(settings().call_hold)


@events.init.add_listener
def _wire_workers(environment: Environment, **_: Any) -> None:
    """Master: settings to each worker that connects, figures from remote workers' reports.
    Worker: settings from the master when it has none; its figures in each report."""
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        def greet(client_id: str, **_: Any) -> None:
            mine = settings()
            ca = Path(mine.ca_pem).read_text(encoding="ascii") if mine.ca_pem else None
            runner.send_message(SETTINGS_MESSAGE, {"settings": dataclasses.asdict(mine), "ca": ca},
                                client_id=client_id)

        def collect(client_id: str, data: dict[str, Any], **_: Any) -> None:
            if "wicct" in data:
                _remote_figures[client_id] = data["wicct"]

        def hello(environment: Environment, msg: Any, **_: Any) -> None:
            greet(msg.node_id)

        # when asked, not on connect: a worker connects before it listens for messages
        runner.register_message(HELLO_MESSAGE, hello)
        environment.events.worker_report.add_listener(collect)
    elif isinstance(runner, WorkerRunner) and remote():
        runner.register_message(SETTINGS_MESSAGE, _take_settings)
        runner.send_message(HELLO_MESSAGE)

        def report(client_id: str, data: dict[str, Any], **_: Any) -> None:
            data["wicct"] = STATS.to_json()

        environment.events.report_to_master.add_listener(report)


def _take_settings(environment: Environment, msg: Any, **_: Any) -> None:
    """A remote worker's settings, with the CA's certificate written to a file of its own."""
    if _settings_came.is_set():
        return
    body = msg.data  # a Locust message's body, not a timeline entry
    given = dict(body["settings"])
    if body.get("ca"):
        ca = Path(tempfile.mkdtemp(prefix="wicct-worker-")) / "ca.pem"
        ca.write_text(body["ca"], encoding="ascii")
        given["ca_pem"] = str(ca)
    _settings.append(LoadSettings(**given))
    _settings_came.set()


@events.quitting.add_listener
def _write_figures(environment: Environment, **_: Any) -> None:
    """Each local process's own figures, and the master's copy of each remote worker's; the
    run merges them."""
    if isinstance(environment.runner, MasterRunner):
        where = Path(settings().stats_dir)
        for client_id, figures in _remote_figures.items():
            name = "".join(c if c.isalnum() or c in "-_" else "_" for c in client_id)
            (where / f"stats-remote-{name}.json").write_text(json.dumps(figures), encoding="utf-8")
        return
    if remote():
        return  # sent to the master in its reports
    where = Path(settings().stats_dir) / f"stats-{socket.gethostname()}-{os.getpid()}.json"
    where.write_text(json.dumps(STATS.to_json()), encoding="utf-8")
