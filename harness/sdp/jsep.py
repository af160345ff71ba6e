"""Real JSEP offers and answers from aiortc (RFC 9429), for wicct's WIC, eP-CSCF and core.

SEED 5.1.X.2 / 5.1.X.3: calls carry real JSEP SDP. aiortc gathers ICE candidates on the
host's interfaces; wicct only ever uses loopback, so candidate gathering is limited to
127.0.0.1 (aioice's host address lookup is narrowed when the first peer is made, never at
import time).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection

LOOPBACK = ["127.0.0.1"]
_patched = False


def _peer_connection() -> RTCPeerConnection:
    """No ICE servers: aiortc's default is a public STUN server (stun.l.google.com)."""
    from aiortc import RTCConfiguration, RTCPeerConnection

    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def _loopback_only() -> None:
    global _patched
    if _patched:
        return
    import aioice.ice

    aioice.ice.get_host_addresses = _loopback_addresses
    _patched = True


def _loopback_addresses(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    """Stands in for aioice.ice.get_host_addresses: loopback only, whatever is asked."""
    return list(LOOPBACK)


@dataclass
class MediaPeer:
    """One aiortc RTCPeerConnection and the SDP it produced."""

    pc: RTCPeerConnection
    sdp: str

    async def accept_answer(self, answer_sdp: str) -> None:
        from aiortc import RTCSessionDescription

        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pc.close(), 2.0)


async def make_offer(kinds: tuple[str, ...] = ("audio",)) -> MediaPeer:
    """A JSEP offer (UDP/TLS/RTP/SAVPF, ICE, DTLS fingerprint, setup:actpass, BUNDLE)."""
    _loopback_only()
    pc = _peer_connection()
    for kind in kinds:
        pc.addTransceiver(kind, direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    return MediaPeer(pc, pc.localDescription.sdp)


MAX_SECTIONS = 32
"""m= sections wicct answers at most: aiortc builds a transceiver, an ICE gatherer and a
DTLS transport for each (a 5000-section offer took 8.7 GB, issue 11). RFC 3264 §6 lets an
answerer refuse an offer it cannot take: its callers answer 488 (RFC 3261 §21.4.26)."""


class TooManySections(ValueError):
    """An offer with more m= sections than `MAX_SECTIONS`."""


def check_sections(offer_sdp: str) -> None:
    """Raise `TooManySections` for an offer wicct will not build media for."""
    count = sum(1 for line in offer_sdp.splitlines() if line.startswith("m="))
    if count > MAX_SECTIONS:
        raise TooManySections(f"the offer has {count} m= sections; wicct answers at most {MAX_SECTIONS}")


async def make_answer(offer_sdp: str, *, audio: bool = False) -> MediaPeer:
    """A JSEP answer to `offer_sdp` (keeps m= order; setup:active); with `audio`, the
    answerer sends audio (silence) on the offered audio sections (WIC-SES-04).
    `TooManySections` past `MAX_SECTIONS`, before anything is built."""
    check_sections(offer_sdp)
    _loopback_only()
    from aiortc import RTCSessionDescription

    from harness.sdp.media import send_audio

    pc = _peer_connection()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    if audio:
        send_audio(pc)
    await pc.setLocalDescription(await pc.createAnswer())
    return MediaPeer(pc, pc.localDescription.sdp)
