"""The runner's verdict logic, with a minimal in-test environment and steps.

These do not replace a SUT: they drive the runner's own control flow (timeouts, errors,
preconditions, features) so that each outcome type is shown to reach the result.
"""

import asyncio
import contextlib

import pytest

from harness.cases import registry
from harness.cases.context import NotApplicable, Precondition
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
    elif mode == "not_applicable":
        raise NotApplicable("the profile's SUT lacks it")
    elif mode == "fail_should":
        ctx.failed("late copy", requirement="BOTH-TP-04", stop=False)
    elif mode == "bug":
        raise KeyError("oops")
    elif mode == "hang":
        await asyncio.sleep(60)
    elif mode == "secret":
        ctx.timeline.add("wic", "note", f"password is {ctx.profile.password}")
        ctx.passed("fine")
    elif mode == "stray_timeout":
        raise TimeoutError("a wait inside a step that nobody caught")
    elif mode == "secret_reason":
        ctx.passed(f"the SUT echoed {ctx.profile.password}")
        raise RuntimeError(f"boom with {ctx.profile.password}")


if "test.judge" not in registry.REGISTRY.steps:
    registry.step("test.judge", roles=registry.ROLES, args={"mode": {"type": "string"}})(_judge)


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


# -- review fixes ---------------------------------------------------------------------------


def test_timeout_escaping_a_step_is_error_not_the_case_timeout(tmp_path, env, pki, profile):
    result = run_case_sync(case_file(tmp_path, "stray_timeout"), profile, pki)
    assert result.verdict is Verdict.ERROR
    assert "overall timeout" not in result.reason


def test_teardown_that_hangs_after_the_case_timeout_is_bounded(tmp_path, monkeypatch, pki, profile):
    import time

    from harness.cases import runner

    @contextlib.asynccontextmanager
    async def environment(ctx):
        try:
            yield
        finally:
            await asyncio.sleep(5)  # a teardown that outlives the (already fired) timeout

    registry.load_providers()
    monkeypatch.setitem(registry.REGISTRY.environments, "epcscf", environment)
    monkeypatch.setattr(runner, "TEARDOWN_TIMEOUT", 0.3)
    started = time.monotonic()
    result = run_case_sync(case_file(tmp_path, "hang", timeout="200ms"), profile, pki)
    assert time.monotonic() - started < 3
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "overall timeout" in result.reason


def test_reasons_are_redacted_too(tmp_path, env, pki, profile):
    result = run_case_sync(case_file(tmp_path, "secret_reason"), profile, pki)
    assert result.verdict is Verdict.ERROR
    assert profile.password not in result.reason
    assert all(profile.password not in f.reason for f in result.findings)
    assert profile.password not in repr(result.to_json())


def _monitor(monkeypatch, name, fn, requirements=("EPC-HS-02",)):
    registry.load_providers()
    monkeypatch.setitem(
        registry.REGISTRY.monitors, name, registry.Monitor(name, fn, tuple(requirements))
    )


def _with_monitor(tmp_path, name, *modes):
    case = case_file(tmp_path, *modes)
    path = case.path
    path.write_text(path.read_text().replace("steps:", f"monitors: [{name}]\nsteps:"))
    return load_case(path)


def test_monitor_fail_is_not_hidden_when_the_case_stopped_early(tmp_path, env, monkeypatch, pki, profile):
    _monitor(monkeypatch, "test.fails", lambda ctx: ctx.judge(Verdict.FAIL, "bad frame", requirement="EPC-HS-02"))
    result = run_case_sync(_with_monitor(tmp_path, "test.fails", "precondition"), profile, pki)
    assert result.verdict is Verdict.FAIL
    assert "EPC-HS-02: bad frame" in result.reason


def test_monitor_bug_is_error_even_after_a_fail(tmp_path, env, monkeypatch, pki, profile):
    def boom(ctx):
        raise ValueError("monitor bug")

    _monitor(monkeypatch, "test.boom", boom)
    result = run_case_sync(_with_monitor(tmp_path, "test.boom", "fail"), profile, pki)
    assert result.verdict is Verdict.ERROR
    assert "monitor test.boom failed" in result.reason


def test_monitor_for_another_role_is_rejected_at_load(tmp_path):
    from harness.yamlmarks import DocumentError

    registry.load_providers()
    path = tmp_path / "T-5.yaml"
    path.write_text(
        "id: T-5\ntitle: t\nsut: epcscf\nverifies: [EPC-HS-01]\nmonitors: [masking]\n"
        "steps:\n  - wait: {for: 1ms}\n"
    )
    with pytest.raises(DocumentError, match="WIC-FR-02, which does not bind") as err:
        load_case(path)
    assert err.value.line == 5


