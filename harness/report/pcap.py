"""`traffic.pcapng` of a run's WebSocket connections, for Wireshark and tshark (issue 10).

From the bytes `harness.ws.capture` kept on wicct's side of each TCP connection, the
packets are synthetic but faithful: IPv4 (IPv6 for an IPv6 peer) and TCP over loopback,
with the handshake (SYN, SYN-ACK, ACK), every chunk as PSH/ACK segments of at most
`MAX_SEGMENT` bytes with the sequence and acknowledgement numbers TCP would carry, and a
FIN for each direction whose close wicct saw; timestamps are the run's wall clock
advanced by the monotonic clock. So Wireshark follows each stream, and decodes TLS,
WebSocket and SIP in it. Packets and the pcapng blocks SHB, IDB and EPB are dpkt's.

The lab copy adds a Decryption Secrets Block holding the run's TLS key log
(`decryption_secrets`), so Wireshark decrypts the file with no extra file; dpkt has no DSB,
so that one block is written here.
"""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import dpkt

from harness.ws.capture import Capture, Connection

MAX_SEGMENT = 65000
"""Payload bytes per TCP segment: an IPv4 packet stays under 65,535 octets."""
LINKTYPE_RAW = 101
"""Raw IPv4/IPv6 packets, no link layer (tcpdump.org link-layer header types)."""
SNAPLEN = 65535

# pcapng (draft-ietf-opsawg-pcapng, §4.7 Decryption Secrets Block)
BLOCK_DSB = 0x0000000A
SECRETS_TLS_KEY_LOG = 0x544C534B  # "TLSK": NSS key log format (SSLKEYLOGFILE)


@dataclass(frozen=True)
class Packet:
    ts: float  # seconds since the epoch
    order: tuple[float, int, int]  # (monotonic time, connection, index): the file's order
    data: bytes  # an IP packet


def decryption_secrets(keylog: bytes) -> bytes:
    """A Decryption Secrets Block of TLS key log `keylog` (pcapng §4.7): block type, total
    length, secrets type, secrets length, the secrets padded to 32 bits, no options, total
    length again; native byte order, as the section header dpkt writes."""
    padded = keylog + b"\0" * (-len(keylog) % 4)
    total = 20 + len(padded)
    return struct.pack("=IIII", BLOCK_DSB, total, SECRETS_TLS_KEY_LOG, len(keylog)) + padded + struct.pack(
        "=I", total
    )


def _ip(src: tuple[str, int], dst: tuple[str, int], tcp: dpkt.tcp.TCP) -> bytes:
    if ":" in src[0] or ":" in dst[0]:
        return bytes(dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, src[0]),
                                  dst=socket.inet_pton(socket.AF_INET6, dst[0]),
                                  nxt=dpkt.ip.IP_PROTO_TCP, hlim=64, data=tcp, plen=len(tcp)))
    return bytes(dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]),
                            p=dpkt.ip.IP_PROTO_TCP, ttl=64, data=tcp))


def packets(conn: Connection, to_wall: float) -> Iterator[Packet]:
    """The packets of one connection; `to_wall` turns monotonic into wall-clock time."""
    client, server = (conn.remote, conn.local) if conn.accepted else (conn.local, conn.remote)
    # wicct's side is "out": from local to remote
    ends = {"out": (conn.local, conn.remote), "in": (conn.remote, conn.local)}
    isn = {client: (0x1000_0000 + conn.number * 0x0100_0000) & 0xFFFF_FFFF,
           server: (0x8000_0000 + conn.number * 0x0100_0000) & 0xFFFF_FFFF}
    index = 0

    def packet(mono: float, src: tuple[str, int], dst: tuple[str, int], flags: int, payload: bytes = b"",
               ) -> Packet:
        nonlocal index
        ack = isn[dst] if flags != dpkt.tcp.TH_SYN else 0
        tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=isn[src], ack=ack, flags=flags,
                           win=65535, data=payload)
        index += 1
        return Packet(to_wall + mono, (mono, conn.number, index), _ip(src, dst, tcp))

    t = conn.opened_mono
    yield packet(t, client, server, dpkt.tcp.TH_SYN)
    isn[client] += 1
    yield packet(t, server, client, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)
    isn[server] += 1
    yield packet(t, client, server, dpkt.tcp.TH_ACK)
    events: list[tuple[float, int, str, bytes | None]] = [
        (c.mono, i, c.direction, c.data) for i, c in enumerate(conn.chunks)
    ]
    if not conn.dropped:  # a connection cut short by the caps shows no close it did not keep
        events += [(mono, len(events) + n, d, None) for n, (d, mono) in enumerate(sorted(conn.closed.items()))]
    fin_sent: set[str] = set()
    for mono, _, direction, data in sorted(events, key=lambda e: (e[0], e[1])):
        src, dst = ends[direction]
        if direction in fin_sent:
            continue
        if data is None:
            yield packet(mono, src, dst, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK)
            isn[src] = (isn[src] + 1) & 0xFFFF_FFFF
            fin_sent.add(direction)
            continue
        for start in range(0, len(data), MAX_SEGMENT):
            piece = data[start:start + MAX_SEGMENT]
            yield packet(mono, src, dst, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, piece)
            isn[src] = (isn[src] + len(piece)) & 0xFFFF_FFFF


def _last(conn: Connection) -> float:
    times = [conn.opened_mono, *(c.mono for c in conn.chunks), *conn.closed.values()]
    return max(times)


def distinct(connections: Iterable[Connection]) -> list[Connection]:
    """Each TCP connection once. A reference SUT runs in wicct's process on the same streams,
    so a connection between it and wicct's emulator is recorded from both ends: the second
    record, the mirror of one still open (local and remote swapped), is left out."""
    kept: list[Connection] = []
    for conn in sorted(connections, key=lambda c: (c.opened_mono, c.number)):
        mirror = any(
            other.local == conn.remote and other.remote == conn.local
            and other.opened_mono <= conn.opened_mono <= _last(other)
            for other in kept
        )
        if not mirror:
            kept.append(conn)
    return kept


def pcapng(connections: Iterable[Connection], capture: Capture, *, keylog: bytes | None) -> bytes:
    """The pcapng file of `connections` (of `capture`), with the key log as a DSB when given."""
    to_wall = capture.started_wall - capture.started_mono
    every = sorted((p for conn in distinct(connections) for p in packets(conn, to_wall)), key=lambda p: p.order)
    out = io.BytesIO()
    writer = dpkt.pcapng.Writer(out, snaplen=SNAPLEN, linktype=LINKTYPE_RAW)  # SHB, IDB
    if keylog:
        out.write(decryption_secrets(keylog))
    for p in every:
        writer.writepkt_time(p.data, p.ts)
    return out.getvalue()

