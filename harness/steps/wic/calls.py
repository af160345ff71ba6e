"""Calls with a WIC under test: the monitors that judge every SDP offer and answer the WIC
sends (WIC-SES-01..03) and its alerting before answer (WIC-SES-02), and the IMS core's
moves in a call beyond INVITE and BYE: CANCEL before the answer, a re-INVITE putting the
call on hold (RFC 3261 §9, §14; RFC 3264 §8.4); and whether the call's media connects
(WIC-SES-04, informational).

The monitors run in every WIC case (a call anywhere in the suite is judged), and in the
WIC-SES cases that list them; the verdicts come from `harness.checks.offer_answer`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.actors.channel import same_transaction
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import monitor, step
from harness.checks.media import media_outcome
from harness.checks.offer_answer import (
    ANSWER_REQUIREMENT,
    SdpVerdict,
    alerting_before_answer,
    judge_wic_sdp,
)
from harness.evidence import SIP, Entry
from harness.sdp.media import media_facts, send_audio
from harness.steps.schema import CONN
from harness.steps.wic.connection import POLL
from harness.steps.wic.controls import channel
from harness.steps.wic.env import WIC, emulator
from harness.verdicts import Finding, Verdict

IMS_ANSWERS = "WIC-SES-03"


def _record(ctx: CaseContext, verdicts: list[SdpVerdict]) -> list[Finding]:
    made: list[Finding] = []
    for v in verdicts:
        made += ctx.judge(v.verdict, f"monitor: {v.reason}", evidence=v.evidence,
                          requirement=v.requirement, note=v.note, strength=v.strength)
    return made


@monitor("sdp", always=True, requirements=["WIC-SES-01", "WIC-SES-02", "WIC-SES-03"])
def sdp_monitor(ctx: CaseContext) -> list[Finding]:
    """Every SDP offer (WIC-SES-01) and answer (WIC-SES-02; WIC-SES-03 in a case verifying
    it) the WIC sends, judged by the JSEP checker, answers against wicct's offer."""
    answers = IMS_ANSWERS if IMS_ANSWERS in ctx.case.verifies else ANSWER_REQUIREMENT
    return _record(ctx, judge_wic_sdp(list(ctx.timeline), "epcscf", answer_requirement=answers))


@monitor("alerting", always=True, requirements=["WIC-SES-02"])
def alerting_monitor(ctx: CaseContext) -> list[Finding]:
    """The WIC sends 180 before its 2xx to every INVITE wicct sends it (SEED 5.1.X.3)."""
    return _record(ctx, alerting_before_answer(list(ctx.timeline), "epcscf"))


@step("epcscf.cancel", roles=WIC,
      args={"conn": CONN, "to": {"type": "string"}, "as": {"type": "string"}})
