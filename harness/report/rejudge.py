"""`wicct rejudge`: re-run the verdict logic on a report's stored evidence, without the SUT.

Issue 10 item 4: an accreditor checks that the verdicts follow from the wire. Each finding
of report.json that names the rejudgeable check which made it (`check`, recorded by
`harness.cases.context.CaseContext.check_of`) is judged again: the case's stored timeline
is read back into entries (`entry_from_json`: bytes come back as bytes, by the entry
kind's payload type), the check is called with its recorded arguments
(`harness.checks.registry.replay`), and the judgement it picks is compared with the
finding's verdict. Findings a step or an actor decided without a registered check, and
calls whose arguments had no stored form, are counted as not rejudgeable, with why.

Each case verdict is then rolled up again from the rejudged findings, as the runner does
(`harness.verdicts.case_verdict`, then `with_stop` with the runner's own decision, which
the runner stored as a `stop` note: a precondition that never happened, a deadline, an
ERROR, NOT-APPLICABLE), and compared with the case verdict report.json holds. A case the
runner never started (NOT-APPLICABLE by the profile's PICS or role: no evidence at all) is
listed as not a judgement of the wire.
"""

from __future__ import annotations

import json
import types
import typing
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness import requirements
from harness.checks import registry
from harness.evidence import KINDS, NOTE, Entry
from harness.verdicts import Finding, Strength, Verdict, case_verdict, with_stop

SAME = "same"
DIFFERS = "differs"
NOT_REJUDGEABLE = "not rejudgeable"
NOT_REPLAYED = "could not be replayed"


@dataclass(frozen=True)
class Outcome:
    """One finding judged again."""

    case: str
    profile: str
    requirement: str
    recorded: str  # the finding's verdict in report.json
    status: str  # SAME, DIFFERS, NOT_REJUDGEABLE, NOT_REPLAYED
    check: str = ""
    replayed: str = ""  # the verdict the check gives now
    detail: str = ""


@dataclass(frozen=True)
class CaseOutcome:
    """One case verdict rolled up again from its rejudged findings."""

    case: str
    profile: str
    recorded: str  # the case verdict in report.json
    status: str  # SAME, DIFFERS, or NOT_OF_THE_WIRE
    replayed: str = ""
    detail: str = ""


NOT_OF_THE_WIRE = "not a judgement of the wire"


@dataclass(frozen=True)
class Rejudged:
    outcomes: tuple[Outcome, ...] = ()
    cases: int = 0
    counts: Mapping[str, int] = field(default_factory=dict)
    verdicts: tuple[CaseOutcome, ...] = ()

    @property
    def differences(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in (DIFFERS, NOT_REPLAYED)]

    @property
    def case_differences(self) -> list[CaseOutcome]:
        return [c for c in self.verdicts if c.status == DIFFERS]


# -- the stored timeline as entries ------------------------------------------------------


def _bytes_of(value: Any) -> bytes | None:
    if isinstance(value, dict) and set(value) == {"hex"} and isinstance(value["hex"], str):
        return bytes.fromhex(value["hex"])
    return None


