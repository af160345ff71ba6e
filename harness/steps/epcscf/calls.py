"""Registration and calls through an eP-CSCF under test (RFC 3261 §10, §13; SEED
5.1.X.1-4), and how wicct's actors answer.

    wic.register           REGISTER and wait for its final response
    wic.invite, expect.answered, wic.ack, wic.bye     a call through the SUT
    wic.cancel, wic.ack_failure                       a ringing call cancelled (RFC 3261 §9.1)
    wic.policy, core.policy                           how wicct's actors answer
"""

from __future__ import annotations

from typing import Any

from harness.actors.core import normalise_action
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks import exchanges, tna
from harness.sip import SipMessage
from harness.sip.dialog import same_transaction
from harness.steps.epcscf.env import EPCSCF, core, wic
from harness.steps.peer import channel, no_answer, sip, stored_message
from harness.steps.schema import ACTION, CONN
from harness.verdicts import Verdict


def _issuer_failed(ctx: CaseContext, what: str, evidence: list[int]) -> None:
    """A REGISTER refused (or unanswered) while wicct's own token issuer was made to fail
    (garbage, HTTP 500, a stall, down) is no verdict on the SUT: INCONCLUSIVE, with what
    the issuer saw (issue 8: a token issuer that is down or answers garbage)."""
    if "issuer" not in ctx.actors:
        return
    entries = list(ctx.timeline)
    if tna.issuer_failed(entries):
        raise Precondition(f"{what}: {tna.issuer_story(entries, since=0)}", evidence)


