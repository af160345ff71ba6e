"""wicct's IMS-core stub (harness.actors.core) on its own, over real loopback sockets.

A tiny UDP/TCP client plays the eP-CSCF, so the stub's registrar, answering policy,
counting and terminating requests are shown without any SUT.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from harness.actors.core import CoreStub, normalise_action, parse_listen
from harness.actors.digest_client import DigestClient
from harness.evidence import SIP, Timeline
from harness.profiles import Profile, load_profile
from harness.sip import SipMessage, build_request, new_branch, new_call_id, new_tag, parse
from harness.sip.auth import parse_challenge, parse_credentials
from harness.sipstream import read_sip_stream

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "reference-epcscf.yaml"
PATH = "<sip:flow1@127.0.0.1:5999;transport=udp;lr;ob>"
CONTACT = "<sip:u1@abc.invalid;transport=ws>"


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


@pytest.fixture
async def core(profile: Profile, timeline: Timeline) -> AsyncIterator[CoreStub]:
    stub = CoreStub(timeline, profile)
    await stub.start()
    yield stub
    await stub.stop()


class Edge:
    """Plays the eP-CSCF towards the core over UDP."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0

    async def open(self) -> Edge:
        edge = self

        class _P(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                edge.queue.put_nowait(data)

        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(_P, local_addr=("127.0.0.1", 0))
        self.port = self.transport.get_extra_info("sockname")[1]
        return self

    def send(self, core: CoreStub, message: SipMessage | bytes) -> None:
        data = message.to_bytes() if isinstance(message, SipMessage) else message
        assert self.transport is not None
        self.transport.sendto(data, (core.host, core.port))

    async def receive(self, timeout: float = 2.0) -> SipMessage:
        return parse(await asyncio.wait_for(self.queue.get(), timeout)).message

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@pytest.fixture
async def edge() -> AsyncIterator[Edge]:
    e = await Edge().open()
    yield e
    e.close()


def request(method: str, port: int, *, body: bytes = b"", ctype: str | None = None, **extra: str) -> SipMessage:
    headers = [
        ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={new_branch()}"),
        ("Max-Forwards", "69"),
        ("From", f"<sip:alice@ims.example.test>;tag={new_tag()}"),
        ("To", "<sip:alice@ims.example.test>" if method == "REGISTER" else "<sip:bob@ims.example.test>"),
        ("Call-ID", new_call_id()),
        ("CSeq", f"1 {method}"),
        *extra.items(),
    ]
    uri = "sip:ims.example.test" if method == "REGISTER" else "sip:bob@ims.example.test"
    return build_request(method, uri, headers, body, ctype)


def register(port: int, expires: str = "600") -> SipMessage:
    return request("REGISTER", port, Path=PATH, Contact=CONTACT, Expires=expires)


class TestListen:
    def test_parse_listen(self) -> None:
        assert parse_listen("udp://127.0.0.1:0") == ("udp", "127.0.0.1", 0)
        assert parse_listen("tcp://127.0.0.1:5060/") == ("tcp", "127.0.0.1", 5060)
        with pytest.raises(ValueError):
            parse_listen("sctp://127.0.0.1:1")

    async def test_binds_a_free_port_and_records_it(self, core: CoreStub, timeline: Timeline) -> None:
        assert core.port > 0
        assert any(e.actor == "core" and str(core.port) in e.summary for e in timeline)


class TestRegistrar:
    """RFC 3261 §10.3, RFC 3327 §5.3: 200 echoing Contact with expires and the Path."""

    async def test_register_answered_with_contact_expiry_and_path(self, core: CoreStub, edge: Edge) -> None:
        edge.send(core, register(edge.port))
        ok = await edge.receive()
        assert ok.status == 200
        assert ok.contacts[0].param("expires") == "600"
        assert ok.header_values("Path") == [PATH]
        assert ok.to.tag
        binding = core.binding("sip:alice@ims.example.test")
        assert binding is not None and binding.path == [PATH] and binding.source.addr[1] == edge.port

    async def test_terminating_request_follows_the_registration(self, core: CoreStub, edge: Edge) -> None:
        edge.send(core, register(edge.port))
        await edge.receive()
        sent = core.send_request("MESSAGE", body=b"hi", content_type="text/plain")
        got = await edge.receive()
        assert got.request_uri == "sip:u1@abc.invalid;transport=ws"
        assert got.header_values("Route") == [PATH]
        assert got.body == b"hi" and got.call_id == sent.call_id

    async def test_no_registration_no_terminating_request(self, core: CoreStub) -> None:
        with pytest.raises(LookupError):
            core.send_request("MESSAGE")

    async def test_expires_zero_removes_the_binding(self, core: CoreStub, edge: Edge) -> None:
        edge.send(core, register(edge.port))
        await edge.receive()
        edge.send(core, register(edge.port, expires="0"))
        assert (await edge.receive()).status == 200
        assert core.binding() is None


class TestPolicy:
    async def test_withhold(self, core: CoreStub, edge: Edge) -> None:
        core.set_policy("options", "withhold")
        edge.send(core, request("OPTIONS", edge.port))
        with pytest.raises(TimeoutError):
            await edge.receive(0.2)
        assert core.count("OPTIONS") == 1

    async def test_status_code(self, core: CoreStub, edge: Edge) -> None:
        core.set_policy("MESSAGE", 486)
        edge.send(core, request("MESSAGE", edge.port))
        assert (await edge.receive()).status == 486

    def test_actions(self) -> None:
        assert normalise_action("AUTO") == "auto"
        assert normalise_action("404") == 404
        for bad in ("sometimes", 42, "700"):
            with pytest.raises(ValueError):
                normalise_action(bad)


class TestCounting:
    """A retransmission is the same transaction; two requests are two."""

    async def test_retransmission_counts_once(self, core: CoreStub, edge: Edge, timeline: Timeline) -> None:
        msg = request("MESSAGE", edge.port)
        edge.send(core, msg)
        edge.send(core, msg)
        edge.send(core, request("MESSAGE", edge.port))
        found = await core.wait_transactions("MESSAGE", 2, 2.0)
        await asyncio.sleep(0.05)
        assert len(found) == 2 and len(core.received("MESSAGE")) == 3
        rx = [e for e in timeline.select(kind=SIP, actor="core", direction="rx")]
        assert len(rx) == 3 and all(e.conn == "core-udp" for e in rx)
        assert rx[0].data["start_line"].startswith("MESSAGE") and rx[0].data["call_id"] == msg.call_id

    async def test_a_stray_of_another_case_is_labelled_and_not_counted(
        self, core: CoreStub, edge: Edge, timeline: Timeline
    ) -> None:
        """A late copy of another case's request (a SUT retransmitting to a fixed core
        port) is recorded and labelled, never counted as this case's transaction."""
        other_scope = "0" * 8 if timeline.scope != "0" * 8 else "1" * 8
        stray = request("MESSAGE", edge.port).replace_header("Call-ID", new_call_id(other_scope))
        own = request("MESSAGE", edge.port).replace_header("Call-ID", new_call_id(timeline.scope))
        foreign = request("MESSAGE", edge.port)  # not made by wicct: the SUT's own, counted
        for message in (stray, own, foreign):
            edge.send(core, message)
        found = await core.wait_transactions("MESSAGE", 2, 2.0)
        await asyncio.sleep(0.1)
        assert [rx.message.call_id for rx in core.transactions("MESSAGE")] == [own.call_id, foreign.call_id]
        assert len(found) == 2
        labelled = [e for e in timeline.select(kind=SIP, actor="core") if "stray" in e.summary]
        assert [e.data["call_id"] for e in labelled] == [stray.call_id]
        assert any("not judged in this case" in e.summary for e in timeline)

    async def test_garbage_is_evidence_not_a_crash(self, core: CoreStub, edge: Edge, timeline: Timeline) -> None:
        edge.send(core, b"not sip at all\r\n\r\n")
        edge.send(core, request("OPTIONS", edge.port))
        assert (await edge.receive()).status == 200
        assert timeline.select(kind="sip.error", actor="core")


class TestCalls:
    async def test_invite_gets_180_then_200_with_an_aiortc_answer(self, core: CoreStub, edge: Edge) -> None:
        from harness.sdp.jsep import make_offer

        offer = await make_offer()
        try:
            edge.send(core, request("INVITE", edge.port, body=offer.sdp.encode(), ctype="application/sdp"))
            ringing, ok = await edge.receive(), await edge.receive(5.0)
        finally:
            await offer.close()
        assert (ringing.status, ok.status) == (180, 200)
        assert ringing.to.tag == ok.to.tag
        assert ok.body.startswith(b"v=0") and b"a=setup:active" in ok.body
        assert ok.contacts[0].uri.port == core.port

    async def test_core_acks_the_2xx_to_its_own_invite(self, core: CoreStub, edge: Edge) -> None:
        edge.send(core, register(edge.port))
        await edge.receive()
        invite = core.send_request("INVITE")
        got = await edge.receive()
        rr = "<sip:flow1@127.0.0.1:5999;transport=udp;lr>"
        ok = SipMessage(
            "SIP/2.0 200 OK",
            tuple(
                [(n, v) for n, v in got.headers if n in ("Via", "From", "Call-ID", "CSeq")]
                + [("To", f"{got.header('To')};tag=callee"), ("Record-Route", rr),
                   ("Contact", "<sip:u1@abc.invalid;transport=ws>"), ("Content-Length", "0")]
            ),
        )
        edge.send(core, ok)
        ack = await edge.receive()
        assert ack.method == "ACK" and ack.cseq.number == invite.cseq.number
        assert ack.request_uri == "sip:u1@abc.invalid;transport=ws"
        assert ack.header_values("Route") == [rr]
        assert (await core.wait_response(invite, 1.0)) is not None

    @pytest.mark.parametrize("status", [486, 488])
    async def test_core_acks_a_failure_to_its_own_invite_in_its_transaction(
        self, core: CoreStub, edge: Edge, status: int
    ) -> None:
        """RFC 3261 §17.1.1.3: the ACK of a 300-699 has the INVITE's branch and the To tag."""
        edge.send(core, register(edge.port))
        await edge.receive()
        invite = core.send_request("INVITE")
        got = await edge.receive()
        refused = SipMessage(
            f"SIP/2.0 {status} Refused",
            tuple([(n, v) for n, v in got.headers if n in ("Via", "From", "Call-ID", "CSeq")]
                  + [("To", f"{got.header('To')};tag=refuser"), ("Content-Length", "0")]),
        )
        edge.send(core, refused)
        ack = await edge.receive()
        assert ack.method == "ACK" and ack.cseq.number == invite.cseq.number
        assert ack.top_via is not None and invite.top_via is not None
        assert ack.top_via.branch == invite.top_via.branch
        assert ack.to.tag == "refuser" and ack.request_uri == invite.request_uri

    async def test_plain_offer_on_an_rtp_port_that_echoes_and_counts(
        self, core: CoreStub, edge: Edge, timeline: Timeline
    ) -> None:
        from harness.sdp.plain import is_plain, plain_media

        body, endpoints = await core.plain_offer()
        sdp = body.decode()
        assert is_plain(sdp) and plain_media(sdp) == [("audio", "RTP/AVP", "0")]
        assert f"m=audio {endpoints[0].port} RTP/AVP 0 8" in sdp and "a=rtpmap:8 PCMA/8000" in sdp
        assert "ice-ufrag" not in sdp and "fingerprint" not in sdp and "BUNDLE" not in sdp
        rtp = [bytes([0x80, 0, 0, n]) + bytes(8) + b"payload" for n in (1, 2)]
        for packet in [b"not rtp", *rtp]:
            assert edge.transport is not None
            edge.transport.sendto(packet, ("127.0.0.1", endpoints[0].port))
        echoes = [await asyncio.wait_for(edge.queue.get(), 2.0) for _ in rtp]
        assert echoes == rtp
        counts = endpoints[0].counts()
        assert (counts["rtp_packets"], counts["rtp_echoed"]) == (2, 2) and counts["first_seq"] > 0
        note = timeline[endpoints[0].record()]
        assert note.data["rtp_counts"]["rtp_packets"] == 2


class TestTcp:
    async def test_register_over_tcp_with_stream_framing(self, profile: Profile, timeline: Timeline) -> None:
        stub = CoreStub(timeline, dataclasses.replace(profile, core_listen="tcp://127.0.0.1:0"))
        await stub.start()
        try:
            reader, writer = await asyncio.open_connection(stub.host, stub.port)
            port = writer.get_extra_info("sockname")[1]
            first = request("REGISTER", port, Path=PATH, Contact=CONTACT).to_bytes()
            second = request("OPTIONS", port).to_bytes()
            writer.write(first + second)  # two messages in one segment: the Content-Length frames them
            answers = [parse(await asyncio.wait_for(read_sip_stream(reader), 2.0)).message for _ in range(2)]
            assert sorted(a.method for a in answers) == ["OPTIONS", "REGISTER"]
            assert all(a.status == 200 for a in answers)
            sent = stub.send_request("MESSAGE")
            got = parse(await asyncio.wait_for(read_sip_stream(reader), 2.0)).message
            assert got.call_id == sent.call_id and got.top_via.transport == "TCP"
            assert {e.conn for e in timeline.select(kind=SIP, actor="core")} == {"core-tcp"}
            writer.close()
        finally:
            await stub.stop()


class TestDigestRegistrar:
    """TS 24.229 5.4.1.2: the stub as the S-CSCF's digest registrar (off by default)."""

    @staticmethod
    def client(profile: Profile, timeline: Timeline, password: str | None = None) -> DigestClient:
        return DigestClient(profile.impi, profile.domain, password or profile.password, timeline.redactor)

    @staticmethod
    def signed(port: int, client: DigestClient, call_id: str, cseq: int) -> SipMessage:
        message = register(port).replace_header("Call-ID", call_id).replace_header("CSeq", f"{cseq} REGISTER")
        return message.add_header("Authorization", client.authorization(call_id, "REGISTER", "sip:ims.example.test"))

    async def test_off_by_default_no_service_route(self, core: CoreStub, edge: Edge) -> None:
        edge.send(core, register(edge.port))
        ok = await edge.receive()
        assert ok.status == 200 and not ok.has_header("Service-Route") and not ok.has_header("P-Associated-URI")

    async def test_challenge_then_200_with_service_route_and_associated_uri(
        self, core: CoreStub, edge: Edge, profile: Profile, timeline: Timeline
    ) -> None:
        core.set_registrar("digest")
        client = self.client(profile, timeline)
        first = self.signed(edge.port, client, "reg-a", 1)
        assert 'nonce="", response=""' in (first.header("Authorization") or "")
        edge.send(core, first)
        challenge = await edge.receive()
        assert challenge.status == 401 and core.binding() is None
        www = parse_challenge(challenge.header("WWW-Authenticate") or "")
        assert (www.scheme, www.param("realm"), www.param("qop")) == ("Digest", "ims.example.test", "auth")
        assert client.challenged(challenge)
        edge.send(core, self.signed(edge.port, client, "reg-a", 2))
        ok = await edge.receive()
        assert ok.status == 200
        assert ok.header_values("Path") == [PATH] and ok.contacts[0].param("expires") == "600"
        assert (ok.header("Service-Route") or "").startswith(f"<sip:orig@127.0.0.1:{core.port};")
        assert ok.header("P-Associated-URI") == f"<{profile.impu}>"
        assert core.binding() is not None
        # a later REGISTER answers the same challenge with the next nonce-count
        edge.send(core, self.signed(edge.port, client, "reg-a", 3))
        assert (await edge.receive()).status == 200
        notes = [e.summary for e in timeline if e.actor == "core" and "REGISTER" in e.summary and e.kind == "note"]
        assert notes == ["REGISTER challenged (401): no digest response (initial REGISTER)",
                         "REGISTER authenticated: the digest response verifies",
                         "REGISTER authenticated: the digest response verifies"]

    async def test_wrong_password_and_replayed_count_are_challenged_again(
        self, core: CoreStub, edge: Edge, profile: Profile, timeline: Timeline
    ) -> None:
        core.set_registrar("digest")
        wrong = self.client(profile, timeline, password="not-the-password")
        edge.send(core, self.signed(edge.port, wrong, "reg-b", 1))
        assert wrong.challenged(await edge.receive())
        edge.send(core, self.signed(edge.port, wrong, "reg-b", 2))
        assert (await edge.receive()).status == 401
        right = self.client(profile, timeline)
        edge.send(core, self.signed(edge.port, right, "reg-c", 1))
        assert right.challenged(await edge.receive())
        replay = self.signed(edge.port, right, "reg-c", 2)
        edge.send(core, replay)
        assert (await edge.receive()).status == 200
        edge.send(core, replay.replace_header("Via", f"SIP/2.0/UDP 127.0.0.1:{edge.port};branch={new_branch()}"))
        assert (await edge.receive()).status == 401
        assert any("already used" in e.summary for e in timeline)
        assert any("does not verify" in e.summary for e in timeline)

    async def test_the_computed_response_never_reaches_the_evidence(
        self, core: CoreStub, edge: Edge, profile: Profile, timeline: Timeline
    ) -> None:
        core.set_registrar("digest")
        client = self.client(profile, timeline)
        edge.send(core, self.signed(edge.port, client, "reg-d", 1))
        client.challenged(await edge.receive())
        signed = self.signed(edge.port, client, "reg-d", 2)
        edge.send(core, signed)
        assert (await edge.receive()).status == 200
        response = parse_credentials(signed.header("Authorization") or "").param("response")
        assert response and len(response) == 32
        received = [e for e in timeline if e.kind == SIP and e.direction == "rx"]
        assert received and all(response.encode() not in bytes(e.data["raw"]) for e in received)
        assert any(b"<redacted sha256:" in bytes(e.data["raw"]) for e in received)

    def test_unknown_registrar_mode_is_refused(self, profile: Profile, timeline: Timeline) -> None:
        with pytest.raises(ValueError):
            CoreStub(timeline, profile).set_registrar("aka")


class TestCancelMatching:
    """RFC 3261 §9.2: the core stub answers a CANCEL that matches a pending INVITE
    transaction (Call-ID, CSeq number, top Via branch) with 200 and the INVITE with 487;
    any other CANCEL with 481."""

    async def _ringing(self, core: CoreStub, edge: Edge) -> SipMessage:
        core.set_policy("INVITE", 180)  # a provisional only: the INVITE stays pending
        invite = request("INVITE", edge.port)
        edge.send(core, invite)
        assert (await edge.receive()).status == 180
        return invite

    async def test_a_matching_cancel_gets_200_and_the_invite_487(self, core: CoreStub, edge: Edge) -> None:
        from harness.sip.dialog import cancel_for

        invite = await self._ringing(core, edge)
        edge.send(core, cancel_for(invite))
        answers = {(m.cseq.method, m.status) for m in [await edge.receive(), await edge.receive()]}
        assert answers == {("CANCEL", 200), ("INVITE", 487)}
        # the INVITE is answered now: a second CANCEL of it matches nothing
        edge.send(core, cancel_for(invite))
        late = await edge.receive()
        assert (late.cseq.method, late.status) == ("CANCEL", 481)

    async def test_a_cancel_of_another_transaction_gets_481(self, core: CoreStub, edge: Edge) -> None:
        from harness.sip.dialog import cancel_for

        invite = await self._ringing(core, edge)
        other_branch = cancel_for(invite).replace_header(
            "Via", f"SIP/2.0/UDP 127.0.0.1:{edge.port};branch={new_branch()}")
        other_cseq = cancel_for(invite).replace_header("CSeq", "2 CANCEL")
        for cancel in (other_branch, other_cseq):
            edge.send(core, cancel)
            answer = await edge.receive()
            assert (answer.cseq.method, answer.status) == ("CANCEL", 481)
        with pytest.raises(TimeoutError):  # the INVITE itself stays pending, no 487
            await edge.receive(0.3)
        edge.send(core, cancel_for(invite))  # and the right one still matches
        answers = {(m.cseq.method, m.status) for m in [await edge.receive(), await edge.receive()]}
        assert answers == {("CANCEL", 200), ("INVITE", 487)}
