"""Fixtures for the driver tests: profiles written as YAML, a run CA, loopback listeners."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import yaml

from harness.pki import Pki
from harness.profiles import Profile, load_profile

HOST = "127.0.0.1"


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[Pki]:
    run_pki = Pki(tmp_path / "pki")
    yield run_pki
    run_pki.close()


@pytest.fixture
def write_profile(tmp_path: Path) -> Callable[..., Profile]:
    """Write a profile YAML (schema-validated by load_profile) and load it."""
    count = 0

    def write(role: str, driver: str, **sections: object) -> Profile:
        nonlocal count
        count += 1
        document = {"name": f"test {driver} {role}", "role": role, "driver": driver, **sections}
        path = tmp_path / f"profile{count}.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return load_profile(path)

    return write


class Listener:
    """A loopback TCP server that counts the connections it accepted."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    peer = Listener()
    peer.server = await asyncio.start_server(peer._on_connect, HOST, 0)
    yield peer
    peer.server.close()
    await peer.server.wait_closed()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]
