"""Expectations on SIP from the WIC under test: its requests, its registration state, its
ACK, and that a request was processed once (RFC 3261 §10, §13.2.2.4, §17; BOTH-FR-05/06).

Judging rule: a step whose timeout is a FAIL (the SUT was obliged to act) records a PASS
when it holds; a precondition step (`on_timeout: inconclusive`) records nothing when it
holds (`CaseContext.on_timeout`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness import evidence as ev
from harness.actors.channel import Received, same_transaction
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks import exchanges
from harness.evidence import SIP, Entry, Timeline
from harness.profiles import parse_duration
from harness.sip import SipMessage
from harness.steps.peer import no_answer, sip
from harness.steps.schema import CONN, DURATION
from harness.steps.wic.connection import POLL
from harness.steps.wic.controls import channel
from harness.steps.wic.env import WIC, connect_window, emulator
from harness.suts.base import DriverError, WicState
from harness.verdicts import Verdict


@step(
    "expect.request",
    roles=WIC,
    args={"conn": CONN, "method": {"type": "string"}, "as": {"type": "string"}},
    required=("method",),
    on_timeout="inconclusive",
)
async def expect_request(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC sends a request of `method` (the next one not yet expected); stored as
    `as` (default `rx_<method>`)."""
    method = args["method"].upper()
    name = args.get("conn", "main")
    loop = asyncio.get_running_loop()
    within = ctx.within(args, connect_window(ctx))
    deadline = loop.time() + within
    chan = await emulator(ctx).wait_channel(name, within)
    if chan is None:
        ctx.timed_out(f"no {method}: no WebSocket connection from the WIC within {within:g} s")
        return
    cursors = ctx.vars.setdefault("_request_cursor", {})
    start = cursors.get((id(chan), method), 0)

    def match(item: Received) -> bool:
        # a request that did not parse also ends the wait: it is reported, not taken
        return item.is_request and item.message is not None and item.message.method.upper() == method

    got = await chan.wait_for(match, max(deadline - loop.time(), 0.0), start=start)
    if got is None:
        no_answer(ctx, chan, within, f"the WIC sent no {method}", [])
        return
    if got.error:
        cursors[(id(chan), method)] = chan.received.index(got) + 1
        ctx.timed_out(f"the WIC's {method} could not be parsed ({got.error})", evidence=[got.entry])
        return
    cursors[(id(chan), method)] = chan.received.index(got) + 1
    ctx.vars[args.get("as", f"rx_{method.lower()}")] = got
    if not ctx.is_precondition():
        ctx.passed(f"the WIC sent {got.message.summary() if got.message else method}", evidence=[got.entry])


async def _state(ctx: CaseContext) -> WicState:
    """The driver's state, bounded: a driver whose state() hangs must not stall the case."""
    try:
        return await asyncio.wait_for(ctx.actor("driver").state(), ctx.timers.response_timeout)
    except DriverError as exc:
        raise Precondition(f"the WIC driver cannot report its state: {exc}") from None
    except TimeoutError:
        raise Precondition(
            f"the WIC driver did not report its state within {ctx.timers.response_timeout:g} s"
        ) from None


def wic_said(timeline: Timeline, summary: str, registered: bool | None = None, detail: str | None = None) -> Entry:
    """The `DRIVER` state entry: what the WIC's driver said of its registration (read by
    `exchanges.registered_in_time`, `wic_registered`, `stayed_unregistered`)."""
    data = ev.DriverData(verb="state")
    if registered is not None:
        data["registered"] = registered
    if detail is not None:
        data["detail"] = detail
    return timeline.put("runner", summary, ev.driver(data))


async def _registered(ctx: CaseContext) -> bool:
    return (await _state(ctx)).registered


