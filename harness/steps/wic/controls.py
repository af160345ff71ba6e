"""What a case makes the WIC under test and wicct's eP-CSCF emulator do: driver verbs
(register, call, answer, hang up) and the emulator's knobs (certificate, answer policy,
a terminating INVITE, a BYE from the core).

A driver verb that fails is INCONCLUSIVE unless the case says `on_error: fail`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.actors.channel import SipChannel
from harness.actors.epcscf_emulator import CERTIFICATES, POLICY_MODES, Policy
from harness.actors.epcscf_emulator.offers import OFFER_KINDS
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.evidence import DRIVER
from harness.steps.schema import CONN, ON_ERROR
from harness.steps.wic.env import WIC, emulator
from harness.suts.base import DriverError, WicDriver


async def _verb(ctx: CaseContext, args: dict[str, Any], verb: str, *params: Any) -> None:
    driver: WicDriver = ctx.actor("driver")
    shown = f"driver.{verb}({', '.join(map(str, params))})"
    ctx.timeline.add("runner", DRIVER, shown, verb=verb, args=list(params))
    within = ctx.within(args, ctx.timers.start_timeout)
    try:
        await asyncio.wait_for(getattr(driver, verb)(*params), within)
    except (DriverError, TimeoutError) as exc:
        why = str(exc) if isinstance(exc, DriverError) else f"no answer within {within:g} s"
        entry = ctx.timeline.add("runner", DRIVER, f"{shown} failed: {why}", verb=verb, error=why)
        if args.get("on_error") == "fail":
            ctx.failed(f"the WIC could not {verb}: {why}", evidence=[entry.seq])
        raise Precondition(f"the WIC driver could not {verb}: {why}", [entry.seq]) from None


@step("driver.register", roles=WIC, args={"on_error": ON_ERROR})
async def driver_register(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Make the WIC connect to wicct's eP-CSCF and REGISTER."""
    await _verb(ctx, args, "register")


@step("driver.call", roles=WIC, args={"target": {"type": "string"}, "on_error": ON_ERROR})
async def driver_call(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Make the WIC call `target` (default: the profile's callee) with a JSEP offer."""
    await _verb(ctx, args, "call", args.get("target") or ctx.profile.callee)


@step("driver.answer", roles=WIC, args={"on_error": ON_ERROR})
async def driver_answer(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Make the WIC accept the incoming call (200 with a JSEP answer)."""
    await _verb(ctx, args, "answer")


@step("driver.hangup", roles=WIC, args={"on_error": ON_ERROR})
async def driver_hangup(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Make the WIC release the current call (BYE, CANCEL or a rejection)."""
    await _verb(ctx, args, "hangup")


# -- the eP-CSCF emulator's knobs -----------------------------------------------------------


@step("epcscf.certificate", roles=WIC, args={"kind": {"enum": list(CERTIFICATES)}}, required=("kind",))
async def epcscf_certificate(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Present a valid, an untrusted (unrelated CA) or a wrong-name certificate from now on."""
    ctx.vars["certificate_since"] = len(ctx.timeline)  # expect.no_connection judges from here
    emulator(ctx).use_certificate(args["kind"])


@step(
    "epcscf.policy",
    roles=WIC,
    args={
        "method": {"type": "string"},
        "mode": {"enum": list(POLICY_MODES)},
        "status": {"type": "integer", "minimum": 100, "maximum": 699},
        "content_length": {"enum": ["correct", "larger"]},
        "frame": {"enum": ["text", "binary"]},
    },
    required=("method",),
)
async def epcscf_policy(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """How the emulator answers the WIC's requests of `method` from now on: auto, withhold,
    another status, or strip `received`/`rport` from the top Via; optionally with a
    Content-Length larger than the body, or in binary frames (`frame: binary`, BOTH-FR-04)."""
    policy = Policy(
        mode=args.get("mode", "auto"),
        status=args.get("status", 0),
        content_length=args.get("content_length", "correct"),
        frame=args.get("frame", "text"),
    )
    emulator(ctx).set_policy(args["method"], policy)


@step("epcscf.grant_expires", roles=WIC, args={"seconds": {"type": "integer", "minimum": 1}},
      required=("seconds",))
async def epcscf_grant_expires(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The emulator's registrar grants at most `seconds` from now on (RFC 3261 §10.3 step 7:
    a registrar may shorten the expiration), so a WIC refreshes its registration within
    the case (RFC 3261 §10.2.4) and every refresh is judged like the first REGISTER."""
    emulator(ctx).max_expires = int(args["seconds"])


@step("epcscf.invite", roles=WIC,
      args={"conn": CONN, "as": {"type": "string"}, "offer": {"enum": list(OFFER_KINDS)}})
async def epcscf_invite(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The IMS core calls the registered WIC: INVITE with a real aiortc offer, `offer`
    `audio` (default), `audio-video`, `ims` or `ims-audio-video` (IMS-style: no BUNDLE,
    `a=rtcp:` on its own port beside rtcp-mux; WIC-SES-03). The 2xx is ACKed by the emulator. Stored as `as`
    (default `invite`) for expect.response."""
    emu = emulator(ctx)
    if emu.registration is None:
        raise Precondition("the WIC is not registered: no Contact to send an INVITE to")
    chan = await channel(ctx, args)
    invite, seq = await emu.invite(chan, args.get("offer", "audio"))
    ctx.vars[args.get("as", "invite")] = invite
    ctx.vars["last_sent_seq"] = seq


@step("epcscf.bye", roles=WIC, args={"conn": CONN, "as": {"type": "string"}})
async def epcscf_bye(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The IMS core releases the current call: BYE in its dialog (stored as `as`, default `bye`)."""
    emu = emulator(ctx)
    dialog = emu.current_dialog()
    if dialog is None or not await emu.established(dialog, ctx.timers.response_timeout):
        raise Precondition("no established call to release")
    chan = await channel(ctx, args)
    bye = emu.build_request("BYE", chan)
    dialog.ended = True
    ctx.vars[args.get("as", "bye")] = bye
    ctx.vars["last_sent_seq"] = await chan.send(bye)


async def channel(ctx: CaseContext, args: dict[str, Any], within: float = 0.0) -> SipChannel:
    name = args.get("conn", "main")
    chan = await emulator(ctx).wait_channel(name, within)
    if chan is None:
        raise Precondition(f"no WebSocket connection {name!r} from the WIC")
    return chan
