"""eP-CSCF-role steps against the reference eP-CSCF: whose fault, and on what evidence.

A precondition step (`on_timeout: inconclusive`) records no PASS and never a FAIL; a check
that could not have failed is INCONCLUSIVE; a PASS names the entries it rests on.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.actors.channel import Received
from harness.actors.core import CoreStub
from harness.cases.context import CaseContext, Precondition, StepFailed
from harness.cases.model import Case, Step, load_case
from harness.cases.runner import run_case_sync
from harness.evidence import SIP, Timeline
from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.sip import build_request, build_response, new_branch, new_call_id, new_tag
from harness.steps.epcscf.core import expect_core_response, expect_via_preserved
from harness.verdicts import CaseResult, Verdict

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "reference-epcscf.yaml"
REGISTERED = ("wic.connect: {}", "wic.register: {on_timeout: inconclusive}")


def own(result: CaseResult) -> tuple:
    """The findings on the ids the case verifies (always-on monitors judge other ids too)."""
    return tuple(f for f in result.findings if f.requirement in result.verifies)


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


def case(tmp_path: Path, verifies: str, *steps: str) -> Case:
    path = tmp_path / "T-EPC.yaml"
    body = "".join(f"  - {s}\n" for s in steps)
    path.write_text(f"id: T-EPC\ntitle: t\nsut: epcscf\nverifies: [{verifies}]\nsteps:\n{body}")
    return load_case(path)


class TestPreconditionSteps:
    def test_expect_response_as_a_precondition_records_no_pass(
        self, tmp_path: Path, profile: Profile, pki: Pki
    ) -> None:
        c = case(tmp_path, "EPC-KA-04", *REGISTERED, "peer.send: {method: OPTIONS, as: o}",
                 "expect.response: {to: o, status: 2xx, on_timeout: inconclusive}")
        result = run_case_sync(c, profile, pki)
        assert own(result) == () and result.verdict is Verdict.INCONCLUSIVE  # was: PASS

    def test_expect_response_precondition_with_another_status_is_inconclusive(
        self, tmp_path: Path, profile: Profile, pki: Pki
    ) -> None:
        c = case(tmp_path, "EPC-KA-04", *REGISTERED, "core.policy: {method: OPTIONS, action: 486}",
                 "peer.send: {method: OPTIONS, as: o}",
                 "expect.response: {to: o, status: 2xx, on_timeout: inconclusive}")
        result = run_case_sync(c, profile, pki)
        assert result.verdict is Verdict.INCONCLUSIVE and "answered 486" in result.reason  # was: FAIL
        assert own(result) == ()

    def test_expect_answered_as_a_precondition_records_no_pass(
        self, tmp_path: Path, profile: Profile, pki: Pki
    ) -> None:
        c = case(tmp_path, "EPC-KA-04", *REGISTERED, "wic.invite: {as: invite}",
                 "expect.answered: {to: invite, on_timeout: inconclusive}")
        result = run_case_sync(c, profile, pki)
        assert [f for f in own(result) if f.verdict is Verdict.PASS] == []  # was: one PASS
        assert result.verdict is Verdict.INCONCLUSIVE


class TestNoRetransmission:
    def test_nothing_to_watch_is_inconclusive(self, tmp_path: Path, profile: Profile, pki: Pki) -> None:
        c = case(tmp_path, "BOTH-TP-04", *REGISTERED, "expect.no_retransmission: {method: MESSAGE, window: 0}")
        result = run_case_sync(c, profile, pki)
        assert result.verdict is Verdict.INCONCLUSIVE and "sent no MESSAGE" in result.reason  # was: FAIL

    def test_a_request_wicct_answered_at_once_proves_nothing(
        self, tmp_path: Path, profile: Profile, pki: Pki
    ) -> None:
        # no `wic.policy: withhold`: the WIC emulator's 200 ends the transaction, so even a
        # UDP-style SUT would not retransmit and the check could not fail
        c = case(tmp_path, "BOTH-TP-04", *REGISTERED, "core.send: {method: MESSAGE}",
                 "expect.no_retransmission: {method: MESSAGE, window: 0.2}")
        result = run_case_sync(c, profile, pki)
        assert result.verdict is Verdict.INCONCLUSIVE  # was: PASS
        assert "before a retransmission was due" in result.reason

    def test_withheld_it_passes(self, tmp_path: Path, profile: Profile, pki: Pki) -> None:
        c = case(tmp_path, "BOTH-TP-04", *REGISTERED, "wic.policy: {method: MESSAGE, action: withhold}",
                 "core.send: {method: MESSAGE}", "expect.no_retransmission: {method: MESSAGE, window: 0.2}")
        result = run_case_sync(c, profile, pki)
        assert result.verdict is Verdict.PASS


def test_no_response_passes_on_evidence(tmp_path: Path, profile: Profile, pki: Pki) -> None:
    c = case(tmp_path, "BOTH-TP-04", *REGISTERED, "core.policy: {method: OPTIONS, action: withhold}",
             "peer.send: {method: OPTIONS, as: o}", "expect.no_response: {to: o, within: 0.2}")
    result = run_case_sync(c, profile, pki)
    assert result.verdict is Verdict.PASS
    (finding,) = own(result)
    sent = [e["seq"] for e in result.evidence if e["kind"] == SIP and e["direction"] == "tx"
            and str(e["summary"]).startswith("tx OPTIONS")]
    assert finding.evidence == tuple(sent)  # was: ()


# -- steps judged on a bare context with wicct's core stub ---------------------------------------


@pytest.fixture
async def ctx(tmp_path: Path, profile: Profile):  # type: ignore[no-untyped-def]
    case_file = tmp_path / "T-EPC.yaml"
    case_file.write_text("id: T-EPC\ntitle: t\nsut: epcscf\nverifies: [EPC-TP-01]\nsteps:\n  - wic.connect: {}\n")
    timeline = Timeline()
    stub = CoreStub(timeline, profile)
    await stub.start()
    context = CaseContext(load_case(case_file), profile, timeline, None, tmp_path)  # type: ignore[arg-type]
    context.actors["core"] = stub
    yield context
    await stub.stop()


STEP = Step(index=0, kind="expect.via_preserved", args={}, line=1)


def register(via: str, call_id: str) -> object:
    return build_request("REGISTER", "sip:ims.example.test", [
        ("Via", via), ("Max-Forwards", "70"), ("To", "<sip:alice@ims.example.test>"),
        ("From", f"<sip:alice@ims.example.test>;tag={new_tag()}"), ("Call-ID", call_id),
        ("CSeq", "1 REGISTER"), ("Contact", "<sip:x@abc.invalid;transport=ws>"),
    ])


async def to_core(ctx: CaseContext, data: bytes) -> None:
    import asyncio

    stub: CoreStub = ctx.actors["core"]
    before = len(stub.requests)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.sendto(data, (stub.host, stub.port))
        for _ in range(100):
            if len(stub.requests) > before:
                return
            await asyncio.sleep(0.01)


class TestViaPreserved:
    def stored(self, ctx: CaseContext) -> tuple[str, object]:
        via = f"SIP/2.0/WSS abc.invalid;branch={new_branch()}"
        request = register(via, new_call_id())
        back = build_response(request, 200)
        ctx.vars["register"] = request
        ctx.vars["response_register"] = Received(back, back.to_bytes(), "text", 7, 6)
        return via, request

    async def test_no_copy_at_the_core_is_not_a_pass(self, ctx: CaseContext) -> None:
        self.stored(ctx)
        with pytest.raises(Precondition, match="hop towards the core cannot be judged"):
            await expect_via_preserved(ctx, {}, STEP)  # was: PASS "sent-by unchanged"
        assert ctx.findings == []

    async def test_a_copy_without_the_wic_s_via_fails(self, ctx: CaseContext) -> None:
        _, request = self.stored(ctx)
        proxy_via = f"SIP/2.0/UDP 127.0.0.1:5999;branch={new_branch()}"
        await to_core(ctx, register(proxy_via, request.call_id).to_bytes())  # type: ignore[attr-defined]
        with pytest.raises(StepFailed, match="without the WIC's Via"):
            await expect_via_preserved(ctx, {}, STEP)

    async def test_a_kept_via_passes(self, ctx: CaseContext) -> None:
        via, request = self.stored(ctx)
        relayed = register(f"SIP/2.0/UDP 127.0.0.1:5999;branch={new_branch()}", request.call_id)  # type: ignore[attr-defined]
        relayed = relayed.replace_header("Via", f"SIP/2.0/UDP 127.0.0.1:5999;branch={new_branch()}, {via}")
        await to_core(ctx, relayed.to_bytes())
        await expect_via_preserved(ctx, {}, STEP)
        assert [f.verdict for f in ctx.findings] == [Verdict.PASS]


async def test_core_response_none_names_the_core_request(ctx: CaseContext) -> None:
    stub: CoreStub = ctx.actors["core"]
    await to_core(ctx, register(f"SIP/2.0/UDP 127.0.0.1:5999;branch={new_branch()}", new_call_id()).to_bytes())
    assert stub.binding() is not None
    request = stub.send_request("MESSAGE", aor=stub.binding().aor, body=b"hi", content_type="text/plain")  # type: ignore[union-attr]
    ctx.vars["terminating"] = request
    step = Step(index=0, kind="expect.core_response", args={}, line=1)
    await expect_core_response(ctx, {"to": "terminating", "status": "2xx", "none": True, "within": 0.05}, step)
    (finding,) = ctx.findings
    assert finding.verdict is Verdict.PASS and finding.evidence == (stub.sent[-1].entry,)  # was: ()


def test_open_passes_on_evidence(tmp_path: Path, profile: Profile, pki: Pki) -> None:
    c = case(tmp_path, "EPC-KA-04", "wic.connect: {}", "expect.open: {for: 0.2}")
    result = run_case_sync(c, profile, pki)
    (finding,) = own(result)
    assert finding.verdict is Verdict.PASS and finding.evidence  # was: ()
    (still,) = [e for e in result.evidence if e["seq"] in finding.evidence]
    assert "still open after 0.2 s" in still["summary"]


def test_a_sut_that_drops_every_message_fails_the_packed_case(
    tmp_path: Path, profile: Profile, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BOTH-FR-06 without Content-Length: "nothing reached the core" is no PASS on its own;
    an eP-CSCF that silently drops every MESSAGE fails (no response to it)."""
    from harness import builtin
    from harness.suts.reference.epcscf import proxy

    original = proxy.Proxy.request_from_wic

    async def drop_messages(self: proxy.Proxy, flow: object, msg: object) -> None:
        if getattr(msg, "method", "") == "MESSAGE":
            return None
        await original(self, flow, msg)  # type: ignore[arg-type]

    monkeypatch.setattr(proxy.Proxy, "request_from_wic", drop_messages)
    path = builtin.cases_dir() / "epcscf" / "BOTH-FR-06-epcscf-no-content-length.yaml"
    result = run_case_sync(load_case(path), profile, pki)
    assert result.verdict is Verdict.FAIL, result.reason
    assert [f.requirement for f in result.findings if f.verdict is Verdict.FAIL] == ["BOTH-FR-06"]
    assert "no response to MESSAGE" in result.reason
