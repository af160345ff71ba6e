"""Monitors: checks of `harness.checks` that hold on every message, judged over a
case's whole timeline.

Like TTCN-3 default altsteps, a case enables the monitors it wants (`monitors:`) and the
findings are attributed to the monitor's requirement id. What the SUT sent is what
wicct's peer actor (`ctx.actors["peer"].actor_name`, "epcscf" or "wic") received.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.cases.context import CaseContext
from harness.cases.registry import monitor
from harness.checks import framing, handshake, retransmission, transport
from harness.checks.framing import Judgement
from harness.evidence import Entry
from harness.verdicts import Finding

Check = Callable[[list[Entry], str], Judgement | None]


def _peer_actor(ctx: CaseContext) -> str:
    return "epcscf" if ctx.case.sut == "wic" else "wic"


def _judge(ctx: CaseContext, requirement: str, check: Check) -> list[Finding]:
    judgement = check(list(ctx.timeline), _peer_actor(ctx))
    if judgement is None:
        return []
    return ctx.judge(
        judgement.verdict,
        f"monitor: {judgement.reason}",
        evidence=judgement.evidence,
        requirement=requirement,
        note=judgement.note,
    )


@monitor("framing", always=True, requirements=["WIC-FR-01"])
def framing_monitor(ctx: CaseContext) -> list[Finding]:
    """One SIP message per WebSocket message, nothing after its body."""
    return _judge(ctx, "WIC-FR-01", framing.one_sip_message_per_ws_message)


@monitor("masking", always=True, requirements=["WIC-FR-02"])
def masking_monitor(ctx: CaseContext) -> list[Finding]:
    """Every frame from the WIC is masked."""
    return _judge(ctx, "WIC-FR-02", framing.frames_masked)


@monitor("utf8", always=True, requirements=["WIC-FR-03"])
def utf8_monitor(ctx: CaseContext) -> list[Finding]:
    """Text frames from the WIC carry valid UTF-8."""
    return _judge(ctx, "WIC-FR-03", framing.text_is_utf8)


@monitor("via_transport", always=True, requirements=["WIC-TP-01"])
def via_monitor(ctx: CaseContext) -> list[Finding]:
    """Top Via of every WIC request is SIP/2.0/WSS."""
    return _judge(ctx, "WIC-TP-01", transport.via_transport_wss)


@monitor("contact_transport", always=True, requirements=["WIC-TP-02"])
def contact_monitor(ctx: CaseContext) -> list[Finding]:
    """Contact URI transport=ws in REGISTER and INVITE."""
    return _judge(ctx, "WIC-TP-02", transport.contact_transport_ws)


@monitor("via_sent_by", requirements=["EPC-TP-01"])
def via_sent_by_monitor(ctx: CaseContext) -> list[Finding]:
    """Every response back to the WIC keeps the sent-by of the WIC's Via (RFC 7118 §5.3)."""
    return _judge(ctx, "EPC-TP-01", transport.sent_by_kept)


@monitor("only_sip", requirements=["BOTH-FR-10"])
def only_sip_monitor(ctx: CaseContext) -> list[Finding]:
    """The SUT sends only SIP and CRLF keep-alives (informational)."""
    return _judge(ctx, "BOTH-FR-10", framing.only_sip_and_keepalives)


@monitor("upgrade", always=True, requirements=["WIC-HS-01"])
def upgrade_monitor(ctx: CaseContext) -> list[Finding]:
    """Every upgrade request of the WIC: GET over TLS, Upgrade, Connection, version 13,
    a valid 16-octet key, `sip` offered (reconnects included)."""
    return _judge(ctx, "WIC-HS-01", handshake.upgrade_requests_valid)


@monitor("origin", always=True, requirements=["WIC-HS-02"])
def origin_monitor(ctx: CaseContext) -> list[Finding]:
    """Every upgrade request of the WIC carries one Origin, the WWSF origin."""
    expected = str(ctx.vars.get("wwsf_origin") or ctx.profile.wwsf_origin)
    return _judge(ctx, "WIC-HS-02", lambda entries, actor: handshake.origins_valid(entries, actor, expected))


@monitor("accept", always=True, requirements=["EPC-HS-01"])
def accept_monitor(ctx: CaseContext) -> list[Finding]:
    """Every 101 of the eP-CSCF selects `sip` and carries the right Sec-WebSocket-Accept."""
    return _judge(ctx, "EPC-HS-01", handshake.accepts_valid)


@monitor("no_copies", always=True, requirements=["BOTH-TP-04"])
def no_copies_monitor(ctx: CaseContext) -> list[Finding]:
    """No request or response of the SUT sent again over the WebSocket unless wicct's own
    copies provoked it (RFC 7118 §5, RFC 3261 §17): every message, both roles."""
    return _judge(ctx, "BOTH-TP-04", retransmission.no_copies_over_ws)
