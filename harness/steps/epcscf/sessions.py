"""Calls through an eP-CSCF under test, judged at both of its sides (catalogue section 6,
EPC-TP-03, EPC-KA-03; RFC 7118 Appendix B, §6; TS 23.228 U.1; TS 24.229 5.2.7).

    expect.bundle_removed    EPC-SES-01: every INVITE that reached the core has no BUNDLE
    expect.forwarded         EPC-SES-02: an INVITE forwarded as a proxy does, either way
    expect.delivered         EPC-TP-03: a terminating INVITE over the REGISTER's WebSocket,
                             top Record-Route with transport=ws
    wic.media                the WIC emulator's answers send audio (or not)
    expect.media_through     EPC-SES-01 (informational): media crosses the SUT's edge both
                             ways, WebRTC at the WIC, plain RTP at the core
    wic.pongs                the WIC emulator answers Pings, or withholds its Pongs
    expect.idle_policy       EPC-KA-03 (informational): the SUT's own Pings and close on an
                             idle WebSocket
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks import exchanges
from harness.checks.framing import Judgement
from harness.checks.idle import idle_policy
from harness.checks.media import MediaLeg, media_through, no_media_path
from harness.checks.sessions import (
    Seen,
    bundle_at_core,
    cancel_forwarded,
    forwarded,
    record_route_ws,
    same_connection,
)
from harness.evidence import SIP, Entry
from harness.sdp.media import MediaFacts, media_facts, send_audio
from harness.sdp.plain import plain_media
from harness.sip import SipMessage
from harness.steps.epcscf.env import EPCSCF, core, wic
from harness.steps.peer import channel, sip
from harness.steps.schema import CONN, DURATION, NAME
from harness.verdicts import Verdict

POLL = 0.02  # seconds between looks at the WIC's connections while a delivery is awaited
MEDIA_WINDOW = 5.0  # s: ICE, DTLS and RTP through rtpengine on loopback take well under 1 s
RTP_MOMENT = 0.3  # s of RTP counted once it flowed both ways


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
        told = exchanges.jsep_at_core(ctx.timeline[rx.entry])
        if told is not None:
            ctx.informational(told.reason, evidence=[rx.entry])
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
    Contact and Call-ID kept; P-Asserted-Identity recorded. A stored CANCEL (originating)
    must reach the core carrying what the INVITE it cancels carried there (RFC 3261 §9.1,
    §16.10: `sessions.cancel_forwarded`)."""
    direction = args["direction"]
    name = args.get("to", "invite" if direction == "originating" else "core_request")
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no INVITE stored as {name!r}")
    sent = Seen(request, _sent_seq(ctx, name, request))
    within = ctx.within(args, ctx.timers.response_timeout)
    if direction == "originating" and request.method == "CANCEL":
        await _cancel_forwarded(ctx, args, sent, within)
        return
    if direction == "originating":
        stub = core(ctx)
        await stub.wait_transactions(request.method, 1, within, lambda rx: rx.message.call_id == request.call_id)
        candidates = [Seen(rx.message, rx.entry) for rx in stub.transactions(request.method)]
    else:
        got = await _delivered(ctx, request, within)
        candidates = [got[1]] if got is not None else []
    if not any(c.message.call_id == request.call_id for c in candidates):
        _not_sent(ctx, args, f"{direction}: the {request.method} did not arrive", [sent.seq])
        ctx.timed_out(f"{direction}: the {request.method} (Call-ID {request.call_id}) did not arrive within {within:g} s",
                      evidence=[sent.seq])
        return
    _record(ctx, forwarded(sent, candidates, direction))


async def _cancel_forwarded(ctx: CaseContext, args: dict[str, Any], sent: Seen, within: float) -> None:
    """EPC-SES-02 for the WIC's CANCEL `sent`: judged against the INVITE the core got."""
    stub, call_id = core(ctx), sent.message.call_id
    await stub.wait_transactions("CANCEL", 1, within, lambda rx: rx.message.call_id == call_id)
    cancels = [Seen(rx.message, rx.entry) for rx in stub.transactions("CANCEL")
               if rx.message.call_id == call_id and rx.message.cseq.number == sent.message.cseq.number]
    if not cancels:
        _not_sent(ctx, args, "originating: the CANCEL did not arrive", [sent.seq])
    invites = [Seen(rx.message, rx.entry) for rx in stub.transactions("INVITE")
               if rx.message.call_id == call_id and rx.message.cseq.number == sent.message.cseq.number]
    _record(ctx, cancel_forwarded(sent, invites[0] if invites else None, cancels[0] if cancels else None))


