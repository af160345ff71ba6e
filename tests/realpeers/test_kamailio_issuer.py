"""wicct's token issuer fails while Kamailio validates against it (issue 8, "bad input"): the
section-5 cases must end INCONCLUSIVE with the reason, never PASS, never hang. Kamailio sees
curl error 7 (down), 28 after `issuer_timeout` (stall), HTTP 500 (error) or a body that is
not JSON (garbage) and answers 503 without relaying anything.
"""

from __future__ import annotations

import dataclasses

import pytest

from harness.cases.model import Step, load_case
from harness.cases.runner import run_case_sync
from harness.pki import Pki
from harness.profiles import load_profile
from harness.suts.kamailio.driver import find_kamailio
from harness.verdicts import Verdict

from .conftest import PROFILES, ROOT

pytestmark = [
    pytest.mark.realpeer,
    pytest.mark.skipif(
        find_kamailio() is None,
        reason="REAL PEER MISSING: kamailio not installed (run scripts/install-real-peers.sh)",
    ),
]


@pytest.mark.parametrize("mode", ["down", "garbage", "error", "stall"])
@pytest.mark.parametrize("case_id", ["EPC-REG-02", "EPC-REG-05-expired", "EPC-REG-06-none", "EPC-REG-07-yes"])
def test_issuer_failure_is_inconclusive_with_kamailio(case_id: str, mode: str, pki: Pki) -> None:
    profile = load_profile(PROFILES / "kamailio-tna-epcscf.yaml")
    profile = dataclasses.replace(profile, driver_options={**profile.driver_options, "issuer_timeout": 1})
    case = load_case(ROOT / "testcases" / "epcscf" / f"{case_id}.yaml")
    first = Step(index=0, kind="issuer.mode", args={"mode": mode}, line=case.line)
    steps = (first, *(dataclasses.replace(s, index=s.index + 1) for s in case.steps))
    result = run_case_sync(dataclasses.replace(case, steps=steps), profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE, (result.verdict, result.reason)
    assert f"wicct's token issuer was set to '{mode}'" in result.reason
    assert "a REGISTER with a valid token answered 503" in result.reason
