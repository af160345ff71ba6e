"""Calls through an eP-CSCF under test, judged at both of its sides (catalogue section 6,
EPC-TP-03, EPC-KA-03; RFC 7118 Appendix B, §6; TS 23.228 U.1; TS 24.229 5.2.7).

    expect.bundle_removed    EPC-SES-01: every INVITE that reached the core has no BUNDLE
    expect.forwarded         EPC-SES-02: an INVITE forwarded as a proxy does, either way
    expect.delivered         EPC-TP-03: a terminating INVITE over the REGISTER's WebSocket,
                             top Record-Route with transport=ws
    wic.pongs                the WIC emulator answers Pings, or withholds its Pongs
    expect.idle_policy       EPC-KA-03 (informational): the SUT's own Pings and close on an
                             idle WebSocket
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks.framing import Judgement
from harness.checks.idle import idle_policy
from harness.checks.sessions import (
    Seen,
    bundle_at_core,
    forwarded,
    record_route_ws,
    same_connection,
)
from harness.sdp.checker import check_offer
from harness.sip import SipMessage
from harness.steps.epcscf.env import EPCSCF, core, wic
from harness.steps.peer import channel
from harness.steps.schema import CONN, DURATION, NAME
from harness.verdicts import Verdict

POLL = 0.02  # seconds between looks at the WIC's connections while a delivery is awaited


def _record(ctx: CaseContext, judgement: Judgement, requirement: str | None = None) -> None:
    if judgement.verdict is Verdict.FAIL:
        ctx.failed(judgement.reason, evidence=judgement.evidence, requirement=requirement)
    else:
        ctx.judge(judgement.verdict, judgement.reason, evidence=judgement.evidence, requirement=requirement)


def _not_sent(ctx: CaseContext, args: dict[str, Any], what: str, evidence: list[int]) -> None:
    """Nothing arrived because the WIC's connection was gone: no verdict on forwarding."""
    chan = wic(ctx).channel(args.get("conn", "main"))
    if chan is not None and chan.closed:
        raise Precondition(f"{what}: the WIC's connection {args.get('conn', 'main')!r} had closed", evidence)


