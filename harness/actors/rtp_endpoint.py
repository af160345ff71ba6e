"""The IMS core's own plain RTP endpoint (RFC 3550 over UDP on loopback), behind an eP-CSCF
whose eIMS-AGW turned WebRTC media into RTP/AVP (TS 23.228 Annex U).

One UDP socket per m= line. It echoes every RTP packet back to where it came from, so media
flows both ways through the AGW, and counts what it got; the first packet in each direction
is a note in the evidence (when media started flowing). It knows nothing of cases.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

from harness.evidence import NOTE, Timeline
from harness.sdp.media import RtpCounts

ACTOR = "core"


class _Echo(asyncio.DatagramProtocol):
    def __init__(self, owner: RtpEndpoint) -> None:
        self.owner = owner
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.owner.received(data, addr, self.transport)


class RtpEndpoint:
    """One m= line's RTP port: `await open()`, always `close()`."""

    def __init__(self, timeline: Timeline, host: str, kind: str) -> None:
        self.timeline = timeline
        self.host = host
        self.kind = kind
        self.port = 0
        self.packets = 0
        self.echoed = 0
        self.first_seq = 0
        self.first_t: float | None = None
        self._transport: asyncio.DatagramTransport | None = None

    async def open(self) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Echo(self), local_addr=(self.host, 0))
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self.port

    def received(self, data: bytes, addr: tuple[str, int], transport: asyncio.DatagramTransport | None) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            return  # not RTP version 2 (RFC 3550 §5.1)
        self.packets += 1
        if self.packets == 1:
            entry = self.timeline.add(ACTOR, NOTE, f"first {self.kind} RTP packet at the core's port {self.port} "
                                      f"from {addr[0]}:{addr[1]}", rtp_first=self.kind, port=self.port)
            self.first_seq, self.first_t = entry.seq, entry.t
        if transport is not None:
            transport.sendto(data, addr)
            self.echoed += 1

    def counts(self) -> RtpCounts:
        return RtpCounts(kind=self.kind, port=self.port, rtp_packets=self.packets, rtp_echoed=self.echoed,
                         first_seq=self.first_seq, first_t=self.first_t)

    def record(self) -> int:
        """A note with the counts so far (the evidence a media finding cites); its seq."""
        counts = self.counts()
        return self.timeline.add(ACTOR, NOTE, f"{self.kind} RTP at the core's port {self.port} so far: "
                                 f"{self.packets} packet(s) received, {self.echoed} echoed",
                                 rtp_counts=dict(counts)).seq

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            if self.packets:
                self.timeline.add(ACTOR, NOTE, f"{self.kind} RTP at the core's port {self.port}: {self.packets} "
                                  f"packet(s) received, {self.echoed} echoed", rtp_packets=self.packets, port=self.port)
            with contextlib.suppress(Exception):
                transport.close()


__all__ = ["RtpCounts", "RtpEndpoint"]
