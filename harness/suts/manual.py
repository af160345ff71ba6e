"""Manual drivers: a person at the bench does what a driver would do, wicct says what.

For labs testing a product by hand. Every step prints one instruction for the operator
("Make the WIC register now (eP-CSCF URL wss://127.0.0.1:7443/, trust the CA in ...)") and
waits for the answer on the same terminal:
  Enter (or y, yes, ok, done)   done: the verb returns
  skip [reason]                 DriverError ("skipped by the operator")
  fail [reason]                 DriverError ("the operator reports it failed")
  no                            register only, which also asks "does the WIC show that it is
                                registered?": done, but it does not (state() says so)
No answer within the prompt timeout is a DriverError too. At `start()` the same answers
make the SUT unavailable instead (SutUnavailable: the case is INCONCLUSIVE).

The terminal is `/dev/tty` when it can be opened (so it works under pytest's capture and
under `wicct run`), else stdin/stderr when stdin is a TTY; with neither (CI) `start()`
raises SutUnavailable("the manual driver needs an operator at a terminal"). Tests and
embedding programs pass their own pair of streams: `ManualWicDriver(streams=(inp, out))`.

The blocking read runs in one daemon thread per terminal (shared by every driver in the
process, so a prompt that timed out never leaves a second reader behind to steal the next
answer); the event loop only polls for the line. Lines typed while no prompt was waiting
are dropped.

Driver options (profile `driver_options`):
  prompt_timeout: 120      seconds (or "90s") the operator has for each step; capped by
                           timers.start_timeout, which wicct's environments put around
                           start() and every verb (so raise both for a manual profile)

ManualEpcscfDriver reads sut.url (required), sut.ca (`generated`: wicct writes a
certificate from the run's CA for the operator to install; a path; or `system`) and
sut.domain, and checks after the operator's confirmation that sut.url accepts TCP within
timers.start_timeout. ManualWicDriver tells the operator the eP-CSCF emulator's URL and the
run's CA file; a fixed emulator port (driver_options.listen_port, where the environment
honours it) saves re-entering the URL for every case.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar, TextIO

from harness.pki import LOOPBACK_NAMES
from harness.profiles import Profile, parse_duration
from harness.suts.base import (
    DriverError,
    EpcscfDriver,
    EpcscfEndpoint,
    EpcscfEnv,
    SutUnavailable,
    WicDriver,
    WicEnv,
    WicState,
)
from harness.suts.external import check_reachable, parse_wss_url, resolve_ca

DEFAULT_PROMPT_TIMEOUT = 120.0
POLL_INTERVAL = 0.05  # how often the event loop looks for the operator's line
NO_TERMINAL = "the manual driver needs an operator at a terminal"
CONFIRM_WORDS = frozenset({"", "y", "yes", "ok", "done"})
DENY_WORDS = frozenset({"n", "no"})
_REFUSAL = re.compile(r"^(skip|fail)\b[\s:,.-]*(.*)$", re.IGNORECASE | re.DOTALL)


class Console:
    """One operator terminal: prompts written to `writer`, answers read from `reader`."""

    def __init__(self, reader: TextIO, writer: TextIO, *, name: str = "streams") -> None:
        self.reader = reader
        self.writer = writer
        self.name = name
        self.closed = False  # end of input seen
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.writer.write(text)
            self.writer.flush()

    def drain(self) -> list[str]:
        """Forget lines typed while no prompt was waiting (returned, for the transcript)."""
        stale: list[str] = []
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return stale
            if line is None:
                self.closed = True
            else:
                stale.append(line.rstrip("\r\n"))

    async def read_line(self, deadline: float) -> str | None:
        """The next line (no newline); None at end of input; TimeoutError at `deadline`."""
        if self.closed:
            return None
        self._start_reader()
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise TimeoutError from None
                await asyncio.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
                continue
            if line is None:
                self.closed = True
                return None
            return line.rstrip("\r\n")

    def _start_reader(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._read_loop, name=f"wicct-operator-{self.name}", daemon=True
                )
                self._thread.start()

    def _read_loop(self) -> None:
        # Daemon thread: a read nobody answers never keeps wicct from exiting.
        while True:
            try:
                line = self.reader.readline()
            except (OSError, ValueError):
                line = ""
            if not line:
                self._lines.put(None)
                return
            self._lines.put(line)


_CONSOLES: dict[object, Console] = {}
_CONSOLES_LOCK = threading.Lock()


def default_console(tty: str = "/dev/tty") -> Console | None:
    """The process's operator terminal: `tty` if it opens as a TTY, else a TTY stdin."""
    with _CONSOLES_LOCK:
        found = _CONSOLES.get(tty)
        if found is not None and not found.closed:
            return found
        reader = writer = None
        try:
            reader = open(tty, encoding="utf-8", errors="replace")  # noqa: SIM115 - kept open
            if not reader.isatty():
                raise OSError(f"{tty} is not a terminal")
            writer = open(tty, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError:
            if reader is not None:
                reader.close()
            reader = None
        if reader is not None and writer is not None:
            console = _CONSOLES[tty] = Console(reader, writer, name=tty)
            return console
        stdin = sys.stdin
        key = ("stdin", id(stdin))
        found = _CONSOLES.get(key)
        if found is not None and not found.closed:
            return found
        if stdin is None or not _isatty(stdin):
            return None
        console = _CONSOLES[key] = Console(stdin, sys.stderr, name="stdin")
        return console


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def prompt_timeout(profile: Profile) -> float:
    raw = profile.driver_options.get("prompt_timeout", DEFAULT_PROMPT_TIMEOUT)
    try:
        value = parse_duration(raw)
    except (TypeError, ValueError) as exc:
        raise SutUnavailable(f"driver_options.prompt_timeout {raw!r} is not a duration") from exc
    if value <= 0:
        raise SutUnavailable(f"driver_options.prompt_timeout {raw!r} must be positive")
    return value


class _Operator:
    """The prompt/answer machinery both manual drivers share."""

    role = "SUT"

    def __init__(
        self, streams: tuple[TextIO, TextIO] | None = None, *, tty: str = "/dev/tty"
    ) -> None:
        self._streams = streams
        self._tty = tty
        self._console: Console | None = None
        self._timeout = DEFAULT_PROMPT_TIMEOUT
        self._log: Callable[[str], object] = _ignore
        self._transcript: list[str] = []

    def log_text(self) -> str:
        """The dialogue with the operator: what was asked, what was answered, when."""
        return "\n".join(self._transcript) + ("\n" if self._transcript else "")

    def _open(self, profile: Profile, log: Callable[[str], object]) -> None:
        self._log = log
        wanted = prompt_timeout(profile)
        bound = profile.timers.start_timeout
        self._timeout = min(wanted, bound)
        if wanted > bound:
            log(
                f"warning: manual {self.role}: driver_options.prompt_timeout {wanted:g} s is cut "
                f"to timers.start_timeout {bound:g} s, which bounds start() and every verb: "
                "raise timers.start_timeout to give the operator more time"
            )
        if self._streams is not None:
            self._console = Console(*self._streams)
        else:
            self._console = default_console(self._tty)
        if self._console is None or self._console.closed:
            self._console = None
            raise SutUnavailable(NO_TERMINAL)

    async def _confirm(
        self,
        verb: str,
        instruction: str,
        *,
        error: type[Exception] = DriverError,
        question: str = "",
    ) -> bool:
        """Show `instruction`, wait for Enter; `error` for skip, fail, timeout, end of input.

        With a yes/no `question` about what the SUT shows afterwards, Enter (or yes) answers
        yes and `no` answers no (False); without one, `no` is not an answer.
        """
        console = self._console
        if console is None:
            raise error(f"{verb}: the manual {self.role} driver was not started")
        for early in console.drain():
            self._note(f"ignored (typed before the prompt): {early!r}")
        if console.closed:
            raise error(f"{verb}: the operator's terminal is closed (end of input)")
        header = f"[wicct, manual {self.role}] {verb}"
        if question:
            hint = f"  Then: {question} Press Enter for yes, type 'no' for no, or "
        else:
            hint = "  Press Enter when done, or type "
        hint += "'skip' or 'fail' and a reason if you could not do it"
        console.write(f"\n{header}\n  {instruction}\n{hint} ({self._timeout:g} s): ")
        self._note(f"asked: {verb}: {instruction}")
        started = time.monotonic()
        deadline = started + self._timeout
        while True:
            try:
                line = await console.read_line(deadline)
            except asyncio.CancelledError:
                console.write("\n  (wicct stopped waiting: the case ran out of time)\n")
                self._note(f"{verb}: wicct stopped waiting (cancelled)")
                raise
            except TimeoutError:
                console.write(f"\n  (no answer within {self._timeout:g} s: wicct goes on)\n")
                reason = f"{verb}: no answer from the operator within {self._timeout:g} s"
                self._settle(reason)
                raise error(reason) from None
            if line is None:
                reason = f"{verb}: the operator's terminal is closed (end of input)"
                self._settle(reason)
                raise error(reason)
            answer = line.strip()
            elapsed = time.monotonic() - started
            if answer.lower() in CONFIRM_WORDS:
                yes = f" ({question} yes)" if question else ""
                self._settle(f"{verb}: confirmed by the operator after {elapsed:.1f} s{yes}")
                return True
            if question and answer.lower() in DENY_WORDS:
                self._settle(f"{verb}: done, by the operator after {elapsed:.1f} s ({question} no)")
                return False
            refusal = _REFUSAL.match(answer)
            if refusal:
                word, why = refusal.group(1).lower(), refusal.group(2).strip()
                if word == "skip":
                    reason = f"{verb}: skipped by the operator" + (f" ({why})" if why else "")
                else:
                    reason = f"{verb}: the operator reports it failed" + (f": {why}" if why else "")
                self._settle(reason)
                raise error(reason)
            self._note(f"unclear answer {answer!r}, asked again")
            console.write(f"{hint}: ")

    def _say(self, text: str) -> None:
        """A message for the operator that needs no answer (stop)."""
        if self._console is not None:
            self._console.write(f"\n[wicct, manual {self.role}] {text}\n")
            self._note(f"said: {text}")

    def _settle(self, outcome: str) -> None:
        self._note(outcome)
        with contextlib.suppress(Exception):
            self._log(f"manual {self.role}: {outcome}")

    def _note(self, text: str) -> None:
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
        self._transcript.append(f"{stamp} {text}")


def _ignore(_text: str) -> None:
    return None


class ManualWicDriver(_Operator, WicDriver):
    """A WIC worked by hand: each verb is an instruction the operator confirms."""

    name = "manual"
    role = "WIC"
    options: ClassVar[Mapping[str, str]] = {"prompt_timeout": "seconds the operator has per step"}
    preflight_start = False  # start() asks the operator: the probe must not ask twice

    def __init__(
        self, streams: tuple[TextIO, TextIO] | None = None, *, tty: str = "/dev/tty"
    ) -> None:
        super().__init__(streams, tty=tty)
        self._env: WicEnv | None = None
        self._connected = False
        self._registered = False
        self._in_call = False

    async def start(self, env: WicEnv) -> None:
        self._open(env.profile, env.log)
        self._env = env
        profile = env.profile
        await self._confirm(
            "start",
            f"Get the WIC ready, but do not register yet. It must use the eP-CSCF URL "
            f"{env.epcscf_url}, trust the CA in {env.ca_pem}, and register as {profile.impu} "
            f"(private identity {profile.impi}; the password is in the profile "
            f"{profile.path.name}).",
            error=SutUnavailable,
        )

    async def register(self) -> None:
        env = self._started("register")
        # The answer is an observation, not only "done": some cases expect the WIC NOT to
        # become registered (it must drop a malformed 200), and state() must not say it is.
        self._registered = await self._confirm(
            "register",
            f"Make the WIC register now (eP-CSCF URL {env.epcscf_url}, trust the CA in "
            f"{env.ca_pem}).",
            question="does the WIC show that it is registered?",
        )
        self._connected = True

    async def unregister(self) -> None:
        self._started("unregister")
        await self._confirm("unregister", "Make the WIC unregister now (sign out, keep it open).")
        self._registered = False

    async def call(self, target: str) -> None:
        self._started("call")
        await self._confirm("call", f"Make the WIC call {target} now.")
        self._in_call = True

    async def answer(self) -> None:
        self._started("answer")
        await self._confirm("answer", "Answer the incoming call on the WIC.")
        self._in_call = True

    async def hangup(self) -> None:
        self._started("hangup")
        await self._confirm("hangup", "Hang up the current call on the WIC.")
        self._in_call = False

    async def state(self) -> WicState:
        return WicState(
            connected=self._connected,
            registered=self._registered,
            in_call=self._in_call,
            detail="as confirmed by the operator",
        )

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self._env is not None:
                self._say("wicct is done with the WIC for this case: end any call still up.")
        self._env = None

    def _started(self, verb: str) -> WicEnv:
        if self._env is None:
            raise DriverError(f"{verb}: the manual WIC driver was not started")
        return self._env


class ManualEpcscfDriver(_Operator, EpcscfDriver):
    """An eP-CSCF brought up (and pointed at wicct's IMS core) by the operator."""

    name = "manual"
    role = "eP-CSCF"
    options: ClassVar[Mapping[str, str]] = {"prompt_timeout": "seconds the operator has per step"}
    preflight_start = False  # start() asks the operator: the probe must not ask twice

    def __init__(
        self, streams: tuple[TextIO, TextIO] | None = None, *, tty: str = "/dev/tty"
    ) -> None:
        super().__init__(streams, tty=tty)
        self.endpoint: EpcscfEndpoint | None = None

    async def start(self, env: EpcscfEnv) -> EpcscfEndpoint:
        profile = env.profile
        url = profile.url
        host, port = parse_wss_url(url)
        if profile.ca.strip() == "generated":
            # The operator sets the SUT up now, so it can use a certificate from this run.
            leaf = env.pki.leaf(*LOOPBACK_NAMES) if host in LOOPBACK_NAMES else env.pki.leaf(host)
            ca: Path | None = env.pki.ca_pem
            certificate = (
                f", its certificate chain {leaf.cert_chain} and key {leaf.key} "
                f"(issued for {host} by this run's CA {ca})"
            )
        else:
            ca = resolve_ca(profile)
            certificate = ""
        self._open(profile, env.log)
        await self._confirm(
            "start",
            f"Start the eP-CSCF under test now (or check it is running) with: its WSS "
            f"listener at {url}{certificate}, SIP domain {profile.domain}, and its IMS core "
            f"(next hop) at {env.core_transport}://{env.core_host}:{env.core_port}.",
            error=SutUnavailable,
        )
        await check_reachable(url, host, port, profile.timers.start_timeout)
        self.endpoint = EpcscfEndpoint(
            ws_url=url, ca_pem=ca, domain=profile.domain, host=host, port=port
        )
        return self.endpoint

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self.endpoint is not None:
                self._say(
                    "wicct is done with the eP-CSCF for this case (you may leave it running)."
                )
        self.endpoint = None


__all__ = ["Console", "ManualEpcscfDriver", "ManualWicDriver", "default_console"]
