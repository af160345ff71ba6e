"""SipChannel and the WIC emulator facing malformed SIP from the SUT.

A message that does not parse is kept with its partial reading (`SipParseError.partial`),
so a step can report it; it must never be taken as a valid answer, never crash a wait
(a SUT's garbage is not a wicct ERROR) and never be answered 200 by wicct's emulator.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from harness.actors.channel import SipChannel
from harness.actors.wic_emulator import WicEmulator
from harness.checks import awaited
from harness.evidence import SIP_ERROR, Timeline
from harness.profiles import Profile, load_profile
from harness.sip import build_request, new_branch, new_call_id, new_tag
from harness.verdicts import Verdict
from harness.ws.record import WsMessage

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "reference-epcscf.yaml"


class FakeConn:
    """The part of a WsConnection a SipChannel uses; `feed` plays the SUT."""

    conn_id = "ws-test"

    def __init__(self) -> None:
        self.queue: asyncio.Queue[WsMessage] = asyncio.Queue()
        self.closed = False
        self.sent: list[bytes] = []

    def feed(self, payload: bytes) -> None:
        self.queue.put_nowait(WsMessage("text", payload, (), 0))

    async def recv(self, timeout: float) -> WsMessage | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def send_text(self, data: bytes) -> int:
        self.sent.append(data)
        return 0

    async def close(self, timeout: float = 1.0) -> None:
        self.closed = True


def request(method: str = "OPTIONS") -> Any:
    return build_request(method, "sip:bob@ims.example.test", [
        ("Via", f"SIP/2.0/WSS abc.invalid;branch={new_branch()}"),
        ("Max-Forwards", "70"),
        ("To", "<sip:bob@ims.example.test>"),
        ("From", f"<sip:alice@ims.example.test>;tag={new_tag()}"),
        ("Call-ID", new_call_id()),
        ("CSeq", f"1 {method}"),
    ])


def response_bytes(req: Any, *, cseq: str | None = None, length: int = 0) -> bytes:
    return (
        "SIP/2.0 200 OK\r\n"
        f"Via: {req.header('Via')}\r\n"
        f"From: {req.header('From')}\r\n"
        f"To: {req.header('To')};tag=x1\r\n"
        f"Call-ID: {req.call_id}\r\n"
        f"CSeq: {cseq or req.header('CSeq')}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


async def settle(chan: SipChannel, n: int) -> None:
    for _ in range(200):
        if len(chan.received) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the channel did not read the fed messages")


class TestMalformedFromTheSut:
    async def test_a_response_with_a_bad_cseq_does_not_crash_the_wait(self) -> None:
        conn, timeline = FakeConn(), Timeline()
        chan = SipChannel(conn, timeline, "wic").start()  # type: ignore[arg-type]
        req = request()
        conn.feed(response_bytes(req, cseq="abc"))
        await settle(chan, 1)
        assert chan.received[0].error and chan.received[0].message is not None
        assert await chan.response_to(req, 0.05) is None  # was: SipParseError → step ERROR
        assert await chan.wait_for(lambda r: str(r.message.cseq) == "1", 0.05) is None
        assert chan.responses_to(req) == []
        await chan.stop()

    async def test_an_unparsable_200_is_not_the_answer(self) -> None:
        conn, timeline = FakeConn(), Timeline()
        chan = SipChannel(conn, timeline, "wic").start()  # type: ignore[arg-type]
        req = request()
        conn.feed(response_bytes(req, length=20))  # Content-Length larger than the body
        await settle(chan, 1)
        assert timeline.select(kind=SIP_ERROR)
        assert await chan.response_to(req, 0.05) is None  # was: taken as "answered 200"
        (kept,) = chan.responses_to(req)  # still there, as evidence of what the SUT sent
        assert "content-length larger than body" in kept.error
        await chan.stop()

    async def test_copies_of_a_partial_message_are_copies_by_their_bytes(self) -> None:
        conn, timeline = FakeConn(), Timeline()
        chan = SipChannel(conn, timeline, "wic").start()  # type: ignore[arg-type]
        bad = request("MESSAGE").to_bytes().replace(b"CSeq: 1 MESSAGE", b"CSeq: one MESSAGE")
        conn.feed(bad)
        conn.feed(bad)
        await settle(chan, 2)
        a, b = chan.received
        assert a.error and b.error
        judged = awaited.sent_once(list(timeline), timeline[a.entry], 1.0)
        assert judged.verdict is Verdict.FAIL and judged.evidence == (a.entry, b.entry)  # was: PASS
        await chan.stop()

    async def test_the_wic_emulator_does_not_answer_an_unparsable_request(
        self, profile: Profile
    ) -> None:
        conn, timeline = FakeConn(), Timeline()
        wic = WicEmulator(timeline, profile, "wss://127.0.0.1:1/", None)
        chan = SipChannel(conn, timeline, "wic", on_request=wic._on_request).start()  # type: ignore[arg-type]
        bad = request("MESSAGE").to_bytes().replace(b"Content-Length: 0", b"Content-Length: 20")
        conn.feed(bad)
        conn.feed(request("MESSAGE").to_bytes())
        await settle(chan, 2)
        for _ in range(100):
            if conn.sent:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert chan.received[0].error
        assert len(conn.sent) == 1  # only the well-formed MESSAGE got its 200
        assert b"200 OK" in conn.sent[0] and chan.received[1].message.call_id.encode() in conn.sent[0]
        assert any("not answered: unparsable" in e.summary for e in timeline.select(actor="wic"))
        await chan.stop()


class FailingMedia:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.closed = False

    async def close(self) -> None:
        self.closed = True
        if self.fail:
            raise RuntimeError("aiortc said no")


async def test_wic_emulator_stop_closes_every_media_peer(profile: Profile) -> None:
    wic = WicEmulator(Timeline(), profile, "wss://127.0.0.1:1/", None)
    media = [FailingMedia(True), FailingMedia(False)]
    wic._media.extend(media)
    await wic.stop()  # was: the first failure escaped and the second peer stayed open
    assert all(m.closed for m in media)


async def test_core_stub_stop_closes_every_media_peer(profile: Profile) -> None:
    from harness.actors.core import CoreStub

    core = CoreStub(Timeline(), profile)
    await core.start()
    media = [FailingMedia(True), FailingMedia(False)]
    core._media.extend(media)
    await core.stop()  # was: the first failure escaped and the second peer stayed open
    assert all(m.closed for m in media)


async def test_an_unparsable_delivery_is_not_delivered(profile: Profile, tmp_path: Path) -> None:
    """expect.wic_received: a request the SUT garbled is no PASS for its delivery."""
    from harness.cases.context import CaseContext, StepFailed
    from harness.cases.model import Step, load_case
    from harness.steps.epcscf.core import expect_wic_received
    from harness.verdicts import Verdict

    case_file = tmp_path / "T.yaml"
    case_file.write_text("id: T\ntitle: t\nsut: epcscf\nverifies: [BOTH-FR-07]\nsteps:\n  - wic.connect: {}\n")
    conn, timeline = FakeConn(), Timeline()
    chan = SipChannel(conn, timeline, "wic").start()  # type: ignore[arg-type]

    class Peer:
        def channel(self, name: str = "main") -> SipChannel:
            return chan

    ctx = CaseContext(load_case(case_file), profile, timeline, None, tmp_path)  # type: ignore[arg-type]
    ctx.actors["peer"] = Peer()
    conn.feed(request("MESSAGE").to_bytes().replace(b"Content-Length: 0", b"Content-Length: 20"))
    step = Step(index=0, kind="expect.wic_received", args={}, line=1)
    with pytest.raises(StepFailed, match="could not be parsed"):
        await expect_wic_received(ctx, {"method": "MESSAGE", "within": 1}, step)  # was: PASS
    assert [f.verdict for f in ctx.findings] == [Verdict.FAIL]
    await chan.stop()