async def epcscf_cancel(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The IMS core cancels its INVITE `to` (default `invite`) once the WIC alerts (a 1xx
    above 100) and before it answers (RFC 3261 §9.1). Stored as `as` (default `cancel`); the WIC owes 200 to the CANCEL
    and 487 to the INVITE (§9.2)."""
    emu = emulator(ctx)
    chan = await channel(ctx, args)
    invite = ctx.vars.get(args.get("to", "invite"))
    dialog = next((d for d in reversed(emu.dialogs) if d.outgoing and d.invite is invite), None)
    if dialog is None:
        raise Precondition("wicct sent no INVITE to cancel")
    # RFC 3261 §9.1: no CANCEL before a provisional response; wait for the WIC's alerting
    within = ctx.within(args, ctx.timers.response_timeout)
    ringing = await chan.wait_for(
        lambda r: r.is_response and r.message is not None and not r.error
        and same_transaction(r.message, dialog.invite) and 100 < (r.message.status or 0) < 200,
        within)
    if ringing is None:
        raise Precondition(f"the WIC sent no provisional response above 100 within {within:g} s: "
                           "nothing to cancel yet")
    cancel, seq = await emu.cancel(dialog)
    ctx.vars[args.get("as", "cancel")] = cancel
    ctx.vars["last_sent_seq"] = seq


@step("epcscf.hold", roles=WIC, args={"conn": CONN, "as": {"type": "string"}, "resume": {"type": "boolean"}})
async def epcscf_hold(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The IMS core puts the current call on hold: a re-INVITE whose offer is its previous
    one with `a=sendonly` (RFC 3264 §8.4); with `resume: true` it takes it off hold
    (`a=sendrecv` again: a second re-INVITE with other content). Stored as `as` (default
    `hold`); the emulator ACKs the 2xx; the sdp monitor judges the WIC's answer against
    that offer, the always-on monitors its framing and Contact (WIC-FR-01, WIC-TP-02)."""
    emu = emulator(ctx)
    dialog = emu.current_dialog()
    if dialog is None or not await emu.established(dialog, ctx.timers.response_timeout):
        raise Precondition("no established call to put on hold")
    if not dialog.outgoing:
        raise Precondition("the call to hold was placed by the WIC; the hold case holds a call "
                           "wicct placed")
    await channel(ctx, args)
    reinvite, seq = await emu.hold(dialog, resume=bool(args.get("resume", False)))
    ctx.vars[args.get("as", "hold")] = reinvite
    ctx.vars["last_sent_seq"] = seq


@step("epcscf.in_dialog", roles=WIC,
      args={"conn": CONN, "method": {"enum": ["MESSAGE", "INFO", "NOTIFY", "UPDATE", "OPTIONS"]},
            "body": {"type": "string"}, "as": {"type": "string"}},
      required=("method",))
async def epcscf_in_dialog(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The IMS core sends a non-INVITE request inside the current established call
    (RFC 3261 §12.2.1.1; a MESSAGE or INFO from the far end, `body` as text/plain).
    Stored as `as` (default the method in lower case); `expect.response` judges its
    answer, the always-on monitors every message the WIC sends back (WIC-FR-01, BOTH-TP-04),
    and a `watch.stays_open` armed before it the WebSocket (WIC-KA-04)."""
    emu = emulator(ctx)
    dialog = emu.current_dialog()
    if dialog is None or not await emu.established(dialog, ctx.timers.response_timeout):
        raise Precondition("no established call to send an in-dialog request in")
    await channel(ctx, args)
    method = args["method"]
    body = args.get("body", f"wicct: {method.lower()} in the call")
    request, seq = await emu.in_dialog(dialog, method, body)
    ctx.vars[args.get("as", method.lower())] = request
    ctx.vars["last_sent_seq"] = seq


MEDIA_WINDOW = 5.0  # s: ICE, DTLS and a first RTP packet on loopback take well under 1 s
RTP_MOMENT = 0.2  # s of RTP watched once the first packet from the WIC arrived


@step("expect.media", roles=WIC, args={}, on_timeout="inconclusive")
async def expect_media(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """WIC-SES-04 (informational): the current call's media connects: wicct's aiortc peer
    sends audio and waits (default 5 s, `within`) for ICE and DTLS to connect with the
    WIC's media endpoint and for RTP from it; the time from the 200 to connected is in the
    reason. ICE never completing within the window is INCONCLUSIVE."""
    emu = emulator(ctx)
    dialog = emu.current_dialog()
    if dialog is None or dialog.media is None:
        raise Precondition("no call with media to watch")
    window = ctx.within(args, MEDIA_WINDOW)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    if not await emu.established(dialog, window):
        while not dialog.confirmed and loop.time() < deadline:  # a call wicct answered: ACK
            await asyncio.sleep(POLL)
        if not dialog.confirmed:
            raise Precondition("the call was not established: no media to watch")
    answered = _answer_entry(ctx, dialog.invite.call_id)
    send_audio(dialog.media.pc)
    connected_at: float | None = None
    facts = await media_facts(dialog.media.pc)
    while loop.time() < deadline:
        if facts["connection"] == "connected" and connected_at is None:
            connected_at = ctx.timeline.now()
        if connected_at is not None and facts["rtp_received"] > 0:
            await asyncio.sleep(RTP_MOMENT)  # RTP flows for a moment, both ways
            facts = await media_facts(dialog.media.pc)
            break
        if facts["connection"] in ("failed", "closed"):
            break
        await asyncio.sleep(POLL)
        facts = await media_facts(dialog.media.pc)
    waited = window - max(deadline - loop.time(), 0.0)
    since = connected_at - answered.t if connected_at is not None and answered else None
    seen = emu.note(f"media of the call: ICE {facts['ice']}, connection {facts['connection']}, "
                    f"RTP received {facts['rtp_received']}, sent {facts['rtp_sent']}",
                    media=dict(facts))
    judged = media_outcome(facts, waited=waited, window=window, connected_after=since)
    evidence = [answered.seq if answered else 0, seen]
    if judged.verdict is Verdict.INCONCLUSIVE:
        ctx.unmet(judged.reason, evidence)
        return
    ctx.judge(judged.verdict, judged.reason, evidence=evidence, requirement="WIC-SES-04")


def _answer_entry(ctx: CaseContext, call_id: str) -> Entry | None:
    """The 2xx to the call's INVITE, whichever side sent it."""
    for entry in ctx.timeline.select(kind=SIP, actor="epcscf"):
        line = str(entry.data.get("start_line") or "")
        if entry.data.get("call_id") == call_id and line.startswith("SIP/2.0 2") \
                and "INVITE" in str(entry.data.get("cseq") or "INVITE"):
            return entry
    return None