@step("expect.delivered", roles=EPCSCF, args={"to": NAME, "registered": CONN, "as": NAME})
async def expect_delivered(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """RFC 7118 Appendix B (EPC-TP-03): the core's INVITE stored as `to` (default
    `core_request`) reached the WIC over the connection its REGISTER used (`registered`,
    default `main`), whatever other connections the WIC holds, and, for a dialog-creating
    request, its top Record-Route carries `transport=ws` (a mid-dialog one, a BYE or a
    re-INVITE, is judged on its connection only). Stored as `as` (default `rx_invite`)."""
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
    _record(ctx, same_connection(registered, conn, seen.seq, register, seen.message.method))
    if seen.message.to.tag is None:  # a dialog-creating request: its Record-Route (RFC 3261 §16.6)
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


@step("wic.media", roles=EPCSCF, args={"answer_audio": {"type": "boolean"}}, required=("answer_audio",))
async def wic_media(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """From now on the WIC emulator's answers to terminating INVITEs send audio (aiortc's
    silence, `sendrecv`) with `answer_audio: true`, so `expect.media_through` can watch
    media both ways on a call the core placed; `false`: they only receive (the default)."""
    wic(ctx).answer_audio = bool(args["answer_audio"])


def _protocols(body: bytes) -> tuple[str, ...]:
    """The m= protocols of an SDP body, as aiortc's parser reads it (() without SDP)."""
    return tuple(proto for _, proto, _ in plain_media(body.decode("utf-8", "replace"))) if b"v=0" in body else ()


def _wic_200(ctx: CaseContext, call_id: str) -> Entry | None:
    """The 2xx to the call's INVITE at the WIC emulator (received or sent)."""
    for entry in ctx.timeline.select(kind=SIP, actor="wic"):
        line = str(entry.data.get("start_line") or "")
        cseq = str(entry.data.get("cseq") or "")  # a sent response's CSeq is in its summary
        if entry.data.get("call_id") == call_id and line.startswith("SIP/2.0 2") \
                and ("INVITE" in cseq or entry.summary.endswith("(INVITE)")):
            return entry
    return None


@step("expect.media_through", roles=EPCSCF, args={"of": NAME, "conn": CONN}, required=("of",))
async def expect_media_through(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """TS 23.228 U.1 (EPC-SES-01, informational: the catalogue states no media requirement
    for an eP-CSCF): on the call of the INVITE stored as `of` (the WIC's, or the core's from
    `core.send` with `sdp: plain`), media crosses the SUT's edge both ways. When the core's
    side is plain RTP and the WIC's WebRTC, the WIC's aiortc peer (given the answer, if it
    offered) sends audio and completes ICE and DTLS-SRTP with the SUT's media endpoint; the
    core's RTP port counts what arrives and echoes it; the WIC counts the echo. Watched for
    `within` (default 5 s) or until RTP flowed both ways; the counts are notes of both actors."""
    name = args["of"]
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no INVITE stored as {name!r}")
    stub, emu = core(ctx), wic(ctx)
    call_id = request.call_id
    terminating = any(s.request is request for s in stub.sent)
    waiting = ctx.timers.response_timeout
    if terminating:
        final = await stub.wait_response(request, waiting)
        status = (final.message.status or 0) if final is not None else 0
        delivered = [seen for _, seen in _wic_received(ctx, "INVITE") if seen.message.call_id == call_id]
        wic_sdp = delivered[0].message.body if delivered else b""
        core_sdp, answer = request.body, b""
        cited = [_sent_seq(ctx, name, request), *([final.entry] if final else [])]
    else:
        got = await channel(ctx, args).response_to(request, waiting)
        status = (sip(got).status or 0) if got is not None else 0
        at_core = [rx for rx in stub.transactions("INVITE") if rx.message.call_id == call_id]
        wic_sdp, answer = request.body, (sip(got).body if got is not None else b"")
        core_sdp = at_core[0].message.body if at_core else b""
        cited = [ctx.vars.get(f"{name}_seq", 0), *([got.entry] if got else [])]
    endpoints = stub.rtp.get(call_id, [])
    peer = emu.media.get(call_id)
    answered = _wic_200(ctx, call_id)
    window = ctx.within(args, MEDIA_WINDOW)
    facts: MediaFacts | None = None
    connected_t: float | None = None
    waited = 0.0
    leg = MediaLeg(direction="terminating" if terminating else "originating", status=status,
                   wic_protocols=_protocols(wic_sdp), core_protocols=_protocols(core_sdp), window=window)
    if no_media_path(leg) is None and peer is not None and endpoints:
        facts, connected_t, waited = await _watch_media(ctx, peer, answer, endpoints, window)
        cited.append(emu.media_note(call_id, facts))
        cited += [e.record() for e in endpoints]
    if answered is not None:
        cited.append(answered.seq)
    judged = media_through(replace(leg, wic=facts, core=tuple(e.counts() for e in endpoints),
                                   answered_t=answered.t if answered else None, connected_t=connected_t,
                                   waited=waited))
    ctx.judge(judged.verdict, judged.reason, evidence=sorted(set(c for c in cited if c)), requirement="EPC-SES-01")


async def _watch_media(ctx: CaseContext, peer: Any, answer: bytes, endpoints: list[Any],
                       window: float) -> tuple[MediaFacts, float | None, float]:
    """Send audio on the WIC's peer and watch until RTP flowed both ways (plus a moment),
    the connection failed, or `window` ran out: (its facts, when it connected, seconds)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + window
    if peer.pc.remoteDescription is None and b"v=0" in answer:
        try:
            await asyncio.wait_for(peer.accept_answer(answer.decode("utf-8", "replace")), window)
        except Exception as exc:  # noqa: BLE001 - an answer aiortc refuses (or a stall): no media, said so
            ctx.informational(f"the WIC's peer refused the SUT's answer: {exc!r}")
    send_audio(peer.pc)
    connected_t: float | None = None
    facts = await media_facts(peer.pc)
    while loop.time() < deadline:
        if facts["connection"] == "connected" and connected_t is None:
            connected_t = ctx.timeline.now()
        if connected_t is not None and facts["rtp_received"] > 0 and sum(e.packets for e in endpoints) > 0:
            await asyncio.sleep(RTP_MOMENT)
            facts = await media_facts(peer.pc)
            break
        if facts["connection"] in ("failed", "closed"):
            break
        await asyncio.sleep(POLL)
        facts = await media_facts(peer.pc)
    ctx.mandated(min(loop.time() - start, window), "media through the SUT's edge")
    return facts, connected_t, loop.time() - start
