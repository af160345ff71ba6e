"""The WIC role's call steps end to end against the reference WIC with one defect put in
its SDP: an SDP that does not parse is a FAIL naming its line (never an ERROR), and a media
endpoint that never answers ICE makes WIC-SES-04 INCONCLUSIVE within the step's window."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cases.model import Case, load_case
from harness.cases.runner import run_case_sync
from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.suts.reference.wic import calls as reference_calls
from harness.verdicts import Verdict

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "reference-wic.yaml"
REGISTERED = ("driver.register: {}", "expect.request: {method: REGISTER}", "expect.registered: {}")


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


def case(tmp_path: Path, verifies: str, *steps: str, monitors: str = "[]") -> Case:
    path = tmp_path / "T-CALL.yaml"
    body = "".join(f"  - {s}\n" for s in (*REGISTERED, *steps))
    path.write_text(f"id: T-CALL\ntitle: t\nsut: wic\nverifies: [{verifies}]\n"
                    f"monitors: {monitors}\nsteps:\n{body}")
    return load_case(path)


def test_an_offer_that_does_not_parse_fails_on_its_line(tmp_path: Path, profile: Profile, pki: Pki,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def garbled(sdp: str, faults: frozenset[str]) -> str:
        return sdp.replace("a=rtpmap:96 ", "a=rtpmap:xx ", 1)

    monkeypatch.setattr(reference_calls, "sent_offer", garbled)
    c = case(tmp_path, "WIC-SES-01", "driver.call: {}", "expect.request: {method: INVITE}",
             monitors="[sdp]")
    result = run_case_sync(c, profile, pki)
    assert result.verdict is Verdict.FAIL, result.reason
    failed = [f for f in result.findings if f.verdict is Verdict.FAIL]
    assert failed and all(f.requirement == "WIC-SES-01" for f in failed)
    assert any("`a=rtpmap:xx" in f.reason and "sdp-parse" in f.reason for f in failed)


def test_media_that_never_answers_ice_is_inconclusive(tmp_path: Path, profile: Profile, pki: Pki,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    answer = reference_calls.sent_answer

    def no_candidates(offer: str, sdp: str, faults: frozenset[str]) -> str:
        made = answer(offer, sdp, faults)
        return "".join(line for line in made.splitlines(keepends=True)
                       if not line.startswith("a=candidate"))

    monkeypatch.setattr(reference_calls, "sent_answer", no_candidates)
    c = case(tmp_path, "WIC-SES-04", "epcscf.invite: {as: invite}", "driver.answer: {}",
             "expect.response: {to: invite, status: 200}", "expect.media: {within: 1s}")
    result = run_case_sync(c, profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE, result.reason
    assert "ICE did not complete within 1 s" in result.reason
