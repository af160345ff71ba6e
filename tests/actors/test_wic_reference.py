"""The reference WIC (the self-test SUT), stimulated by wicct's eP-CSCF emulator on loopback.

Each class is a clause the reference must conform to; fault switches are shown to break
just that behaviour. The suite-level proof (each fault breaks exactly its ids) is in
tests/suite/test_wic_suite.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import evidence as ev
from harness.actors.channel import SipChannel
from harness.actors.epcscf_emulator import EpcscfEmulator, Policy
from harness.evidence import Timeline
from harness.pki import Pki
from harness.profiles import load_profile
from harness.sip import SipMessage
from harness.suts.base import DriverError, SutUnavailable, WicEnv
from harness.suts.reference.wic import ReferenceWicDriver

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "reference-wic.yaml"



@dataclass
class Wic:
    """The reference WIC under test, registered with wicct's eP-CSCF emulator."""

    timeline: Timeline
    epcscf: EpcscfEmulator
    driver: ReferenceWicDriver
    chan: SipChannel | None = None

    @property
    def log(self) -> str:
        return self.driver.log_text()

    async def send(self, message: SipMessage | None = None, **kw: Any) -> SipMessage:
        assert self.chan is not None
        message = message or self.epcscf.build_request("OPTIONS", self.chan)
        await self.chan.send(message, **kw)
        return message

    async def answers(self, request: SipMessage, within: float = 1.0) -> list[int]:
        await asyncio.sleep(within)
        assert self.chan is not None
        return [r.message.status for r in self.chan.responses_to(request)]


Make = Callable[..., Awaitable[Wic]]


@pytest.fixture
async def make(pki: Pki, tmp_path: Path) -> AsyncIterator[Make]:
    made: list[Wic] = []

    async def start(*faults: str, register: bool = True, t1: float | None = None, **options: Any) -> Wic:
        profile = load_profile(PROFILE)
        timers = profile.timers if t1 is None else dataclasses.replace(profile.timers, t1=t1)
        profile = dataclasses.replace(profile, faults=faults, timers=timers, driver_options=options)
        timeline = Timeline()
        epcscf = EpcscfEmulator(timeline=timeline, profile=profile, pki=pki, workdir=tmp_path)
        await epcscf.start()
        driver = ReferenceWicDriver()
        await driver.start(WicEnv(profile=profile, pki=pki, epcscf_url=epcscf.url,
                                  ca_pem=pki.ca_pem, workdir=tmp_path))
        wic = Wic(timeline, epcscf, driver)
        made.append(wic)
        if register:
            await driver.register()
            wic.chan = await epcscf.wait_channel("main", 2.0)
            for _ in range(200):
                if (await driver.state()).registered:
                    break
                await asyncio.sleep(0.01)
            assert (await driver.state()).registered, wic.log
        return wic

    yield start
    for wic in made:
        await wic.driver.stop()
        await wic.epcscf.stop()


def options_with(wic: Wic, body: bytes = b"hello there, sip") -> SipMessage:
    assert wic.chan is not None
    return wic.epcscf.build_request("MESSAGE", wic.chan).with_body(body, "text/plain")


