"""Expectations on the WIC's connection and opening handshake (WIC-HS-01..03; RFC 6455
§4.1; RFC 7118 §4.1, §9.1; SEED 5.1.X.1.1, 5.1.X.1.3).
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.actors.channel import Received
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks import exchanges, handshake
from harness.evidence import CONNECT, HTTP_REQUEST, HTTP_RESPONSE, SIP, TLS, Entry
from harness.steps.wic.env import WIC, connect_window, emulator, expected_origin
from harness.verdicts import Verdict

HANDSHAKE_IDS = ("WIC-HS-01", "WIC-HS-02")
POLL = 0.02


async def _poll(predicate: Any, within: float) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = predicate()
        if found or loop.time() >= deadline:
            return found
        await asyncio.sleep(POLL)


def _rx(ctx: CaseContext, kind: str, since: int = 0) -> list[Entry]:
    return ctx.timeline.select(kind=kind, actor="epcscf", direction="rx", since=since)


@step("expect.connection", roles=WIC, args={}, on_timeout="inconclusive")
async def expect_connection(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """A WebSocket connection from the WIC arrives (channel "main")."""
    within = ctx.within(args, connect_window(ctx))
    chan = await emulator(ctx).wait_channel("main", within)
    if chan is None:
        ctx.timed_out(f"no WebSocket connection from the WIC within {within:g} s")
        return
    if not ctx.is_precondition():
        ctx.passed("the WIC opened a WebSocket connection", evidence=[_first(ctx, CONNECT)])


def _first(ctx: CaseContext, kind: str) -> int:
    entries = _rx(ctx, kind)
    return entries[0].seq if entries else 0


@step("expect.handshake", roles=WIC, args={})
async def expect_handshake(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC's opening handshakes: the first one must open a WebSocket (wicct's server
    answered 101); then EVERY upgrade request of the case, reconnects included, is judged
    once the steps are over: GET over TLS with Upgrade, Connection, version 13, a valid
    16-octet key and `sip` offered (WIC-HS-01); one Origin, the WWSF's (WIC-HS-02).
    Judges the ids among those two that the case verifies."""
    ids = [i for i in HANDSHAKE_IDS if i in ctx.case.verifies]
    if not ids:
        raise RuntimeError("expect.handshake judges WIC-HS-01/02: the case verifies neither")
    within = ctx.within(args, connect_window(ctx))
    requests = await _poll(lambda: _rx(ctx, HTTP_REQUEST), within)
    if not requests:
        tls = ctx.timeline.select(kind=TLS, actor="epcscf")
        if any(not e.data.get("error") for e in tls):
            ctx.failed(f"TLS was established but no upgrade request came within {within:g} s",
                       evidence=[e.seq for e in tls])
        ended = handshake.ended_by_client(tls)
        if ended:
            raise Precondition(f"the WIC refused wicct's valid certificate: {ended[0].data.get('error')}",
                               [ended[0].seq])
        if tls:
            raise Precondition(f"the WIC connected but began no TLS handshake that wicct's server could "
                               f"complete within {ctx.timers.handshake_timeout:g} s", [tls[0].seq])
        raise Precondition(f"the WIC made no connection within {within:g} s")
    request = requests[0]
    responses = await _poll(lambda: [e for e in _tx(ctx, HTTP_RESPONSE) if e.conn == request.conn],
                            ctx.timers.handshake_timeout)
    if not any(e.data.get("status") == 101 for e in responses):
        answer = (f"{responses[0].data.get('status')} {responses[0].data.get('reason')}"
                  if responses else "no response")
        for rid in ids:
            ctx.failed(f"no WebSocket opened: wicct's server answered the WIC's upgrade request "
                       f"with {answer}", evidence=[request.seq, *(e.seq for e in responses)],
                       requirement=rid, stop=False)
        return
    expected = expected_origin(ctx)
    checks = {
        "WIC-HS-01": handshake.upgrade_requests_valid,
        "WIC-HS-02": lambda entries, actor: handshake.origins_valid(entries, actor, expected),
    }

    def judge(until: int) -> None:
        """Every upgrade request of the case, reconnects included, once the steps are over."""
        entries = [e for e in ctx.timeline if e.seq <= until]
        for rid in ids:
            found = checks[rid](entries, "epcscf")
            if found is not None:
                ctx.judge(found.verdict, found.reason, evidence=found.evidence, requirement=rid)

    ctx.watches.append(judge)


def _tx(ctx: CaseContext, kind: str) -> list[Entry]:
    return ctx.timeline.select(kind=kind, actor="epcscf", direction="tx")


@step("expect.no_connection", roles=WIC, args={}, window=("within", "silence_window"))
async def expect_no_connection(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """WIC-HS-03 (RFC 7118 §9.1, SEED 5.1.X.1.3): facing a certificate it cannot verify,
    the WIC aborts TLS: no upgrade request and no REGISTER during the whole window. Judged
    from the `epcscf.certificate` step on, so a case may first let the WIC connect with a
    valid certificate and then make it reconnect to a bad one."""
    within = ctx.within(args, ctx.timers.silence_window)
    since = int(ctx.vars.get("certificate_since", 0))
    loop = asyncio.get_running_loop()
    began = loop.time()

    def register_requests() -> list[Entry]:
        return [e for e in _rx(ctx, SIP, since) if str(e.data.get("start_line", "")).startswith("REGISTER")]

    # the forbidden thing, early, ends the watch at once: it is the FAIL, not a wait
    await _poll(lambda: _rx(ctx, HTTP_REQUEST, since) or register_requests(), within)
    ctx.mandated(min(loop.time() - began, within), "no upgrade request after a bad certificate")
    certificate = emulator(ctx).certificate
    watched = [e for e in ctx.window(since, within, "no upgrade request after a bad certificate") if e.seq > since]
    judged = exchanges.untrusted_refused(watched, str(certificate), within, ctx.timers.handshake_timeout)
    if judged.verdict is Verdict.FAIL:
        ctx.failed(judged.reason, evidence=judged.evidence)
    if judged.verdict is Verdict.INCONCLUSIVE:  # no attempt, or no handshake the WIC ended itself
        raise Precondition(judged.reason, judged.evidence)
    ctx.passed(judged.reason, evidence=judged.evidence)


@step("observe.reconnect", roles=WIC, args={})
async def observe_reconnect(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Informational: after the connection closed, does the WIC reconnect and register again?"""
    within = ctx.within(args, connect_window(ctx))
    emu = emulator(ctx)
    before = len(emu.registrations)
    chan = await emu.reopen("main", within)
    if chan is None:
        ctx.informational(exchanges.reconnected(None, None, within).reason)
        return
    got: Received | None = await chan.request("REGISTER", ctx.timers.response_timeout)
    connect = ctx.timeline.select(kind=CONNECT, actor="epcscf", conn=chan.conn.conn_id)
    evidence = [connect[0].seq] if connect else []
    judged = exchanges.reconnected(connect[0] if connect else None,
                                   ctx.timeline[got.entry] if got is not None else None, within)
    if got is None:
        ctx.informational(judged.reason, evidence=evidence)
        return
    await _poll(lambda: len(emu.registrations) > before, ctx.timers.response_timeout)
    ctx.informational(judged.reason, evidence=[*evidence, got.entry])
