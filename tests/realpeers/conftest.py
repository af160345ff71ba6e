"""Fixtures for the real-peer driver tests: a run CA and a loopback UDP "IMS core"."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import pytest

from harness.pki import Pki

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[Pki]:
    run_pki = Pki(tmp_path / "pki")
    yield run_pki
    run_pki.close()


class UdpPeer(asyncio.DatagramProtocol):
    """A UDP socket on loopback that queues what it receives: the IMS-core stand-in."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((data, addr))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    def send(self, data: str, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data.encode(), addr)

    async def receive(self, timeout: float = 3.0) -> tuple[bytes, tuple[str, int]]:
        return await asyncio.wait_for(self.queue.get(), timeout)


@pytest.fixture
async def udp_core() -> AsyncIterator[UdpPeer]:
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(UdpPeer, local_addr=("127.0.0.1", 0))
    yield peer
    transport.close()



def require(present: bool, what: str) -> None:
    """Skip loudly when a real peer is missing (CI turns that skip into a failure, below)."""
    if not present:
        pytest.skip(f"REAL PEER MISSING: {what} (run scripts/install-real-peers.sh)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    """In CI (CI=true) a real peer that is missing is a failure, not a skip: `.ci/run`
    installs them, and a green run must not hide a real-peer test that never ran."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and "REAL PEER MISSING" in str(report.longrepr):
        report.outcome = "failed"
