"""Media on an aiortc peer after offer/answer (WIC-SES-04): send a moment of audio and read
what ICE, DTLS and RTP did (RFC 8445, RFC 5764, RFC 3550). Loopback only, as `jsep.py`.

`send_audio` puts aiortc's silence generator on every audio transceiver that has no track
(after offer/answer on a `sendrecv` one, RTP starts without renegotiation; before an
answer, the answer sends too);
`media_facts` reads the connection states and RTP counters from `getStats()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection


class MediaFacts(TypedDict):
    """What one aiortc peer saw of its media: states and RTP packet counts."""

    ice: str  # RTCPeerConnection.iceConnectionState
    connection: str  # RTCPeerConnection.connectionState (ICE and DTLS)
    rtp_received: int
    rtp_sent: int


class RtpCounts(TypedDict):
    """What one plain RTP port of the IMS core saw (`harness/actors/rtp_endpoint.py`, which
    echoes each packet back to where it came from), as its notes record it."""

    kind: str
    port: int
    rtp_packets: int  # RTP packets received (from the eP-CSCF's media side)
    rtp_echoed: int  # sent back to where they came from
    first_seq: int  # the timeline entry of the first packet (0: none came)
    first_t: float | None  # its time on the case's timeline


def send_audio(pc: RTCPeerConnection) -> int:
    """A silence track on each audio transceiver without one (`addTrack`, W3C WebRTC §5.1:
    it reuses the transceiver and makes it send); how many were given one. Before an
    answer is made, the answer then says `sendrecv` instead of aiortc's `recvonly`."""
    from aiortc.mediastreams import AudioStreamTrack

    given = 0
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "audio" and transceiver.sender.track is None:
            pc.addTrack(AudioStreamTrack())
            given += 1
    return given


async def media_facts(pc: RTCPeerConnection) -> MediaFacts:
    """The peer's states and RTP counters now (RTCInboundRtpStreamStats.packetsReceived,
    RTCOutboundRtpStreamStats.packetsSent)."""
    received = sent = 0
    try:
        every = list((await pc.getStats()).values())
    except Exception:  # noqa: BLE001 - a closed or half-made peer has no statistics
        every = []
    for stats in every:
        if stats.type == "inbound-rtp":
            received += int(getattr(stats, "packetsReceived", 0) or 0)
        elif stats.type == "outbound-rtp":
            sent += int(getattr(stats, "packetsSent", 0) or 0)
    return MediaFacts(ice=str(pc.iceConnectionState), connection=str(pc.connectionState),
                      rtp_received=received, rtp_sent=sent)
