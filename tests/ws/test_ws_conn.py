"""harness.ws.conn / shell: WSS connections over real TLS on loopback, with evidence."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from websockets.utils import accept_key

from harness import evidence as ev
from harness.evidence import Entry, Timeline
from harness.pki import Pki
from harness.ws import WsConnection, WsServer, connect

ORIGIN = "https://wwsf.example"

Pair = tuple[WsConnection, WsConnection]


def select(timeline: Timeline, kind: str, actor: str, direction: str | None = None) -> list[Entry]:
    return timeline.select(kind=kind, actor=actor, direction=direction)


def frames(timeline: Timeline, actor: str, direction: str, opcode: str) -> list[Entry]:
    return [
        e for e in select(timeline, ev.WS_FRAME, actor, direction) if e.data["opcode"] == opcode
    ]


class TestOpeningHandshake:
    """RFC 6455 §4.1 / §4.2 and RFC 7118 §5: evidence of TCP, TLS and the upgrade."""

    async def test_evidence_both_sides(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        assert client.subprotocol == "sip" and accepted.subprotocol == "sip"
        assert client.response is not None and client.response.status_code == 101
        assert accepted.request is not None and accepted.request.headers["Origin"] == ORIGIN

        (connect_tx,) = select(timeline, ev.CONNECT, "wic", "tx")
        (connect_rx,) = select(timeline, ev.CONNECT, "epcscf", "rx")
        assert connect_tx.data["local"] == connect_rx.data["peer"]
        (tls_wic,) = select(timeline, ev.TLS, "wic")
        (tls_epc,) = select(timeline, ev.TLS, "epcscf")
        assert tls_wic.data["version"] == "TLSv1.3" and tls_wic.data["error"] is None
        assert "127.0.0.1" in tls_wic.data["peer_cert_san"]
        assert (
            tls_wic.data["peer_cert_issuer"] and "wicct test CA" in tls_wic.data["peer_cert_issuer"]
        )
        assert tls_epc.data["peer_cert_subject"] is None  # no client certificate

        (req_tx,) = select(timeline, ev.HTTP_REQUEST, "wic", "tx")
        (req_rx,) = select(timeline, ev.HTTP_REQUEST, "epcscf", "rx")
        names = [name for name, _ in req_tx.data["headers"]]
        assert names == [
            "Host",
            "Origin",
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Version",
            "Sec-WebSocket-Protocol",
        ]
        assert req_rx.data["headers"] == req_tx.data["headers"]
        assert req_rx.data["raw"] == req_tx.data["raw"]
        assert req_rx.data["raw"].startswith("GET / HTTP/1.1\r\n")
        assert req_rx.data["raw"].endswith("\r\n\r\n")
        assert ["Sec-WebSocket-Protocol", "sip"] in req_rx.data["headers"]
        assert (req_rx.data["method"], req_rx.data["path"]) == ("GET", "/")

        (resp_tx,) = select(timeline, ev.HTTP_RESPONSE, "epcscf", "tx")
        (resp_rx,) = select(timeline, ev.HTTP_RESPONSE, "wic", "rx")
        assert resp_tx.data["status"] == resp_rx.data["status"] == 101
        assert resp_rx.data["reason"] == "Switching Protocols"
        assert resp_rx.data["raw"] == resp_tx.data["raw"]
        assert resp_rx.data["error"] is None
        assert ["Sec-WebSocket-Protocol", "sip"] in resp_rx.data["headers"]
        assert resp_rx.summary == "rx 101 Switching Protocols"
        assert {e.conn for e in timeline if e.actor == "wic"} == {client.conn_id}
        assert {e.conn for e in timeline if e.actor == "epcscf"} == {accepted.conn_id}
        assert client.conn_id != accepted.conn_id

    async def test_duplicate_origin_headers_are_sent(
        self, server: WsServer, pki: Pki, timeline: Timeline
    ) -> None:
        result = await connect(
            server.url,
            timeline=timeline,
            ssl_context=pki.client_context(),
            origin=[ORIGIN, "https://other.example"],
        )
        (req_rx,) = select(timeline, ev.HTTP_REQUEST, "epcscf", "rx")
        origins = [v for n, v in req_rx.data["headers"] if n == "Origin"]
        assert origins == [ORIGIN, "https://other.example"]
        # websockets refuses several Origin headers (RFC 6454 §7.3) with 400.
        assert result.conn is None
        assert result.response is not None and result.response.status_code == 400
        assert result.error == "handshake: server rejected WebSocket connection: HTTP 400"
        (resp_tx,) = select(timeline, ev.HTTP_RESPONSE, "epcscf", "tx")
        assert "invalid Origin header: multiple values" in resp_tx.data["error"]

    async def test_no_origin_and_extra_headers(
        self, server: WsServer, pki: Pki, timeline: Timeline
    ) -> None:
        result = await connect(
            server.url,
            timeline=timeline,
            ssl_context=pki.client_context(),
            extra_headers=[("X-Case", "1"), ("X-Case", "2")],
        )
        assert result.conn is not None
        (req_tx,) = select(timeline, ev.HTTP_REQUEST, "wic", "tx")
        names = [n for n, _ in req_tx.data["headers"]]
        assert "Origin" not in names
        assert req_tx.data["headers"][-2:] == [["X-Case", "1"], ["X-Case", "2"]]
        await result.conn.close()

    async def test_101_with_unoffered_subprotocol_is_rejected_but_seen(
        self, pki: Pki, timeline: Timeline
    ) -> None:
        async def fake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            key = next(
                line.split(b":", 1)[1].strip().decode()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept_key(key).encode()
                + b"\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n"
            )
            await writer.drain()
            await reader.read()  # until the client drops us
            writer.close()

        fake_server = await asyncio.start_server(fake, "127.0.0.1", 0, ssl=pki.server_context())
        port = fake_server.sockets[0].getsockname()[1]
        try:
            result = await connect(
                f"wss://127.0.0.1:{port}/", timeline=timeline, ssl_context=pki.client_context()
            )
        finally:
            fake_server.close()
        assert result.conn is None
        assert result.tls_ok is True
        assert result.response is not None and result.response.status_code == 101
        assert result.error == "handshake: unsupported subprotocol: xmpp"
        (resp_rx,) = select(timeline, ev.HTTP_RESPONSE, "wic", "rx")
        assert resp_rx.data["status"] == 101
        assert resp_rx.data["error"] == "unsupported subprotocol: xmpp"
        assert not select(timeline, ev.WS_CLOSE, "wic")  # never opened

    async def test_tcp_refused(self, timeline: Timeline, pki: Pki) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        result = await connect(
            f"wss://127.0.0.1:{port}/", timeline=timeline, ssl_context=pki.client_context()
        )
        assert (result.conn, result.response, result.tls_ok) == (None, None, False)
        assert result.error == "tcp: connection refused"
        (entry,) = select(timeline, ev.CONNECT, "wic")
        assert entry.data["error"] == "connection refused"

    async def test_silent_server_times_out(self, timeline: Timeline, pki: Pki) -> None:
        accepted: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)  # and never answer the ClientHello

        mute = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = mute.sockets[0].getsockname()[1]
        started = time.monotonic()
        try:
            result = await connect(
                f"wss://127.0.0.1:{port}/",
                timeline=timeline,
                ssl_context=pki.client_context(),
                timeout=0.5,
            )
        finally:
            mute.close()
            for writer in accepted:
                writer.transport.abort()
        assert time.monotonic() - started < 2.0
        assert (result.conn, result.error, result.tls_ok) == (None, "timeout", False)
        (tls,) = select(timeline, ev.TLS, "wic")
        assert tls.data["error"] == "timeout"


class TestDataFrames:
    """RFC 6455 §5.6 data frames, §5.4 fragmentation, §5.3 masking as seen on the wire."""

    async def test_text_both_ways(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        seq = await client.send_text("REGISTER sip:example.com SIP/2.0\r\n\r\n")
        message = await accepted.recv(2.0)
        assert message is not None
        assert (message.opcode, message.payload) == (
            "text",
            b"REGISTER sip:example.com SIP/2.0\r\n\r\n",
        )
        (frame_rx,) = frames(timeline, "epcscf", "rx", "text")
        assert message.frames == (frame_rx.seq,)
        assert frame_rx.data["masked"] is True and frame_rx.data["fin"] is True
        assert frame_rx.data["length"] == 36 and frame_rx.summary == "rx text 36B fin"
        assert timeline[seq].data["masked"] is True and timeline[seq].direction == "tx"
        msg_entry = timeline[message.entry]
        assert msg_entry.kind == ev.WS_MESSAGE and msg_entry.data["frames"] == [frame_rx.seq]
        assert msg_entry.data["payload"].startswith("REGISTER")

        await accepted.send_text("SIP/2.0 200 OK\r\n\r\n")
        reply = await client.recv(2.0)
        assert reply is not None and reply.payload == b"SIP/2.0 200 OK\r\n\r\n"
        (frame_back,) = frames(timeline, "wic", "rx", "text")
        assert frame_back.data["masked"] is False
        assert frame_back.data["raw_head"] == "8112"  # FIN|text, unmasked, 18 bytes

    async def test_binary(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        await client.send_binary(b"\x00\xff\x10")
        message = await accepted.recv(2.0)
        assert message is not None
        assert (message.opcode, message.payload) == ("binary", b"\x00\xff\x10")
        assert timeline[message.entry].to_json()["data"]["payload"] == {"hex": "00ff10"}

    async def test_fragments_with_ping_between(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        await client.send_fragments(
            [b"INVITE ", b"sip:bob", b"@example.com"], ping_after_first=b"k1"
        )
        message = await accepted.recv(2.0)
        pong = await client.wait_pong(b"k1", 2.0)
        assert message is not None and message.payload == b"INVITE sip:bob@example.com"
        assert len(message.frames) == 3
        kinds = [(timeline[s].data["opcode"], timeline[s].data["fin"]) for s in message.frames]
        assert kinds == [("text", False), ("continuation", False), ("continuation", True)]
        (ping_rx,) = frames(timeline, "epcscf", "rx", "ping")
        (pong_tx,) = frames(timeline, "epcscf", "tx", "pong")
        assert message.frames[0] < ping_rx.seq < pong_tx.seq
        assert ping_rx.seq < message.frames[1]
        assert pong is not None and pong.payload == b"k1"
        assert timeline[pong.entry].data["opcode"] == "pong"

    async def test_pending_does_not_consume(self, pair: Pair) -> None:
        client, accepted = pair
        await accepted.send_text("one")
        await accepted.send_text("two")
        for _ in range(50):
            if len(client.pending()) == 2:
                break
            await asyncio.sleep(0.02)
        assert [m.payload for m in client.pending()] == [b"one", b"two"]
        first = await client.recv(1.0)
        assert first is not None and first.payload == b"one"
        assert [m.payload for m in client.pending()] == [b"two"]

    async def test_recv_timeout_returns_none(self, pair: Pair) -> None:
        client, _ = pair
        started = time.monotonic()
        assert await client.recv(0.2) is None
        assert time.monotonic() - started >= 0.19
        assert client.closed is False


class TestControlFrames:
    """RFC 6455 §5.5.2 / §5.5.3 Ping and Pong."""

    async def test_pong_echoes_ping_payload(self, pair: Pair, timeline: Timeline) -> None:
        client, _ = pair
        seq = await client.send_ping(b"keepalive-1")
        assert timeline[seq].summary == "tx ping 11B"
        pong = await client.wait_pong(b"keepalive-1", 2.0)
        assert pong is not None and pong.payload == b"keepalive-1"
        assert timeline[pong.entry].data["payload"] == "keepalive-1"
        assert await client.wait_pong(None, 0.1) is None  # consumed

    async def test_auto_pong_off_gives_no_pong(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        accepted.auto_pong = False
        await client.send_ping(b"p")
        assert await client.wait_pong(b"p", 0.3) is None
        assert len(frames(timeline, "epcscf", "rx", "ping")) == 1
        assert frames(timeline, "epcscf", "tx", "pong") == []
        accepted.auto_pong = True
        await client.send_ping(b"q")
        assert await client.wait_pong(b"q", 2.0) is not None


class TestFailTheConnection:
    """RFC 6455 §7.1.7: websockets fails the connection; the close code is evidence."""

    async def _server_error(self, accepted: WsConnection, timeline: Timeline) -> Entry:
        assert await accepted.wait_closed(3.0)
        (error,) = select(timeline, ev.WS_ERROR, "epcscf")
        return error

    async def test_unmasked_client_frame_is_1002(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        seq = await client.send_raw_frame(opcode=1, payload=b"hi", mask=False)
        assert timeline[seq].data["masked"] is False
        (stimulus,) = select(timeline, ev.STIMULUS, "wic")
        assert stimulus.summary == "stimulus: raw text frame 2B fin unmasked"
        error = await self._server_error(accepted, timeline)
        assert (error.data["code"], error.data["error"]) == (1002, "incorrect masking")
        assert error.data["frame_head"]["masked"] is False
        assert error.data["frame_head"]["opcode"] == "text"
        assert accepted.error == "incorrect masking"
        (close_tx,) = frames(timeline, "epcscf", "tx", "close")
        assert close_tx.data["code"] == 1002
        assert await client.wait_closed(3.0)
        assert client.close_code == 1002 and client.close_reason == "incorrect masking"
        (closed,) = select(timeline, ev.WS_CLOSE, "epcscf")
        assert closed.data["by"] == "us" and closed.data["error"] == "incorrect masking"

    async def test_invalid_utf8_text_is_1007(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        await client.send_text(b"SIP \xff\xfe")
        assert select(timeline, ev.STIMULUS, "wic")[0].data["what"] == "invalid utf-8 text"
        error = await self._server_error(accepted, timeline)
        assert error.data["code"] == 1007
        assert error.data["error"] == "invalid start byte at position 4"
        assert accepted.pending() == []
        assert select(timeline, ev.WS_MESSAGE, "epcscf") == []
        assert await client.wait_closed(3.0)
        assert client.close_code == 1007

    async def test_invalid_utf8_across_fragments(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        await client.send_fragments([b"ab\xe2\x82", b"(x"])
        error = await self._server_error(accepted, timeline)
        assert (error.data["code"], error.data["error"]) == (
            1007,
            "invalid continuation byte at position 2",
        )

    async def test_rsv1_is_1002(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        await client.send_raw_frame(opcode=1, payload=b"x", rsv1=True)
        error = await self._server_error(accepted, timeline)
        assert (error.data["code"], error.data["error"]) == (1002, "reserved bits must be 0")
        assert error.data["frame_head"]["rsv1"] is True
        assert await client.wait_closed(3.0) and client.close_code == 1002

    async def test_reserved_opcode_is_1002(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        seq = await client.send_raw_frame(opcode=0x3, payload=b"")
        assert timeline[seq].data["opcode"] == "reserved-0x3"
        error = await self._server_error(accepted, timeline)
        assert (error.data["code"], error.data["error"]) == (1002, "invalid opcode")
        assert error.data["frame_head"]["opcode"] == "reserved-0x3"

    async def test_masked_server_frame_fails_client(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        await accepted.send_raw_frame(opcode="text", payload=b"hi", mask=True)
        assert await client.wait_closed(3.0)
        (error,) = select(timeline, ev.WS_ERROR, "wic")
        assert (error.data["code"], error.data["error"]) == (1002, "incorrect masking")
        assert error.data["frame_head"]["masked"] is True
        (close_tx,) = frames(timeline, "wic", "tx", "close")
        assert close_tx.data["code"] == 1002 and close_tx.data["masked"] is True
        assert accepted.close_code == 1002


class TestClosingHandshake:
    """RFC 6455 §7.1.2 / §5.5.1: Close echoed, then TCP closed by the server."""

    async def test_close_1000_echoed_and_tcp_closed(self, pair: Pair, timeline: Timeline) -> None:
        client, accepted = pair
        seq = await client.send_close(1000, "bye")
        assert timeline[seq].summary == "tx close 1000 'bye'"
        assert await client.wait_closed(3.0)
        assert await accepted.wait_closed(3.0)
        (echo,) = frames(timeline, "wic", "rx", "close")
        assert (echo.data["code"], echo.data["reason"]) == (1000, "bye")
        assert (client.close_code, client.close_reason) == (1000, "bye")
        assert accepted.close_code == 1000 and accepted.closed and client.closed
        closed = timeline[client.close_entry]
        assert closed.kind == ev.WS_CLOSE
        assert closed.data == {
            "code": 1000,
            "reason": "bye",
            "by": "us",
            "tcp_closed": True,
            "tcp_closed_by": "peer",
            "clean": True,
            "sent_code": 1000,
            "sent_reason": "bye",
            "error": None,
        }
        server_side = timeline[accepted.close_entry].data
        assert (server_side["by"], server_side["tcp_closed_by"]) == ("peer", "us")
        assert await client.recv(0.1) is None
        assert await client.send_text("late") == 0  # not sent: recorded as a note

    async def test_close_method_never_hangs_on_silent_peer(
        self, pki: Pki, timeline: Timeline
    ) -> None:
        server = WsServer(timeline=timeline, ssl_context=pki.server_context())
        await server.start()
        try:
            result = await connect(server.url, timeline=timeline, ssl_context=pki.client_context())
            assert result.conn is not None
            accepted = await server.wait_connection(2.0)
            assert accepted is not None
            accepted.abort()  # the peer vanishes without a Close
            assert await result.conn.wait_closed(2.0)
            started = time.monotonic()
            await result.conn.close(0.5)
            assert time.monotonic() - started < 1.0
            closed = timeline[result.conn.close_entry].data
            assert closed["code"] is None and closed["tcp_closed_by"] == "peer"
            assert closed["clean"] is False
        finally:
            await server.stop()


class TestWithoutTimeline:
    async def test_nothing_recorded_seqs_zero(self, make_server: Any, pki: Pki) -> None:
        server = await make_server(timeline=None)
        result = await connect(server.url, timeline=None, ssl_context=pki.client_context())
        assert result.conn is not None
        assert await result.conn.send_text("x") == 0
        accepted = await server.wait_connection(2.0)
        assert accepted is not None
        message = await accepted.recv(2.0)
        assert message is not None and message.frames == () and message.entry == 0
        await result.conn.close()
        assert result.conn.close_entry == 0
