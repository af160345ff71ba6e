"""Web-credential registration through an eP-CSCF under test: bearer tokens in, Trusted
Node Authentication towards the core out (SEED 5.Y.1.3; TS 33.203 Annex U; RFC 8898 §2;
RFC 6750 §3). The verdicts are `harness.checks.tna`'s.

    issuer.mode                  make wicct's token issuer misbehave (serve, garbage, down...)
    wic.bearer_register          REGISTER with a token of a given kind, none, two, or a forged
                                 integrity-protected; waits for the final response
    expect.tna_refused           EPC-REG-05/-06: nothing reached the core, a 4xx, the preferred form
    expect.integrity_not_forwarded   EPC-REG-07: the WIC's integrity-protected never reached the core
    expect.wwsf_identity         EPC-REG-03: a foreign issuer's identity carried towards the core
    expect.organization          EPC-SES-03: INVITEs after a foreign-token registration carry
                                 Organization with the WWSF identity, never the WIC's own
    monitor tna                  EPC-REG-02 on every REGISTER with a valid token (always on)
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from dataclasses import dataclass
from typing import Any

from harness.actors.token_issuer import MODES, TokenIssuer
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import monitor, step
from harness.checks import exchanges, organization, tna
from harness.checks.framing import Judgement
from harness.sip import SipMessage
from harness.steps.epcscf.env import EPCSCF, core, wic
from harness.steps.peer import channel, no_answer, sip
from harness.steps.schema import CONN
from harness.tokens import TOKEN_KINDS
from harness.verdicts import Finding, Strength, Verdict

# TS 24.229 §7.2A.2 values a WIC may forge (EPC-REG-07)
FORGEABLE = ("auth-done", "yes", "tls-yes", "ip-assoc-yes", "tls-connected")


@dataclass(frozen=True)
class Stimulus:
    """What `wic.bearer_register` sent, for the expectation steps that judge it."""

    seq: int  # the WIC's tx entry
    kinds: tuple[str, ...]  # the kinds of the Bearer tokens sent, in order
    fingerprints: tuple[str, ...]
    forged: str  # the forged integrity-protected value ("" if none)
    marker: str  # recognises the WIC's forged Authorization header
    conn: str

    @property
    def with_valid_token(self) -> bool:
        return self.kinds == ("valid",)

    def describe(self) -> str:
        parts = [f"{k} token" for k in self.kinds] or ["no token"]
        if self.forged:
            parts.append(f"a forged integrity-protected={self.forged}")
        return "REGISTER with " + " and ".join(parts)


def issuer(ctx: CaseContext) -> TokenIssuer:
    found = ctx.actors.get("issuer")
    if found is None:
        raise Precondition("wicct's token issuer is not running: the profile does not claim web-credentials")
    return found  # type: ignore[no-any-return]


@step("issuer.mode", roles=EPCSCF, args={"mode": {"enum": list(MODES)}}, required=("mode",))
async def issuer_mode(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Make wicct's token issuer serve, answer garbage or HTTP 500, stall, or go down: a
    case's valid-token precondition then shows what a SUT does without its issuer."""
    await issuer(ctx).set_mode(args["mode"])