class TestContentLength:
    """RFC 7118 §5 / RFC 3261 §18.3 on a message-oriented transport."""

    async def test_absent_body_is_the_rest(self, make: Make) -> None:
        wic = await make()
        request = await wic.send(options_with(wic).remove_header("Content-Length"))
        assert await wic.answers(request, 0.2) == [200]

    async def test_larger_request_gets_400(self, make: Make) -> None:
        wic = await make()
        message = options_with(wic)
        request = await wic.send(message.replace_header("Content-Length", str(len(message.body) + 20)))
        assert await wic.answers(request, 0.2) == [400]

    async def test_larger_request_processed_with_fault(self, make: Make) -> None:
        wic = await make("ignore_content_length")
        message = options_with(wic)
        request = await wic.send(message.replace_header("Content-Length", str(len(message.body) + 20)))
        assert await wic.answers(request, 0.2) == [200]

    async def test_smaller_discards_the_excess(self, make: Make) -> None:
        wic = await make()
        message = options_with(wic)
        request = await wic.send(message.replace_header("Content-Length", str(len(message.body) - 6)))
        assert await wic.answers(request, 0.2) == [200]
        assert "after the SIP message discarded" in wic.log

    async def test_larger_response_dropped(self, make: Make) -> None:
        wic = await make(register=False)
        wic.epcscf.set_policy("REGISTER", Policy(content_length="larger"))
        await wic.driver.register()
        await asyncio.sleep(0.3)
        state = await wic.driver.state()
        assert state.connected and not state.registered
        assert "not a SIP request" in wic.log

    @pytest.mark.parametrize(("faults", "answered"), [((), 1), (("process_excess",), 2)])
    async def test_packed_message_is_never_a_second_transaction(
        self, make: Make, faults: tuple[str, ...], answered: int
    ) -> None:
        wic = await make(*faults)
        assert wic.chan is not None
        first = wic.epcscf.build_request("OPTIONS", wic.chan)
        second = wic.epcscf.build_request("MESSAGE", wic.chan)
        await wic.send(first, packed_with=second.to_bytes())
        await asyncio.sleep(0.2)
        responses = [r for r in wic.chan.received if r.is_response]
        assert len(responses) == answered

    async def test_junk_is_dropped(self, make: Make) -> None:
        wic = await make()
        assert wic.chan is not None
        await wic.chan.conn.send_text("not SIP at all")
        request = await wic.send()
        assert await wic.answers(request, 0.2) == [200]
        assert "not a SIP request" in wic.log


class TestFrames:
    """RFC 7118 §4.2 and RFC 6455 §5.4, §5.5, §8.1."""

    @pytest.mark.parametrize(("faults", "expected"), [((), [200]), (("binary_ignored",), [])])
    async def test_binary_is_processed_as_text(self, make: Make, faults: tuple[str, ...], expected: list[int]) -> None:
        wic = await make(*faults)
        request = await wic.send(frame="binary")
        assert await wic.answers(request, 0.2) == expected

    async def test_fragments_with_a_ping_between(self, make: Make) -> None:
        wic = await make()
        request = await wic.send(fragments=3, ping_after_first=b"frag-ping")
        assert wic.chan is not None
        assert await wic.chan.conn.wait_pong(b"frag-ping", 1.0) is not None
        assert await wic.answers(request, 0.2) == [200]

    @pytest.mark.parametrize(("faults", "pong"), [((), True), (("no_pong",), False)])
    async def test_ping(self, make: Make, faults: tuple[str, ...], pong: bool) -> None:
        wic = await make(*faults)
        assert wic.chan is not None
        await wic.chan.conn.send_ping(b"0123456789")
        assert (await wic.chan.conn.wait_pong(b"0123456789", 0.3) is not None) is pong

    @pytest.mark.parametrize(("faults", "code"), [((), 1007), (("wrong_close_codes",), 1000)])
    async def test_invalid_utf8(self, make: Make, faults: tuple[str, ...], code: int) -> None:
        wic = await make(*faults)
        assert wic.chan is not None
        await wic.chan.conn.send_text(b"OPTIONS \xc3\x28 \r\n\r\n")
        assert await wic.chan.conn.wait_closed(2.0)
        assert wic.chan.conn.close_code == code

    @pytest.mark.parametrize(("faults", "code"), [((), 1000), (("no_close_echo",), None)])
    async def test_close_echo(self, make: Make, faults: tuple[str, ...], code: int | None) -> None:
        wic = await make(*faults)
        assert wic.chan is not None
        await wic.chan.conn.send_close(1000)
        assert await wic.chan.conn.wait_closed(2.0)
        assert wic.chan.conn.close_code == code

    @pytest.mark.parametrize(("faults", "pong"), [((), True), (("no_crlf_pong",), False)])
    async def test_crlf_keepalive(self, make: Make, faults: tuple[str, ...], pong: bool) -> None:
        wic = await make(*faults)
        assert wic.chan is not None
        await wic.chan.conn.send_text("\r\n\r\n")
        got = await wic.chan.wait_for(lambda r: r.keepalive and r.payload == b"\r\n", 0.3)
        assert (got is not None) is pong

    async def test_one_message_per_frame(self, make: Make) -> None:
        wic = await make()
        messages = wic.timeline.select(kind=ev.WS_MESSAGE, actor="epcscf", direction="rx")
        sips = wic.timeline.select(kind=ev.SIP, actor="epcscf", direction="rx")
        assert len(messages) == len(sips) == 1 and not sips[0].data["excess"]

    async def test_split_message_fault(self, make: Make) -> None:
        wic = await make("split_message", register=False)
        await wic.driver.register()
        chan = await wic.epcscf.wait_channel("main", 2.0)
        assert chan is not None
        got = await chan.wait_for(lambda r: bool(r.error), 1.0)
        assert got is not None and "not terminated" in got.error


