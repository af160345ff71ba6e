"""Ending a child process wicct started in its own session (Kamailio, rtpengine)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal


async def stop_group(process: asyncio.subprocess.Process | None) -> None:
    """SIGTERM to the child's process group (Kamailio forks its workers into it), SIGKILL
    after 3 s; waits for the child at most 5 s in all."""
    if process is None or process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 3.0)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 2.0)


__all__ = ["stop_group"]
