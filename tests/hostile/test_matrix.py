"""The hostile-SUT matrix table, its profiles and the judge of a measured run."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.profiles import load_profile
from harness.suts.checks import check_profile, profile_warnings
from harness.suts.hostile.behaviours import AFTER_UPGRADE
from harness.suts.hostile.matrix import ROLES, ROWS, Expectation, profile_text, rows_for
from harness.suts.registry import driver_class
from harness.verdicts import Verdict
from tests.hostile.measure import Measured, problems

HANDSHAKE_ROWS = {
    "stall-after-tcp", "stall-after-tls", "close-mid-handshake", "garbage-handshake",
    "untrusted-cert", "expired-cert", "wrong-name-cert",
}
ISSUE_11_ROWS = HANDSHAKE_ROWS | {
    "stall-after-upgrade", "slow-handshake", "wrong-accept", "reset-mid-frame", "binary-junk",
    "raw-junk", "oversize-message", "huge-length", "endless-continuations", "ping-flood",
    "invalid-utf8", "torture-requests", "torture-responses", "duplicated-responses",
    # later: floods of valid SIP, bulk within the limits, compression, lies
    "request-flood", "many-connections", "huge-http-header", "many-http-headers",
    "many-sip-headers", "huge-sdp", "deflate-bomb", "unrelated-responses",
}


def test_every_row_of_issue_11_is_in_the_matrix() -> None:
    assert {row.name for row in ROWS} == ISSUE_11_ROWS


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_a_row_never_expects_exit_0_and_has_each_roles_expectation(row) -> None:  # noqa: ANN001
    assert set(row.expect) == set(row.roles)
    for expectation in row.expect.values():
        assert 0 not in expectation.exit_codes and expectation.exit_codes
        # every row forbids something beyond exit 0: a PASS, a missed FAIL, or a wicct ERROR
        assert (expectation.no_pass_on or expectation.fails or expectation.gap
                or Verdict.ERROR not in expectation.case_verdicts)
    # a row that is not about the handshake has something to do once the WebSocket is open
    assert row.name in HANDSHAKE_ROWS or row.name in AFTER_UPGRADE


@pytest.mark.parametrize(("role", "name"), [(r, row.name) for r in ROLES for row in rows_for(r)])
def test_each_rows_profile_loads_and_checks_clean(tmp_path: Path, role: str, name: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(profile_text(role, name))
    profile = load_profile(path)
    assert (profile.role, profile.driver, profile.driver_options) == (role, "hostile", {"behaviour": name})
    assert driver_class(role, "hostile").check_options(profile) == []
    check_profile(profile)  # raises on a mistake
    assert profile_warnings(profile) == []


@pytest.mark.parametrize("role", ROLES)
def test_an_unknown_behaviour_is_a_profile_error(tmp_path: Path, role: str) -> None:
    text = profile_text(role, "raw-junk").replace("behaviour: raw-junk", "behaviour: rude")
    path = tmp_path / "p.yaml"
    path.write_text(text)
    found = driver_class(role, "hostile").check_options(load_profile(path))
    assert found and found[0][0] == "driver_options.behaviour" and "'rude'" in found[0][1]
    with pytest.raises(ValueError, match="no hostile"):
        profile_text(role, "rude")


def test_a_row_for_the_other_role_has_no_profile() -> None:
    with pytest.raises(ValueError):
        profile_text("wic", "expired-cert")  # certificates are the server's: eP-CSCF rows


def _measured(tmp_path: Path, *, exit_code: int = 1, rss: float = 90.0, cases=()) -> Measured:  # noqa: ANN001
    profile = tmp_path / "p.yaml"
    profile.write_text(profile_text("epcscf", "raw-junk"))
    return Measured(
        role="epcscf", behaviour="raw-junk", exit_code=exit_code, seconds=1.0,
        peak_rss_mib=rss, report_bytes=10, report={"cases": list(cases)},
        profile=profile, output="",
    )


def _case(verdict: str, findings=()) -> dict:  # noqa: ANN001
    return {"id": "X", "verdict": verdict, "reason": "r", "findings": list(findings),
            "source": "/nonexistent.yaml:1", "duration_s": 1.0}


def test_the_judge_of_a_run_names_each_broken_bound(tmp_path: Path) -> None:
    expect = Expectation()
    assert problems(_measured(tmp_path, cases=[_case("INCONCLUSIVE")]), expect) == []
    assert problems(_measured(tmp_path, exit_code=0), expect) == [
        "exit code 0, expected one of [1, 2]"
    ]
    assert "peak RSS 500 MiB >= 400 MiB" in problems(_measured(tmp_path, rss=500.0), expect)
    passed = _case("PASS", [{"requirement": "BOTH-FR-10", "verdict": "PASS"}])
    assert problems(_measured(tmp_path, cases=[passed]), expect) == ["X: PASS on BOTH-FR-10"]
    ok = _case("PASS", [{"requirement": "EPC-HS-01", "verdict": "PASS"}])
    assert problems(_measured(tmp_path, cases=[ok]), expect) == []
    assert problems(_measured(tmp_path, cases=[ok]), Expectation(no_pass_on=("",))) == [
        "X: PASS on EPC-HS-01"
    ]
    caught = Expectation(fails=("BOTH-FR-10",))
    assert problems(_measured(tmp_path, cases=[ok]), caught) == [
        "no FAIL on BOTH-FR-10: the peer was not caught"
    ]
    failed = _case("FAIL", [{"requirement": "BOTH-FR-10", "verdict": "FAIL"}])
    assert problems(_measured(tmp_path, cases=[failed]), caught) == []
    no_report = Measured(**{**_measured(tmp_path).__dict__, "report": None})
    assert problems(no_report, expect) == ["no report.json written"]