def _accepts_bytes(hint: Any) -> tuple[bool, bool]:
    """(bytes allowed, str allowed) by a payload field's type hint."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else (hint,)
    return bytes in args, str in args


def entry_from_json(data: Mapping[str, Any]) -> Entry:
    """The `Entry` that `Entry.to_json` wrote: a field typed `bytes` comes back as bytes
    (UTF-8 text encoded, `{"hex": ...}` decoded), one typed `str | bytes` is bytes only when
    it was written as hex (it was text whenever it was valid UTF-8); in untyped data a
    `{"hex": ...}` is bytes."""
    payload = dict(data.get("data") or {})
    kind = KINDS.get(str(data.get("kind")))
    hints: dict[str, Any] = {}
    if kind is not None:
        hints = typing.get_type_hints(kind.payload)
    for key, value in payload.items():
        hint = hints.get(key)
        if hint is None:
            raw = _bytes_of(value)
            if raw is not None:
                payload[key] = raw
            continue
        hint = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.NotRequired else hint
        takes_bytes, takes_str = _accepts_bytes(hint)
        if not takes_bytes:
            continue
        raw = _bytes_of(value)
        if raw is not None:
            payload[key] = raw
        elif isinstance(value, str) and not takes_str:
            payload[key] = value.encode("utf-8")
    return Entry(
        seq=int(data["seq"]),
        t=float(data.get("t", 0.0)),
        actor=str(data.get("actor", "")),
        kind=str(data.get("kind", "")),
        summary=str(data.get("summary", "")),
        direction=str(data.get("direction", "")),
        conn=str(data.get("conn", "")),
        data=payload,
    )


# -- judging again -----------------------------------------------------------------------


def _expected(made: Any, finding: Mapping[str, Any]) -> str:
    """The finding verdict the replayed judgement gives (a may-level FAIL is recorded as
    INFORMATIONAL, `harness.verdicts.Finding`)."""
    verdict = str(made.verdict)
    if verdict == Verdict.FAIL and finding.get("strength") == "may":
        return str(Verdict.INFORMATIONAL)
    return verdict


def rejudge_case(case: Mapping[str, Any]) -> list[Outcome]:
    """Every finding of one case of report.json, judged again from its evidence."""
    entries = {}
    for item in case.get("evidence") or []:
        if isinstance(item, Mapping) and "seq" in item:
            entry = entry_from_json(item)
            entries[entry.seq] = entry
    cache: dict[str, list[Any] | str] = {}
    outcomes = []
    for finding in case.get("findings") or []:
        base = {
            "case": str(case.get("id", "")),
            "profile": str(case.get("profile", "")),
            "requirement": str(finding.get("requirement", "")),
            "recorded": str(finding.get("verdict", "")),
        }
        check = finding.get("check")
        if isinstance(case.get("evidence_cut"), Mapping):  # harness.results.within_run_budget
            outcomes.append(Outcome(**base, status=NOT_REJUDGEABLE,
                                    detail="its evidence was cut to the cited entries (the run's evidence budget)"))
            continue
        if not isinstance(check, Mapping):
            outcomes.append(Outcome(**base, status=NOT_REJUDGEABLE,
                                    detail="decided in a step or actor, not by a registered check"))
            continue
        name = str(check.get("name", ""))
        if "unrecorded" in check:
            outcomes.append(Outcome(**base, status=NOT_REJUDGEABLE, check=name,
                                    detail=f"its call was not recorded: {check['unrecorded']}"))
            continue
        key = json.dumps([name, check.get("args"), check.get("kwargs")], sort_keys=True)
        if key not in cache:
            try:
                cache[key] = registry.replay(name, check.get("args") or [], check.get("kwargs") or {}, entries)
            except Exception as exc:  # noqa: BLE001 - a stored argument that does not rebuild
                cache[key] = f"{type(exc).__name__}: {exc}"
        made_all = cache[key]
        if isinstance(made_all, str):
            outcomes.append(Outcome(**base, status=NOT_REPLAYED, check=name, detail=made_all))
            continue
        pick = int(check.get("pick", 0))
        made = made_all[pick] if pick < len(made_all) else None
        if made is None:
            outcomes.append(Outcome(**base, status=DIFFERS, check=name, replayed="(none)",
                                    detail="the check makes no judgement on the stored evidence"))
            continue
        if "verdict" in check:  # the step recorded another verdict than its check gave
            replayed = str(made.verdict)
            same = replayed == str(check["verdict"])
        else:
            replayed = _expected(made, finding)
            same = replayed == base["recorded"]
        detail = "" if made.reason in str(finding.get("reason", "")) else f"reason now: {made.reason}"
        outcomes.append(Outcome(**base, status=SAME if same else DIFFERS, check=name,
                                replayed=replayed, detail=detail))
    return outcomes


def _stop_of(case: Mapping[str, Any]) -> tuple[Verdict, str] | None:
    """The runner's own decision stored in the case's timeline (its last `stop` note): the
    stop itself when the note has it (a stop that an earlier FAIL outranked stays a stop
    when the findings are judged again), else the case verdict it made."""
    stop = None
    for item in case.get("evidence") or []:
        if isinstance(item, Mapping) and item.get("kind") == NOTE and isinstance((item.get("data") or {}).get("stop"), Mapping):
            stop = item["data"]["stop"]
    if stop is None:
        return None
    itself = stop.get("stopped")
    if isinstance(itself, Mapping):
        return Verdict(str(itself.get("verdict"))), str(itself.get("reason", ""))
    return Verdict(str(stop.get("verdict"))), str(stop.get("reason", ""))


def _finding(data: Mapping[str, Any], verdict: str) -> Finding:
    rid = str(data.get("requirement", ""))
    try:
        strength = Strength(str(data.get("strength")))
    except ValueError:
        strength = requirements.get(rid).strength
    return Finding(requirement=rid, clause=str(data.get("clause", "")), strength=strength,
                   verdict=Verdict(verdict), reason=str(data.get("reason", "")))


def reroll_case(case: Mapping[str, Any], outcomes: list[Outcome]) -> CaseOutcome:
    """The case verdict rolled up again from `outcomes` (its findings judged again, in the
    order of report.json), the runner's stored stop taken in (`with_stop`)."""
    base = {"case": str(case.get("id", "")), "profile": str(case.get("profile", "")),
            "recorded": str(case.get("verdict", ""))}
    if not case.get("evidence") and not case.get("findings"):
        return CaseOutcome(**base, status=NOT_OF_THE_WIRE,
                           detail=f"decided before the case ran: {case.get('reason', '')}")
    findings = []
    for data, outcome in zip(case.get("findings") or [], outcomes, strict=False):
        verdict = outcome.recorded
        if outcome.status == DIFFERS and outcome.replayed in set(Verdict) and "verdict" not in (data.get("check") or {}):
            verdict = outcome.replayed
        findings.append(_finding(data, verdict))
    verdict, _ = with_stop(case_verdict(findings, case.get("verifies") or ()), _stop_of(case))
    same = str(verdict) == base["recorded"]
    return CaseOutcome(**base, status=SAME if same else DIFFERS, replayed=str(verdict))