@pytest.mark.parametrize(
    ("rid", "message"), [("EPC-HS-99", "unknown requirement id"), ("WIC-FR-01", "does not bind")]
)
def test_step_requirement_is_checked_at_load(tmp_path, rid, message):
    from harness.yamlmarks import DocumentError

    path = tmp_path / "T-6.yaml"
    path.write_text(
        "id: T-6\ntitle: t\nsut: epcscf\nverifies: [EPC-HS-01]\nsteps:\n"
        f"  - wait: {{for: 1ms}}\n  - wait:\n      for: 1ms\n      requirement: {rid}\n"
    )
    with pytest.raises(DocumentError, match=message) as err:
        load_case(path)
    assert err.value.line == 9


def test_an_exception_escaping_the_runner_is_an_error_result(tmp_path, monkeypatch, pki, profile):
    from harness import plugin

    def broken(case, profile, pki):
        raise OSError(f"tmp cleanup failed near {profile.password}")

    monkeypatch.setattr(plugin, "run_case_sync", broken)
    result = plugin.run_item(case_file(tmp_path, "pass"), profile, lambda: pki)
    assert result.verdict is Verdict.ERROR
    assert "tmp cleanup failed" in result.reason
    assert profile.password not in repr(result.to_json())


def test_interrupted_run_writes_a_report_that_says_it_is_partial(tmp_path, env, pki, profile):
    import json
    from types import SimpleNamespace

    from harness import plugin

    state = plugin.WicctState(profiles=[profile], out=tmp_path / "out", strict=False)
    state.run.add(run_case_sync(case_file(tmp_path, "pass"), profile, pki))
    session = SimpleNamespace(config=SimpleNamespace(stash={plugin.STATE: state}))
    plugin.pytest_sessionfinish(session, pytest.ExitCode.INTERRUPTED)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert any("interrupted" in note for note in report["notes"])


def test_sut_log_is_redacted_before_it_is_cut(tmp_path, env, pki, profile, monkeypatch):
    from harness.cases import runner

    secret = profile.password
    cut = len(secret) // 2
    monkeypatch.setattr(runner, "SUT_LOG_CHARS", 40)

    async def log_step(ctx, args, step):
        # the secret straddles the cut: without redaction first, its tail would survive
        ctx.sut_logs["sut"] = "x" * 100 + secret + "y" * (40 - (len(secret) - cut))
        ctx.passed("fine")

    monkeypatch.setitem(registry.REGISTRY.steps, "test.judge", registry.StepKind("test.judge", log_step, {"mode": {"type": "string"}}, registry.ROLES))
    result = run_case_sync(case_file(tmp_path, "pass"), profile, pki)
    (log,) = [e for e in result.evidence if e["kind"] == "sut.log"]
    assert secret[cut:] not in log["data"]["text"]


def test_not_applicable_stop_keeps_an_earlier_fail_and_runs_the_monitors(tmp_path, env, monkeypatch, pki, profile):
    """A FAIL seen before a NotApplicable stop stays a FAIL; the monitors judge what they
    watched (was: NOT-APPLICABLE, monitors never ran); the stored stop rejudges the same."""
    from harness.report.rejudge import _stop_of
    from harness.verdicts import case_verdict, with_stop

    result = run_case_sync(case_file(tmp_path, "pass", "not_applicable"), profile, pki)
    assert result.verdict is Verdict.NOT_APPLICABLE and result.reason == "the profile's SUT lacks it"
    result = run_case_sync(case_file(tmp_path, "fail_should", "not_applicable"), profile, pki)
    assert result.verdict is Verdict.FAIL
    _monitor(monkeypatch, "test.fails", lambda ctx: ctx.judge(Verdict.FAIL, "bad frame", requirement="EPC-HS-02"))
    result = run_case_sync(_with_monitor(tmp_path, "test.fails", "pass", "not_applicable"), profile, pki)
    assert result.verdict is Verdict.FAIL and "EPC-HS-02: bad frame" in result.reason
    case = {"evidence": [e for e in result.evidence]}
    assert with_stop(case_verdict(result.findings, result.verifies), _stop_of(case))[0] is Verdict.FAIL


def test_a_stop_an_earlier_fail_outranked_is_kept_for_rejudge(tmp_path, env, pki, profile):
    """The stored stop is the stop itself, not the case verdict it made: were the earlier
    FAIL judged otherwise on replay, the case would be NOT-APPLICABLE again, not PASS."""
    import dataclasses

    from harness.report.rejudge import _stop_of
    from harness.verdicts import case_verdict, with_stop

    result = run_case_sync(case_file(tmp_path, "fail_should", "not_applicable"), profile, pki)
    assert result.verdict is Verdict.FAIL
    stop = _stop_of({"evidence": list(result.evidence)})
    assert stop == (Verdict.NOT_APPLICABLE, "the profile's SUT lacks it")
    cleared = [dataclasses.replace(f, verdict=Verdict.PASS) for f in result.findings]
    assert with_stop(case_verdict(cleared, result.verifies), stop)[0] is Verdict.NOT_APPLICABLE
