"""The opening handshake towards an eP-CSCF under test (RFC 6455 §4; RFC 7118 §4.1;
SEED 5.Y.1.1): the WIC emulator's attempts and their judgement.

    wic.connect            open a WebSocket that must open (else INCONCLUSIVE)
    wic.handshake          try an opening handshake whose outcome a later step judges
    expect.handshake_accepted / expect.handshake_refused
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from harness.actors.wic_emulator import DEFAULT_ORIGIN
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks import exchanges
from harness.checks.handshake import refusal
from harness.evidence import (
    CONNECT,
    HTTP_REQUEST,
    HTTP_RESPONSE,
    NOTE,
    TLS,
    WS_CLOSE,
    WS_ERROR,
    WS_FRAME,
)
from harness.steps.epcscf.env import EPCSCF, wic
from harness.steps.schema import CONN, STATUS
from harness.verdicts import Verdict
from harness.ws import ConnectResult

FOREIGN_ORIGIN = "https://attacker.example.net"
# EPC-ORIGIN-02's stimuli: the mistakes a careless Origin comparison makes
ORIGIN_VARIANTS = (
    "trusted", "foreign", "lookalike", "suffix", "subdomain", "userinfo", "http", "other_port",
    "null", "absent", "duplicated", "duplicated_foreign_first",
)

_HANDSHAKE_ARGS: dict[str, Any] = {
    "conn": CONN,
    "origin": {"type": ["string", "array", "null"], "items": {"type": "string"}},
    "origin_variant": {
        "enum": list(ORIGIN_VARIANTS)
    },
    "subprotocols": {"type": "array", "items": {"type": "string"}},
    "version": {"type": ["string", "integer"]},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
}


def origin_variant(trusted: str, variant: str) -> str | list[str] | None:
    """The Origin stimulus `variant` derived from a trusted origin (EPC-ORIGIN-02).

    lookalike: the trusted host with a suffix (passes a prefix match); suffix: another
    host ending in the trusted one without a dot boundary (passes an ends-with match);
    subdomain: a host under the trusted one (passes a dot-suffix match); userinfo: the
    trusted host as userinfo before a foreign one (passes a substring match); duplicated:
    two Origin headers, trusted first (a check reading the first) or foreign first (a
    check reading the last)."""
    parts = urlsplit(trusted)
    scheme, host = parts.scheme or "https", parts.hostname or "wwsf.example.test"
    port = f":{parts.port}" if parts.port else ""
    variants: dict[str, str | list[str] | None] = {
        "trusted": trusted,
        "foreign": FOREIGN_ORIGIN,
        "lookalike": f"{scheme}://{host}.evil{port}",
        "suffix": f"{scheme}://evil{host}{port}",
        "subdomain": f"{scheme}://attacker.{host}{port}",
        "userinfo": f"{scheme}://{host}{port}@attacker.example.net",
        "http": f"{'http' if scheme == 'https' else 'https'}://{host}{port}",
        "null": "null",
        "absent": None,
        "duplicated": [trusted, FOREIGN_ORIGIN],
        "duplicated_foreign_first": [FOREIGN_ORIGIN, trusted],
    }
    if variant == "other_port":
        default = 443 if scheme == "https" else 80
        other = (parts.port or default) + 8000 if (parts.port or default) < 57535 else 8443
        return f"{scheme}://{host}:{other}"
    return variants[variant]


def _origin(ctx: CaseContext, args: dict[str, Any]) -> Any:
    if "origin_variant" in args:
        trusted = (ctx.profile.trusted_origins or (ctx.profile.wwsf_origin,))[0]
        return origin_variant(trusted, args["origin_variant"])
    if "origin" in args:
        return args["origin"]
    return DEFAULT_ORIGIN


async def _handshake(ctx: CaseContext, args: dict[str, Any], *, must_open: bool) -> ConnectResult:
    name = args.get("conn", "main")
    since = len(ctx.timeline)
    emulator = wic(ctx)
    result = await emulator.connect(
        name,
        origin=_origin(ctx, args),
        subprotocols=args.get("subprotocols", ["sip"]),
        version=str(args.get("version", "13")),
        extra_headers=list(args.get("headers", {}).items()),
    )
    ctx.vars[f"handshake_{name}"] = result
    ctx.vars[f"handshake_{name}_since"] = since
    evidence = _handshake_entries(ctx, since)
    if result.response is None and result.conn is None:
        error = result.error or "unknown error"
        timeout = error == "timeout" or error.startswith("timeout:")
        if error.startswith(("tcp:", "tls:")) or (timeout and not result.tls_ok):
            raise Precondition(f"SUT unreachable at {emulator.url}: {error}", evidence)
        if error.startswith("timeout:"):  # part of an HTTP head, then nothing
            raise Precondition(error.removeprefix("timeout: "), [*evidence, *_notes(ctx, since)])
        if timeout:
            raise Precondition(
                f"no answer to the WebSocket handshake within {ctx.timers.handshake_timeout:g} s",
                evidence,
            )
    if must_open and result.conn is None and result.accepted:
        # RFC 6455 §7.1.7: a valid 101, then the SUT's invalid frame (or its close) ended
        # the connection: the SUT's doing, cited, and not a judgement of the 101
        raise Precondition(f"{result.error}: the behaviour under test needs an open connection",
                           [*evidence, *_after_101(ctx, since)])
    if must_open and result.conn is None:
        status = result.response.status_code if result.response is not None else None
        raise Precondition(
            f"the WebSocket did not open ({status or result.error}): the behaviour under test "
            "needs an open connection", evidence,
        )
    return result


@step("wic.connect", roles=EPCSCF, args=_HANDSHAKE_ARGS)
async def wic_connect(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Open a WebSocket to the SUT with the profile's WWSF Origin and `sip` (a precondition)."""
    await _handshake(ctx, args, must_open=True)


