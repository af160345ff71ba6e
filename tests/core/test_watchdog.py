"""The per-case hard deadline enforced from outside the case's loop (harness.cases.watchdog):
a step that swallows cancellation, one that never awaits and one that blocks its thread all
end near the deadline with a verdict that names it and what was running; a case whose
teardown was cut off leaves no port bound for the next case."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time

import pytest
import test_runner

from harness.cases import registry, runner, watchdog
from harness.cases.model import load_case
from harness.cases.runner import run_case_sync
from harness.verdicts import Verdict

TIMEOUT = 0.3
TEARDOWN = 0.3
DEADLINE = TIMEOUT + TEARDOWN
# the property is "ended within a second of the deadline"; the margin absorbs a loaded CI
# machine (bench/bench_hostile.py prints the measured lateness)
MARGIN = watchdog.ABANDON_AFTER + 2.0


env = test_runner.env  # the runner tests' fixtures: an environment that records up/down
profile = test_runner.profile


@pytest.fixture(autouse=True)
def short_teardown(monkeypatch):
    monkeypatch.setattr(runner, "TEARDOWN_TIMEOUT", TEARDOWN)


async def _stubborn(ctx, args, step):
    mode = args["mode"]
    ctx.timeline.add("wic", "note", "before the stubborn part")
    if mode == "swallow":  # honours no cancellation for a while: only abandoning it helps
        until = time.monotonic() + args.get("seconds", 3)
        while time.monotonic() < until:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                continue
    elif mode == "busy":  # never awaits: the loop is starved
        while True:
            pass
    elif mode == "block":  # blocks the thread in C: only abandoning it helps
        time.sleep(args.get("seconds", 3))
    elif mode == "hang":
        await asyncio.sleep(60)
    elif mode == "fail-then-hang":
        ctx.failed("the SUT broke it first")
    elif mode == "fail-then-swallow":
        ctx.failed("the SUT broke it first", stop=False)
        until = time.monotonic() + 2
        while time.monotonic() < until:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                continue


if "test.stubborn" not in registry.REGISTRY.steps:
    registry.step(
        "test.stubborn", roles=registry.ROLES,
        args={"mode": {"type": "string"}, "seconds": {"type": "number"}},
    )(_stubborn)


def _case(tmp_path, mode, *, seconds=3, name="W-1"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"id: {name}\ntitle: t\nsut: epcscf\nverifies: [EPC-HS-01]\ntimeout: {TIMEOUT}s\n"
        f"steps:\n  - test.stubborn: {{mode: {mode}, seconds: {seconds}}}\n"
    )
    return load_case(path)


def _timed(case, profile, pki):
    started = time.monotonic()
    result = run_case_sync(case, profile, pki)
    return result, time.monotonic() - started


def test_a_step_that_starves_the_loop_is_ended_from_outside(tmp_path, env, pki, profile):
    result, took = _timed(_case(tmp_path, "busy"), profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "hard deadline" in result.reason and "step 1 (test.stubborn, line 7)" in result.reason
    assert "watchdog" in result.reason and "running" in result.reason
    assert "abandoned" not in result.reason  # the loop took the watchdog's cancel or raise
    assert env == ["up", "down"]  # the environment was torn down
    assert any(e["summary"] == "before the stubborn part" for e in result.evidence)
    assert took < DEADLINE + MARGIN


@pytest.mark.parametrize("mode", ["block", "swallow"])
def test_a_blocked_thread_is_abandoned_and_the_next_case_waits_for_its_teardown(
    tmp_path, env, pki, profile, mode
):
    result, took = _timed(_case(tmp_path, mode, seconds=2), profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "abandoned" in result.reason and "hard deadline" in result.reason
    assert any(e["summary"] == "before the stubborn part" for e in result.evidence)
    assert took < DEADLINE + MARGIN
    assert env == ["up"]  # still blocked: its teardown has not run yet
    nxt = run_case_sync(_case(tmp_path, "fail-then-hang", name="W-2"), profile, pki)
    assert env[:3] == ["up", "down", "up"]  # the abandoned case tore down before W-2 began
    assert nxt.verdict is Verdict.FAIL


def test_a_fail_the_sut_earned_before_the_deadline_stays_a_fail(tmp_path, env, pki, profile):
    result = run_case_sync(_case(tmp_path, "fail-then-swallow"), profile, pki)
    assert result.verdict is Verdict.FAIL
    assert "watchdog" in repr(result.evidence)  # the deadline is still on record


def test_a_cancelled_teardown_leaves_the_core_port_free_for_the_next_case(
    tmp_path, pki, profile, monkeypatch
):
    """Issue 11: a hard deadline that cut the WIC emulator's stop short left the IMS-core
    stub's fixed port bound, and every later case ERRORed "Address already in use"."""
    from harness.actors.wic_emulator import WicEmulator

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pinned = dataclasses.replace(profile, core_listen=f"udp://127.0.0.1:{port}")
    registry.load_providers()
    monkeypatch.setattr(runner, "TEARDOWN_TIMEOUT", 0.5)  # the hard deadline cuts the stop
    original_stop = WicEmulator.stop

    async def hanging_stop(self):
        await asyncio.sleep(60)  # cut off by the hard deadline

    monkeypatch.setattr(WicEmulator, "stop", hanging_stop)
    path = tmp_path / "W-4.yaml"
    path.write_text(
        "id: W-4\ntitle: t\nsut: epcscf\nverifies: [EPC-HS-01]\ntimeout: 0.3s\nsteps:\n"
        "  - test.stubborn: {mode: hang}\n"
    )
    first = run_case_sync(load_case(path), pinned, pki)
    assert first.verdict is Verdict.INCONCLUSIVE
    assert "overall timeout" in first.reason
    assert any("stopping the WIC emulator" in e["summary"] for e in first.evidence)
    monkeypatch.setattr(WicEmulator, "stop", original_stop)
    second = run_case_sync(load_case(path), pinned, pki)
    assert second.verdict is Verdict.INCONCLUSIVE
    assert "overall timeout" in second.reason  # not "port in use", not ERROR
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", port))  # and free once both ended
