"""Runs the reference eP-CSCF in process (profile `driver: reference`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import ClassVar

from harness.suts.base import EpcscfDriver, EpcscfEndpoint, EpcscfEnv, SutUnavailable
from harness.suts.reference import SutLog, active_faults
from harness.suts.reference.epcscf.proxy import Proxy


class ReferenceEpcscfDriver(EpcscfDriver):
    """Runs the reference eP-CSCF in process (profile `driver: reference`)."""

    name = "reference"
    options: ClassVar[Mapping[str, str]] = {}
    ignores: ClassVar[Mapping[str, str]] = {
        "sut.url": "it starts the eP-CSCF itself and reports the URL",
        "sut.ca": "its certificate is issued from the run's CA",
    }
    concurrent_cases = True  # a fresh in-process SUT on free ports per case

    def __init__(self) -> None:
        self.log = SutLog("reference-epcscf")
        self.proxy: Proxy | None = None

    async def start(self, env: EpcscfEnv) -> EpcscfEndpoint:
        try:
            faults = active_faults(env.profile, "epcscf")
        except ValueError as exc:
            raise SutUnavailable(str(exc)) from exc
        self.proxy = Proxy(env, faults, self.log)
        try:
            return await self.proxy.start()
        except OSError as exc:
            await self.stop()
            raise SutUnavailable(f"reference eP-CSCF cannot start: {exc}") from exc

    async def stop(self) -> None:
        if self.proxy is not None:
            proxy, self.proxy = self.proxy, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proxy.stop(), 5.0)

    def log_text(self) -> str:
        return self.log.text()


__all__ = ["ReferenceEpcscfDriver"]
