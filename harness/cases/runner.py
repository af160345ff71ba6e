"""The declarative case runner: steps → actor calls, findings → one CaseResult.

docs/architecture.md principle 6: the harness never hangs and never lies. Each case runs under its
own overall timeout (every step has its own deadline too), teardown is bounded, monitors
judge the whole timeline afterwards, and whatever happens a CaseResult comes out:
FAIL for the SUT, INCONCLUSIVE when it could not decide, ERROR for a wicct bug.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import tempfile
import time
import traceback
from collections.abc import Iterable
from pathlib import Path

from harness import evidence as ev
from harness.cases.context import CaseContext, NotApplicable, Precondition, StepEnded, StepFailed
from harness.cases.model import Case
from harness.cases.registry import load_providers
from harness.cases.watchdog import DeadlineExceeded, Watch, run_watched
from harness.evidence import NOTE, Redactor, Timeline
from harness.pki import Pki
from harness.profiles import Profile, parse_duration
from harness.suts.base import PortInUse, SutUnavailable
from harness.verdicts import CaseResult, Verdict, case_verdict, with_stop

TEARDOWN_TIMEOUT = 10.0
SUT_LOG_CHARS = 20000  # the end of the SUT's log kept as evidence


def _redactor(profile: Profile) -> Redactor:
    redactor = Redactor()
    for secret in profile.secrets:
        redactor.add(secret)
    return redactor


def _result(
    case: Case,
    profile: Profile,
    verdict: Verdict,
    reason: str,
    ctx: CaseContext | None,
    started: float,
    timeline: Timeline | None = None,
    stop: str = "",
    stopped: tuple[Verdict, str] | None = None,
) -> CaseResult:
    timeline = ctx.timeline if ctx else timeline
    if stop and timeline is not None:  # the runner's own decision, for `wicct rejudge` (harness.verdicts.with_stop)
        # `verdict` is the case's, the stop taken in; `stopped` the stop itself, which
        # rejudge rolls up again with the findings it judged again
        decision: ev.StopFacts = {"by": stop, "verdict": str(verdict), "reason": reason}
        if stopped is not None:
            decision["stopped"] = {"verdict": str(stopped[0]), "reason": stopped[1]}
        timeline.put("runner", f"{stop}: the case is {verdict}", ev.note({"stop": decision}))
    # Reasons carry exception texts and SUT-provided strings: redact them like evidence.
    redact = timeline.redactor.text if timeline else _redactor(profile).text
    findings = tuple(dataclasses.replace(f, reason=redact(f.reason)) for f in ctx.findings) if ctx else ()
    return CaseResult(
        case_id=case.id,
        title=case.title,
        description=case.description,
        sut_role=case.sut,
        profile=profile.id,
        verifies=case.verifies,
        clauses=case.clauses,
        verdict=verdict,
        reason=redact(reason),
        findings=findings,
        evidence=tuple(timeline.to_json()) if timeline else (),
        duration_s=time.monotonic() - started,
        source=case.source,
    )


def error_result(case: Case, profile: Profile, exc: BaseException, started: float) -> CaseResult:
    """A wicct bug that escaped the runner's own guard: ERROR with the traceback, redacted,
    so the case is never lost from the report."""
    timeline = Timeline(_redactor(profile))
    timeline.add("runner", NOTE, f"harness error: {exc!r}", traceback=traceback.format_exc())
    reason = f"harness error outside the runner: {exc!r}"
    return _result(case, profile, Verdict.ERROR, reason, None, started, timeline, stop="runner.error")


def not_tried_result(case: Case, profile: Profile, reason: str) -> CaseResult:
    """INCONCLUSIVE for a case that was not run because its profile's set-up failed
    (`reason` starts with "not tried: "), so that it is still in the report."""
    timeline = Timeline(_redactor(profile))
    timeline.add("runner", NOTE, reason)
    return _result(case, profile, Verdict.INCONCLUSIVE, reason, None, time.monotonic(), timeline,
                   stop="runner.not_tried")


def port_in_use(exc: BaseException) -> bool:
    """A bind that failed because the address is taken (EADDRINUSE), whoever raised it."""
    return isinstance(exc, PortInUse) or (
        isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE
    )


def missing_features(case: Case, profile: Profile) -> list[str]:
    return [f for f in case.requires if f not in profile.features]



def not_claimed_reason(profile_id: str, missing: Iterable[str]) -> str:
    """The NOT-APPLICABLE reason of a case whose `requires:` the profile does not claim
    (its PICS); `is_not_claimed` recognises it (expected-results files need not list it)."""
    return f"profile {profile_id} does not declare feature(s): {', '.join(missing)}"


def is_not_claimed(reason: str, profile_id: str) -> bool:
    return reason.startswith(not_claimed_reason(profile_id, ()).rstrip(": "))

async def run_case(
    case: Case, profile: Profile, pki: Pki, workdir: Path | None = None, watch: Watch | None = None
) -> CaseResult:
    """Run one case against one profile and judge it. With a `watch`, the case publishes its
    hard deadline to the watchdog that runs it (harness.cases.watchdog)."""
    started = time.monotonic()
    registry = load_providers()
    missing = missing_features(case, profile)
    if missing:
        reason = not_claimed_reason(profile.id, missing)
        return _result(case, profile, Verdict.NOT_APPLICABLE, reason, None, started)
    if case.sut != profile.role:
        reason = f"case is for a {case.sut} SUT, profile {profile.id} is a {profile.role}"
        return _result(case, profile, Verdict.NOT_APPLICABLE, reason, None, started)

    timeline = Timeline(_redactor(profile))
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"wicct-{case.id}-")
        workdir = Path(tmp.name)
    ctx = CaseContext(case=case, profile=profile, timeline=timeline, pki=pki, workdir=workdir)
    stopped: tuple[Verdict, str] | None = None
    steps_ended = 0
    environment = registry.environments.get(case.sut)
    # `soft` bounds the case; `hard` also bounds the environment's teardown once `soft` has
    # fired (a timeout cancels once: a teardown that then hangs would hang the run).
    limit = budget(ctx)
    hard = asyncio.timeout(limit + TEARDOWN_TIMEOUT)
    soft = asyncio.timeout(limit)
    if watch is not None:
        watch.state = (ctx, started)
        watch.arm(
            limit + TEARDOWN_TIMEOUT,
            f"overall timeout {limit:g} s + teardown {TEARDOWN_TIMEOUT:g} s",
            lambda: ctx.step.where if ctx.step else "",
        )
    try:
        if environment is None:
            raise RuntimeError(f"no environment registered for SUT role {case.sut!r}")
        async with hard, soft, environment(ctx):
            try:
                for step in case.steps:
                    ctx.step = step
                    timeline.add("runner", NOTE, f"{step.where}", step=step.kind, line=step.line)
                    try:
                        await registry.steps[step.kind].fn(ctx, ctx.resolve(step.args), step)
                    except StepEnded:
                        continue  # a should-level FAIL was recorded: judge the rest of the case
                ctx.step = None
            finally:
                steps_ended = len(timeline)  # what wicct's teardown does comes after this
    except StepFailed as exc:
        stopped = (Verdict.FAIL, exc.reason)
    except Precondition as exc:
        stopped = (Verdict.INCONCLUSIVE, exc.reason)
        # principle 3: the stop's reason cites the entries that show it, in the timeline
        timeline.put("runner", f"stopped: {exc.reason}", ev.note({"cites": list(exc.evidence)}))
    except NotApplicable as exc:
        # the watches and monitors still judge what they watched, and a FAIL found before
        # the stop stays a FAIL (harness.verdicts.with_stop)
        stopped = (Verdict.NOT_APPLICABLE, exc.reason)
        timeline.put("runner", f"stopped: {exc.reason}", ev.note({"cites": list(exc.evidence)}))
    except SutUnavailable as exc:
        stopped = (Verdict.INCONCLUSIVE, f"{exc.label}: {exc}")
    except TimeoutError as exc:
        where = ctx.step.where if ctx.step else "set-up or teardown"
        if soft.expired() or hard.expired():
            stopped = (
                Verdict.INCONCLUSIVE,
                f"case exceeded its overall timeout of {limit:g} s at {where}",
            )
        else:  # a TimeoutError that escaped a step is a wicct bug, not the case's timeout
            timeline.add("runner", NOTE, f"harness error: {exc!r}", traceback=traceback.format_exc())
            stopped = (Verdict.ERROR, f"harness error at {where}: unhandled {exc!r}")
    except (asyncio.CancelledError, DeadlineExceeded):
        if watch is None or not watch.fired:
            raise  # not the watchdog's: the caller's cancellation
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        timeline.add("runner", NOTE, watch.reason)
        stopped = (Verdict.INCONCLUSIVE, watch.reason)
    except ev.EvidenceDropped as exc:  # a flood past the cap, not a wicct bug
        where = ctx.step.where if ctx.step else "set-up"
        stopped = (Verdict.INCONCLUSIVE, f"could not judge at {where}: {exc}")
    except Exception as exc:  # a wicct bug: ERROR, with the traceback as evidence
        if port_in_use(exc):  # the machine's state, not wicct's bug nor the SUT's fault
            stopped = (Verdict.INCONCLUSIVE, f"{PortInUse.label}: {exc}")
        else:
            timeline.add("runner", NOTE, f"harness error: {exc!r}", traceback=traceback.format_exc())
            where = ctx.step.where if ctx.step else "set-up"
            stopped = (Verdict.ERROR, f"harness error at {where}: {exc!r}")
    finally:
        ctx.step = None
        await _run_cleanups(ctx)
        if tmp is not None:
            tmp.cleanup()

    for watcher in ctx.watches:
        try:
            watcher(steps_ended or len(timeline))
        except Exception as exc:  # noqa: BLE001 - a watch bug must not hide the case
            timeline.add("runner", NOTE, f"watch error: {exc!r}", traceback=traceback.format_exc())
            stopped = (Verdict.ERROR, f"a watch failed: {exc!r}")
    for name in case.monitors:
        try:
            registry.monitors[name].fn(ctx)  # it records its findings with ctx.judge
        except Exception as exc:  # noqa: BLE001 - a monitor bug must not hide the case
            timeline.add("runner", NOTE, f"monitor {name} error: {exc!r}", traceback=traceback.format_exc())
            if stopped is None or stopped[0] is not Verdict.ERROR:  # a wicct bug outranks all
                stopped = (Verdict.ERROR, f"monitor {name} failed: {exc!r}")
    for name, text in ctx.sut_logs.items():
        if text:
            # redact before cutting: a cut must not leave half a secret readable
            kept = timeline.redactor.text(text)[-SUT_LOG_CHARS:]
            timeline.add("sut", "sut.log", f"{name} log ({len(text)} chars)", text=kept)

    stopped = _state_the_cap(ctx, stopped)
    verdict, reason = _verdict(ctx, stopped)
    stop = f"runner.{str(stopped[0]).lower()}" if stopped is not None else ""
    return _result(case, profile, verdict, reason, ctx, started, stop=stop, stopped=stopped)


def _state_the_cap(ctx: CaseContext, stopped: tuple[Verdict, str] | None) -> tuple[Verdict, str] | None:
    """When the timeline counted entries instead of storing them (harness.evidence
    MAX_ENTRIES), say so in a note and in every finding; entries counted past the hard cap
    were not judged, so the case cannot PASS."""
    timeline = ctx.timeline
    summary = timeline.cap_summary()
    if not summary:
        return stopped
    repeats = sorted(timeline.repeats.values(), key=lambda r: -r.count)
    entry = timeline.add("runner", NOTE, summary, repeats=[r.to_json() for r in repeats[:64]])
    said = f"evidence capped: {timeline.counted} entries counted, not stored (entry {entry.seq})"
    ctx.findings[:] = [
        dataclasses.replace(
            f,
            note=f"{f.note}; {said}" if f.note else said,
            # a counted entry is cited through the note that counts it
            evidence=tuple(sorted({s if timeline.is_stored(s) else entry.seq for s in f.evidence})),
        )
        for f in ctx.findings
    ]
    if timeline.hard_capped and stopped is None:
        return (
            Verdict.INCONCLUSIVE,
            f"{timeline.hard_capped} evidence entries past the hard cap of {ev.HARD_MAX_ENTRIES} "
            f"were counted, not judged (entry {entry.seq})",
        )
    return stopped


def _verdict(ctx: CaseContext, stopped: tuple[Verdict, str] | None) -> tuple[Verdict, str]:
    return with_stop(case_verdict(ctx.findings, ctx.case.verifies), stopped)


def budget(ctx: CaseContext) -> float:
    """The case's overall time limit: its `timeout` (the time it needs to act) plus every
    window its steps watch by protocol (a 32 s keep-alive watch must not eat the time the
    rest of the case needs). A window that cannot be resolved adds nothing here; the step
    reports the problem when it runs."""
    registry = load_providers()
    extra = 0.0
    for step in ctx.case.steps:
        kind = registry.steps.get(step.kind)
        if kind is None or kind.window is None:
            continue
        arg, timer = kind.window
        try:
            value = ctx.resolve(step.args[arg]) if arg in step.args else getattr(ctx.timers, timer)
            extra += parse_duration(value)
        except (KeyError, AttributeError, ValueError, TypeError):
            continue
    return ctx.case.timeout + extra


async def _run_cleanups(ctx: CaseContext) -> None:
    while ctx.cleanups:
        cleanup = ctx.cleanups.pop()
        try:
            async with asyncio.timeout(TEARDOWN_TIMEOUT):
                await cleanup()
        except Exception as exc:  # noqa: BLE001 - teardown is best effort, but recorded
            ctx.timeline.add("runner", NOTE, f"cleanup error: {exc!r}")


def run_case_sync(case: Case, profile: Profile, pki: Pki, workdir: Path | None = None) -> CaseResult:
    """Run one case in a fresh event loop (one loop per case keeps cases isolated), in a
    thread of its own watched from this one: past its hard deadline the watchdog ends it
    from outside (harness.cases.watchdog), whatever its loop is doing."""

    def abandoned(watch: Watch) -> CaseResult:
        if watch.state is None:  # it never armed: a wicct bug before its steps began
            return error_result(case, profile, RuntimeError(watch.reason), time.monotonic())
        ctx, started = watch.state
        ctx.timeline.add("runner", NOTE, watch.reason)
        verdict, reason = _verdict(ctx, (Verdict.INCONCLUSIVE, watch.reason))
        return _result(case, profile, verdict, reason, ctx, started)

    return run_watched(lambda watch: run_case(case, profile, pki, workdir, watch), abandoned,
                       name=f"wicct-case-{case.id}")
