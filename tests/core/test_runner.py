"""The runner's verdict logic, with a minimal in-test environment and steps.

These do not replace a SUT: they drive the runner's own control flow (timeouts, errors,
preconditions, features) so that each outcome type is shown to reach the result.
"""

import asyncio
import contextlib

import pytest

from harness.cases import registry
from harness.cases.context import Precondition
from harness.cases.model import load_case
from harness.cases.runner import run_case_sync
from harness.plugin import DEFAULT_PROFILES, load_profiles
from harness.verdicts import Verdict


@pytest.fixture
def profile():
    return next(p for p in load_profiles(DEFAULT_PROFILES) if p.role == "epcscf")


@pytest.fixture
def env(monkeypatch):
    events = []

    @contextlib.asynccontextmanager
    async def environment(ctx):
        events.append("up")
        try:
            yield
        finally:
            events.append("down")

    registry.load_providers()
    monkeypatch.setitem(registry.REGISTRY.environments, "epcscf", environment)
    return events


async def _judge(ctx, args, step):
    mode = args["mode"]
    if mode == "pass":
        ctx.passed("fine", evidence=[ctx.timeline.add("wic", "note", "evidence").seq])
    elif mode == "fail":
        ctx.failed("broken")
    elif mode == "precondition":
        raise Precondition("never registered")
    elif mode == "bug":
        raise KeyError("oops")
    elif mode == "hang":
        await asyncio.sleep(60)
    elif mode == "secret":
        ctx.timeline.add("wic", "note", f"password is {ctx.profile.password}")
        ctx.passed("fine")


if "test.judge" not in registry.REGISTRY.steps:
    registry.step("test.judge", args={"mode": {"type": "string"}})(_judge)


def case_file(tmp_path, *modes, requires=(), timeout="5s"):
    steps = "".join(f"  - test.judge: {{mode: {m}}}\n" for m in modes)
    text = (
        "id: T-1\ntitle: t\nsut: epcscf\nverifies: [EPC-HS-01]\n"
        f"requires: {list(requires)}\ntimeout: {timeout}\nsteps:\n{steps}"
    )
    path = tmp_path / "T-1.yaml"
    path.write_text(text)
    return load_case(path)


@pytest.mark.parametrize(
    ("modes", "verdict"),
    [
        (("pass",), Verdict.PASS),
        (("pass", "fail", "pass"), Verdict.FAIL),
        (("precondition",), Verdict.INCONCLUSIVE),
        (("bug",), Verdict.ERROR),
    ],
)
def test_outcomes(tmp_path, env, pki, profile, modes, verdict):
    result = run_case_sync(case_file(tmp_path, *modes), profile, pki)
    assert result.verdict is verdict
    assert env == ["up", "down"]


def test_fail_stops_later_steps(tmp_path, env, pki, profile):
    result = run_case_sync(case_file(tmp_path, "fail", "pass"), profile, pki)
    assert [f.verdict for f in result.findings] == [Verdict.FAIL]
    assert "step 1 (test.judge, line 8)" in result.findings[0].reason


def test_case_timeout_is_inconclusive_and_tears_down(tmp_path, env, pki, profile):
    result = run_case_sync(case_file(tmp_path, "hang", timeout="200ms"), profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "overall timeout" in result.reason
    assert env == ["up", "down"]


def test_missing_feature_is_not_applicable(tmp_path, env, pki, profile):
    result = run_case_sync(case_file(tmp_path, "pass", requires=["teleport"]), profile, pki)
    assert result.verdict is Verdict.NOT_APPLICABLE
    assert "teleport" in result.reason
    assert env == []


def test_no_finding_is_inconclusive(tmp_path, env, pki, profile):
    path = tmp_path / "T-2.yaml"
    path.write_text("id: T-2\ntitle: t\nsut: epcscf\nverifies: [EPC-HS-01]\nsteps:\n  - wait: {for: 1ms}\n")
    result = run_case_sync(load_case(path), profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE


def test_secrets_are_redacted(tmp_path, env, pki, profile):
    result = run_case_sync(case_file(tmp_path, "secret"), profile, pki)
    text = repr(result.evidence)
    assert profile.password not in text
    assert "<redacted>" in text


def test_bad_step_args_name_the_line(tmp_path):
    from harness.yamlmarks import DocumentError

    path = tmp_path / "T-3.yaml"
    path.write_text("id: T-3\ntitle: t\nsut: epcscf\nverifies: [EPC-HS-01]\nsteps:\n  - wait: {fro: 1s}\n")
    with pytest.raises(DocumentError) as err:
        load_case(path)
    assert err.value.line == 6
    assert "steps.0.wait" in err.value.key


def test_wrong_role_id_is_rejected(tmp_path):
    from harness.yamlmarks import DocumentError

    path = tmp_path / "T-4.yaml"
    path.write_text("id: T-4\ntitle: t\nsut: epcscf\nverifies: [WIC-FR-01]\nsteps:\n  - wait: {for: 1s}\n")
    with pytest.raises(DocumentError, match="does not bind"):
        load_case(path)
