"""expect.media_through (EPC-SES-01, informational): media through an eP-CSCF's edge.

Against the reference eP-CSCF, which only rewrites SDP, both calls are said to have no
media path through the SUT, without watching; a media endpoint that never answers ICE ends
the watch within its window, never a hang, and the finding says so. Media that really
crosses an edge is shown with Kamailio and rtpengine (tests/realpeers/test_rtpengine_media.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness.cases.context import CaseContext
from harness.cases.model import load_case
from harness.cases.runner import run_case_sync
from harness.checks.media import MediaLeg, media_through
from harness.evidence import Timeline
from harness.pki import Pki
from harness.profiles import load_profile
from harness.sdp.jsep import make_answer, make_offer
from harness.steps.epcscf.sessions import _watch_media
from harness.verdicts import Verdict

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "reference-epcscf.yaml"


def _case_file(tmp_path: Path, *steps: str) -> Path:
    path = tmp_path / "T-EPC.yaml"
    body = "".join(f"  - {s}\n" for s in steps)
    path.write_text(f"id: T-EPC\ntitle: t\nsut: epcscf\nverifies: [EPC-SES-01]\nsteps:\n{body}")
    return path


def test_a_sut_that_relays_no_media_is_said_so_both_ways(tmp_path: Path, pki: Pki) -> None:
    case = load_case(_case_file(
        tmp_path, "wic.connect: {}", "wic.register: {on_timeout: inconclusive}", "wic.media: {answer_audio: true}",
        "wic.invite: {as: invite}", "expect.answered: {to: invite, on_timeout: inconclusive}",
        "wic.ack: {of: invite}", "expect.media_through: {of: invite}",
        "core.send: {method: INVITE, as: term, sdp: plain}", "expect.media_through: {of: term}",
    ))
    result = run_case_sync(case, load_profile(PROFILE), pki)
    media = [f for f in result.findings if f.requirement == "EPC-SES-01"]
    assert result.verdict is Verdict.PASS, result.reason
    assert [f.verdict for f in media] == [Verdict.INFORMATIONAL, Verdict.INFORMATIONAL]
    assert media[0].reason.startswith("originating call") and "not through the SUT" in media[0].reason
    assert media[1].reason.startswith("terminating call") and "unconverted" in media[1].reason
    assert "488" in media[1].reason  # the WIC emulator (aiortc) refuses a plain offer


async def test_a_media_endpoint_that_never_answers_ice_ends_within_the_window(tmp_path: Path) -> None:
    case_file = _case_file(tmp_path, "wic.connect: {}")
    ctx = CaseContext(load_case(case_file), load_profile(PROFILE), Timeline(), None, tmp_path)  # type: ignore[arg-type]
    offer = await make_offer()
    silent = await make_answer(offer.sdp)
    answer = silent.sdp.encode()
    await silent.close()  # its ICE port is gone: no connectivity check is ever answered
    try:
        # a hang would be a TimeoutError here
        facts, connected_t, waited = await asyncio.wait_for(_watch_media(ctx, offer, answer, [], 1.0), 10.0)
    finally:
        await offer.close()
    assert connected_t is None and facts["connection"] != "connected" and facts["rtp_received"] == 0
    judged = media_through(MediaLeg(direction="originating", status=200, wic_protocols=("UDP/TLS/RTP/SAVPF",),
                                    core_protocols=("RTP/AVP",), wic=facts, waited=waited, window=1.0))
    assert judged.verdict is Verdict.INFORMATIONAL and not judged.flowed
    assert "within 1 s" in judged.reason