@step("wic.handshake", roles=EPCSCF, args=_HANDSHAKE_ARGS)
async def wic_handshake(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Attempt an opening handshake (the stimulus); a later expect.handshake_* judges it."""
    await _handshake(ctx, args, must_open=False)


def _handshake_entries(ctx: CaseContext, since: int) -> list[int]:
    kinds = (CONNECT, TLS, HTTP_REQUEST, HTTP_RESPONSE)
    return [e.seq for e in ctx.timeline.select(kind=kinds, actor="wic", since=since)]


def _notes(ctx: CaseContext, since: int) -> list[int]:
    return [e.seq for e in ctx.timeline.select(kind=NOTE, actor="wic", since=since)]


def _after_101(ctx: CaseContext, since: int, conn: str | None = None) -> list[int]:
    """The entries of what ended a connection after its 101: the SUT's frames, wicct's
    error (`ws.error`, RFC 6455 §7.1.7) and the close."""
    kinds = (WS_FRAME, WS_ERROR, WS_CLOSE)
    return [e.seq for e in ctx.timeline.select(kind=kinds, actor="wic", conn=conn, since=since)
            if e.kind != WS_FRAME or e.direction == "rx"]


def _watch_after_101(ctx: CaseContext, name: str, since: int) -> None:
    """Once the steps are over: if wicct failed this connection because of the SUT's frame
    (RFC 6455 §5.1 masking, §5.2 reserved bits...), record it as INFORMATIONAL with its
    entries. No eP-CSCF requirement covers the frames the SUT sends, and the 101 itself was
    judged on what the 101 must be, whenever that frame arrived."""

    request = next(iter(ctx.timeline.select(kind=HTTP_REQUEST, actor="wic", direction="tx",
                                            since=since)), None)
    if request is None:
        return
    conn = request.conn

    def judge(until: int) -> None:
        errors = [e for e in ctx.timeline.select(kind=WS_ERROR, actor="wic", conn=conn, since=since)
                  if e.seq <= until]
        if errors:
            ctx.informational(f"after its 101 the SUT sent an invalid frame on connection {name!r}: "
                              f"{errors[0].data.get('error')}",
                              evidence=[errors[0].seq, *_after_101(ctx, since, conn)][:8])

    ctx.watches.append(judge)


def _result(ctx: CaseContext, args: dict[str, Any]) -> tuple[ConnectResult, list[int]]:
    name = args.get("conn", "main")
    result = ctx.vars.get(f"handshake_{name}")
    if not isinstance(result, ConnectResult):
        raise RuntimeError(f"no handshake on connection {name!r} (use wic.handshake first)")
    return result, _handshake_entries(ctx, ctx.vars.get(f"handshake_{name}_since", 0))


def _sent_key(ctx: CaseContext, args: dict[str, Any]) -> str | None:
    since = ctx.vars.get(f"handshake_{args.get('conn', 'main')}_since", 0)
    for entry in ctx.timeline.select(kind=HTTP_REQUEST, actor="wic", direction="tx", since=since):
        for name, value in entry.data.get("headers", []):
            if name.lower() == "sec-websocket-key":
                return value
    return None


@step("expect.handshake_accepted", roles=EPCSCF, args={"conn": CONN, "subprotocol": {"type": "string"}})
async def expect_handshake_accepted(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """101 selecting the subprotocol (default `sip`) with a correct Sec-WebSocket-Accept."""
    result, evidence = _result(ctx, args)
    responses = [s for s in evidence if ctx.timeline[s].kind == HTTP_RESPONSE]
    response = ctx.timeline[responses[-1]] if responses and result.response is not None else None
    made = exchanges.upgrade_accepted(response, _sent_key(ctx, args),
                                      args.get("subprotocol", "sip"), error=str(result.error or ""),
                                      accepted=result.conn is not None or bool(result.accepted))
    for judged in made[:-1]:
        ctx.failed(judged.reason, evidence=evidence)
    if made[-1].verdict is not Verdict.PASS:  # no 101 at all
        ctx.failed(made[-1].reason, evidence=evidence)
        return
    # a frame after the 101 is a separate fact, judged the same whenever it arrives
    name = args.get("conn", "main")
    _watch_after_101(ctx, name, ctx.vars.get(f"handshake_{name}_since", 0))
    ctx.passed(made[-1].reason, evidence=evidence)


@step(
    "expect.handshake_refused",
    roles=EPCSCF,
    args={
        "conn": CONN,
        "status": STATUS,
        "any_4xx": {"type": "boolean"},
        "header": {"type": "object", "additionalProperties": {"type": "string"}},
    },
)
async def expect_handshake_refused(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Refused at the HTTP level: the status wanted (any 4xx with `any_4xx`), never a 101.

    A 101 is a FAIL even if a Close follows (the connection is closed by wicct)."""
    result, evidence = _result(ctx, args)
    response = result.response
    if response is None:
        ctx.failed(f"no HTTP refusal: the connection ended without a response ({result.error})",
                   evidence=evidence)
        return
    if response.status_code == 101 and result.conn is not None:
        await result.conn.close(1.0)
    judged = refusal([ctx.timeline[seq] for seq in evidence], args.get("status", "4xx"),
                     any_4xx=bool(args.get("any_4xx")), headers=args.get("header", {}))
    if judged is None:
        raise RuntimeError(f"the {response.status_code} to the upgrade request was not recorded")
    if judged.verdict is not Verdict.PASS:
        ctx.failed(judged.reason, evidence=evidence)
        return
    ctx.passed(judged.reason, evidence=evidence)