@step("expect.bundle_removed", roles=EPCSCF, args={"conn": CONN, "to": NAME})
async def expect_bundle_removed(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """TS 23.228 U.1 (EPC-SES-01): the INVITE stored as `to` reached the core, and every
    INVITE that reached the core in the case (re-sent ones too) has neither
    `a=group:BUNDLE` nor `a=bundle-only`. What the JSEP checker says of the SDP the core got
    is recorded (INFORMATIONAL: the core is no WebRTC endpoint)."""
    name = args.get("to", "invite")
    sent = ctx.vars.get(name)
    if not isinstance(sent, SipMessage):
        raise RuntimeError(f"no INVITE stored as {name!r}")
    stub = core(ctx)
    within = ctx.within(args, ctx.timers.response_timeout)
    await stub.wait_transactions("INVITE", 1, within, lambda rx: rx.message.call_id == sent.call_id)
    mine = [rx for rx in stub.transactions("INVITE") if rx.message.call_id == sent.call_id]
    if not mine:
        _not_sent(ctx, args, "the INVITE did not reach the core", [ctx.vars.get(f"{name}_seq", 0)])
        ctx.timed_out(f"the INVITE (Call-ID {sent.call_id}) did not reach the core within {within:g} s",
                      evidence=[ctx.vars.get(f"{name}_seq", 0)])
        return
    for rx in mine:
        sdp = rx.message.body.decode("utf-8", "replace")
        if "v=0" in sdp:
            ctx.informational(f"JSEP checker on the SDP the core received (WebRTC rules; the core is no WebRTC "
                              f"endpoint, so no verdict): {check_offer(sdp).summary()}",
                              evidence=[rx.entry])
    judgement = bundle_at_core([Seen(rx.message, rx.entry) for rx in stub.transactions("INVITE")])
    if judgement is None:
        raise Precondition("no INVITE with SDP reached the core: BUNDLE removal cannot be judged",
                           [rx.entry for rx in mine])
    _record(ctx, judgement)


def _sent_seq(ctx: CaseContext, name: str, request: SipMessage) -> int:
    seq = ctx.vars.get(f"{name}_seq")
    if isinstance(seq, int):
        return seq
    return next((s.entry for s in core(ctx).sent if s.request is request), 0)


def _wic_received(ctx: CaseContext, method: str) -> list[tuple[str, Seen]]:
    """(connection name, message) of every `method` request the SUT delivered to the WIC."""
    out = []
    for name, chan in wic(ctx).channels().items():
        for item in chan.received:
            if item.is_request and item.message is not None and not item.error \
                    and item.message.method == method:
                out.append((name, Seen(item.message, item.entry)))
    return out


async def _delivered(ctx: CaseContext, request: SipMessage, within: float) -> tuple[str, Seen] | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        for name, seen in _wic_received(ctx, request.method):
            if seen.message.call_id == request.call_id:
                return name, seen
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(POLL)


@step(
    "expect.forwarded",
    roles=EPCSCF,
    args={"conn": CONN, "to": NAME, "direction": {"enum": ["originating", "terminating"]}},
    required=("direction",),
)
async def expect_forwarded(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """TS 24.229 5.2.7.2 / 5.2.7.3 (EPC-SES-02): the INVITE stored as `to` (the WIC's for
    `originating`, default `invite`; the core's for `terminating`, default `core_request`)
    arrived at the other side with the sender's Via below the SUT's, a Record-Route added,
    Contact and Call-ID kept; P-Asserted-Identity recorded."""
    direction = args["direction"]
    name = args.get("to", "invite" if direction == "originating" else "core_request")
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no INVITE stored as {name!r}")
    sent = Seen(request, _sent_seq(ctx, name, request))
    within = ctx.within(args, ctx.timers.response_timeout)
    if direction == "originating":
        stub = core(ctx)
        await stub.wait_transactions(request.method, 1, within, lambda rx: rx.message.call_id == request.call_id)
        candidates = [Seen(rx.message, rx.entry) for rx in stub.transactions(request.method)]
    else:
        got = await _delivered(ctx, request, within)
        candidates = [got[1]] if got is not None else []
    if not any(c.message.call_id == request.call_id for c in candidates):
        _not_sent(ctx, args, f"{direction}: the INVITE did not arrive", [sent.seq])
        ctx.timed_out(f"{direction}: the INVITE (Call-ID {request.call_id}) did not arrive within {within:g} s",
                      evidence=[sent.seq])
        return
    _record(ctx, forwarded(sent, candidates, direction))


@step("expect.delivered", roles=EPCSCF, args={"to": NAME, "registered": CONN, "as": NAME})
async def expect_delivered(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """RFC 7118 Appendix B (EPC-TP-03): the core's INVITE stored as `to` (default
    `core_request`) reached the WIC over the connection its REGISTER used (`registered`,
    default `main`), whatever other connections the WIC holds, and its top Record-Route
    carries `transport=ws`. Stored as `as` (default `rx_invite`)."""
    name = args.get("to", "core_request")
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no core request stored as {name!r} (use core.send first)")
    registered = args.get("registered", "main")
    channel(ctx, {"conn": registered})  # a Precondition when it was never opened
    within = ctx.within(args, ctx.timers.response_timeout)
    got = await _delivered(ctx, request, within)
    if got is None:
        ctx.timed_out(f"the terminating {request.method} did not reach the WIC over any connection within "
                      f"{within:g} s", evidence=[_sent_seq(ctx, name, request)])
        return
    conn, seen = got
    ctx.vars[args.get("as", "rx_invite")] = seen.message
    answered = ctx.vars.get("response_register")
    register = getattr(answered, "entry", 0)
    _record(ctx, same_connection(registered, conn, seen.seq, register))
    _record(ctx, record_route_ws(seen))


@step("wic.pongs", roles=EPCSCF, args={"conn": CONN, "answer": {"type": "boolean"}}, required=("answer",))
async def wic_pongs(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC emulator answers the SUT's Pings (RFC 6455 §5.5.2), or with `answer: false`
    withholds its Pongs (the stimulus of EPC-KA-03)."""
    channel(ctx, args).conn.auto_pong = bool(args["answer"])


@step("expect.idle_policy", roles=EPCSCF, args={"conn": CONN, "for": DURATION}, window=("for", "silence_window"))
async def expect_idle_policy(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """RFC 7118 §6 (EPC-KA-03, informational): the WIC stays idle for `for` (default: the
    silence window); what the SUT did is reported: its Pings (how many, at what interval)
    and whether and how it closed the connection."""
    chan = channel(ctx, args)
    window = ctx.within({"within": args["for"]} if "for" in args else {}, ctx.timers.silence_window)
    since = max((e.seq for e in ctx.timeline), default=0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    while not chan.closed and loop.time() < deadline:
        await asyncio.sleep(min(0.1, max(0.0, deadline - loop.time())))
    ctx.mandated(window, "the SUT's keep-alive and close policy on an idle WebSocket")
    entries = list(ctx.timeline)
    judgement = idle_policy(entries, chan.conn.conn_id, since, window, pongs=chan.conn.auto_pong)
    ctx.judge(judgement.verdict, judgement.reason, evidence=judgement.evidence)
