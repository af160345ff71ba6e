"""The hostile peer's own thread and event loop.

A real hostile SUT is another process: its flood goes on whatever wicct's loop is doing.
So the hostile peers run on a thread of their own with their own asyncio loop, and the
driver (on the case's loop) only starts, waits for and stops them, always with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")

STOP_TIMEOUT = 3.0  # seconds the peer's loop gets to end its connections


class PeerLoop:
    """An asyncio loop on a daemon thread; coroutines are submitted to it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        # cancel what is left and let it unwind (sockets closed by their finally blocks)
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending, timeout=STOP_TIMEOUT))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    async def run(self, coro: Coroutine[Any, Any, _T], timeout: float) -> _T:
        """Run `coro` on the peer's loop; await it from the caller's loop, bounded."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except BaseException:
            future.cancel()
            raise

    def spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        """Start `coro` on the peer's loop without waiting for it."""
        asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def stop(self) -> None:
        """Stop the loop (its tasks are cancelled) and wait for the thread, bounded."""
        if self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # already stopped and closed
            self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self._thread.join, STOP_TIMEOUT + 1.0)
