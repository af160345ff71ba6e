"""Locust's user classes for `wicct load` (imported by Locust only: gevent is active here).

Run by `harness.load.run` as `locust -f <this file> <UserClass...>`, alone or as a master
with local workers (Locust's `--master`, `--worker`, `--expect-workers`). Each user is a `LoadWic`; each transaction is a Locust request
(its CSV files), and each process writes its own figures (`stats.LoadStats`) when it quits.
Never import this module into an asyncio process: Locust's import patches `ssl`.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from locust import User, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner

from harness.load.settings import LoadSettings
from harness.load.stats import LoadStats
from harness.load.wic import LoadWic, Refused, Unanswered
from harness.load.wire import WireError
from harness.pki import client_context

SETTINGS = LoadSettings.from_environment()
STATS = LoadStats()
RETRY_PAUSE = 0.2  # after a lost connection: not a busy loop against a dead SUT
_context: list[Any] = []


def tls_context() -> Any:
    """One client context per process, made after gevent patched ssl (issue 12)."""
    if not _context and SETTINGS.ws_url.startswith("wss:"):
        ca = Path(SETTINGS.ca_pem) if SETTINGS.ca_pem else None
        _context.append(client_context(ca, verify=SETTINGS.tls_verify))
    return _context[0] if _context else None


class WicUser(User):
    """A WIC with one WebSocket; connects and registers first, again after a loss."""

    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        self.wic: LoadWic | None = None

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
        self.wic = LoadWic(SETTINGS, STATS, tls_context(), self._report)
        try:
            self.wic.connect()
            self.wic.register()
        except WireError as exc:
            if self.wic.connected:  # lost after the connect, which counted its own failures
                STATS.error(exc.cause, exc.detail)
            self.lost()
            return None
        except (Unanswered, Refused):
            self.lost()
            return None
        except Exception as exc:  # a wicct bug: counted (an ERROR, never the SUT's fault)
            STATS.error("wicct-error", f"{type(exc).__name__}: {exc}")
            self.lost()
            return None
        return self.wic

    def lost(self) -> None:
        if self.wic is not None:
            self.wic.close()
        time.sleep(RETRY_PAUSE)

    def attempt(self, action: Any) -> None:
        wic = self.ready()
        if wic is None:
            return
        try:
            action(wic)
        except WireError as exc:
            STATS.error(exc.cause, exc.detail)  # the connection was lost
            self.lost()
        except Unanswered:
            self.lost()
        except Refused:
            pass  # counted by the request event
        except Exception as exc:  # a wicct bug: counted (an ERROR, never the SUT's fault)
            STATS.error("wicct-error", f"{type(exc).__name__}: {exc}")
            self.lost()


class RegisterUser(WicUser):
    """Registers, then re-registers every `reregister_interval` seconds (RFC 3261 §10.2.4)."""

    weight = 1

    @task
    def reregister(self) -> None:
        self.attempt(lambda wic: (wic.idle(SETTINGS.reregister_interval), wic.register()))


class IdleUser(WicUser):
    """Holds a registered WebSocket, alternating CRLF keep-alives and Pings (RFC 7118 §6)."""

    weight = 3

    def on_start(self) -> None:
        super().on_start()
        self.pings = False

    @task
    def keep_alive(self) -> None:
        def tick(wic: LoadWic) -> None:
            wic.idle(SETTINGS.keepalive_interval)
            self.pings = not self.pings
            wic.keepalive(self.pings)

        self.attempt(tick)


class CallUser(WicUser):
    """Calls the profile's callee: INVITE, 180, 200, ACK, hold, BYE, 200 (RFC 3261 §13)."""

    weight = 1

    @task
    def call(self) -> None:
        self.attempt(lambda wic: wic.call(SETTINGS.call_hold))


@events.quitting.add_listener
def _write_figures(environment: Environment, **_: Any) -> None:
    """Each process's own figures; the run merges them."""
    if isinstance(environment.runner, MasterRunner):
        return
    where = Path(SETTINGS.stats_dir) / f"stats-{socket.gethostname()}-{os.getpid()}.json"
    where.write_text(json.dumps(STATS.to_json()), encoding="utf-8")
