"""Steps shared by both roles: wicct's WebSocket peer sends stimuli and judges answers.

`ctx.actors["peer"]` is the wicct actor facing the SUT over the WebSocket: the WIC
emulator when the SUT is an eP-CSCF, the eP-CSCF emulator when the SUT is a WIC. It
implements the small `Peer` protocol below; everything else here is role-neutral.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from harness import evidence as ev
from harness.actors.channel import Received, SipChannel, same_transaction
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks import awaited
from harness.checks.closing import Closer, close_story
from harness.checks.framing import pong_echoes
from harness.checks.status import answered, status_matches
from harness.evidence import NOTE, STIMULUS
from harness.sip import SipMessage
from harness.sip.stimuli import content_length_stimulus
from harness.steps.schema import CONN, DURATION, STATUS
from harness.verdicts import Strength, Verdict

BOTH = ("epcscf", "wic")  # the roles of these steps


class Peer(Protocol):
    def channel(self, name: str = "main") -> SipChannel | None:
        """The open (or last) channel called `name`, None if never opened."""

    def build_request(self, method: str, channel: SipChannel, **options: Any) -> SipMessage:
        """A well-formed request of `method` for this role (R-URI, Via, From/To, Contact)."""

    async def reopen(self, name: str = "main") -> SipChannel | None:
        """A new connection after the SUT closed one (None if the role cannot)."""


def sip(item: Received) -> SipMessage:
    """The parsed SIP message of an item a wait matched on its message (a None here is a
    wicct bug: the wait's predicate let an unparsed item through)."""
    if item.message is None:
        raise RuntimeError(f"entry {item.entry}: matched an item with no SIP message")
    return item.message


def why_no_answer(ctx: CaseContext, chan: SipChannel, within: float) -> tuple[str, list[int], bool]:
    """Why an awaited message did not come on `chan`: (reason, entries, the SUT's to answer).

    "the SUT closed ..." and "none within N s" are the SUT's (the wait's own verdict);
    "wicct failed the connection ... because the SUT sent an invalid frame" (RFC 6455
    §7.1.7) and "wicct closed ..." are not a FAIL of the awaited requirement: wicct's
    close prevented the answer (`harness.checks.closing`)."""
    story = close_story(ctx.timeline.select(conn=chan.conn.conn_id), chan.actor, chan.conn.conn_id)
    if story.closer is Closer.OPEN:
        return f"none within {within:g} s", [], True
    return story.reason, list(story.evidence), story.closer is Closer.SUT


def no_answer(ctx: CaseContext, chan: SipChannel, within: float, what: str, evidence: list[int]) -> None:
    """Record that `what` did not come: the wait's verdict when the SUT is to answer for it
    (`ctx.timed_out`), else INCONCLUSIVE with what happened first (`why_no_answer`)."""
    judged = awaited.nothing_came(ctx.window(0, within, what), chan.actor, chan.conn.conn_id, within, what)
    if judged.verdict is Verdict.FAIL:
        ctx.timed_out(judged.reason, evidence=[*evidence, *judged.evidence])
        return
    raise Precondition(judged.reason, [*evidence, *judged.evidence])


def peer(ctx: CaseContext) -> Peer:
    return ctx.actor("peer")


def channel(ctx: CaseContext, args: dict[str, Any]) -> SipChannel:
    name = args.get("conn", "main")
    chan = peer(ctx).channel(name)
    if chan is None:
        raise Precondition(f"no WebSocket connection {name!r} to the SUT")
    return chan


@step(
    "peer.send",
    roles=BOTH,
    args={
        "conn": CONN,
        "method": {"type": "string"},
        "as": {"type": "string"},
        "frame": {"enum": ["text", "binary"]},
        "fragments": {"type": "integer", "minimum": 1, "maximum": 16},
        "ping_between": {"type": "boolean"},
        "body": {"type": "string"},
        "body_repeat": {"type": "integer", "minimum": 1, "maximum": 4096},
        "content_length": {"enum": ["correct", "omit", "larger", "smaller"]},
        "pack_with": {"type": "string"},
        "pack_content_length": {"enum": ["correct", "omit"]},
        "options": {"type": "object"},
    },
    required=("method",),
)
async def peer_send(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Send a SIP request from wicct's peer with optional framing stimuli (`body_repeat`:
    the body that many times, for a large message)."""
    chan = channel(ctx, args)
    options = dict(args.get("options", {}))
    message = peer(ctx).build_request(args["method"].upper(), chan, **options)
    if "body" in args:
        message = message.with_body(args["body"].encode() * args.get("body_repeat", 1), "text/plain")
    message = content_length_stimulus(message, args.get("content_length", "correct"))
    packed = b""
    if args.get("pack_with"):
        second = peer(ctx).build_request(args["pack_with"].upper(), chan, **options)
        ctx.vars["packed"] = second
        packed = second.to_bytes()
        if args.get("pack_content_length") == "omit":
            message = message.remove_header("Content-Length")
    ping = b"wicct-ping" if args.get("ping_between") else None
    ctx.vars[args.get("as", "last")] = message
    ctx.vars["last_sent_seq"] = await chan.send(
        message,
        frame=args.get("frame", "text"),
        fragments=args.get("fragments", 1),
        ping_after_first=ping,
        packed_with=packed,
    )


def _sent_seq(ctx: CaseContext, chan: SipChannel, request: SipMessage) -> int:
    """The seq of the entry that sent `request` on `chan` (else the last thing sent)."""
    return next((seq for m, seq in reversed(chan.sent) if m is request), ctx.vars.get("last_sent_seq", 0))


def stored_message(ctx: CaseContext, args: dict[str, Any], arg: str = "to", default: str = "last",
                   what: str = "request") -> SipMessage:
    """The SipMessage a step stored under the name given by the step argument `arg`
    (`default` when absent); RuntimeError (a wicct or case-file error) when none is."""
    name = args.get(arg, default)
    message = ctx.vars.get(name)
    if not isinstance(message, SipMessage):
        raise RuntimeError(f"no {what} stored as {name!r} (use `as:` on the sending step)")
    return message


def _request(ctx: CaseContext, args: dict[str, Any]) -> SipMessage:
    return stored_message(ctx, args)


@step(
    "expect.response",
    roles=BOTH,
    args={"conn": CONN, "to": {"type": "string"}, "status": {}, "final": {"type": "boolean"}},
)
async def expect_response(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The SUT answers the stored request with a (final) response of the given status.

    With `on_timeout: inconclusive` this is a precondition: nothing recorded when it holds,
    INCONCLUSIVE (not FAIL) for another status. An unparsable response is no answer."""
    chan = channel(ctx, args)
    request = _request(ctx, args)
    within = ctx.within(args, ctx.timers.response_timeout)
    got = await chan.response_to(request, within, final=args.get("final", True))
    sent = _sent_seq(ctx, chan, request)
    if got is None:
        bad = [r for r in chan.responses_to(request) if r.error]
        discarded = f"; {len(bad)} unparsable response(s) discarded: {bad[0].error}" if bad else ""
        no_answer(ctx, chan, within, f"no response to {request.method}{discarded}",
                  [sent, *(r.entry for r in bad)])
        return
    ctx.vars[f"response_{args.get('to', 'last')}"] = got
    judged = answered(ctx.timeline[got.entry], args.get("status"), request=sent)
    if judged.verdict is Verdict.PASS:
        if not ctx.is_precondition():
            ctx.passed(judged.reason, evidence=[sent, got.entry])
        return
    reason = judged.reason
    if ctx.is_precondition():
        raise Precondition(reason, [sent, got.entry])
    ctx.failed(reason, evidence=[sent, got.entry])


@step(
    "expect.no_response",
    roles=BOTH,
    args={"conn": CONN, "to": {"type": "string"}, "final": {"type": "boolean"}, "status": STATUS},
)
async def expect_no_response(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The SUT sends no response (of `status`, when given) to the stored request within the
    window: e.g. `status: 2xx` for a request the SUT must not process.

    If the SUT closes the connection before the window ends, the PASS says how long was
    watched and carries the note LIMITED: no response could come after the close."""
    chan = channel(ctx, args)
    request = _request(ctx, args)
    within = ctx.within(args, ctx.timers.response_timeout)
    final = args.get("final", False)
    wanted = args.get("status")
    loop = asyncio.get_running_loop()
    began = loop.time()

    def answers(r: Received) -> bool:
        # an unparsable answer is still an answer: the request was processed
        status = (r.message.status or 0) if r.message is not None else 0
        return (r.is_response and r.message is not None and same_transaction(r.message, request)
                and (not final or status >= 200) and (bool(r.error) or status_matches(status, wanted)))

    got = await chan.wait_for(answers, within)
    sent = _sent_seq(ctx, chan, request)
    what = f"no {wanted or ''}{' ' if wanted else ''}response to {request.method}"
    judged = awaited.unanswered(ctx.window(sent, within, f"a response to the {request.method}"), request.method,
                                request.call_id, request.top_via.branch if request.top_via else None,
                                chan.conn.conn_id, within, wanted, final=final, since=sent)
    if got is not None and judged.verdict is Verdict.FAIL:
        ctx.failed(judged.reason + (f" (unparsable: {got.error})" if got.error else ""),
                   evidence=[sent, got.entry])
        return
    if got is not None:
        ctx.failed(f"{request.method} was answered {got.message.status if got.message else '?'}"
                   + (f" (unparsable: {got.error})" if got.error else ""), evidence=[sent, got.entry])
        return
    watched = min(loop.time() - began, within)
    ctx.mandated(watched, what)
    others = [r.entry for r in chan.responses_to(request)]
    if chan.closed and watched < within:
        why, cited, sut = why_no_answer(ctx, chan, within)
        if not sut:  # wicct's own close cut the window short: nothing was watched after it
            raise Precondition(f"{what} seen for {watched:.2f} s of {within:g} s: {why}", [sent, *cited])
        ctx.passed(f"{what}: {why} after {watched:.2f} s of the "
                   f"{within:g} s window", evidence=[sent, *others, *cited],
                   note="LIMITED")
    else:
        ctx.passed(f"{what} within {within:g} s" + (f" ({len(others)} other response(s))" if others else ""),
                   evidence=[sent, *others])


@step("peer.ping", roles=BOTH, args={"conn": CONN, "payload": {"type": "string"}})
async def peer_ping(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Send a WebSocket Ping (RFC 6455 §5.5.2)."""
    payload = args.get("payload", "wicct-0123").encode()
    ctx.vars["ping_seq"] = await channel(ctx, args).conn.send_ping(payload)
    ctx.vars["ping_payload"] = payload


@step("expect.pong", roles=BOTH, args={"conn": CONN})
async def expect_pong(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """A Pong carrying the Ping's payload arrives in time (RFC 6455 §5.5.3)."""
    chan = channel(ctx, args)
    payload = ctx.vars.get("ping_payload", b"wicct-ping")
    within = ctx.within(args, ctx.timers.pong_timeout)
    pong = await chan.conn.wait_pong(payload, within)
    if pong is None:
        since = ctx.vars.get("ping_seq", 0)
        timer = ctx.timeline.put("runner", f"timer: a Pong awaited for {within:g} s after the Ping",
                                 ev.note({"timer": within, "since": since}))  # the ladder draws it
        came = awaited.pong_came(ctx.window(since, within, "a Pong"), chan.conn.conn_id, payload, within,
                                 since=since)
        ctx.timed_out(came.reason, evidence=[since, timer.seq])
    else:
        judged = pong_echoes(ctx.timeline[pong.entry], payload, ping=ctx.vars.get("ping_seq", 0))
        evidence = [ctx.vars.get("ping_seq", 0), pong.entry]
        if judged.verdict is Verdict.PASS:
            ctx.passed(judged.reason, evidence=evidence)
        else:
            ctx.failed(judged.reason, evidence=evidence)


@step(
    "peer.send_raw",
    roles=BOTH,
    args={"conn": CONN, "text": {"type": "string"}, "hex": {"type": "string"}, "frame": {"enum": ["text", "binary"]}},
)
async def peer_send_raw(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Send raw bytes as one WebSocket message (junk, keep-alives, invalid UTF-8)."""
    chan = channel(ctx, args)
    data = bytes.fromhex(args["hex"]) if "hex" in args else args.get("text", "").encode()
    ctx.timeline.add(chan.actor, STIMULUS, f"tx raw {len(data)}B as {args.get('frame', 'text')}",
                     direction="tx", conn=chan.conn.conn_id, payload=data)
    if args.get("frame") == "binary":
        ctx.vars["last_sent_seq"] = await chan.conn.send_binary(data)
    else:
        ctx.vars["last_sent_seq"] = await chan.conn.send_text(data)
    ctx.vars["raw_sent_at"] = len(chan.received)


@step(
    "peer.frame",
    roles=BOTH,
    args={
        "conn": CONN,
        "opcode": {"type": "integer", "minimum": 0, "maximum": 15},
        "text": {"type": "string"},
        "hex": {"type": "string"},
        "fin": {"type": "boolean"},
        "rsv1": {"type": "boolean"},
        "mask": {"type": "boolean"},
    },
    required=("opcode",),
)
async def peer_frame(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Send one deliberately wrong frame (RFC 6455 §5.1, §5.2 stimuli)."""
    chan = channel(ctx, args)
    payload = bytes.fromhex(args["hex"]) if "hex" in args else args.get("text", "").encode()
    ctx.vars["last_sent_seq"] = await chan.conn.send_raw_frame(
        opcode=args["opcode"], payload=payload, fin=args.get("fin", True),
        rsv1=args.get("rsv1", False), mask=args.get("mask"),
    )


@step("peer.close", roles=BOTH, args={"conn": CONN, "code": {"type": "integer"}, "reason": {"type": "string"}})
async def peer_close(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Start the closing handshake (RFC 6455 §5.5.1)."""
    chan = channel(ctx, args)
    ctx.vars["close_seq"] = await chan.conn.send_close(args.get("code", 1000), args.get("reason", ""))


@step(
    "expect.close",
    roles=BOTH,
    args={
        "conn": CONN,
        "codes": {"type": "array", "items": {"type": "integer"}},
        "tcp_close_ok": {"type": "boolean"},
        "code_strength": {"enum": ["shall", "should", "may"]},
    },
)
async def expect_close(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The SUT closes the connection, with a Close frame whose code is one of `codes`.

    With `code_strength`, two findings: that the SUT failed the connection at all (the
    step's strength), and the Close frame and its code at `code_strength` (RFC 6455 §8.1
    makes failing the connection a MUST, §7.1.7 the Close frame with 1007 a SHOULD)."""
    chan = channel(ctx, args)
    within = ctx.within(args, ctx.timers.response_timeout)
    closed = await chan.conn.wait_closed(within)
    codes = args.get("codes")
    evidence = [ctx.vars.get("last_sent_seq", 0), ctx.vars.get("close_seq", 0), chan.conn.close_entry]
    split = args.get("code_strength")
    made = awaited.closed_with(ctx.window(0, within, "a close"), chan.conn.conn_id, codes, within,
                               tcp_close_ok=bool(args.get("tcp_close_ok", False)), split=bool(split),
                               close_timeout=chan.conn.close_timeout)
    if not closed or made[0].reason.startswith("connection still open"):
        ctx.timed_out(made[0].reason, evidence=evidence)
        return
    entry = ctx.timeline[chan.conn.close_entry].data if chan.conn.close_entry else {}
    began_closing = bool(ctx.vars.get("close_seq"))  # peer.close: wicct's Close is the stimulus
    if entry.get("by") == "us" and not began_closing:  # even if the SUT then echoed wicct's Close
        why, cited, _ = why_no_answer(ctx, chan, within)
        raise Precondition(f"{why}: whether the SUT would have closed it cannot be seen", [*evidence, *cited])
    if split:
        ctx.passed(made[0].reason, evidence=evidence)
    code_strength = Strength(split) if split else None
    judged = made[-1]
    if judged.verdict is Verdict.PASS:
        ctx.passed(judged.reason, evidence=evidence, strength=code_strength, note=judged.note)
    else:
        ctx.failed(judged.reason, evidence=evidence, strength=code_strength)


@step("watch.stays_open", roles=BOTH, args={"conn": CONN, "what": {"type": "string"}})
async def watch_stays_open(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """From now until the last step, the SUT must not close the connection: a Close frame
    or a TCP close by the SUT anywhere in that span is a FAIL with the close as evidence,
    however the later steps end (e.g. SEED 5.1.X.4 / 5.Y.4 once a release has begun:
    a close before the BYE's 200 is the very thing forbidden, not a failed
    precondition). It records only FAILs: the PASS is the step that watches the window."""
    chan = channel(ctx, args)
    what = args.get("what", "from here to the end of the case")
    start = len(ctx.timeline)
    if chan.closed:
        why, cited, _ = why_no_answer(ctx, chan, 0.0)
        raise Precondition(f"connection {chan.conn.conn_id} was already closed before the watch "
                           f"({what}): {why}", [chan.conn.close_entry, *cited])
    conn, actor = chan.conn.conn_id, chan.actor
    armed = ctx.timeline.add("runner", NOTE, f"watching connection {conn} for a close by the SUT ({what})",
                             conn=conn)
    requirement = args.get("requirement")

    def judge(until: int) -> None:
        watched = [e for e in ctx.timeline if start < e.seq <= until]
        judged = awaited.not_closed_by_sut(watched, actor, conn, what)
        if judged.verdict is Verdict.FAIL:  # a Close frame, a TCP close, or a protocol error that ended it
            ctx.judge(Verdict.FAIL, judged.reason, evidence=[armed.seq, *judged.evidence], requirement=requirement)

    ctx.watches.append(judge)


@step("expect.open", roles=BOTH, args={"conn": CONN, "for": DURATION}, window=("for", "keepalive_window"))
async def expect_open(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The SUT keeps the connection open for the whole window (no Close, no FIN).

    With `on_timeout: inconclusive` it is a control, not a judgement: a case that expects
    the SUT to fail the connection on bad input first sends good input and watches the same
    window, so that a SUT that closes whatever it gets (or at a time of its own) is not
    credited with a reaction (a reaction provoked twice, with different content): a close
    there is INCONCLUSIVE for the case, and a held control records no PASS."""
    from harness.profiles import parse_duration

    chan = channel(ctx, args)
    window = parse_duration(args.get("for", ctx.timers.keepalive_window))
    closed = await chan.conn.wait_closed(window)
    if not (closed or not chan.conn.is_open):
        ctx.mandated(window, "open connection")
        ctx.timeline.add(chan.actor, NOTE, f"connection {chan.conn.conn_id} still open after {window:g} s",
                         conn=chan.conn.conn_id)
    # closing counts: e.g. wicct failed it (§7.1.7)
    judged = awaited.stayed_open(ctx.window(0, window, "the connection to stay open"), chan.actor,
                                 chan.conn.conn_id, window)
    if judged.verdict is Verdict.PASS:
        ctx.held(judged.reason, evidence=[ctx.vars.get("last_sent_seq", 0), *judged.evidence])
    elif judged.verdict is Verdict.FAIL:
        ctx.unmet(judged.reason, evidence=judged.evidence or [chan.conn.close_entry])
    else:  # wicct closed it (its decision, or the SUT's invalid frame): not this FAIL
        raise Precondition(judged.reason, judged.evidence)


@step("expect.crlf", roles=BOTH, args={"conn": CONN})
async def expect_crlf(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """RFC 5626 §4.4.1: a CRLFCRLF ping is answered with a single CRLF pong."""
    chan = channel(ctx, args)
    start = ctx.vars.get("raw_sent_at", 0)
    within = ctx.within(args, ctx.timers.pong_timeout)
    await chan.wait_for(lambda r: r.keepalive and r.payload == b"\r\n", within, start=start)
    since = ctx.vars.get("last_sent_seq", 0)
    judged = awaited.crlf_pong(ctx.window(since, within, "a CRLF pong"), chan.conn.conn_id, within, since=since)
    if judged.verdict is Verdict.PASS:
        ctx.passed(judged.reason, evidence=judged.evidence)
    else:
        timer = ctx.timeline.put("runner", f"timer: a CRLF pong awaited for {within:g} s after the CRLFCRLF",
                                 ev.note({"timer": within, "since": since}))  # the ladder draws it
        ctx.timed_out(judged.reason, evidence=[*judged.evidence, timer.seq])


@step("expect.alive", roles=BOTH, args={"conn": CONN, "method": {"type": "string"}})
async def expect_alive(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The SUT still serves SIP after a stimulus: on the same connection, or a new one.

    A close by the SUT while the request is on its way is noticed, not taken for silence:
    the request is sent once more on a new connection, and the reason says both."""
    p = peer(ctx)
    name = args.get("conn", "main")
    within = ctx.within(args, ctx.timers.response_timeout)
    notes: list[str] = []
    evidence: list[int] = []
    used: SipChannel | None = None
    for _attempt in range(2):
        chan = p.channel(name)
        if chan is None or chan.closed:
            if chan is not None:
                why, cited, _ = why_no_answer(ctx, chan, 0.0)
                notes.append(why)
                evidence += cited
            chan = await p.reopen(name)
            if chan is None:
                ctx.timed_out("; ".join([*notes, "no new connection could be opened"]),
                              evidence=evidence)
                return
            notes.append("a new connection was opened")
        used = chan
        request = p.build_request(args.get("method", "OPTIONS").upper(), chan)
        seq = await chan.send(request)
        evidence.append(seq)
        got = await chan.response_to(request, within)
        if got is not None:
            shown = f" ({'; '.join(notes)})" if notes else ""
            judged = awaited.still_answers(ctx.timeline[got.entry])
            ctx.judge(judged.verdict, f"{judged.reason}{shown}", evidence=[*evidence, got.entry])
            return
        if not chan.closed:
            break
        notes.append(f"the connection closed while the {request.method} was on its way")
    if used is not None:
        no_answer(ctx, used, within, "; ".join([*notes, f"no response to a new {request.method}"]),
                  evidence)


@step(
    "expect.no_retransmission",
    roles=BOTH,
    args={"conn": CONN, "method": {"type": "string"}, "window": DURATION},
    window=("window", "retransmission_watch"),
)
async def expect_no_retransmission(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """RFC 7118 §5 / RFC 3261 §17.1.1.2: over a reliable transport a request is sent once.

    The default window is `Timers.retransmission_watch`: max(64×T1, 2×500 ms), long
    enough to see a SUT that retransmits on the RFC 3261 default T1 of 500 ms while the
    profile says otherwise; a profile or a case shortens it only explicitly."""
    from harness.profiles import parse_duration

    chan = channel(ctx, args)
    method = args.get("method")
    window = parse_duration(args["window"]) if "window" in args else ctx.timers.retransmission_watch
    first = await chan.request(method, ctx.timers.response_timeout)
    if first is None:  # nothing to watch: a precondition, never this requirement's FAIL
        raise Precondition(f"the SUT sent no {method or 'request'} to watch for retransmissions",
                           [ctx.vars.get("last_sent_seq", 0)])
    answered = _answered_early(ctx, chan, first)
    if answered:
        raise Precondition(
            f"wicct answered the {sip(first).method} before a retransmission was due: none "
            "would be sent even over UDP (withhold the response with a policy step)", [first.entry, answered])
    await asyncio.sleep(window)
    ctx.mandated(window, "retransmissions")
    judged = awaited.sent_once(ctx.window(first.entry, window, f"copies of the {sip(first).method}"),
                               ctx.timeline[first.entry], window)
    if judged.verdict is Verdict.PASS:
        ctx.passed(judged.reason, evidence=judged.evidence)
    else:
        ctx.failed(judged.reason, evidence=judged.evidence)


def _answered_early(ctx: CaseContext, chan: SipChannel, first: Received) -> int:
    """The seq of wicct's response that ends `first`'s retransmissions (a final one; any
    for an INVITE, RFC 3261 §17.1.1.2) if sent before T1 after it, else 0."""
    request = first.message
    assert request is not None
    due = ctx.timeline[first.entry].t + ctx.timers.t1
    for message, seq in chan.sent:
        if message is None or message.is_request or not same_transaction(message, request):
            continue
        status = message.status or 0
        ends = status >= 200 or (request.method.upper() == "INVITE" and status >= 100)
        if ends and ctx.timeline[seq].t < due:
            return seq
    return 0
