"""Reasons that tell the truth (issue item 12): against hostile eP-CSCFs on loopback, a
verdict rests only on what the SUT did, its reason says what happened first, and it cites
the entries that show it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile import MASKED_TEXT, RSV1_TEXT, external, hostile, switching

from harness.cases.model import load_case
from harness.cases.runner import run_case
from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.verdicts import CaseResult, Finding, Verdict

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "harness" / "data" / "testcases" / "epcscf"
PROFILE = ROOT / "profiles" / "reference-epcscf.yaml"


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


def on(result: CaseResult, requirement: str) -> list[Finding]:
    return [f for f in result.findings if f.requirement == requirement]


def kinds(result: CaseResult, seqs: tuple[int, ...]) -> set[str]:
    return {str(e["kind"]) for e in result.evidence if e["seq"] in seqs}


async def run(case_id: str, frame: bytes, delay: float, profile: Profile, pki: Pki) -> CaseResult:
    """Run a built-in case against a SUT that answers a valid 101 and then `frame`: in the
    same write (`delay` 0) or in a later one."""

    def script(headers: dict[str, str]) -> list[tuple[float, bytes]]:
        ok = switching(headers["sec-websocket-key"])
        return [(0.0, ok + frame)] if delay == 0 else [(0.0, ok), (delay, frame)]

    async with hostile(script, pki.server_context()) as sut:
        return await run_case(load_case(CASES / f"{case_id}.yaml"),
                              external(profile, sut.port, pki.ca_pem, handshake_timeout=2.0), pki)


FRAMES = {"masked": MASKED_TEXT, "rsv1": RSV1_TEXT}


@pytest.mark.parametrize("frame", sorted(FRAMES))
@pytest.mark.parametrize("case_id", ["EPC-HS-01", "EPC-ORIGIN-01"])
async def test_a_valid_101_passes_whenever_the_bad_frame_arrives(
    case_id: str, frame: str, profile: Profile, pki: Pki
) -> None:
    together = await run(case_id, FRAMES[frame], 0.0, profile, pki)
    later = await run(case_id, FRAMES[frame], 0.3, profile, pki)
    for result in (together, later):
        (judged,) = [f for f in on(result, case_id) if f.verdict is not Verdict.INFORMATIONAL]
        assert judged.verdict is Verdict.PASS, judged.reason  # was: FAIL "handshake: closed"
        assert judged.reason.startswith("101 with Sec-WebSocket-Protocol: sip and a correct")
    # the frame seen in the same read is a separate fact, cited with its error entry
    (note,) = [f for f in on(together, case_id) if f.verdict is Verdict.INFORMATIONAL]
    assert note.reason.startswith("the SUT sent an invalid frame right after its 101: ")
    assert "ws.error" in kinds(together, note.evidence)
