"""RFC 3261 §18.3 at the eP-CSCF: octets it had to discard must not reach the core.

Found against Kamailio (docs/conformance-notes.md): an eP-CSCF that relays a WebSocket
message's whole buffer passes the excess octets after the Content-Length on to the core, and
relays a response whose Content-Length is larger than its body. wicct's core stub, being a
UDP receiver itself, discards both (§18.3), so the steps must look at what it received, not
at what it parsed: `expect.core_received` (with `body`) and `expect.core_response` (`none`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from harness.actors.core import CoreStub
from harness.cases.context import CaseContext, StepFailed
from harness.cases.model import Step, load_case
from harness.checks.relay import relayed_excess, relayed_unparsable_responses
from harness.evidence import SIP, SIP_ERROR, Timeline
from harness.profiles import Profile, load_profile
from harness.sip import new_branch, new_call_id, new_tag, parse
from harness.steps.epcscf.core import expect_core_received, expect_core_response
from harness.verdicts import Verdict

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "reference-epcscf.yaml"


def message_bytes(call_id: str, body: bytes, declared: int) -> bytes:
    return (
        "MESSAGE sip:bob@ims.example.test SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch={new_branch()}\r\n"
        "Max-Forwards: 69\r\n"
        "To: <sip:bob@ims.example.test>\r\n"
        f"From: <sip:alice@ims.example.test>;tag={new_tag()}\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "Content-Type: text/plain\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode() + body


def response_bytes(call_id: str, declared: int) -> bytes:
    return (
        "SIP/2.0 200 OK\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch={new_branch()}\r\n"
        f"From: <sip:bob@ims.example.test>;tag={new_tag()}\r\n"
        f"To: <sip:alice@ims.example.test>;tag={new_tag()}\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 MESSAGE\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


@pytest.fixture
async def ctx(tmp_path: Path, profile: Profile) -> AsyncIterator[CaseContext]:
    case_file = tmp_path / "T-EPC.yaml"
    case_file.write_text(
        "id: T-EPC\ntitle: t\nsut: epcscf\nverifies: [BOTH-FR-07]\nsteps:\n  - wic.connect: {}\n"
    )
    timeline = Timeline()
    stub = CoreStub(timeline, profile)
    await stub.start()
    context = CaseContext(load_case(case_file), profile, timeline, None, tmp_path)  # type: ignore[arg-type]
    context.actors["core"] = stub
    yield context
    await stub.stop()


async def send_udp(ctx: CaseContext, data: bytes, settle: int = 1) -> None:
    stub: CoreStub = ctx.actors["core"]
    before = len(ctx.timeline)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.sendto(data, (stub.host, stub.port))
        for _ in range(100):
            if len(ctx.timeline) >= before + settle:
                break
            await asyncio.sleep(0.01)


STEP = Step(index=0, kind="expect.core_received", args={}, line=1)


class TestRelayedExcess:
    async def test_excess_after_the_content_length_is_a_fail(self, ctx: CaseContext) -> None:
        await send_udp(ctx, message_bytes(new_call_id(), b"wicct kept; gone", 10))
        entry = ctx.timeline.select(kind=SIP, actor="core", direction="rx")[0]
        assert relayed_excess(ctx.timeline, entry.seq) == b"; gone"
        assert ctx.actors["core"].transactions("MESSAGE")[0].message.body == b"wicct kept"
        args = {"method": "MESSAGE", "count": 1, "body": "wicct kept"}
        with pytest.raises(StepFailed, match="6 octets after its Content-Length"):
            await expect_core_received(ctx, args, STEP)
        assert ctx.findings[-1].verdict is Verdict.FAIL
        assert ctx.findings[-1].evidence == (entry.seq,)

    async def test_a_message_cut_to_its_content_length_passes(self, ctx: CaseContext) -> None:
        await send_udp(ctx, message_bytes(new_call_id(), b"wicct kept", 10))
        await expect_core_received(ctx, {"method": "MESSAGE", "count": 1, "body": "wicct kept"}, STEP)
        assert [f.verdict for f in ctx.findings] == [Verdict.PASS]


class TestRelayedMalformedResponse:
    async def test_a_relayed_response_with_a_too_large_content_length_is_a_fail(
        self, ctx: CaseContext
    ) -> None:
        request = parse(message_bytes(new_call_id(), b"", 0)).message
        ctx.vars["terminating"] = request
        await send_udp(ctx, response_bytes(request.call_id, 20))
        errors = ctx.timeline.select(kind=SIP_ERROR, actor="core")
        assert len(errors) == 1 and not ctx.actors["core"].responses  # the stub discarded it
        assert relayed_unparsable_responses(ctx.timeline, request.call_id) == [(errors[0].seq, 200)]
        args = {"to": "terminating", "status": "2xx", "none": True, "within": 0.05}
        with pytest.raises(StepFailed, match="malformed 200 .* was relayed"):
            await expect_core_response(ctx, args, STEP)
        assert ctx.findings[-1].evidence == (errors[0].seq,)

    async def test_other_dialogs_and_unwanted_statuses_do_not_count(self, ctx: CaseContext) -> None:
        request = parse(message_bytes(new_call_id(), b"", 0)).message
        ctx.vars["terminating"] = request
        await send_udp(ctx, response_bytes(new_call_id(), 20))  # another transaction's response
        assert relayed_unparsable_responses(ctx.timeline, request.call_id) == []
        for wanted in ("2xx", "4xx"):
            args = {"to": "terminating", "status": wanted, "none": True, "within": 0.05}
            await expect_core_response(ctx, args, STEP)
        assert [f.verdict for f in ctx.findings] == [Verdict.PASS, Verdict.PASS]