@step("expect.registered", roles=WIC, args={}, on_timeout="inconclusive")
async def expect_registered(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC itself reports that it is registered (its driver's state)."""
    within = ctx.within(args, ctx.timers.response_timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await _registered(ctx):
        if loop.time() >= deadline:
            state = await _state(ctx)
            said = wic_said(ctx.timeline, f"the WIC reports: {state.detail}", False, state.detail)
            judged = exchanges.registered_in_time(said, within)
            ctx.timed_out(judged.reason, evidence=[_last_register_response(ctx), said.seq])
            return
        await asyncio.sleep(POLL)
    said = wic_said(ctx.timeline, "the WIC reports: registered")
    # the driver's word alone is no evidence: wicct's eP-CSCF must have accepted a REGISTER
    judged = exchanges.wic_registered(list(ctx.timeline), said)
    if judged.verdict is not Verdict.PASS:
        ctx.unmet(judged.reason, [said.seq, _last_register_response(ctx)])
        return
    ctx.held(judged.reason, evidence=list(judged.evidence))


def _last_register_response(ctx: CaseContext) -> int:
    sent = [e for e in ctx.timeline.select(kind=SIP, actor="epcscf", direction="tx")
            if "(REGISTER)" in e.summary]
    return sent[-1].seq if sent else 0


@step("expect.unregistered", roles=WIC, args={"for": DURATION}, window=("for", "response_timeout"))
async def expect_unregistered(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC does not report itself registered during the window (a response it must
    drop, e.g. a 200 with a Content-Length larger than its body, RFC 3261 §18.3)."""
    window = parse_duration(args.get("for", ctx.timers.response_timeout))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    while loop.time() < deadline:
        if await _registered(ctx):
            state = wic_said(ctx.timeline, "the WIC reports: registered", True)
            judged = exchanges.stayed_unregistered(state, window)
            ctx.failed(judged.reason, evidence=[_last_register_response(ctx), state.seq])
        await asyncio.sleep(POLL)
    ctx.mandated(window, "registration state")
    response = _last_register_response(ctx)
    if not response:  # nothing to act on: not registering proves nothing
        raise Precondition("wicct sent no response to a REGISTER: nothing the WIC could act on")
    state = wic_said(ctx.timeline, f"the WIC reports: not registered over {window:g} s", False)
    judged = exchanges.stayed_unregistered(state, window)
    ctx.passed(judged.reason, evidence=[response, state.seq])


@step("expect.ack", roles=WIC, args={"conn": CONN})
async def expect_ack(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC ACKs the 2xx to the INVITE it sent last (RFC 3261 §13.2.2.4).

    Only an ACK after a 2xx wicct sent to that INVITE counts: without a 2xx (the emulator
    withheld it, or answered 488 whose ACK the transaction layer sends) it is INCONCLUSIVE."""
    chan = await channel(ctx, args)
    invites = [r for r in chan.received
               if r.is_request and not r.error and r.message is not None and r.message.method == "INVITE"]
    if not invites:
        raise Precondition("the WIC sent no INVITE to acknowledge")
    invite = invites[-1]
    invite_msg = sip(invite)
    call_id = invite_msg.call_id
    within = ctx.within(args, ctx.timers.response_timeout)
    got = await chan.wait_for(
        lambda r: r.is_request and sip(r).method == "ACK" and sip(r).call_id == call_id, within
    )
    ok = [seq for m, seq in chan.sent
          if m is not None and not m.is_request and same_transaction(m, invite_msg)
          and 200 <= (m.status or 0) < 300 and (got is None or seq < got.entry)]
    if not ok:
        finals = [seq for m, seq in chan.sent if m is not None and not m.is_request
                  and same_transaction(m, invite_msg) and (m.status or 0) >= 200]
        raise Precondition("wicct sent no 2xx to the WIC's INVITE: no ACK for a 2xx to judge",
                           [invite.entry, *finals, *([got.entry] if got else [])])
    judged = exchanges.ack_sent(ctx.window(invite.entry, within, "the ACK"), ctx.timeline[invite.entry], ok[0],
                                within)
    if got is None or judged.verdict is not Verdict.PASS:
        ctx.timed_out(judged.reason, evidence=[invite.entry, ok[0]])
        return
    if not ctx.is_precondition():
        ctx.passed(judged.reason, evidence=[invite.entry, ok[0], got.entry])


@step("expect.answered_once", roles=WIC, args={"conn": CONN, "to": {"type": "string"}, "window": DURATION})
async def expect_answered_once(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The stored request got exactly one final response over the window: it was
    processed once (BOTH-FR-05, BOTH-FR-06, BOTH-FR-07). When it got byte-identical copies
    and is not an INVITE, a well-formed request of the same method is sent as a control
    and watched as long (`exchanges.answered_once` tells a second processing from a WIC
    that copies every response)."""
    chan = await channel(ctx, args)
    name = args.get("to", "last")
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no request stored as {name!r}")
    window = parse_duration(args.get("window", 4 * ctx.timers.t1))
    await asyncio.sleep(window)
    ctx.mandated(window, "duplicate responses")
    finals = [r for r in chan.responses_to(request)
              if r.message is not None and (r.message.status or 0) >= 200]
    control: SipMessage | None = None
    if len(finals) > 1 and request.method.upper() not in ("INVITE", "ACK", "CANCEL") and not chan.closed:
        control = emulator(ctx).build_request(request.method, chan)
        await chan.send(control)
        await chan.response_to(control, ctx.timers.response_timeout, final=True)
        await asyncio.sleep(max(window, 4 * ctx.timers.t1))
        ctx.mandated(max(window, 4 * ctx.timers.t1), "copies of the control's response")
    judged = exchanges.answered_once(
        ctx.window(0, window, f"final responses to the {request.method}"), request.method, request.call_id,
        request.top_via.branch if request.top_via else None, chan.conn.conn_id,
        control.call_id if control is not None else "",
        control.top_via.branch if control is not None and control.top_via else None)
    if judged.verdict is Verdict.PASS:
        ctx.passed(judged.reason, evidence=list(judged.evidence))
    elif not finals:
        ctx.timed_out(judged.reason, evidence=[ctx.vars.get("last_sent_seq", 0)])
    elif judged.verdict is Verdict.INCONCLUSIVE:
        ctx.judge(judged.verdict, judged.reason, evidence=list(judged.evidence))
    else:
        ctx.failed(judged.reason, evidence=list(judged.evidence))


@step("expect.refresh", roles=WIC, args={"conn": CONN, "as": {"type": "string"}}, on_timeout="inconclusive")
async def expect_refresh(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC refreshes its registration on the same connection (RFC 3261 §10.2.4): a
    REGISTER after the 2xx that completed its previous registration (or refresh), within
    what the registrar granted (`epcscf.grant_expires`) plus the response timeout. A
    precondition: no catalogue row obliges a refresh, the monitors judge each one's content.
    Stored as `as` (default `refresh`); the next `expect.refresh` awaits the one after it."""
    emu = emulator(ctx)
    chan = await channel(ctx, args)
    granted = emu.max_expires or ctx.timers.response_timeout
    within = ctx.within(args, granted + ctx.timers.response_timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    after = int(ctx.vars.get("_refreshed_at", 0))  # the previous refresh's REGISTER (0: none yet)
    while True:
        ok = next((seq for m, seq in chan.sent if seq > after and m is not None and not m.is_request
                   and m.cseq.method == "REGISTER" and 200 <= (m.status or 0) < 300), None)
        got = None if ok is None else next(
            (r for r in chan.received if r.entry > ok and r.is_request and r.message is not None
             and r.message.method.upper() == "REGISTER"), None)
        if got is not None:
            ctx.vars["_refreshed_at"] = got.entry
            ctx.vars[args.get("as", "refresh")] = got
            if not ctx.is_precondition():
                ctx.passed("the WIC refreshed its registration on the same connection", evidence=[ok or 0, got.entry])
            return
        if loop.time() >= deadline:
            no_answer(ctx, chan, within, f"the WIC sent no registration refresh within {within:g} s"
                      + ("" if ok else " (no 2xx to a REGISTER to refresh)"), [ok] if ok else [])
            return
        await asyncio.sleep(POLL)
