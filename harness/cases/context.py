"""What a running case carries: profile, timeline, actors, variables and findings.

Steps talk to the world through actors placed in `ctx.actors` by the role's environment,
and record judgements with `ctx.judge(...)`. Control flow outcomes are exceptions typed by
whose fault it is: `StepFailed` (the SUT broke a requirement: FAIL and stop),
`Precondition` (could not decide: INCONCLUSIVE and stop), anything else unexpected is a
wicct bug (ERROR).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import evidence as ev
from harness import requirements
from harness.cases.model import Case, Step
from harness.checks import registry as checks_registry
from harness.evidence import Timeline
from harness.pki import Pki
from harness.profiles import Profile, parse_duration
from harness.verdicts import Finding, Strength, Verdict


class StepOutcome(Exception):
    def __init__(self, reason: str, evidence: Iterable[int] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = tuple(evidence)


class StepFailed(StepOutcome):
    """The SUT broke the requirement the step checks (a FAIL finding was recorded)."""


class StepEnded(StepOutcome):
    """The step recorded a FAIL below shall level: it ends, the case goes on."""


class Precondition(StepOutcome):
    """Something the check depends on never happened: the case is INCONCLUSIVE."""


class NotApplicable(StepOutcome):
    """The SUT, as profiled, does not have what the case needs."""


_REF = re.compile(r"\$\{([a-z_]+)\.([A-Za-z0-9_.\-]+)\}")


@dataclass
class CaseContext:
    case: Case
    profile: Profile
    timeline: Timeline
    pki: Pki
    workdir: Path
    actors: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    sut_logs: dict[str, str] = field(default_factory=dict)
    step: Step | None = None
    # judgements armed by a step and made once the steps are over (however they ended),
    # before teardown is judged: each gets the seq of the last entry the steps produced
    watches: list[Callable[[int], None]] = field(default_factory=list)
    # the rejudgeable checks called so far (harness.checks.registry), for `check_of`
    check_calls: Iterable[checks_registry.CheckCall] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.check_calls = checks_registry.recording(self.timeline)

    @property
    def timers(self):  # noqa: ANN201 - Timers
        return self.profile.timers

    def actor(self, name: str) -> Any:
        try:
            return self.actors[name]
        except KeyError:
            raise RuntimeError(
                f"no actor {name!r} in a {self.case.sut} case (have: {', '.join(self.actors)})"
            ) from None

    # -- judgements -----------------------------------------------------------------

    def judge(
        self,
        verdict: Verdict,
        reason: str,
        *,
        evidence: Iterable[int] = (),
        requirement: str | None = None,
        note: str = "",
        strength: Strength | None = None,
    ) -> list[Finding]:
        """Record a finding for `requirement`, or for the step's `requirement:` argument,
        or for every id the case verifies, at `strength` (see `strength_of`)."""
        ids = self._targets(requirement)
        made = []
        evidence = tuple(sorted(set(e for e in evidence if e)))
        check = self.check_of(verdict, reason, evidence)
        for rid in ids:
            req = requirements.get(rid)
            finding = Finding(
                requirement=rid,
                clause=req.clause,
                strength=self.strength_of(rid, strength),
                verdict=verdict,
                reason=self._where(reason),
                evidence=evidence,
                note=note,
                check=check,
            )
            self.findings.append(finding)
            made.append(finding)
        return made

    def check_of(self, verdict: Verdict, reason: str, evidence: Iterable[int] = ()) -> dict[str, Any] | None:
        """Which rejudgeable check made the judgement a step or monitor records now: the
        latest call whose judgement's reason the finding's reason contains and whose
        evidence the finding cites (the same verdict preferred), as report.json keeps it
        (`harness.checks.registry`); None when no check call matches (the step or an
        actor decided it)."""
        calls = list(self.check_calls)[::-1]
        cited = set(evidence)
        for same in (True, False):
            for call in calls:
                for pick, made in enumerate(call.results):
                    if made is None or not made.reason or made.reason not in reason:
                        continue
                    if not {e for e in getattr(made, "evidence", ()) or () if e} <= cited:
                        continue
                    if same and str(made.verdict) != str(verdict):
                        continue
                    if call.problem:
                        return {"name": call.name, "unrecorded": call.problem}
                    record: dict[str, Any] = {
                        "name": call.name,
                        "args": self.timeline.redactor.value(list(call.args)),
                        "kwargs": self.timeline.redactor.value(dict(call.kwargs)),
                        "pick": pick,
                    }
                    if str(made.verdict) != str(verdict):
                        record["verdict"] = str(made.verdict)  # the step recorded another
                    return record
        return None

    def strength_of(self, requirement: str, explicit: Strength | None = None) -> Strength:
        """A finding's own strength: the one the check names, else the step's `strength:`
        argument, else the catalogue row's. A row can hold parts of different strength
        (BOTH-FR-09: failing the connection is a MUST, the 1007 code a SHOULD)."""
        if explicit is not None:
            return explicit
        if self.step is not None and self.step.args.get("strength"):
            return Strength(self.step.args["strength"])
        return requirements.get(requirement).strength

    def passed(self, reason: str, **kw: Any) -> None:
        self.judge(Verdict.PASS, reason, **kw)

    def failed(
        self,
        reason: str,
        *,
        evidence: Iterable[int] = (),
        stop: bool | None = None,
        **kw: Any,
    ) -> None:
        """Record a FAIL finding and end the step (unless `stop=False`). A shall-level FAIL
        also stops the case (later steps depend on this one); after a should- or
        may-level one the case goes on with its next step, so the shall-level parts
        after it are still judged. `stop=True` stops the case whatever the strength."""
        evidence = tuple(evidence)
        made = self.judge(Verdict.FAIL, reason, evidence=evidence, **kw)
        if stop is False:
            return
        if stop or any(f.strength is Strength.SHALL for f in made):
            raise StepFailed(reason, evidence)
        raise StepEnded(reason, evidence)

    def informational(self, reason: str, **kw: Any) -> None:
        self.judge(Verdict.INFORMATIONAL, reason, **kw)

    def timed_out(self, reason: str, *, evidence: Iterable[int] = (), requirement: str | None = None) -> None:
        """A wait ran out: FAIL or INCONCLUSIVE per `on_timeout()`."""
        if self.is_precondition():
            raise Precondition(self._where(reason), evidence)
        self.failed(reason, evidence=evidence, requirement=requirement)

    def on_timeout(self) -> str:
        """What a timeout means for the current step: its `on_timeout:` argument, else its
        kind's default ("fail" when the SUT was obliged to act, "inconclusive" when the
        step only sets up a precondition). Outside a step: "fail".

        This is the one precondition rule (docs/architecture.md, "Preconditions and strength"): a
        precondition step records no PASS when it holds and INCONCLUSIVE, never FAIL,
        when it does not; an obliged step records PASS or FAIL."""
        from harness.cases.registry import REGISTRY

        if self.step is None:
            return "fail"
        mode = self.step.args.get("on_timeout") or REGISTRY.steps[self.step.kind].on_timeout
        return str(mode)

    def is_precondition(self) -> bool:
        """True when the current step only sets up a precondition (see `on_timeout`)."""
        return self.on_timeout() == "inconclusive"

    def unmet(self, reason: str, evidence: Iterable[int] = ()) -> None:
        """The step's expectation does not hold: INCONCLUSIVE for a precondition step,
        else a FAIL finding that stops the case."""
        if self.is_precondition():
            raise Precondition(self._where(reason), evidence)
        self.failed(reason, evidence=evidence)

    def held(self, reason: str, *, evidence: Iterable[int] = (), **kw: Any) -> None:
        """The step's expectation holds: a PASS finding, unless the step is only a
        precondition (a precondition never stands in for the verdict)."""
        if not self.is_precondition():
            self.passed(reason, evidence=evidence, **kw)

    def _targets(self, requirement: str | None) -> tuple[str, ...]:
        if requirement:
            return (requirement,)
        if self.step is not None and self.step.args.get("requirement"):
            return (self.step.args["requirement"],)
        return self.case.verifies

    def _where(self, reason: str) -> str:
        return f"{reason} [{self.step.where}]" if self.step is not None else reason

    def mandated(self, seconds: float, what: str) -> None:
        """Record a protocol-mandated wait (a window watched on purpose), so that the
        benchmark can tell wicct's own overhead from the time the case must take."""
        self.timeline.put("runner", f"watched {what} for {seconds:g} s",
                          ev.note({"mandated_wait": seconds}))

    def window(self, since: int, seconds: float, what: str) -> list[ev.Entry]:
        """Record where a wait ended (a window note: `since`, the seq the wait watched
        from, `seconds`, `what` it awaited) and return the timeline up to that note, the
        entries a check of `harness.checks.awaited` judges the wait from, so that `wicct
        rejudge` judges it again from the stored timeline (issue 10 item 4)."""
        note = self.timeline.put("runner", f"waited up to {seconds:g} s for {what}",
                                 ev.note({"window": {"since": since, "seconds": seconds, "what": what}}))
        return [e for e in self.timeline if e.seq <= note.seq]

    # -- values ---------------------------------------------------------------------

    def within(self, args: dict[str, Any], default: float) -> float:
        """The step's `within:` deadline in seconds, or `default`."""
        value = args.get("within")
        if value is None:
            return default
        return parse_duration(self.resolve(value))

    def resolve(self, value: Any) -> Any:
        """Expand `${profile.a.b}`, `${vars.x}` and `${timers.t1}` references."""
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, str) or "${" not in value:
            return value
        whole = _REF.fullmatch(value)
        if whole:
            return self._lookup(whole.group(1), whole.group(2))
        return _REF.sub(lambda m: str(self._lookup(m.group(1), m.group(2))), value)

    def _lookup(self, scope: str, dotted: str) -> Any:
        if scope == "profile":
            try:
                return self.profile.value(dotted)
            except KeyError:
                return getattr(self.profile, dotted.replace(".", "_"))
        if scope == "vars":
            node: Any = self.vars
            for part in dotted.split("."):
                node = node[part] if isinstance(node, dict) else getattr(node, part)
            return node
        if scope == "timers":
            return getattr(self.profile.timers, dotted)
        raise KeyError(f"unknown reference scope {scope!r}")