class TestTransportIdentifiers:
    """SEED 5.1.X.0 bullet 2, RFC 7118 §5.1, §5.2."""

    @pytest.mark.parametrize(
        ("faults", "via", "transport"),
        [((), "SIP/2.0/WSS", "ws"), (("via_transport_tcp",), "SIP/2.0/TCP", "ws"),
         (("contact_transport_tcp",), "SIP/2.0/WSS", "tcp"),
         (("contact_transport_wss",), "SIP/2.0/WSS", "wss")],
    )
    async def test_register(self, make: Make, faults: tuple[str, ...], via: str, transport: str) -> None:
        wic = await make(*faults)
        register = wic.epcscf.registration.request
        assert register.top_via.protocol == via and register.top_via.host.endswith(".invalid")
        (contact,) = register.contacts
        assert contact.uri.param("transport") == transport
        assert contact.param("reg-id") == "1" and contact.param("+sip.instance").startswith('"<urn:uuid:')
        assert "outbound" in register.header("Supported")

    @pytest.mark.parametrize(("faults", "registered"), [((), True), (("drop_responses_without_received",), False)])
    async def test_response_without_received(self, make: Make, faults: tuple[str, ...], registered: bool) -> None:
        wic = await make(*faults, register=False)
        wic.epcscf.set_policy("REGISTER", Policy(mode="strip"))
        await wic.driver.register()
        await asyncio.sleep(0.3)
        assert (await wic.driver.state()).registered is registered


class TestReliableTransport:
    """RFC 7118 §5, RFC 3261 §17.1.2.2: no Timer E over a WebSocket; Timer F at 64×T1."""

    @pytest.mark.parametrize(("faults", "retransmits"), [((), False), (("retransmit_over_ws",), True)])
    async def test_unanswered_register(self, make: Make, faults: tuple[str, ...], retransmits: bool) -> None:
        wic = await make(*faults, register=False, t1=0.01)
        wic.epcscf.set_policy("REGISTER", Policy(mode="withhold"))
        await wic.driver.register()
        chan = await wic.epcscf.wait_channel("main", 2.0)
        assert chan is not None and await chan.request("REGISTER", 2.0) is not None
        await asyncio.sleep(0.1)  # 10×T1: over UDP, Timer E would have fired three times
        copies = len([r for r in chan.received if r.is_request])
        assert copies > 1 if retransmits else copies == 1
        await asyncio.sleep(0.64)  # 64×T1
        state = await wic.driver.state()
        assert not state.registered and "no final response" in state.detail
        assert "Timer F" in wic.log


