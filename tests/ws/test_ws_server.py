"""harness.ws.server: handshake answers, policy, TLS failures and shutdown."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

from harness import evidence as ev
from harness.evidence import Timeline
from harness.pki import Pki
from harness.ws import WsConnection, WsServer, connect, origin_policy, reject

ORIGIN = "https://wwsf.example"


class TestVersion:
    """RFC 6455 §4.2.2 / §4.4: an unsupported version gets 426 and the versions we speak."""

    async def test_version_8_gets_426_with_version_13(
        self, server: WsServer, pki: Pki, timeline: Timeline
    ) -> None:
        result = await connect(
            server.url, timeline=timeline, ssl_context=pki.client_context(), version="8"
        )
        assert result.conn is None and result.tls_ok is True
        assert result.response is not None
        assert result.response.status_code == 426
        assert result.response.headers.get_all("Sec-WebSocket-Version") == ["13"]
        assert result.error == "handshake: server rejected WebSocket connection: HTTP 426"
        (req,) = timeline.select(kind=ev.HTTP_REQUEST, actor="wic", direction="tx")
        assert ["Sec-WebSocket-Version", "8"] in req.data["headers"]
        (resp,) = timeline.select(kind=ev.HTTP_RESPONSE, actor="epcscf", direction="tx")
        assert resp.data["status"] == 426
        assert ["Sec-WebSocket-Version", "13"] in resp.data["headers"]
        assert "invalid Sec-WebSocket-Version header: 8" in resp.data["error"]
        assert server.connections == []


class TestPolicy:
    async def test_foreign_origin_refused_403(
        self, make_server: Any, pki: Pki, timeline: Timeline
    ) -> None:
        server = await make_server(policy=origin_policy([ORIGIN]))
        result = await connect(
            server.url,
            timeline=timeline,
            ssl_context=pki.client_context(),
            origin="https://attacker.example",
        )
        assert result.conn is None
        assert result.response is not None and result.response.status_code == 403
        assert result.error == "handshake: server rejected WebSocket connection: HTTP 403"
        assert b"attacker.example" in result.response.body
        (resp_rx,) = timeline.select(kind=ev.HTTP_RESPONSE, actor="wic", direction="rx")
        assert resp_rx.data["status"] == 403 and resp_rx.data["reason"] == "Forbidden"
        assert "attacker.example" in resp_rx.data["raw"]  # body kept in the raw text
        (resp_tx,) = timeline.select(kind=ev.HTTP_RESPONSE, actor="epcscf", direction="tx")
        assert resp_tx.data["error"] == "handshake: 403 refused by policy"
        assert server.connections == []
        assert await server.wait_connection(0.1) is None

    async def test_trusted_origin_accepted(
        self, make_server: Any, pki: Pki, timeline: Timeline
    ) -> None:
        server = await make_server(policy=origin_policy([ORIGIN]))
        result = await connect(
            server.url, timeline=timeline, ssl_context=pki.client_context(), origin=ORIGIN
        )
        assert result.conn is not None and result.response is not None
        assert result.response.status_code == 101
        accepted = await server.wait_connection(2.0)
        assert accepted is not None and server.connections == [accepted]
        await result.conn.close()

    async def test_policy_error_answers_500(
        self, make_server: Any, pki: Pki, timeline: Timeline
    ) -> None:
        def broken(request: Any) -> None:
            raise KeyError("boom")

        server = await make_server(policy=broken)
        result = await connect(server.url, timeline=timeline, ssl_context=pki.client_context())
        assert result.response is not None and result.response.status_code == 500
        assert server.callback_errors == ["policy failed: KeyError: 'boom'"]

    def test_reject_shape(self) -> None:
        response = reject(403, "no\n", [("X-Why", "origin")])
        assert (response.status_code, response.reason_phrase, response.body) == (
            403,
            "Forbidden",
            b"no\n",
        )
        assert response.headers["Content-Length"] == "3"
        assert response.headers["X-Why"] == "origin"


class TestSubprotocol:
    """RFC 7118 §4: the "sip" subprotocol is negotiated."""

    async def test_missing_subprotocol_refused_400(
        self, server: WsServer, pki: Pki, timeline: Timeline
    ) -> None:
        result = await connect(
            server.url, timeline=timeline, ssl_context=pki.client_context(), subprotocols=None
        )
        (req,) = timeline.select(kind=ev.HTTP_REQUEST, actor="epcscf", direction="rx")
        assert "Sec-WebSocket-Protocol" not in [n for n, _ in req.data["headers"]]
        assert result.response is not None and result.response.status_code == 400
        assert result.conn is None
        (resp,) = timeline.select(kind=ev.HTTP_RESPONSE, actor="epcscf", direction="tx")
        assert "missing subprotocol" in resp.data["error"]

    async def test_lenient_server_accepts_without_subprotocol(
        self, make_server: Any, pki: Pki, timeline: Timeline
    ) -> None:
        server = await make_server(require_subprotocol=False)
        result = await connect(
            server.url, timeline=timeline, ssl_context=pki.client_context(), subprotocols=[]
        )
        assert result.conn is not None and result.conn.subprotocol is None
        accepted = await server.wait_connection(2.0)
        assert accepted is not None and accepted.subprotocol is None
        await result.conn.close()


class TestTls:
    """RFC 7118 §9.1: the WIC verifies the eP-CSCF certificate; WIC-HS-03 needs
    "TLS aborted; no GET" on the server side."""

    async def test_untrusted_ca_fails_on_both_sides(
        self, make_server: Any, timeline: Timeline
    ) -> None:
        reported: list[str] = []
        server = await make_server(on_tls_failure=reported.append)
        other = Pki(name="unrelated CA")
        try:
            result = await connect(
                server.url, timeline=timeline, ssl_context=other.client_context()
            )
        finally:
            other.close()
        assert result.conn is None and result.response is None and result.tls_ok is False
        assert result.error is not None
        assert result.error.startswith("tls: [SSL: CERTIFICATE_VERIFY_FAILED]")
        (tls_wic,) = timeline.select(kind=ev.TLS, actor="wic")
        assert tls_wic.data["exception"] == "SSLCertVerificationError"
        assert tls_wic.data["verify_message"] == "unable to get local issuer certificate"
        for _ in range(100):
            if server.tls_failures:
                break
            await asyncio.sleep(0.02)
        assert len(server.tls_failures) == 1
        assert "unknown ca" in server.tls_failures[0].lower()
        assert reported == server.tls_failures
        (tls_epc,) = timeline.select(kind=ev.TLS, actor="epcscf")
        assert tls_epc.data["error"] == server.tls_failures[0]
        assert tls_epc.summary.startswith("tls failed: ")
        assert timeline.select(kind=ev.HTTP_REQUEST) == []  # no GET anywhere
        assert server.connections == []

    async def test_tls_but_no_get_is_dropped(
        self, make_server: Any, pki: Pki, timeline: Timeline
    ) -> None:
        server = await make_server(handshake_timeout=0.3)
        ctx = pki.client_context()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=ctx)
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 2.0) == b""  # the server dropped us
        assert time.monotonic() - started < 1.5
        writer.close()
        notes = [e.summary for e in timeline.select(kind=ev.NOTE, actor="epcscf")]
        assert notes == ["no HTTP request within 0.3s; dropped"]
        (tls_epc,) = timeline.select(kind=ev.TLS, actor="epcscf")
        assert tls_epc.data["error"] is None

    async def test_plain_ws_without_context(self, make_server: Any, timeline: Timeline) -> None:
        server = await make_server(ssl_context=None)
        assert server.url.startswith("ws://127.0.0.1:")
        result = await connect(server.url, timeline=timeline, ssl_context=None)
        assert result.conn is not None and result.tls_ok is False
        assert timeline.select(kind=ev.TLS) == []
        await result.conn.close()


class TestLifecycle:
    async def test_on_connection_runs(self, make_server: Any, pki: Pki, timeline: Timeline) -> None:
        async def echo(conn: WsConnection) -> None:
            message = await conn.recv(2.0)
            if message is not None:
                await conn.send_text(message.payload.upper())

        server = await make_server(on_connection=echo)
        result = await connect(server.url, timeline=timeline, ssl_context=pki.client_context())
        assert result.conn is not None
        await result.conn.send_text("options")
        reply = await result.conn.recv(2.0)
        assert reply is not None and reply.payload == b"OPTIONS"
        await result.conn.close()

    async def test_stop_with_open_connections_does_not_hang(
        self, pki: Pki, timeline: Timeline
    ) -> None:
        async def idle(conn: WsConnection) -> None:
            await asyncio.sleep(3600)

        server = WsServer(timeline=timeline, ssl_context=pki.server_context(), on_connection=idle)
        await server.start()
        clients = []
        for _ in range(3):
            result = await connect(server.url, timeline=timeline, ssl_context=pki.client_context())
            assert result.conn is not None
            clients.append(result.conn)
        for _ in range(3):
            assert await server.wait_connection(2.0) is not None
        started = time.monotonic()
        await asyncio.wait_for(server.stop(), 5.0)
        assert time.monotonic() - started < 2.0
        for conn in clients:
            assert await conn.wait_closed(2.0)
            assert (conn.close_code, conn.close_reason) == (1001, "going away")
        assert all(c.closed for c in server.connections)
        assert len(timeline.select(kind=ev.WS_CLOSE, actor="epcscf")) == 3

    async def test_stop_aborts_pending_tls(self, pki: Pki, timeline: Timeline) -> None:
        server = WsServer(timeline=timeline, ssl_context=pki.server_context(), handshake_timeout=30)
        await server.start()
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)  # no ClientHello
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await asyncio.wait_for(server.stop(), 5.0)
        assert time.monotonic() - started < 2.0
        assert server.tls_failures == []  # our own abort is not the client's failure
        (tls,) = timeline.select(kind=ev.TLS, actor="epcscf")
        assert tls.data["error"] is not None
        writer.close()

    async def test_client_never_verifying_is_explicit(
        self, server: WsServer, timeline: Timeline
    ) -> None:
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        result = await connect(server.url, timeline=timeline, ssl_context=insecure)
        assert result.conn is not None and result.tls_ok
        (tls_wic,) = timeline.select(kind=ev.TLS, actor="wic")
        assert tls_wic.data["peer_cert_issuer"] is not None  # still recorded
        await result.conn.close()


async def test_connections_past_max_connections_are_closed_at_accept(
    make_server: Any, pki: Pki, timeline: Timeline
) -> None:
    """A WIC opening hundreds of WebSockets (hostile row `many-connections`): past the
    server's `max_connections` live ones, a new TCP connection is closed at once, noted."""
    server = await make_server(max_connections=2)
    held = [await connect(server.url, timeline=timeline, ssl_context=pki.client_context(),
                          origin=ORIGIN) for _ in range(2)]
    assert all(r.conn is not None for r in held)
    refused = await connect(server.url, timeline=timeline, ssl_context=pki.client_context(), origin=ORIGIN)
    assert refused.conn is None
    notes = [e for e in timeline.select(kind=ev.NOTE, actor="epcscf") if "already live" in e.summary]
    assert len(notes) == 1 and "2 connections" in notes[0].summary
    for r in held:
        assert r.conn is not None
        await r.conn.close()
    again = await connect(server.url, timeline=timeline, ssl_context=pki.client_context(), origin=ORIGIN)
    assert again.conn is not None  # closed ones no longer count
    await again.conn.close()
