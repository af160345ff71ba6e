"""wicct's WIC emulator and IMS-core stub against the reference eP-CSCF, over loopback.

The pair h11 would call a ConnectionPair: the emulator (wicct's side) and the reference
eP-CSCF (the self-test SUT) prove each other in memory before any case runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.actors.channel import SipChannel
from harness.actors.core import CoreStub
from harness.actors.wic_emulator import WicEmulator
from harness.evidence import Timeline
from harness.pki import Pki, client_context
from harness.profiles import Profile, load_profile
from harness.sip.auth import parse_credentials
from harness.suts.base import EpcscfEnv
from harness.suts.reference.epcscf import ReferenceEpcscfDriver

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "reference-epcscf.yaml"



@dataclass
class Stack:
    timeline: Timeline
    core: CoreStub
    driver: ReferenceEpcscfDriver
    wic: WicEmulator

    async def channel(self, name: str = "main") -> SipChannel:
        result = await self.wic.connect(name)
        assert result.error is None, result.error
        chan = self.wic.channel(name)
        assert chan is not None
        return chan

    async def registered(self, name: str = "main", **options: object) -> SipChannel:
        chan = await self.channel(name)
        request = await self.wic.register(chan, **options)
        ok = await chan.response_to(request, 2.0)
        assert ok is not None and ok.message.status == 200
        return chan


async def make_stack(profile: Profile, pki: Pki, tmp_path: Path) -> Stack:
    timeline = Timeline()
    core = CoreStub(timeline, profile)
    await core.start()
    driver = ReferenceEpcscfDriver()
    env = EpcscfEnv(profile=profile, pki=pki, core_host=core.host, core_port=core.port,
                    core_transport=core.transport, workdir=tmp_path, log=lambda _: None)
    endpoint = await driver.start(env)
    wic = WicEmulator(timeline, profile, endpoint.ws_url, client_context(endpoint.ca_pem))
    return Stack(timeline, core, driver, wic)


async def close_stack(stack: Stack) -> None:
    await stack.wic.stop()
    await stack.driver.stop()
    await stack.core.stop()


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


@pytest.fixture
async def stack(profile: Profile, pki: Pki, tmp_path: Path) -> AsyncIterator[Stack]:
    s = await make_stack(profile, pki, tmp_path)
    yield s
    await close_stack(s)


class TestRegistration:
    async def test_register_through_the_eP_CSCF(self, stack: Stack) -> None:
        chan = await stack.registered()
        sent = chan.sent[0][0]
        assert sent is not None
        via = sent.top_via
        assert via is not None and via.protocol == "SIP/2.0/WSS" and via.host.endswith(".invalid")
        contact = sent.contacts[0]
        assert contact.uri.param("transport") == "ws" and contact.param("reg-id") == "1"
        assert (contact.param("+sip.instance") or "").startswith('"<urn:uuid:')
        assert sent.header("Supported") == "path, outbound"
        at_core = stack.core.received("REGISTER")[0].message
        vias = at_core.vias
        assert vias[1].sent_by == via.sent_by and vias[1].received == "127.0.0.1"  # RFC 7118 §5.3
        path = at_core.addresses("Path")[0].uri
        assert path.has_param("lr") and path.has_param("ob")
        assert stack.core.binding() is not None

    async def test_one_call_id_per_registration_and_cseq_increases(self, stack: Stack) -> None:
        chan = await stack.channel()
        first = stack.wic.build_request("REGISTER", chan)
        second = stack.wic.build_request("REGISTER", chan)
        assert first.call_id == second.call_id
        assert (first.cseq.number, second.cseq.number) == (1, 2)
        other = stack.wic.build_request("OPTIONS", chan)
        assert other.call_id != first.call_id and other.request_uri == stack.wic.profile.callee

    async def test_digest_registration_through_the_reference_eP_CSCF(self, stack: Stack) -> None:
        """TS 24.229 5.1.1.2.1: empty nonce/response first; the retry answers the 401 on
        the same Call-ID with CSeq + 1; a later REGISTER reuses the challenge (nc 2); the
        reference eP-CSCF marks each stage (5.2.2.4)."""
        stack.core.set_registrar("digest")
        chan = await stack.channel()
        first = await stack.wic.register(chan, digest=True)
        assert 'nonce="", response=""' in (first.header("Authorization") or "")
        challenge = await chan.response_to(first, 2.0)
        assert challenge is not None and challenge.message is not None and challenge.message.status == 401
        assert stack.wic.digest.challenged(challenge.message)
        sent = []
        for _ in range(2):
            request = await stack.wic.register(chan, digest=True)
            ok = await chan.response_to(request, 2.0)
            assert ok is not None and ok.message is not None and ok.message.status == 200
            sent.append(request)
        assert [r.call_id for r in sent] == [first.call_id] * 2
        assert [r.cseq.number for r in sent] == [2, 3]
        assert [parse_credentials(r.header("Authorization") or "").param("nc") for r in sent] == ["00000001", "00000002"]
        marks = [parse_credentials(rx.message.header("Authorization") or "").param("integrity-protected")
                 for rx in stack.core.received("REGISTER")]
        assert marks == [None, "tls-pending", "tls-yes"]

    async def test_without_outbound_the_contact_is_plain(self, profile: Profile, pki: Pki, tmp_path: Path) -> None:
        s = await make_stack(dataclasses.replace(profile, features=frozenset()), pki, tmp_path)
        try:
            chan = await s.registered()
            sent = chan.sent[0][0]
            assert sent is not None and sent.header("Supported") == "path"
            assert not sent.contacts[0].params
            path = s.core.received("REGISTER")[0].message.addresses("Path")[0].uri
            assert not path.has_param("ob")
        finally:
            await close_stack(s)

    async def test_request_options(self, stack: Stack) -> None:
        chan = await stack.channel()
        lower = stack.wic.build_request("REGISTER", chan, via_transport="wss", sent_by="x.invalid:7")
        assert lower.header("Via").startswith("SIP/2.0/wss x.invalid:7;branch=z9hG4bK")
        with pytest.raises(ValueError, match="unknown request option"):
            stack.wic.build_request("OPTIONS", chan, bogus=1)


class TestHandshake:
    async def test_foreign_origin_refused_with_403(self, stack: Stack) -> None:
        result = await stack.wic.connect("x", origin="https://attacker.example.net")
        assert result.conn is None and result.response is not None
        assert result.response.status_code == 403

    async def test_reopen_gives_a_new_connection(self, stack: Stack) -> None:
        chan = await stack.channel()
        await chan.conn.close(1.0)
        again = await stack.wic.reopen("main")
        assert again is not None and again is not chan and not again.closed


class TestCalls:
    async def test_call_through_the_eP_CSCF(self, stack: Stack) -> None:
        chan = await stack.registered()
        invite = await stack.wic.invite(chan)
        ok = await chan.response_to(invite, 5.0)
        assert ok is not None and ok.message.status == 200
        statuses = [r.message.status for r in chan.responses_to(invite)]
        assert statuses == [100, 180, 200]
        dialog = stack.wic.dialog(invite, ok.message)
        assert len(dialog.route_set) == 2 and "transport=ws" in dialog.route_set[0]
        await chan.send(stack.wic.in_dialog(dialog, "ACK", chan))
        bye = stack.wic.in_dialog(dialog, "BYE", chan)
        await chan.send(bye)
        done = await chan.response_to(bye, 2.0)
        assert done is not None and done.message.status == 200
        assert bye.cseq.number == invite.cseq.number + 1
        acks = await stack.core.wait_transactions("ACK", 1, 1.0)
        assert acks and acks[0].message.header_values("Route") == []  # our Route entries consumed
        assert not chan.closed

    async def test_terminating_invite_answered_by_the_wic(self, stack: Stack) -> None:
        from harness.sdp.jsep import make_offer

        await stack.registered()
        offer = await make_offer()
        try:
            invite = stack.core.send_request("INVITE", body=offer.sdp.encode(), content_type="application/sdp")
            ok = await stack.core.wait_response(invite, 5.0)
        finally:
            await offer.close()
        assert ok is not None and ok.message.status == 200 and ok.message.body.startswith(b"v=0")
        assert any(r.message.status == 180 for r in stack.core.responses)
        chan = stack.wic.channel()
        assert chan is not None
        assert await chan.request("ACK", 2.0) is not None  # the core's ACK came back through


class TestTerminating:
    async def test_message_auto_answered(self, stack: Stack) -> None:
        chan = await stack.registered()
        message = stack.core.send_request("MESSAGE", body=b"hello", content_type="text/plain")
        ok = await stack.core.wait_response(message, 2.0)
        assert ok is not None and ok.message.status == 200
        got = await chan.request("MESSAGE", 1.0)
        assert got is not None and got.message.top_via.transport == "WSS"

    async def test_withheld_response_is_sent_once(self, stack: Stack) -> None:
        chan = await stack.registered()
        stack.wic.set_policy("MESSAGE", "withhold")
        message = stack.core.send_request("MESSAGE")
        await asyncio.sleep(4 * stack.wic.profile.timers.t1)
        copies = [r for r in chan.received if r.is_request and r.message.method == "MESSAGE"]
        assert len(copies) == 1
        assert await stack.core.wait_response(message, 0.05) is None

    async def test_status_policy_with_a_bad_content_length_is_dropped(self, stack: Stack) -> None:
        await stack.registered()
        stack.wic.set_policy("MESSAGE", 200, content_length="larger")
        message = stack.core.send_request("MESSAGE")
        assert await stack.core.wait_response(message, 0.3) is None  # RFC 3261 §18.3


def test_joined_rows_make_one_comma_separated_row_where_the_first_was() -> None:
    """RFC 3261 §7.3.1: the WIC emulator's `joined` option (EPC-REG-06-two-joined)."""
    from harness.actors.wic_emulator import joined_rows

    fields = [("Via", "a"), ("Route", "<sip:r1;lr>"), ("To", "t"), ("route", "<sip:r2;lr>"),
              ("Authorization", "Bearer x"), ("Authorization", "Bearer y")]
    assert joined_rows(fields, ["Route", "authorization"]) == [
        ("Via", "a"), ("Route", "<sip:r1;lr>, <sip:r2;lr>"), ("To", "t"),
        ("Authorization", "Bearer x, Bearer y")]
    assert joined_rows(fields, []) == fields
