"""The IMS-core side of an eP-CSCF under test: terminating requests and what reached the
core (TS 24.229 eP-CSCF relaying; RFC 3261 §18.3; RFC 7118 §5.3).

    core.send              a terminating request from the core to the registered WIC
    expect.core_received   what (and how many transactions) reached the core
    expect.core_response   what the core got back for core.send
    expect.wic_received    a request the SUT delivered to the WIC
    expect.via_preserved   RFC 7118 §5.3: the WIC's Via sent-by survives the SUT
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.actors.rtp_endpoint import RtpEndpoint
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks import core_side, exchanges
from harness.checks.relay import relayed_excess, relayed_unparsable_responses
from harness.checks.status import status_matches
from harness.sip import SipMessage
from harness.steps.epcscf.env import EPCSCF, core
from harness.steps.peer import channel, no_answer, why_no_answer
from harness.steps.schema import CONN, STATUS
from harness.verdicts import Verdict


@step(
    "core.send",
    roles=EPCSCF,
    args={
        "method": {"type": "string"},
        "body": {"type": "string"},
        "content_type": {"type": "string"},
        "aor": {"type": "string"},
        "as": {"type": "string"},
        "sdp": {"enum": ["jsep", "plain"]},
    },
    required=("method",),
)
async def core_send(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """A terminating request from the core towards the registered WIC, through the SUT
    (a MESSAGE gets a text body, an INVITE a real aiortc offer, unless `body` is given).
    `sdp: plain`: the INVITE offers plain RTP/AVP audio on the core's own RTP port (an IMS
    core behind an eIMS-AGW, TS 23.228 U.1), which echoes what it gets."""
    method = args["method"].upper()
    stub = core(ctx)
    if stub.binding(args.get("aor") or ctx.profile.impu) is None:
        raise Precondition(f"cannot send a terminating {method}: no registration at the core")
    body = (args.get("body") or "").encode()
    ctype = args.get("content_type") or ("text/plain" if body else None)
    if "body" not in args and method == "MESSAGE":
        body, ctype = b"wicct: terminating MESSAGE", "text/plain"
    rtp: list[RtpEndpoint] = []
    if "body" not in args and method == "INVITE" and args.get("sdp") == "plain":
        body, rtp = await stub.plain_offer()
        ctype = "application/sdp"
    elif "body" not in args and method == "INVITE":
        body, ctype = await stub.offer(), "application/sdp"  # SEED 5.1.X.3: a JSEP offer
    try:
        request = stub.send_request(method, aor=args.get("aor"), body=body, content_type=ctype)
    except LookupError as exc:
        raise Precondition(f"cannot send a terminating {method}: {exc}") from None
    if rtp:
        stub.attach_rtp(request.call_id, rtp)
    ctx.vars[args.get("as", "core_request")] = request


@step("core.bye", roles=EPCSCF, args={"as": {"type": "string"}})
async def core_bye(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The far end releases the call: the core sends BYE in the dialog of the last INVITE
    it answered, through the SUT to the WIC (stored as `as`, default `bye`)."""
    try:
        request = core(ctx).release()
    except LookupError as exc:
        raise Precondition(f"cannot release from the far end: {exc}") from None
    ctx.vars[args.get("as", "bye")] = request
    ctx.vars["core_request"] = request


