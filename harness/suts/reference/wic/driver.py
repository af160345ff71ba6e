"""The driver verbs over the in-process reference WIC (profile driver `reference`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import ClassVar

from harness.suts.base import DriverError, SutUnavailable, WicDriver, WicEnv, WicState
from harness.suts.reference import active_faults
from harness.suts.reference.wic.ua import ReferenceWic


class ReferenceWicDriver(WicDriver):
    """Driver verbs over the in-process reference WIC (profile driver `reference`)."""

    name = "reference"
    options: ClassVar[Mapping[str, str]] = {
        "verb_timeout": "seconds answer() waits for a call to ring",
    }
    concurrent_cases = True  # a fresh in-process WIC per case

    def __init__(self) -> None:
        self.wic: ReferenceWic | None = None
        self._env: WicEnv | None = None

    async def start(self, env: WicEnv) -> None:
        try:
            faults = active_faults(env.profile, "wic")
        except ValueError as exc:
            raise SutUnavailable(str(exc)) from None
        self._env = env
        self.wic = ReferenceWic(env, faults)
        self.wic.log(f"loaded for {env.epcscf_url}; faults: {', '.join(sorted(faults)) or 'none'}")

    def _ua(self, verb: str) -> ReferenceWic:
        if self.wic is None:
            raise DriverError(f"{verb}: the reference WIC is not started")
        return self.wic

    def _verb_timeout(self) -> float:
        assert self._env is not None
        options = self._env.profile.driver_options
        return float(options.get("verb_timeout", max(2.0, self._env.profile.timers.response_timeout)))

    async def register(self) -> None:
        self._ua("register").register()

    async def call(self, target: str) -> None:
        wic = self._ua("call")
        if not wic.connected:
            raise DriverError("call: the WIC is not connected")
        if wic.call is not None and not wic.call.ended:
            raise DriverError(f"call: a call is already {wic.call.state}")
        wic.spawn(wic.place_call(target))

    async def answer(self) -> None:
        wic = self._ua("answer")
        deadline = asyncio.get_running_loop().time() + self._verb_timeout()
        while wic.call is None or wic.call.state != "ringing":
            if asyncio.get_running_loop().time() >= deadline:
                raise DriverError(f"answer: no incoming call within {self._verb_timeout():g} s")
            await asyncio.sleep(0.02)
        wic.spawn(wic.accept_call(wic.call))

    async def hangup(self) -> None:
        wic = self._ua("hangup")
        call = wic.call
        if call is None or call.ended:
            raise DriverError("hangup: no call to release")
        wic.spawn(wic.release_call(call))

    async def unregister(self) -> None:
        raise DriverError("the reference WIC does not un-register")

    async def state(self) -> WicState:
        return self._ua("state").state()

    async def stop(self) -> None:
        if self.wic is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.wic.stop(), 5.0)

    def log_text(self) -> str:
        return self.wic.log.text() if self.wic is not None else ""


__all__ = ["ReferenceWicDriver"]