@step(
    "wic.register",
    roles=EPCSCF,
    args={
        "conn": CONN,
        "as": {"type": "string"},
        "expires": {"type": "integer", "minimum": 0},
        "via_transport": {"type": "string"},
        "sent_by": {"type": "string"},
        "outbound": {"type": "boolean"},
        "frame": {"enum": ["text", "binary"]},
        "options": {"type": "object"},
        "digest": {"type": "boolean"},
    },
)
async def wic_register(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """REGISTER and wait for the final response; 2xx expected.

    With `digest: true` the REGISTER carries SIP digest credentials (TS 24.229 5.1.1.2.1:
    empty `nonce` and `response` before any challenge) and a 401/407 Digest challenge is
    answered once: the retry has the same Call-ID and CSeq + 1 (RFC 3261 §22.2), stored as
    `as` (the challenged REGISTER as `<as>_challenged`, the 401 as `challenge_<as>`).
    With `on_timeout: inconclusive` this is a precondition (no finding when it works);
    otherwise registering is the behaviour under test (a PASS or FAIL finding)."""
    chan = channel(ctx, args)
    options = dict(args.get("options", {}))
    for key in ("expires", "via_transport", "sent_by", "outbound", "digest"):
        if key in args:
            options[key] = args[key]
    name = args.get("as", "register")
    within = ctx.within(args, ctx.timers.response_timeout)
    sent: list[int] = []
    challenged = ""
    while True:
        request = wic(ctx).build_request("REGISTER", chan, **options)
        ctx.vars[name] = request
        seq = await chan.send(request, frame=args.get("frame", "text"))
        ctx.vars["last_sent_seq"] = seq
        sent.append(seq)
        got = await chan.response_to(request, within)
        if got is None:
            _issuer_failed(ctx, f"no final response to REGISTER{challenged}", sent)
            no_answer(ctx, chan, within, f"no final response to REGISTER{challenged}", sent)
            return
        status = sip(got).status or 0
        if options.get("digest") and status in (401, 407) and not challenged \
                and wic(ctx).digest.challenged(sip(got)):
            ctx.vars[f"{name}_challenged"], ctx.vars[f"challenge_{name}"] = request, got
            sent.append(got.entry)
            challenged = f" after a {status} digest challenge"
            continue
        break
    ctx.vars[f"response_{name}"] = got
    evidence = [*sent, got.entry]
    challenge = ctx.vars.get(f"challenge_{name}") if challenged else None
    judged = exchanges.register_answered(ctx.timeline[got.entry],
                                         ctx.timeline[challenge.entry] if challenge is not None else None)
    if not 200 <= status < 300:
        reason = judged.reason
        _issuer_failed(ctx, reason, evidence)
        if ctx.is_precondition():
            raise Precondition(f"registration failed: {reason}", evidence)
        ctx.failed(reason, evidence=evidence)
    if not ctx.is_precondition():
        ctx.passed(judged.reason, evidence=evidence)


@step(
    "wic.invite",
    roles=EPCSCF,
    args={"conn": CONN, "to": {"type": "string"}, "as": {"type": "string"}, "options": {"type": "object"},
          "media": {"type": "array", "items": {"enum": ["audio", "video"]}, "minItems": 1}},
)
async def wic_invite(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """INVITE with a real aiortc JSEP offer (SEED 5.1.X.2) to `to` (default: the callee),
    one m= section per kind of `media` (default audio; audio and video are bundled);
    `options` as for `peer.send` (e.g. `from`, `headers`)."""
    chan = channel(ctx, args)
    options = dict(args.get("options", {}))
    if "to" in args:
        options["to"] = args["to"]
    request = await wic(ctx).invite(chan, media=tuple(args.get("media", ("audio",))), **options)
    name = args.get("as", "invite")
    ctx.vars[name] = request
    ctx.vars["last_sent_seq"] = ctx.vars[f"{name}_seq"] = chan.sent[-1][1] if chan.sent else 0


@step("expect.answered", roles=EPCSCF, args={"conn": CONN, "to": {"type": "string"}, "ringing": {"type": "boolean"}})
async def expect_answered(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The INVITE gets a 2xx with an SDP answer (after a 180 with `ringing`); the dialog is kept.

    With `on_timeout: inconclusive` a precondition: no PASS finding when it holds."""
    chan = channel(ctx, args)
    name = args.get("to", "invite")
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no INVITE stored as {name!r}")
    within = ctx.within(args, ctx.timers.response_timeout + 2.0)
    got = await chan.response_to(request, within)
    sent = ctx.vars.get("last_sent_seq", 0)
    if got is None:
        no_answer(ctx, chan, within, "no final response to the INVITE", [sent])
        return
    status = sip(got).status or 0
    early = [r for r in chan.responses_to(request) if r.message is not None and 100 < (r.message.status or 0) < 200
             and r.entry < got.entry]
    made = exchanges.invite_answered(ctx.timeline[got.entry], [ctx.timeline[r.entry] for r in early],
                                     bool(args.get("ringing", True)))
    if not 200 <= status < 300:
        if ctx.is_precondition():
            raise Precondition(f"the call was not answered: {status}", [sent, got.entry])
        ctx.failed(made[0].reason, evidence=[sent, got.entry])
    ctx.vars["dialog"] = ctx.vars[f"dialog_{name}"] = wic(ctx).dialog(request, sip(got))
    for judged in made[:-1]:
        if judged.verdict is Verdict.INFORMATIONAL:
            ctx.informational(judged.reason, evidence=[sent, got.entry])
    if ctx.is_precondition():
        return  # a precondition: no PASS standing in for the verdict
    ctx.passed(made[-1].reason, evidence=[sent, *(r.entry for r in early), got.entry])


def _dialog(ctx: CaseContext, args: dict[str, Any]) -> Any:
    """The dialog of the INVITE named `of` (default: the last one answered)."""
    return ctx.vars.get(f"dialog_{args['of']}" if "of" in args else "dialog")


@step("wic.ack", roles=EPCSCF, args={"conn": CONN, "of": {"type": "string"}})
async def wic_ack(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """ACK the 2xx: to its Contact, Route set from the Record-Route (RFC 3261 §13.2.2.4);
    `of`: the INVITE whose dialog (default: the last one answered)."""
    chan = channel(ctx, args)
    dialog = _dialog(ctx, args)
    if dialog is None:
        raise Precondition("no dialog to ACK (the INVITE was not answered)")
    ctx.vars["last_sent_seq"] = await chan.send(wic(ctx).in_dialog(dialog, "ACK", chan))


@step("wic.bye", roles=EPCSCF, args={"conn": CONN, "as": {"type": "string"}, "of": {"type": "string"}})
async def wic_bye(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Release the call with a BYE in the dialog (RFC 3261 §15.1.1); `of` as for wic.ack."""
    chan = channel(ctx, args)
    dialog = _dialog(ctx, args)
    if dialog is None:
        raise Precondition("no dialog to release")
    request = wic(ctx).in_dialog(dialog, "BYE", chan)
    ctx.vars[args.get("as", "bye")] = request
    ctx.vars["last_sent_seq"] = await chan.send(request)


def _invite(ctx: CaseContext, args: dict[str, Any]) -> SipMessage:
    return stored_message(ctx, args, "of", "invite", "INVITE")


@step("wic.cancel", roles=EPCSCF, args={"conn": CONN, "of": {"type": "string"}, "as": {"type": "string"}})
async def wic_cancel(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """CANCEL the ringing INVITE stored as `of` (default `invite`), stored as `as` (default
    `cancel`). RFC 3261 §9.1: not before a provisional response, so the step waits for one
    above 100 (a ringing callee: the core's `INVITE` policy 180); none is a precondition."""
    chan = channel(ctx, args)
    invite = _invite(ctx, args)
    within = ctx.within(args, ctx.timers.response_timeout)
    ringing = await chan.wait_for(
        lambda r: r.is_response and r.message is not None and same_transaction(r.message, invite)
        and (r.message.status or 0) > 100, within)
    if ringing is None or (sip(ringing).status or 0) >= 200:
        raise Precondition(f"the INVITE did not ring within {within:g} s: nothing to cancel",
                           [ctx.vars.get("last_sent_seq", 0)])
    request = wic(ctx).cancel(invite)
    name = args.get("as", "cancel")
    ctx.vars[name] = request
    ctx.vars["last_sent_seq"] = ctx.vars[f"{name}_seq"] = await chan.send(request)


@step("wic.ack_failure", roles=EPCSCF, args={"conn": CONN, "of": {"type": "string"}})
async def wic_ack_failure(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """ACK the 300-699 final response to the INVITE stored as `of` (default `invite`), in
    its transaction (RFC 3261 §17.1.1.3); no such response is a precondition."""
    chan = channel(ctx, args)
    invite = _invite(ctx, args)
    got = await chan.response_to(invite, ctx.within(args, ctx.timers.response_timeout))
    if got is None or (sip(got).status or 0) < 300:
        raise Precondition("no 300-699 final response to ACK")
    ctx.vars["last_sent_seq"] = await chan.send(wic(ctx).ack_failure(invite, sip(got)))


# --- policies -------------------------------------------------------------------------------------

_POLICY_ARGS = {"method": {"type": "string"}, "action": ACTION}


@step(
    "wic.policy",
    roles=EPCSCF,
    args={**_POLICY_ARGS, "content_length": {"enum": ["correct", "omit", "larger", "smaller"]},
          "frame": {"enum": ["text", "binary"]}},
    required=("method",),
)
async def wic_policy(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """How the WIC emulator answers requests of `method`: auto, withhold or a status code
    (with an optional Content-Length stimulus on its responses, or in binary frames with
    `frame: binary`, BOTH-FR-04)."""
    try:
        wic(ctx).set_policy(args["method"], args.get("action", "auto"), args.get("content_length", "correct"),
                            args.get("frame", "text"))
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None


@step("core.policy", roles=EPCSCF, args=_POLICY_ARGS, required=("method",))
async def core_policy(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """How the IMS-core stub answers requests of `method`: auto, withhold or a status code."""
    try:
        core(ctx).set_policy(args["method"], normalise_action(args.get("action", "auto")))
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
