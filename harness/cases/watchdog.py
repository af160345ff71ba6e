"""The per-case hard deadline, enforced from outside the case's event loop.

docs/architecture.md principle 6: a case never outlives its deadline by more than a second.
Inside its loop the runner bounds a case with `asyncio.timeout` (the overall timeout, then
the teardown's); that only works while the loop ticks and every awaited thing honours
cancellation. A SUT that keeps the loop busy, or a step (or a driver's stop) that swallows
`CancelledError` or blocks, defeats it. So each case's loop runs in a thread of its own and
the caller's thread watches it (`run_watched`):

1. the case publishes its deadline (`Watch.arm`) as soon as it knows its budget;
2. `CANCEL_AFTER` past the deadline, if the case has not ended, the watchdog records what was
   running (the step, and the innermost frame of wicct's code in the case's thread) and
   cancels the case's task from outside (`call_soon_threadsafe`): the runner then tears the
   environment down (`harness.cases.teardown` survives that) and reports the deadline;
3. `INTERRUPT_AFTER` past it, if the loop runs no callback within `TICK_WAIT` (it is
   starved: Python code that never awaits), `DeadlineExceeded` is raised in its thread,
   which ends the starving task (and the case, when the case's own task was starving it);
   a loop that still ticks is left alone (the raise would land in the loop's machinery):
   something there swallows cancellation;
4. `ABANDON_AFTER` past it (under a second), the watchdog stops waiting: the case's result
   is made from the evidence recorded so far, INCONCLUSIVE, naming the deadline and what
   was running, and the thread (a daemon) is left to finish its teardown on its own.

Only the last step can leave a socket bound for a while; the result says so, and the next
case to start waits (at most `ABANDONED_WAIT`) for that thread to end, so that a fixed port
it held (the IMS-core stub's) is free again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

CANCEL_AFTER = 0.1  # seconds past the deadline: cancel the case's task from outside
INTERRUPT_AFTER = 0.4  # raise DeadlineExceeded in a loop that did not take the cancel
ABANDON_AFTER = 0.9
TICK_WAIT = 0.1  # a loop that runs no callback for this long is starved  # give up waiting: the case's result from what it recorded
INTERRUPTED_TEARDOWN = 5.0  # Ctrl-C: how long the case may take to tear down first
UNARMED_BOUND = 120.0  # a case that never published its deadline (a wicct bug) ends here

ABANDONED_WAIT = 10.0  # how long the next case waits for an abandoned case's teardown
_ABANDONED: list[tuple[threading.Thread, float]] = []
_LOCK = threading.Lock()
_HARNESS = str(Path(__file__).resolve().parents[1])
T = TypeVar("T")


class DeadlineExceeded(BaseException):
    """Raised in a case's thread whose loop ignored the watchdog's cancellation: a
    BaseException, so that no `except Exception` in a step can swallow it."""


@dataclass
class Watch:
    """What a running case shares with its watchdog (written by the case's thread, read by
    the watchdog's: plain attribute reads and writes)."""

    deadline: float | None = None  # time.monotonic() by which the case must have ended
    describe: str = ""  # how the deadline was made, e.g. "overall timeout 5 s + teardown 10 s"
    where: Callable[[], str] = lambda: ""  # what the case is doing (the current step)
    reason: str = ""  # set when the watchdog intervened: why the case ended
    abandoned: bool = False
    state: Any = None  # the case's own record (the runner's CaseContext), for `abandon`
    _loop: asyncio.AbstractEventLoop | None = None
    _task: asyncio.Task[Any] | None = None
    armed: threading.Event = field(default_factory=threading.Event)

    def arm(self, seconds: float, describe: str, where: Callable[[], str]) -> None:
        """Called by the case, in its task: the deadline is `seconds` from now."""
        self.deadline = time.monotonic() + seconds
        self.describe = describe
        self.where = where
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self.armed.set()

    @property
    def fired(self) -> bool:
        return bool(self.reason)


def innermost_frame(thread: threading.Thread) -> str:
    """`file:line in function` of the innermost frame of wicct's own code that `thread`
    is running (what kept it from ending), or of its innermost frame at all."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return "nothing (the thread has ended)"
    stack = traceback.extract_stack(frame)
    ours = [f for f in stack if f.filename.startswith(_HARNESS) and not f.filename.endswith("watchdog.py")]
    pick = (ours or stack)[-1]
    name = Path(pick.filename)
    shown = name.relative_to(Path(_HARNESS).parent) if pick.filename.startswith(_HARNESS) else name.name
    return f"{shown}:{pick.lineno} in {pick.name}"


def _wait_for_abandoned() -> None:
    """Before a case starts, let abandoned cases' threads finish their teardown (each for at
    most `ABANDONED_WAIT` from when it was abandoned), so that a port they still hold (the
    IMS-core stub's fixed port) is free for the next case."""
    with _LOCK:
        pending = list(_ABANDONED)
    for thread, until in pending:
        thread.join(max(0.0, until - time.monotonic()))
    with _LOCK:
        _ABANDONED[:] = [(t, u) for t, u in _ABANDONED if t.is_alive() and u > time.monotonic()]


def _cancel(watch: Watch) -> None:
    """Cancel the case's task from this (another) thread."""
    loop, task = watch._loop, watch._task
    if loop is not None and task is not None:
        with contextlib.suppress(RuntimeError):  # a closed loop: the case is ending anyway
            loop.call_soon_threadsafe(task.cancel, "wicct watchdog")


def _ticks(watch: Watch) -> bool:
    """Whether the case's loop still runs its callbacks (answers within `TICK_WAIT`)."""
    loop, ticked = watch._loop, threading.Event()
    if loop is None:
        return False
    try:
        loop.call_soon_threadsafe(ticked.set)
    except RuntimeError:
        return True  # closed: the case is ending
    return ticked.wait(TICK_WAIT)


def _interrupted(watch: Watch, done: threading.Event) -> None:
    """Ctrl-C in the caller's thread: let the case tear down (briefly) before it goes on."""
    watch.reason = "the run was interrupted"
    _cancel(watch)
    done.wait(INTERRUPTED_TEARDOWN)


def _raise_in(thread: threading.Thread) -> None:
    """Raise DeadlineExceeded in `thread` at its next bytecode (CPython's async exception)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(DeadlineExceeded)
        )


def run_watched(
    work: Callable[[Watch], Coroutine[Any, Any, T]],
    abandon: Callable[[Watch], T],
    name: str = "wicct-case",
) -> T:
    """Run `work(watch)` in a fresh event loop in a thread of its own and return its result;
    past the deadline it publishes, end it as the module docstring says (`abandon(watch)`
    makes the result of a case the watchdog gave up on). Exceptions of `work` propagate."""
    _wait_for_abandoned()
    watch = Watch()
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["result"] = asyncio.run(work(watch))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc
        finally:
            done.set()
            watch.armed.set()

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    try:
        # `armed` is also set when the thread ends (a NOT-APPLICABLE case never arms)
        if not watch.armed.wait(UNARMED_BOUND) and watch.deadline is None:
            watch.deadline = time.monotonic()
            watch.describe = f"{UNARMED_BOUND:g} s: the case never armed its deadline"
    except BaseException:
        _interrupted(watch, done)
        raise
    deadline = watch.deadline if watch.deadline is not None else time.monotonic()
    for stage, after in enumerate((CANCEL_AFTER, INTERRUPT_AFTER, ABANDON_AFTER)):
        try:
            if done.wait(max(0.0, deadline + after - time.monotonic())):
                break
        except BaseException:
            _interrupted(watch, done)
            raise
        if stage == 0:
            watch.reason = (
                f"case exceeded its hard deadline ({watch.describe}) at "
                f"{watch.where() or 'set-up or teardown'}: the runner's watchdog ended it from "
                f"outside its event loop, which was running {innermost_frame(thread)}"
            )
            _cancel(watch)
        elif stage == 1 and not _ticks(watch):
            _raise_in(thread)  # only into a starved loop: an idle one would take it anywhere
        elif stage == 2:
            watch.abandoned = True
            watch.reason += (
                f"; it did not end within {ABANDON_AFTER:g} s of its deadline, so its thread "
                "was abandoned (sockets it held are released when it ends)"
            )
            with _LOCK:
                _ABANDONED.append((thread, time.monotonic() + ABANDONED_WAIT))
            return abandon(watch)
    if isinstance(box.get("error"), DeadlineExceeded) and watch.fired:
        return abandon(watch)  # raised where the runner could not turn it into its result
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


__all__ = ["ABANDON_AFTER", "CANCEL_AFTER", "DeadlineExceeded", "Watch", "run_watched"]
