"""A case's teardown survives its own cancellation (harness.cases.teardown): a stop cut off
by the case's deadline does not skip the stops after it, and the deadline is still
reported."""

from __future__ import annotations

import asyncio

import pytest

from harness.cases.teardown import AFTER_CANCEL, Teardown
from harness.evidence import Timeline


async def test_a_cancelled_stop_does_not_skip_the_others() -> None:
    timeline = Timeline()
    stopped: list[str] = []
    first_started = asyncio.Event()

    async def hangs() -> None:
        first_started.set()
        await asyncio.Event().wait()

    async def quick(name: str) -> None:
        stopped.append(name)

    async def teardown() -> None:
        td = Teardown(timeline)
        await td.stop("the hanging driver", hangs(), 60.0)
        await td.stop("the core stub", quick("core"), 5.0)
        await td.stop("the issuer", quick("issuer"), 5.0)
        td.finish()

    task = asyncio.create_task(teardown())
    await first_started.wait()
    task.cancel()  # the case's hard deadline, in the middle of the first stop
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped == ["core", "issuer"]
    notes = [e.summary for e in timeline]
    assert any("stopping the hanging driver was cancelled" in n for n in notes)


async def test_after_a_cancellation_each_remaining_stop_is_short() -> None:
    timeline = Timeline()
    td = Teardown(timeline)
    td.cancelled = True
    assert not await td.stop("a slow stop", asyncio.sleep(10 * AFTER_CANCEL), 30.0)
    assert any(f"took over {AFTER_CANCEL:g} s" in e.summary for e in timeline)


async def test_the_deadline_still_surfaces_as_a_timeout() -> None:
    stopped: list[str] = []

    async def quick() -> None:
        stopped.append("core")

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            td = Teardown(Timeline())
            await td.stop("a hanging stop", asyncio.Event().wait(), 60.0)
            await td.stop("the core stub", quick(), 5.0)
            td.finish()
    assert stopped == ["core"]