@step(
    "wic.bearer_register",
    roles=EPCSCF,
    args={
        "conn": CONN,
        "as": {"type": "string"},
        "token": {"enum": [*TOKEN_KINDS, "none"]},
        "second_token": {"enum": list(TOKEN_KINDS)},
        "forge_integrity": {"enum": list(FORGEABLE)},
        "joined": {"type": "boolean"},
    },
)
async def wic_bearer_register(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """REGISTER with `Authorization: Bearer <token>`: a fresh token of kind `token` (default
    valid; `none`: no Bearer) minted by wicct's issuer for the profile's IMPI, then a second
    Authorization: Bearer with a `second_token`, then, with `forge_integrity`, an
    Authorization: Digest the WIC adds itself carrying that integrity-protected value.
    With `joined`, the credentials share one Authorization row, comma-separated (the
    RFC 3261 §7.3.1 list spelling, which that clause does not allow for Authorization).
    Waits for the final response and stores it (`response_<as>`).

    A REGISTER with a valid token and nothing else is expected to register (2xx, and the
    REGISTER reached the core): PASS/FAIL, or with `on_timeout: inconclusive` a
    precondition whose failure names what wicct's issuer saw. Any other stimulus is judged
    by `expect.tna_refused` or `expect.integrity_not_forwarded`."""
    chan = channel(ctx, args)
    name = args.get("as", "register")
    kinds = tuple(k for k in (args.get("token", "valid"), args.get("second_token")) if k and k != "none")
    values: list[str] = []
    fingerprints: list[str] = []
    if kinds:
        source = issuer(ctx)
        for kind in kinds:
            minted = source.mint(kind, impi=ctx.profile.impi, impus=(ctx.profile.impu,))
            values.append(f"Bearer {minted.token}")
            fingerprints.append(minted.fingerprint)
    forged = args.get("forge_integrity", "")
    marker = f"wicct-forged-{secrets.token_hex(4)}" if forged else ""
    if forged:
        domain = ctx.profile.domain
        values.append(
            f'Digest username="{ctx.profile.impi}", realm="{domain}", uri="sip:{domain}", nonce="", '
            f'response="", integrity-protected="{forged}", opaque="{marker}"'
        )
    joined = ["Authorization"] if args.get("joined") else []
    request = wic(ctx).build_request("REGISTER", chan, authorization=values, joined=joined)
    since = len(ctx.timeline)
    seq = await chan.send(request)
    ctx.vars[name] = request
    ctx.vars["last_sent_seq"] = seq
    stimulus = Stimulus(seq, kinds, tuple(fingerprints), forged, marker, chan.conn.conn_id)
    ctx.vars[f"{name}_stimulus"] = stimulus
    within = ctx.within(args, ctx.timers.response_timeout)
    got = await chan.response_to(request, within)
    ctx.vars[f"response_{name}"] = got
    if not stimulus.with_valid_token or forged:
        return
    entries = list(ctx.timeline)
    story = tna.issuer_story(entries, since=since)
    ours = tna.issuer_failed(entries)  # wicct's issuer failed: no verdict on the SUT
    if got is None:
        what = f"no final response to a REGISTER with a valid token ({story})"
        if ours:
            raise Precondition(what, [seq])
        no_answer(ctx, chan, within, what, [seq])
        return
    status = sip(got).status or 0
    if not 200 <= status < 300:
        judged = exchanges.token_register_relayed(ctx.timeline[got.entry], [])
        what = f"{judged.reason}: {story}"
        if ours:
            raise Precondition(what, [seq, got.entry])
        ctx.unmet(what, [seq, got.entry])
        return
    reached = [r for r in core(ctx).received("REGISTER")
               if (r.message.call_id, str(r.message.cseq)) == (request.call_id, str(request.cseq))]
    judged = exchanges.token_register_relayed(ctx.timeline[got.entry], [ctx.timeline[r.entry] for r in reached])
    if not reached:
        ctx.unmet(judged.reason, [seq, got.entry])
        return
    ctx.held(judged.reason, evidence=[seq, got.entry, reached[0].entry])


def _stimulus(ctx: CaseContext, args: dict[str, Any]) -> tuple[str, Stimulus, SipMessage]:
    name = args.get("to", "register")
    stimulus = ctx.vars.get(f"{name}_stimulus")
    request = ctx.vars.get(name)
    if not isinstance(stimulus, Stimulus) or not isinstance(request, SipMessage):
        raise RuntimeError(f"no REGISTER stored as {name!r} (use wic.bearer_register with `as:` first)")
    return name, stimulus, request


def _record(ctx: CaseContext, judgement: Judgement, evidence: list[int], *,
            strength: Strength | None = None) -> None:
    """A check's judgement as this step's finding; a FAIL ends the step (and, at shall
    level, the case)."""
    cited = [*evidence, *judgement.evidence]
    if judgement.verdict is Verdict.FAIL:
        ctx.failed(judgement.reason, evidence=cited, strength=strength)
    ctx.judge(judgement.verdict, judgement.reason, evidence=cited, note=judgement.note, strength=strength)


async def _watch_core(ctx: CaseContext, got: Any) -> tuple[float, str]:
    """Watch the core for `retransmit_watch` after the SUT's final response (or, when none
    came, after the response timeout); the words for the PASS reason."""
    window = ctx.timers.retransmit_watch
    await asyncio.sleep(window)
    ctx.mandated(window, "no REGISTER at the core")
    after = f"its {sip(got).status}" if got is not None else "the response timeout"
    return window, (f"watched from the stimulus until {window:g} s after {after} "
                    f"(timers.retransmit_watch)")


@step(
    "expect.tna_refused",
    roles=EPCSCF,
    args={"conn": CONN, "to": {"type": "string"}, "preferred": {"enum": [*tna.FORMS, "none"]}},
)
async def expect_tna_refused(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """EPC-REG-05/-06 (RFC 8898 §2.2, RFC 6750 §3.1): the REGISTER stored as `to` (a bad
    token, none, two) reached nothing in the core (shall: no new REGISTER and no request
    carrying the token within `timers.retransmit_watch` after the SUT's final response),
    was refused with a 4xx (shall), in the `preferred` form (should: `invalid_token`,
    `challenge`, `insufficient_scope`, `invalid_request`; `none`: no preferred form)."""
    chan = channel(ctx, args)
    _, stimulus, request = _stimulus(ctx, args)
    got = ctx.vars.get(f"response_{args.get('to', 'register')}")
    _, watched = await _watch_core(ctx, got)
    cited = [stimulus.seq, *([got.entry] if got is not None else [])]
    entries = list(ctx.timeline)
    _record(ctx, tna.nothing_reached_core(entries, since=stimulus.seq, fingerprints=stimulus.fingerprints,
                                          watched=watched), cited)
    if got is None:
        no_answer(ctx, chan, ctx.timers.response_timeout,
                  f"no final response to the {stimulus.describe()}", cited)
        return
    response = sip(got)
    _record(ctx, tna.refused(response.status or 0, response.reason or "", stimulus.describe()), cited)
    form = args.get("preferred", "none")
    if form != "none" and 400 <= (response.status or 0) < 500:
        _record(ctx, tna.preferred_form(response, form), cited, strength=Strength.SHOULD)


@step("expect.integrity_not_forwarded", roles=EPCSCF, args={"conn": CONN, "to": {"type": "string"}})
async def expect_integrity_not_forwarded(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """EPC-REG-07 (TS 33.203 Annex U, P.4): the integrity-protected value the WIC forged in
    the REGISTER stored as `to` never reaches the core (watched until
    `timers.retransmit_watch` after the SUT's final response): stripped, replaced by the
    eP-CSCF's own `auth-done` after a valid token (with the core's digest registrar on: by
    the eP-CSCF's own digest marking), or the request refused (401/403; another 4xx is
    NON-STRICT)."""
    chan = channel(ctx, args)
    _, stimulus, request = _stimulus(ctx, args)
    if not stimulus.forged:
        raise RuntimeError("expect.integrity_not_forwarded needs a wic.bearer_register with forge_integrity")
    got = ctx.vars.get(f"response_{args.get('to', 'register')}")
    await _watch_core(ctx, got)
    cited = [stimulus.seq, *([got.entry] if got is not None else [])]
    judgement = tna.forged_integrity(list(ctx.timeline), since=stimulus.seq, marker=stimulus.marker,
                                     value=stimulus.forged, with_token=stimulus.with_valid_token,
                                     digest=core(ctx).digest is not None)
    _record(ctx, judgement, cited)
    if tna.new_registers(list(ctx.timeline), since=stimulus.seq):  # forwarded without the WIC's value
        return
    if got is None:
        no_answer(ctx, chan, ctx.timers.response_timeout,
                  f"no final response to the {stimulus.describe()}", cited)
        return
    response = sip(got)
    _record(ctx, tna.refused_forged(response.status or 0, response.reason or ""), cited)


@step("expect.wwsf_identity", roles=EPCSCF, args={"conn": CONN, "to": {"type": "string"}})
async def expect_wwsf_identity(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """EPC-REG-03 (SEED 5.Y.1.3): the REGISTER stored as `to`, with a token from a WWSF's
    authorization server outside the operator domain (`token: foreign`), was accepted
    (2xx) and reached the core carrying that issuer's identity where the profile says
    (`auth.wwsf_identity`: header and parameter, unconfirmed; named in the finding)."""
    chan = channel(ctx, args)
    name, stimulus, request = _stimulus(ctx, args)
    got = ctx.vars.get(f"response_{name}")
    issuer_id = ctx.profile.auth.tokens.foreign_issuer
    cited = [stimulus.seq, *([got.entry] if got is not None else [])]
    if got is None:
        no_answer(ctx, chan, ctx.timers.response_timeout, f"no final response to the {stimulus.describe()}", cited)
        return
    status = sip(got).status or 0
    if not 200 <= status < 300:
        ctx.failed(f"the {stimulus.describe()} from {issuer_id} answered {status} {sip(got).reason}: the "
                   "profile claims wwsf-identity (tokens from outside the operator domain)", evidence=cited)
    auth = ctx.profile.auth
    _record(ctx, tna.wwsf_identity(list(ctx.timeline), since=stimulus.seq, header=auth.wwsf_identity_header,
                                   param=auth.wwsf_identity_param, issuer=issuer_id), cited)


@step("expect.organization", roles=EPCSCF,
      args={"conn": CONN, "to": {"type": "string"}, "after": {"type": "string"}}, required=("after",))
async def expect_organization(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """EPC-SES-03 (SEED 5.Y.2, should): every INVITE the core received since the REGISTER
    stored as `after` (`wic.bearer_register` with `token: foreign`) carries `Organization:`
    with the WWSF identity (the foreign issuer, `auth.foreign_issuer`), and the WIC's own
    Organization never reached the core (replaced, or the INVITE refused). Waits for the
    final response to the INVITE stored as `to` (default `invite`), releases the call if it
    was answered (ACK, BYE), then watches the core for `timers.retransmit_watch`."""
    chan = channel(ctx, args)
    _, stimulus, _ = _stimulus(ctx, {"to": args["after"]})
    request = ctx.vars.get(args.get("to", "invite"))
    if not isinstance(request, SipMessage):
        raise RuntimeError("expect.organization: no INVITE stored as `to` (use `as:` on wic.invite)")
    got = await chan.response_to(request, ctx.within(args, ctx.timers.response_timeout + 2.0))
    if got is not None and 200 <= (sip(got).status or 0) < 300:  # release it: not under test
        dialog = wic(ctx).dialog(request, sip(got))
        await chan.send(wic(ctx).in_dialog(dialog, "ACK", chan))
        bye = wic(ctx).in_dialog(dialog, "BYE", chan)
        await chan.send(bye)
        await chan.response_to(bye, ctx.timers.response_timeout)
    window = ctx.timers.retransmit_watch
    await asyncio.sleep(window)
    ctx.mandated(window, "no INVITE with the WIC's Organization at the core")
    judgement = organization.organization(list(ctx.timeline), since=stimulus.seq,
                                          identity=ctx.profile.auth.tokens.foreign_issuer)
    watched = (f"; the core watched until {window:g} s after the last final response "
               "(timers.retransmit_watch)")
    _record(ctx, dataclasses.replace(judgement, reason=judgement.reason + watched),
            [stimulus.seq, *([got.entry] if got is not None else [])])


@monitor("tna", always=True, requirements=["EPC-REG-02"])
def tna_monitor(ctx: CaseContext) -> list[Finding]:
    """Every REGISTER the WIC sent with a valid token reached the core with the TNA
    header (username = the token's IMPI, integrity-protected=auth-done, the profile's
    auth.tna_fields), no Bearer, and its final response came back on the same WebSocket."""
    judgement = tna.tna_forwarded(list(ctx.timeline), fields=ctx.profile.auth.tna_fields)
    if judgement is None:
        return []
    return ctx.judge(judgement.verdict, f"monitor: {judgement.reason}", evidence=judgement.evidence,
                     requirement="EPC-REG-02", note=judgement.note)