class TestCalls:
    """SEED 5.1.X.2 - 5.1.X.4: JSEP offers and answers; the WebSocket outlives the call."""

    async def test_ringing_then_answer(self, make: Make) -> None:
        wic = await make()
        assert wic.chan is not None
        invite, _ = await wic.epcscf.invite(wic.chan)
        ringing = await wic.chan.wait_for(
            lambda item: item.is_response and item.message is not None and item.message.status == 180, 2.0)
        assert ringing is not None  # waited for, not slept on: the machine may be loaded
        assert [r.message.status for r in wic.chan.responses_to(invite)] == [100, 180]
        assert (await wic.driver.state()).incoming
        await wic.driver.answer()
        ok = await wic.chan.response_to(invite, 2.0)
        assert ok is not None and b"a=setup:active" in ok.message.body
        assert ok.message.contacts[0].uri.param("transport") == "ws"

    async def test_trying_and_ringing_packed_with_fault(self, make: Make) -> None:
        wic = await make("two_messages_one_frame")
        assert wic.chan is not None
        invite, _ = await wic.epcscf.invite(wic.chan)
        got = await wic.chan.response_to(invite, 1.0, final=False)
        assert got is not None and got.message.status == 100 and b"180 Ringing" in got.excess

    @pytest.mark.parametrize(("faults", "open_after"), [((), True), (("close_after_bye",), False)])
    async def test_socket_after_bye(self, make: Make, faults: tuple[str, ...], open_after: bool) -> None:
        wic = await make(*faults)
        assert wic.chan is not None
        await wic.driver.call("sip:bob@ims.example.test")
        assert await wic.chan.request("ACK", 2.0) is not None
        await wic.driver.hangup()
        bye = await wic.chan.request("BYE", 2.0)
        assert bye is not None and bye.message.header("Route") is None
        assert (not await wic.chan.conn.wait_closed(0.3)) is open_after

    async def test_failure_ack_is_in_the_invite_transaction(self, make: Make) -> None:
        """RFC 3261 §17.1.1.3: the INVITE's top Via and Route headers, To from the response."""
        wic = await make()
        assert wic.chan is not None
        wic.epcscf.set_policy("INVITE", Policy("status", 486))
        await wic.driver.call("sip:bob@ims.example.test")
        invite = await wic.chan.request("INVITE", 2.0)
        ack = await wic.chan.request("ACK", 2.0)
        assert invite is not None and ack is not None
        assert ack.message.header_values("Via") == invite.message.header_values("Via")
        assert ack.message.header_values("Route") == invite.message.header_values("Route") != []
        busy = next(m for m, _ in wic.chan.sent if m is not None and m.status == 486)
        assert str(ack.message.cseq) == "1 ACK" and ack.message.header("To") == busy.header("To")

    async def test_cancel_repeats_the_invite_route(self, make: Make) -> None:
        """RFC 3261 §9.1: a CANCEL carries the INVITE's top Via and Route headers."""
        wic = await make()
        assert wic.chan is not None
        wic.epcscf.set_policy("INVITE", Policy("status", 180))
        await wic.driver.call("sip:bob@ims.example.test")
        invite = await wic.chan.request("INVITE", 2.0)
        assert invite is not None
        await asyncio.sleep(0.05)
        await wic.driver.hangup()
        cancel = await wic.chan.request("CANCEL", 2.0)
        assert cancel is not None
        assert cancel.message.header_values("Via") == invite.message.header_values("Via")
        assert cancel.message.header_values("Route") == invite.message.header_values("Route") != []
        await asyncio.sleep(0.1)
        assert [m.status for m, _ in wic.chan.sent if m is not None][-2:] == [200, 487]

    async def test_hangup_while_ringing_declines(self, make: Make) -> None:
        wic = await make()
        assert wic.chan is not None
        invite, _ = await wic.epcscf.invite(wic.chan)
        await asyncio.sleep(0.05)
        await wic.driver.hangup()
        final = await wic.chan.response_to(invite, 1.0)
        assert final is not None and final.message.status == 603


class TestDriver:
    async def test_unknown_fault(self, pki: Pki, tmp_path: Path) -> None:
        profile = dataclasses.replace(load_profile(PROFILE), faults=("no_such_fault",))
        env = WicEnv(profile=profile, pki=pki, epcscf_url="wss://127.0.0.1:9/", ca_pem=pki.ca_pem,
                     workdir=tmp_path)
        with pytest.raises(SutUnavailable, match="no_such_fault"):
            await ReferenceWicDriver().start(env)

    async def test_verbs_need_a_start(self) -> None:
        with pytest.raises(DriverError, match="not started"):
            await ReferenceWicDriver().register()

    async def test_verbs_that_cannot_be_done(self, make: Make) -> None:
        wic = await make(register=False, verb_timeout=0.05)
        with pytest.raises(DriverError, match="not connected"):
            await wic.driver.call("sip:bob@ims.example.test")
        with pytest.raises(DriverError, match="no incoming call"):
            await wic.driver.answer()
        with pytest.raises(DriverError, match="no call"):
            await wic.driver.hangup()
        with pytest.raises(DriverError):
            await wic.driver.unregister()

    async def test_the_log_is_the_sut_s_own(self, make: Make) -> None:
        wic = await make()
        assert "tx REGISTER" in wic.log and "registration: registered" in wic.log
        assert all(e.actor == "epcscf" for e in wic.timeline)