@step(
    "expect.core_received",
    roles=EPCSCF,
    args={
        "method": {"type": "string"},
        "count": {"type": "integer", "minimum": 0},
        "min": {"type": "integer", "minimum": 0},
        "max": {"type": "integer", "minimum": 0},
        "body": {"type": "string"},
        "body_repeat": {"type": "integer", "minimum": 1, "maximum": 4096},
        "has_header": {"type": "array", "items": {"type": "string"}},
        "lacks_header": {"type": "array", "items": {"type": "string"}},
        "conn": CONN,
    },
)
async def expect_core_received(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """What reached the core: distinct transactions of `method` (retransmissions are one).

    `count` exact, or `min` / `max`; `within` waits for them (for `count: 0`, the window
    watched; default: the retransmit window). `body` (`body_repeat` times, as `peer.send`
    sent it) compares every one's body."""
    if "body" in args:
        args = {**args, "body": args["body"] * args.get("body_repeat", 1)}
    stub = core(ctx)
    method = args.get("method")
    count, low, high = args.get("count"), args.get("min"), args.get("max")
    needed = count if count is not None else (low if low is not None else (0 if high is not None else 1))
    what = f"{method or 'request'}"
    within = window = 0.0
    if needed > 0:
        within = ctx.within(args, ctx.timers.response_timeout)
        await stub.wait_transactions(method, needed, within)
        if count is not None or high is not None:
            await asyncio.sleep(min(ctx.timers.t1, 0.5))  # let a duplicate show itself
    else:
        window = ctx.within(args, ctx.timers.retransmit_watch)
        await asyncio.sleep(window)
        ctx.mandated(window, f"no {what} at the core")
    found = stub.transactions(method)
    n = len(found)
    evidence = [r.entry for r in found[:6]] or [ctx.vars.get("last_sent_seq", 0)]
    counted = core_side.transactions([ctx.timeline[r.entry] for r in found], what, needed, count, high,
                                     watched=window if needed == 0 else within)
    if n < needed:
        ctx.timed_out(counted[0].reason, evidence=evidence)
        return
    for judged in counted[:-1]:
        ctx.failed(judged.reason, evidence=evidence)
    for rx in found:
        message = rx.message
        content = [j for j in core_side.request_content(
            ctx.timeline[rx.entry], args.get("body"), args.get("has_header"), args.get("lacks_header"))
            if j.verdict is not Verdict.PASS]
        if "body" in args and message.body != args["body"].encode():
            ctx.failed(content.pop(0).reason, evidence=[rx.entry])
        if "body" in args and (excess := relayed_excess(ctx.timeline, rx.entry)):
            ctx.failed(f"{message.method} reached the core followed by {len(excess)} octets after "
                       f"its Content-Length ({excess[:60]!r}): relayed, not discarded (RFC 3261 §18.3)",
                       evidence=[rx.entry])
        for judged in content:
            ctx.failed(judged.reason, evidence=[rx.entry])
    if n == 0:
        # silence is the requirement: say what was watched, and whether the SUT was still
        # there to relay anything (a SUT that died relays nothing and proves nothing)
        chan = ctx.actor("wic").channel(args.get("conn", "main"))
        if chan is not None and chan.closed:
            watched = window if needed == 0 else within
            why, cited, sut = why_no_answer(ctx, chan, watched)
            if not sut:  # wicct's close, not the SUT's: the silence proves nothing
                raise Precondition(f"no {what} reached the core, but {why} during the "
                                   f"{watched:g} s watched", [*evidence, *cited])
            ctx.passed(f"no {what} reached the core, but {why} "
                       f"during the {watched:g} s watched",
                       evidence=[*evidence, *cited], note="LIMITED")
            return
        ctx.passed(f"{counted[-1].reason} while the WIC's connection stayed open", evidence=evidence)
        return
    ctx.passed(counted[-1].reason, evidence=evidence)


@step(
    "expect.core_response",
    roles=EPCSCF,
    args={"to": {"type": "string"}, "status": STATUS, "none": {"type": "boolean"}},
)
async def expect_core_response(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The core gets a final response (of `status`) to its request; with `none: true`, no
    such response arrives within the window (default: the retransmit window)."""
    stub = core(ctx)
    name = args.get("to", "core_request")
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no core request stored as {name!r} (use core.send first)")
    wanted = args.get("status")
    if args.get("none"):
        window = ctx.within(args, ctx.timers.retransmit_watch)
        await asyncio.sleep(window)
        ctx.mandated(window, "no response at the core")
        judged = core_side.no_answer(ctx.window(0, window, f"no response to the core's {request.method}"),
                                     request.call_id, request.method, window, wanted)
        got = [
            r for r in stub.responses
            if r.message.call_id == request.call_id and (r.message.status or 0) >= 200
            and (wanted is None or status_matches(r.message.status or 0, wanted))
        ]
        if got:
            ctx.failed(judged.reason if judged.verdict is Verdict.FAIL else
                       f"the core received {got[0].message.status} to its {request.method}",
                       evidence=[r.entry for r in got])
        elif relayed := [
            (seq, code) for seq, code in relayed_unparsable_responses(ctx.timeline, request.call_id)
            if code >= 200 and (wanted is None or status_matches(code, wanted))
        ]:
            ctx.failed(f"a malformed {relayed[0][1]} to the core's {request.method} was relayed to the "
                       "core: the SUT must discard it (RFC 3261 §18.3)", evidence=[seq for seq, _ in relayed])
        else:
            sent = [s.entry for s in stub.sent if s.request is request]
            ctx.passed(judged.reason if judged.verdict is Verdict.PASS else
                       f"no {wanted or 'final'} response to {request.method} reached the core "
                       f"within {window:g} s", evidence=sent)
        return
    within = ctx.within(args, ctx.timers.response_timeout)
    rx = await stub.wait_response(request, within)
    if rx is None:
        came = core_side.answered_in_time(ctx.window(0, within, f"a response to the core's {request.method}"),
                                          request.call_id, request.method, within)
        ctx.timed_out(came.reason)
        return
    judged = core_side.answer(ctx.timeline[rx.entry], wanted)
    if judged.verdict is Verdict.PASS:
        ctx.passed(judged.reason, evidence=[rx.entry])
    else:
        ctx.failed(judged.reason, evidence=[rx.entry])


@step(
    "expect.wic_received",
    roles=EPCSCF,
    args={"conn": CONN, "method": {"type": "string"}, "as": {"type": "string"}},
    required=("method",),
)
async def expect_wic_received(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The SUT delivers a request of `method` to the WIC over the connection (e.g. after
    core.send); stored as `as` (default `rx_<method>`)."""
    chan = channel(ctx, args)
    method = args["method"].upper()
    within = ctx.within(args, ctx.timers.response_timeout)
    got = await chan.request(method, within)
    if got is None:
        no_answer(ctx, chan, within, f"no {method} reached the WIC", [])
        return
    if got.error:  # delivered, but not as SIP the WIC can take: no delivery to build on
        ctx.timed_out(f"the {method} the SUT delivered to the WIC could not be parsed ({got.error})",
                      evidence=[got.entry])
        return
    ctx.vars[args.get("as", f"rx_{method.lower()}")] = got
    if not ctx.is_precondition():
        ctx.passed(f"{method} delivered to the WIC", evidence=[got.entry])


@step("expect.via_preserved", roles=EPCSCF, args={"to": {"type": "string"}})
async def expect_via_preserved(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """RFC 7118 §5.3: the WIC's Via keeps its sent-by (host and port) towards the core and
    back in the response; `received` may be added or not (recorded)."""
    name = args.get("to", "register")
    request = ctx.vars.get(name)
    got = ctx.vars.get(f"response_{name}")
    if not isinstance(request, SipMessage) or got is None or got.message is None:
        raise Precondition(f"no request and response stored as {name!r} to judge")
    sent = request.top_via
    assert sent is not None
    evidence = [ctx.vars.get("last_sent_seq", 0), got.entry]
    copies = [ctx.timeline[rx.entry] for rx in core(ctx).received(request.method)
              if rx.message.call_id == request.call_id and str(rx.message.cseq) == str(request.cseq)]
    # another request (a REGISTER refresh shares the Call-ID) is not a copy
    stored = ctx.timeline.is_stored(got.entry)
    for judged in exchanges.via_kept(ctx.timeline[got.entry] if stored else got.message, copies, sent.branch,
                                     sent.host, sent.port, sent.sent_by, request.method, seq=got.entry):
        if judged.verdict is Verdict.FAIL:
            ctx.failed(judged.reason, evidence=[*evidence, *judged.evidence])
        elif judged.verdict is Verdict.INCONCLUSIVE:
            raise Precondition(judged.reason, [*evidence, *judged.evidence])
        else:
            ctx.passed(judged.reason, evidence=[*evidence, *judged.evidence])
