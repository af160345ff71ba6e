"""Reasons that tell the truth (issue item 12): against hostile eP-CSCFs on loopback, a
verdict rests only on what the SUT did, its reason says what happened first, and it cites
the entries that show it."""

from __future__ import annotations

from pathlib import Path

import pytest
from misbehaving import MASKED_TEXT, RSV1_TEXT, external, hostile, switching

from harness.cases.model import Case, load_case
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
    assert note.reason.startswith("after its 101 the SUT sent an invalid frame on connection 'main': ")
    assert "ws.error" in kinds(together, note.evidence)


@pytest.mark.parametrize("case_id", ["EPC-TP-01", "EPC-TP-02"])
async def test_wic_connect_names_the_frame_right_after_the_101(
    case_id: str, profile: Profile, pki: Pki
) -> None:
    result = await run(case_id, MASKED_TEXT, 0.0, profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE, result.reason
    assert "the SUT sent an invalid frame right after its 101: " in result.reason
    assert "handshake: closed" not in result.reason  # was: "the WebSocket did not open"
    assert not [f for f in result.findings if f.verdict is Verdict.FAIL]
    assert "ws.error" in kinds(result, stop_cites(result))  # the stop cites wicct's error entry


def stop_cites(result: CaseResult) -> tuple[int, ...]:
    """The entries the runner's note of an INCONCLUSIVE stop cites."""
    (stop,) = [e for e in result.evidence if str(e["summary"]).startswith("stopped: ")]
    return tuple(stop["data"]["cites"])


@pytest.mark.parametrize("case_id", ["EPC-TP-01", "EPC-TP-02"])
async def test_no_register_response_after_wicct_failed_the_connection_is_not_a_fail(
    case_id: str, profile: Profile, pki: Pki
) -> None:
    """The frame comes once REGISTER is sent: wicct fails the connection (RFC 6455 §7.1.7),
    which is why no 200 comes; not "no final response to REGISTER" as the SUT's FAIL."""
    result = await run(case_id, MASKED_TEXT, 0.3, profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE, result.reason  # was: FAIL
    assert result.reason.startswith("no final response to REGISTER: wicct failed the connection "
                                    "(Close 1002) because the SUT sent an invalid frame: ")
    assert {"sip", "ws.error"} <= kinds(result, stop_cites(result))  # the REGISTER, the bad frame
    assert not [f for f in result.findings if f.verdict is Verdict.FAIL]


async def test_a_status_line_without_crlf_says_so(profile: Profile, pki: Pki) -> None:
    """The SUT sends its status line with no line end and keeps the connection open."""

    def bare(headers: dict[str, str]) -> list[tuple[float, bytes]]:
        return [(0.0, b"HTTP/1.1 101 Switching Protocols")]

    async with hostile(bare, pki.server_context()) as sut:
        result = await run_case(load_case(CASES / "EPC-HS-01.yaml"),
                                external(profile, sut.port, pki.ca_pem, handshake_timeout=0.5), pki)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.reason == ("no complete HTTP status line within 0.5 s: received "
                             "b'HTTP/1.1 101 Switching Protocols' without CRLF")  # was: no answer


async def test_a_status_line_ending_in_lf_is_not_a_closed_connection(profile: Profile, pki: Pki) -> None:
    def lf(headers: dict[str, str]) -> list[tuple[float, bytes]]:
        return [(0.0, switching(headers["sec-websocket-key"]).replace(b"\r\n", b"\n"))]

    async with hostile(lf, pki.server_context()) as sut:
        result = await run_case(load_case(CASES / "EPC-HS-01.yaml"),
                                external(profile, sut.port, pki.ca_pem, handshake_timeout=2.0), pki)
    (finding,) = on(result, "EPC-HS-01")
    assert finding.verdict is Verdict.FAIL
    assert "connection closed" not in finding.reason  # was: "... while reading HTTP status line"
    assert "HTTP status line b'HTTP/1.1 101 Switching Protocols\\n' ends without CRLF" in finding.reason


def inline(tmp_path: Path, verifies: str, *steps: str) -> Case:
    path = tmp_path / "T-REASONS.yaml"
    body = "".join(f"  - {s}\n" for s in steps)
    path.write_text(f"id: T-REASONS\ntitle: t\nsut: epcscf\nverifies: [{verifies}]\nsteps:\n{body}")
    return load_case(path)


def mute(headers: dict[str, str]) -> list[tuple[float, bytes]]:
    """A valid 101, then nothing: wicct's Close is never echoed, TCP never closed."""
    return [(0.0, switching(headers["sec-websocket-key"]))]


async def test_tcp_close_ok_is_no_pass_when_wicct_closed_tcp(tmp_path: Path, profile: Profile, pki: Pki) -> None:
    case = inline(tmp_path, "BOTH-KA-05", "wic.connect: {}", "peer.close: {code: 1000}",
                  "expect.close: {tcp_close_ok: true}")
    async with hostile(mute, pki.server_context()) as sut:
        result = await run_case(case, external(profile, sut.port, pki.ca_pem), pki)
    (finding,) = on(result, "BOTH-KA-05")
    assert finding.verdict is Verdict.FAIL  # was: PASS "TCP closed without a Close frame"
    assert finding.reason.startswith("no Close frame from the SUT; TCP closed by wicct, after ")


async def test_expect_open_is_not_failed_by_wicct_closing(tmp_path: Path, profile: Profile, pki: Pki) -> None:
    def late(headers: dict[str, str]) -> list[tuple[float, bytes]]:
        return [(0.0, switching(headers["sec-websocket-key"])), (0.2, MASKED_TEXT)]

    case = inline(tmp_path, "BOTH-KA-01", "wic.connect: {}", "expect.open: {for: 1.5}")
    async with hostile(late, pki.server_context()) as sut:
        result = await run_case(case, external(profile, sut.port, pki.ca_pem), pki)
    assert result.verdict is Verdict.INCONCLUSIVE, result.reason  # was: FAIL "the SUT closed ..."
    assert result.reason.startswith("the connection did not stay open for 1.5 s: wicct failed the "
                                    "connection (Close 1002) because the SUT sent an invalid frame")