def rejudge(report: Mapping[str, Any]) -> Rejudged:
    """Every finding of every case of a report.json judged again, and every case verdict
    rolled up again from them."""
    registry.load_all()
    outcomes: list[Outcome] = []
    verdicts: list[CaseOutcome] = []
    cases = [c for c in report.get("cases") or [] if isinstance(c, Mapping)]
    for case in cases:
        made = rejudge_case(case)
        outcomes.extend(made)
        verdicts.append(reroll_case(case, made))
    return Rejudged(tuple(outcomes), len(cases), dict(Counter(o.status for o in outcomes)), tuple(verdicts))


def render(result: Rejudged) -> str:
    """The text `wicct rejudge` prints: each verdict that would differ, then the counts."""
    lines = []
    for o in result.differences:
        lines.append(f"DIFFERS {o.case} [{o.profile}] {o.requirement}: recorded {o.recorded}, "
                     f"{o.check} gives {o.replayed or '?'}" + (f" ({o.detail})" if o.detail else ""))
    for c in result.case_differences:
        lines.append(f"CASE DIFFERS {c.case} [{c.profile}]: recorded {c.recorded}, its findings now roll up "
                     f"to {c.replayed}")
    reasons = Counter(o.detail if not o.check else f"{o.check}: {o.detail}"
                      for o in result.outcomes if o.status == NOT_REJUDGEABLE)
    total = len(result.outcomes)
    lines.append(
        f"{result.cases} cases, {total} findings: {result.counts.get(SAME, 0)} rejudged with the same "
        f"verdict, {len(result.differences)} differ, {result.counts.get(NOT_REJUDGEABLE, 0)} not rejudgeable"
    )
    for reason, count in reasons.most_common():
        lines.append(f"  not rejudgeable ({count}): {reason}")
    states = Counter(c.status for c in result.verdicts)
    lines.append(f"case verdicts: {states.get(SAME, 0)} rolled up to the same verdict, "
                 f"{states.get(DIFFERS, 0)} differ, {states.get(NOT_OF_THE_WIRE, 0)} not a judgement of the wire")
    wire = Counter(c.detail for c in result.verdicts if c.status == NOT_OF_THE_WIRE)
    for detail, count in wire.most_common():
        lines.append(f"  not a judgement of the wire ({count}): {detail}")
    return "\n".join(lines)
