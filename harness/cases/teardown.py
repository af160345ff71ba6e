"""Teardown of a case's environment that survives its own cancellation.

docs/architecture.md principle 6: every socket and port a case opened is released, even
when the case's hard deadline cancels the teardown part-way (a SUT that kept the event loop
busy, a driver whose stop hangs). Each stop is bounded; a cancellation during one stop is
recorded and does not skip the ones after it, which then get only `AFTER_CANCEL` seconds
each (enough to close sockets, so the case ends close to its deadline); the cancellation is
re-raised once every stop has been tried, so the runner still reports the deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from harness.evidence import NOTE, Timeline

AFTER_CANCEL = 0.5  # seconds each remaining stop gets once the teardown was cancelled


class Teardown:
    """Stops things in order: `await td.stop(name, coro, seconds)` for each, then
    `td.finish()` (re-raises a cancellation that happened on the way)."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.cancelled = False

    async def stop(self, name: str, what: Awaitable[Any], seconds: float) -> bool:
        """Await `what` for at most `seconds`; True when it finished without error."""
        if self.cancelled:
            seconds = min(seconds, AFTER_CANCEL)
        try:
            await asyncio.wait_for(what, seconds)
        except asyncio.CancelledError:
            self.cancelled = True
            self.timeline.add("runner", NOTE, f"stopping {name} was cancelled (the case's "
                              "deadline); the rest of the teardown goes on")
        except TimeoutError:
            self.timeline.add("runner", NOTE, f"stopping {name} took over {seconds:g} s")
        except Exception as exc:  # noqa: BLE001 - teardown is best effort, but recorded
            self.timeline.add("runner", NOTE, f"stopping {name}: {exc!r}")
        else:
            return True
        return False

    def finish(self) -> None:
        if self.cancelled:
            raise asyncio.CancelledError


__all__ = ["AFTER_CANCEL", "Teardown"]
