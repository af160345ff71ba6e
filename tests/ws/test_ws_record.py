"""harness.ws.record: evidence and reassembly from observed protocols, in memory."""

from __future__ import annotations

from websockets.protocol import OPEN
from websockets.uri import parse_uri

from harness import evidence as ev
from harness.evidence import Timeline
from harness.ws.observe import ObservedClient, ObservedServer
from harness.ws.record import ConnectionRecord, Recorder, next_conn_id


class Link:
    """A client and a server protocol joined in memory (like h11's ConnectionPair)."""

    def __init__(self, timeline: Timeline | None) -> None:
        self.client = ObservedClient(parse_uri("wss://127.0.0.1/"), state=OPEN)
        self.server = ObservedServer(state=OPEN)
        self.timeline = timeline
        self.wic = ConnectionRecord(self.client, Recorder(timeline, "wic", "c1"))
        self.epc = ConnectionRecord(self.server, Recorder(timeline, "epcscf", "c2"))

    def client_to_server(self) -> None:
        self.wic.drain()
        for data in self.client.data_to_send():
            if data:
                self.server.receive_data(data)
        self.epc.drain()

    def server_to_client(self) -> None:
        self.epc.drain()
        for data in self.server.data_to_send():
            if data:
                self.client.receive_data(data)
        self.wic.drain()


class TestReassembly:
    """RFC 6455 §5.4: a message is a text/binary frame and its continuation frames."""

    def test_fragments_make_one_message(self) -> None:
        timeline = Timeline()
        link = Link(timeline)
        link.client.send_text(b"AB", fin=False)
        link.client.send_ping(b"p")
        link.client.send_continuation(b"CD", fin=False)
        link.client.send_continuation(b"E", fin=True)
        link.client_to_server()
        (message,) = link.epc.inbox
        assert (message.opcode, message.payload) == ("text", b"ABCDE")
        rx = timeline.select(kind=ev.WS_FRAME, actor="epcscf", direction="rx")
        assert [e.data["opcode"] for e in rx] == ["text", "ping", "continuation", "continuation"]
        assert message.frames == (rx[0].seq, rx[2].seq, rx[3].seq)
        assert all(e.data["masked"] is True for e in rx)
        entry = timeline[message.entry]
        assert entry.summary == "rx text message 5B in 3 frames"
        assert entry.data == {
            "opcode": "text",
            "length": 5,
            "payload": "ABCDE",
            "frames": list(message.frames),
        }
        (pong,) = timeline.select(kind=ev.WS_FRAME, actor="epcscf", direction="tx")
        assert pong.data["opcode"] == "pong" and pong.seq > rx[1].seq

    def test_utf8_sequence_split_across_frames(self) -> None:
        link = Link(Timeline())
        euro = "€".encode()
        link.client.send_text(euro[:2], fin=False)
        link.client.send_continuation(euro[2:], fin=True)
        link.client_to_server()
        assert [m.payload.decode() for m in link.epc.inbox] == ["€"]
        assert link.epc.error is None

    def test_invalid_utf8_position_counts_the_whole_message(self) -> None:
        timeline = Timeline()
        link = Link(timeline)
        link.client.send_text(b"abc", fin=False)
        link.client.send_continuation(b"d\xc3(", fin=True)
        link.client_to_server()
        assert link.epc.inbox == []
        assert link.epc.error == "invalid continuation byte at position 4"
        (error,) = timeline.select(kind=ev.WS_ERROR, actor="epcscf")
        assert error.data["code"] == 1007
        (close,) = timeline.select(kind=ev.WS_FRAME, actor="epcscf", direction="tx")
        assert (close.data["code"], close.data["masked"]) == (1007, False)
        link.server_to_client()
        assert link.client.close_rcvd is not None and link.client.close_rcvd.code == 1007

    def test_binary_is_not_decoded(self) -> None:
        link = Link(None)
        link.server.send_binary(b"\xff\xfe")
        link.server_to_client()
        (message,) = link.wic.inbox
        assert (message.opcode, message.payload, message.frames, message.entry) == (
            "binary",
            b"\xff\xfe",
            (),
            0,
        )


class TestClose:
    def test_close_entry_both_sides(self) -> None:
        timeline = Timeline()
        link = Link(timeline)
        link.client.send_close(1000, "done")
        link.client_to_server()
        link.server_to_client()
        server_seq = link.epc.close("us")
        client_seq = link.wic.close("peer")
        assert timeline[client_seq].summary == (
            "close rcvd 1000 sent 1000, by us, clean, tcp closed by peer"
        )
        assert timeline[server_seq].data["by"] == "peer"
        assert timeline[server_seq].data["reason"] == "done"


def test_conn_ids_are_per_timeline() -> None:
    first, second = Timeline(), Timeline()
    assert [next_conn_id(first), next_conn_id(first), next_conn_id(second)] == ["c1", "c2", "c1"]
    assert next_conn_id(None).startswith("c")
