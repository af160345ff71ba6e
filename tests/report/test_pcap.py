"""traffic.pcapng from a capture (harness.report.pcap, harness.ws.capture), read back with
dpkt's reader: the TCP handshake, sequence numbers that follow every byte, segments of at
most 65,000 bytes, FIN at close, the Decryption Secrets Block, the caps, and one record per
connection when both ends are wicct's. tshark reads a real run's file in tests/cli/test_bundle.py."""

from __future__ import annotations

import asyncio
import io
import struct

import dpkt

from harness.report import pcap
from harness.ws import capture
from harness.ws.capture import Capture, Connection
from harness.ws.stream import PlainStream


class _Writer:
    def __init__(self, local: tuple[str, int], remote: tuple[str, int]) -> None:
        self.transport = object()
        self._info = {"sockname": local, "peername": remote}

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self._info.get(name, default)


WIC = ("127.0.0.1", 40000)
PCSCF = ("127.0.0.1", 8443)


def _conn(cap: Capture, *, accepted: bool = False, local: tuple[str, int] = WIC,
          remote: tuple[str, int] = PCSCF) -> Connection:
    return cap.connection(_Writer(local, remote), accepted=accepted)


def _blocks(data: bytes) -> list[tuple[int, bytes]]:
    """(type, body) of every pcapng block, walked by its total length."""
    found, at = [], 0
    while at < len(data):
        kind, total = struct.unpack_from("<II", data, at)
        found.append((kind, data[at + 8:at + total - 4]))
        at += total
    return found


def _tcp(data: bytes) -> list[dpkt.tcp.TCP]:
    return [dpkt.ip.IP(raw).data for _, raw in dpkt.pcapng.Reader(io.BytesIO(data))]


def test_handshake_sequence_numbers_segments_and_fin() -> None:
    cap = Capture()
    conn = _conn(cap)
    big = bytes(range(256)) * 600  # 153,600 bytes: three segments
    cap.record(conn, "out", b"GET / HTTP/1.1\r\n\r\n")
    cap.record(conn, "in", b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
    cap.record(conn, "in", big)
    cap.close(conn, "out")
    cap.close(conn, "in")
    segs = _tcp(pcap.pcapng(cap.connections, cap, keylog=None))
    syn, synack, ack = segs[:3]
    assert (syn.flags, synack.flags, ack.flags) == (
        dpkt.tcp.TH_SYN, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, dpkt.tcp.TH_ACK)
    assert (syn.sport, syn.dport) == (WIC[1], PCSCF[1])  # wicct connected: it sent the SYN
    assert synack.ack == syn.seq + 1 and ack.ack == synack.seq + 1
    data = [s for s in segs[3:] if s.data]
    assert [len(s.data) for s in data] == [18, 36, 65000, 65000, 153600 - 130000]
    assert b"".join(bytes(s.data) for s in data[2:]) == big
    nxt = {WIC[1]: syn.seq + 1, PCSCF[1]: synack.seq + 1}
    for s in segs[3:]:
        assert s.seq == nxt[s.sport], "every byte follows the one before"
        assert s.ack == nxt[s.dport]
        nxt[s.sport] += len(s.data) + (1 if s.flags & dpkt.tcp.TH_FIN else 0)
    fins = [s for s in segs if s.flags & dpkt.tcp.TH_FIN]
    assert sorted(s.sport for s in fins) == sorted([WIC[1], PCSCF[1]])


def test_an_accepted_connection_starts_with_the_peers_syn() -> None:
    cap = Capture()
    _conn(cap, accepted=True, local=PCSCF, remote=WIC)
    syn = _tcp(pcap.pcapng(cap.connections, cap, keylog=None))[0]
    assert (syn.sport, syn.dport) == (WIC[1], PCSCF[1])


def test_the_key_log_is_a_decryption_secrets_block_before_the_packets() -> None:
    cap = Capture()
    cap.record(_conn(cap), "out", b"\x16\x03\x01")
    keylog = b"CLIENT_RANDOM 00 11\n"  # 20 bytes
    blocks = _blocks(pcap.pcapng(cap.connections, cap, keylog=keylog + b"x"))
    kinds = [k for k, _ in blocks]
    assert kinds[:3] == [0x0A0D0D0A, 1, 0x0000000A] and set(kinds[3:]) == {6}
    body = blocks[2][1]
    kind, length = struct.unpack_from("<II", body)
    assert kind == 0x544C534B and length == 21
    assert body[8:8 + length] == keylog + b"x" and len(body) == 8 + 24  # padded to 32 bits
    without = _blocks(pcap.pcapng(cap.connections, cap, keylog=None))
    assert 0x0000000A not in [k for k, _ in without]


def test_caps_count_what_they_drop() -> None:
    cap = Capture(per_connection=100, per_run=150)
    one, two = _conn(cap), _conn(cap, local=("127.0.0.1", 40001))
    cap.record(one, "out", b"a" * 60)
    cap.record(one, "in", b"b" * 60)  # past the connection's cap: dropped
    cap.record(one, "out", b"c" * 10)  # after a drop, nothing more is kept
    cap.record(two, "out", b"d" * 80)
    cap.record(two, "in", b"e" * 20)  # past the run's cap (60 + 80 + 20 > 150)
    assert (one.kept, one.dropped, two.kept, two.dropped) == (60, 70, 80, 20)
    assert (cap.kept, cap.dropped) == (140, 90)
    cap.close(one, "out")
    segs = _tcp(pcap.pcapng([one], cap, keylog=None))
    assert not any(s.flags & dpkt.tcp.TH_FIN for s in segs), "a cut stream shows no close"


def test_a_connection_between_two_wicct_ends_is_written_once() -> None:
    cap = Capture()
    mine = _conn(cap)
    theirs = _conn(cap, accepted=True, local=PCSCF, remote=WIC)  # the reference SUT's end
    later = _conn(cap, local=("127.0.0.1", 40002))
    cap.record(mine, "out", b"x")
    cap.record(theirs, "in", b"x")
    assert pcap.distinct(cap.connections) == [mine, later]


async def test_a_stream_records_its_bytes_only_while_a_capture_runs() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cap = Capture()
    try:
        for running in (None, cap):
            capture.start(running)
            stream = PlainStream(*await asyncio.open_connection("127.0.0.1", port))
            stream.write(b"hello")
            assert await asyncio.wait_for(stream.read(), 5) == b"hello"
            assert await asyncio.wait_for(stream.read(), 5) == b""
            stream.close()
    finally:
        capture.start(None)
        server.close()
        await server.wait_closed()
    [conn] = cap.connections
    assert [(c.direction, c.data) for c in conn.chunks] == [("out", b"hello"), ("in", b"hello")]
    assert set(conn.closed) == {"in", "out"} and conn.remote == ("127.0.0.1", port)
    assert not conn.accepted and not conn.tls
