"""rtpengine as the eIMS-AGW behind Kamailio (TS 23.228 Annex U), run as a child of wicct.

Debian 12's `rtpengine-daemon` (10.5) runs without its kernel module, in user space:
`--table=-1`, one loopback interface, an ng control port (UDP, bencoded commands) and a
port range for media; `--config-file=none`, or it also reads /etc/rtpengine/rtpengine.conf
(a second instance then dies on that file's CLI port). Readiness is an ng `ping` answered
`pong`, never a sleep. `--delete-delay=0`: a released call frees its ports at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import time
from dataclasses import dataclass

from harness.suts.kamailio.children import stop_group

HOST = "127.0.0.1"
PORTS = 100  # media ports per instance (two per m= line and side: ~25 calls)
_RANGE = (30000, 59900)  # instances pick windows in here; rtpengine skips a port in use


@dataclass(frozen=True)
class RtpengineSettings:
    binary: str
    ng_port: int
    port_min: int
    port_max: int
    log_level: int = 5

    def argv(self) -> list[str]:
        return [
            self.binary,
            "--config-file=none",
            "--table=-1",
            f"--interface={HOST}",
            f"--listen-ng={HOST}:{self.ng_port}",
            f"--port-min={self.port_min}",
            f"--port-max={self.port_max}",
            "--delete-delay=0",
            "--foreground",
            "--log-stderr",
            f"--log-level={self.log_level}",
            "--no-redis-required",
            "--num-threads=2",
        ]


def find_rtpengine(binary: str = "rtpengine") -> str | None:
    return shutil.which(binary) or shutil.which(binary, path="/usr/bin:/usr/sbin:/usr/local/bin")


def port_window(ng_port: int) -> tuple[int, int]:
    """A media port window for one instance, spread by its (unique) ng port."""
    slots = (_RANGE[1] - _RANGE[0]) // PORTS
    low = _RANGE[0] + (ng_port % slots) * PORTS
    return low, low + PORTS - 1


class _Pong(asyncio.DatagramProtocol):
    def __init__(self, cookie: bytes) -> None:
        self.cookie = cookie
        self.answered = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.startswith(self.cookie + b" ") and b"pong" in data and not self.answered.done():
            self.answered.set_result(True)


async def ng_ping(port: int, timeout: float) -> bool:
    """One ng `ping` (bencoded `d7:command4:pinge`); True when `pong` came back in time."""
    loop = asyncio.get_running_loop()
    cookie = secrets.token_hex(6).encode()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Pong(cookie), remote_addr=(HOST, port))
    try:
        transport.sendto(cookie + b" d7:command4:pinge")
        with contextlib.suppress(TimeoutError):
            return bool(await asyncio.wait_for(asyncio.shield(protocol.answered), timeout))
        return False
    finally:
        transport.close()


class Rtpengine:
    """One rtpengine child: `start()` returns once it answers an ng ping; always `stop()`."""

    def __init__(self, settings: RtpengineSettings) -> None:
        self.settings = settings
        self.process: asyncio.subprocess.Process | None = None
        self.log = bytearray()
        self.ready_seconds: float | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, deadline: float) -> None:
        started = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            *self.settings.argv(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = asyncio.create_task(self._read())
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"rtpengine exited with {self.process.returncode}: {self.tail()}")
            if await ng_ping(self.settings.ng_port, 0.1):
                self.ready_seconds = time.monotonic() - started
                return
        raise RuntimeError(f"rtpengine did not answer an ng ping on {HOST}:{self.settings.ng_port}: {self.tail()}")

    async def stop(self) -> None:
        process, self.process = self.process, None
        await stop_group(process)
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 1.0)
            self._reader = None

    def tail(self, lines: int = 5) -> str:
        text = self.log.decode("utf-8", "replace").strip().splitlines()[-lines:]
        return " | ".join(text) or "(no output)"

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while chunk := await self.process.stdout.read(65536):
            if len(self.log) < 1024 * 1024:
                self.log += chunk


__all__ = ["Rtpengine", "RtpengineSettings", "find_rtpengine", "ng_ping", "port_window"]
