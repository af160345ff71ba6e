"""IMPU binding through an eP-CSCF under test (EPC-REG-04; SEED 5.Y.1.3; TS 33.203 Q.1):
a second WebSocket that never registered claims the IMPU registered over the first.

    watch.impu_binding     from here on: the registration's 2xx comes back over the
                           registering connection, and no claim reaches the core asserting
                           the IMPU (judged once the steps are over, however they ended)
    expect.claim_refused   the claim is refused with a 4xx (403 preferred) on its own
                           connection, and nothing asserting the IMPU reached the core in
                           the window watched

The claims themselves are ordinary requests (`wic.invite` / `peer.send` with `conn:` and
`options: {from: ..., headers: [[P-Preferred-Identity, ...]]}`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.cases.context import CaseContext, Precondition, StepEnded, StepFailed
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks import binding
from harness.checks.framing import Judgement
from harness.evidence import NOTE
from harness.profiles import parse_duration
from harness.sip import SipMessage
from harness.sip.dialog import ack_for_failure
from harness.steps.epcscf.env import EPCSCF
from harness.steps.peer import channel, no_answer
from harness.steps.schema import CONN, DURATION, NAME
from harness.verdicts import Finding, Strength, Verdict


def _sent_claim(ctx: CaseContext, name: str, conn: str) -> binding.Claim:
    """The claim stored as `name`, from the entry that sent it over connection `conn`."""
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no request stored as {name!r} (use `as:` on the sending step)")
    chan = channel(ctx, {"conn": conn})
    seq = next((s for m, s in chan.sent if m is request), None)
    if seq is None:
        raise Precondition(f"the request stored as {name!r} was not sent over connection {conn!r}")
    claim = binding.claim_of(ctx.timeline[seq])
    if claim is None:
        raise RuntimeError(f"entry {seq} holds no request")
    return claim


def _record(ctx: CaseContext, judgements: list[tuple[Judgement, Strength | None]]) -> None:
    """Record every judgement, then end the step as its worst FAIL says (shall: the case)."""
    failed: list[Finding] = []
    for judgement, strength in judgements:
        made = ctx.judge(judgement.verdict, judgement.reason, evidence=judgement.evidence,
                         note=judgement.note, strength=strength)
        failed += [f for f in made if f.verdict is Verdict.FAIL]
    if not failed:
        return
    first = failed[0]
    if any(f.strength is Strength.SHALL for f in failed):
        raise StepFailed(first.reason, first.evidence)
    raise StepEnded(first.reason, first.evidence)


@step(
    "expect.claim_refused",
    roles=EPCSCF,
    args={"conn": CONN, "to": NAME, "window": DURATION},
    required=("to",),
    window=("window", "response_timeout"),
)
async def expect_claim_refused(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """EPC-REG-04: the request stored as `to`, sent over connection `conn` (which never
    registered) claiming the registered IMPU, is refused with a 4xx there (403 is the
    preferred form, should-level), and nothing asserting the IMPU reaches the core while
    wicct watches it for `window` from the send (default: the response timeout, the time
    the SUT is given to relay or answer). A refused INVITE is ACKed (RFC 3261 §17.1.1.3)."""
    conn = args.get("conn", "main")
    chan = channel(ctx, args)
    claim = _sent_claim(ctx, args["to"], conn)
    sent_at = ctx.timeline[claim.seq].t
    window = parse_duration(args["window"]) if "window" in args else ctx.timers.response_timeout
    request = ctx.vars[args["to"]]
    got = await chan.response_to(request, ctx.within(args, ctx.timers.response_timeout))
    if got is not None and got.message is not None and (got.message.status or 0) >= 300 \
            and claim.method == "INVITE" and not chan.closed:
        await chan.send(ack_for_failure(request, got.message))
    rest = window - (ctx.timeline.now() - sent_at)
    if rest > 0:
        await asyncio.sleep(rest)
    watched = ctx.timeline.now() - sent_at
    ctx.mandated(watched, "the core for a claimed IMPU")
    end = ctx.timeline.add("runner", NOTE, f"watched the core for {watched:.2f} s after the claim "
                           f"over connection {conn!r}")
    judgements: list[tuple[Judgement, Strength | None]] = []
    core = binding.never_forwarded(list(ctx.timeline), [claim], ctx.profile.impu,
                                   f"the core watched for {watched:.2f} s from the send")
    if core is not None:
        judgements.append((Judgement(core.verdict, core.reason, (*core.evidence, end.seq), core.note), None))
    refusal = binding.refused(list(ctx.timeline), claim, ctx.profile.impu)
    if refusal is None:
        _record(ctx, judgements)
        no_answer(ctx, chan, watched, f"no final response to the {claim.method} claiming "
                  f"{ctx.profile.impu} over connection {conn!r}", [claim.seq])
        return
    shall, preferred = refusal
    judgements.append((shall, None))
    if preferred is not None:
        judgements.append((preferred, Strength.SHOULD))
    _record(ctx, judgements)


@step("watch.impu_binding", roles=EPCSCF, args={"conn": CONN, "intruder": CONN}, required=("intruder",))
async def watch_impu_binding(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """From now until the last step (judged however the steps ended, e.g. after a failed
    precondition): the 2xx to the REGISTER sent over `conn` comes back over `conn` (PASS or
    FAIL), and no request sent over `intruder` reaches the core asserting the IMPU (FAIL
    only: `expect.claim_refused` records the PASS for the window it watched; a late
    forward, or one that step did not see, is caught here)."""
    registered = args.get("conn", "main")
    intruder = args["intruder"]
    # the connections as they are now (the WIC emulator forgets them at teardown, before
    # the watch is judged)
    ours = channel(ctx, {"conn": registered}).conn.conn_id
    theirs = channel(ctx, {"conn": intruder}).conn.conn_id
    start = len(ctx.timeline)
    armed = ctx.timeline.add("runner", NOTE, f"watching the IMPU binding of connection {registered!r} "
                             f"({ours}) against connection {intruder!r} ({theirs})")
    requirement = args.get("requirement")

    def judge(until: int) -> None:
        entries = [e for e in ctx.timeline if e.seq <= until]
        sent = [c for e in entries if e.seq > start and (c := binding.claim_of(e)) is not None
                and e.actor == binding.WIC]
        register = next((c for c in sent if c.conn == ours and c.method == "REGISTER"), None)
        if register is not None and (flow := binding.registered_over(entries, register)) is not None:
            ctx.judge(flow.verdict, flow.reason, evidence=(armed.seq, *flow.evidence),
                      requirement=requirement)
        claims = [c for c in sent if c.conn == theirs and c.method != "ACK"]
        if not claims:
            return
        seen = {seq for f in ctx.findings if f.verdict is Verdict.FAIL for seq in f.evidence}
        end = entries[-1].t - ctx.timeline[claims[0].seq].t if entries else 0.0
        core = binding.never_forwarded(entries, claims, ctx.profile.impu,
                                       f"watched to the end of the steps, {end:.2f} s")
        at_core = set(core.evidence) - {c.seq for c in claims} if core is not None else set()
        if core is not None and core.verdict is Verdict.FAIL and not at_core <= seen:
            ctx.judge(core.verdict, core.reason, evidence=(armed.seq, *core.evidence),
                      requirement=requirement)

    ctx.watches.append(judge)


__all__ = ["expect_claim_refused", "watch_impu_binding"]
