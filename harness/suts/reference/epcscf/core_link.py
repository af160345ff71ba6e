"""The reference eP-CSCF's side towards the IMS core: UDP (default) or one TCP connection
(RFC 3261 §18), feeding what arrives to `Proxy.from_core`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from harness.sipstream import read_sip_stream
from harness.suts.reference.epcscf.state import HOST

if TYPE_CHECKING:
    from harness.suts.reference.epcscf.proxy import Proxy


class CoreLink:
    """The proxy's side towards the IMS core: UDP (default) or one TCP connection."""

    def __init__(self, proxy: Proxy, host: str, port: int, transport: str) -> None:
        self.proxy = proxy
        self.core = (host, port)
        self.transport = transport
        self.local_port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        if self.transport == "tcp":
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*self.core), 3.0)
            self._writer = writer
            self.local_port = writer.get_extra_info("sockname")[1]
            self._reader_task = loop.create_task(self._read_tcp(reader))
            return
        link = self

        class _Udp(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                link.proxy.spawn(link.proxy.from_core(data, (addr[0], addr[1])))

        self._udp, _ = await loop.create_datagram_endpoint(_Udp, local_addr=(HOST, 0))
        self.local_port = self._udp.get_extra_info("sockname")[1]

    async def _read_tcp(self, reader: asyncio.StreamReader) -> None:
        while True:
            data = await read_sip_stream(reader)
            if data is None:
                self.proxy.log("core TCP connection closed")
                return
            if data:
                self.proxy.spawn(self.proxy.from_core(data, self.core))

    def send(self, data: bytes, addr: tuple[str, int] | None = None) -> None:
        if self._udp is not None:
            self._udp.sendto(data, addr or self.core)
        elif self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader_task, 1.0)
        if self._udp is not None:
            self._udp.close()
        if self._writer is not None:
            self._writer.transport.abort()
