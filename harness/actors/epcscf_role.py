"""The eP-CSCF-role suite's environment and steps (SUT = eP-CSCF; wicct = WIC + IMS core).

The environment starts wicct's IMS-core stub, brings the SUT up through its driver (the
reference eP-CSCF, Kamailio, or an external endpoint) with the core as its next hop, and
places the WIC emulator in `ctx.actors["peer"]` (also `"wic"`) and the core stub in
`ctx.actors["core"]`. The role-neutral steps of `harness.cases.peer_steps` then work on
the WIC emulator; the steps here add what only this role has:

    wic.connect            open a WebSocket that must open (else INCONCLUSIVE)
    wic.handshake          try an opening handshake whose outcome a later step judges
    expect.handshake_accepted / expect.handshake_refused
    wic.register           REGISTER and wait for its final response
    wic.invite, expect.answered, wic.ack, wic.bye     a call through the SUT
    wic.policy, core.policy                           how wicct's actors answer
    core.send              a terminating request from the core to the registered WIC
    expect.core_received   what (and how many transactions) reached the core
    expect.core_response   what the core got back for core.send
    expect.wic_received    a request the SUT delivered to the WIC
    expect.via_preserved   RFC 7118 §5.3: the WIC's Via sent-by survives the SUT
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any
from urllib.parse import urlsplit

from harness.actors.core import CoreStub, normalise_action
from harness.actors.wic_emulator import DEFAULT_ORIGIN, WicEmulator
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.peer_steps import channel
from harness.cases.registry import environment, step
from harness.evidence import CONNECT, HTTP_REQUEST, HTTP_RESPONSE, NOTE, SIP_ERROR, TLS, Timeline
from harness.pki import client_context
from harness.sip import SipMessage, SipParseError, parse
from harness.suts.base import EpcscfEnv, SutUnavailable
from harness.suts.registry import make_driver
from harness.ws import ConnectResult

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
FOREIGN_ORIGIN = "https://attacker.example.net"
STOP_TIMEOUT = 5.0

_CONN = {"type": "string"}
_DURATION = {"type": ["string", "number"]}
_ACTION = {"type": ["string", "integer"]}
_HANDSHAKE_ARGS: dict[str, Any] = {
    "conn": _CONN,
    "origin": {"type": ["string", "array", "null"], "items": {"type": "string"}},
    "origin_variant": {
        "enum": ["trusted", "foreign", "lookalike", "http", "other_port", "null", "absent", "duplicated"]
    },
    "subprotocols": {"type": "array", "items": {"type": "string"}},
    "version": {"type": ["string", "integer"]},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
}


# --- environment -------------------------------------------------------------------------------


async def _bounded(what: Awaitable[Any], seconds: float, ctx: CaseContext, name: str) -> None:
    try:
        await asyncio.wait_for(what, seconds)
    except Exception as exc:  # noqa: BLE001 - teardown is best effort, but recorded
        ctx.timeline.add("runner", NOTE, f"stopping {name}: {exc!r}")


@environment("epcscf")
@contextlib.asynccontextmanager
async def epcscf_environment(ctx: CaseContext) -> AsyncIterator[None]:
    """wicct as WIC + IMS core around an eP-CSCF under test."""
    profile = ctx.profile
    core = CoreStub(ctx.timeline, profile)
    await core.start()
    ctx.actors["core"] = core
    driver = None
    wic: WicEmulator | None = None
    try:
        driver = make_driver(profile)
        env = EpcscfEnv(
            profile=profile,
            pki=ctx.pki,
            core_host=core.host,
            core_port=core.port,
            core_transport=core.transport,
            workdir=ctx.workdir,
            log=lambda text: ctx.timeline.add("sut", NOTE, text),
        )
        try:
            endpoint = await asyncio.wait_for(driver.start(env), profile.timers.start_timeout)  # type: ignore[arg-type]
        except TimeoutError:
            raise SutUnavailable(
                f"{profile.driver} eP-CSCF did not start within {profile.timers.start_timeout:g} s"
            ) from None
        ctx.timeline.add(
            "runner", NOTE, f"eP-CSCF under test at {endpoint.ws_url} ({profile.driver})",
            url=endpoint.ws_url, ca=str(endpoint.ca_pem) if endpoint.ca_pem else None,
            tls_verify=profile.tls_verify,
        )
        secure = endpoint.ws_url.startswith("wss:")
        context = client_context(endpoint.ca_pem, verify=profile.tls_verify) if secure else None
        wic = WicEmulator(ctx.timeline, profile, endpoint.ws_url, context, server_hostname=endpoint.host)
        ctx.actors["peer"] = ctx.actors["wic"] = wic
        yield
    finally:
        if wic is not None:
            await _bounded(wic.stop(), STOP_TIMEOUT, ctx, "the WIC emulator")
        if driver is not None:
            await _bounded(driver.stop(), 2 * STOP_TIMEOUT, ctx, f"the {profile.driver} driver")
            ctx.sut_logs[f"epcscf-{driver.name}"] = driver.log_text()
        await _bounded(core.stop(), STOP_TIMEOUT, ctx, "the core stub")


def wic(ctx: CaseContext) -> WicEmulator:
    return ctx.actor("wic")


def core(ctx: CaseContext) -> CoreStub:
    return ctx.actor("core")


# --- the opening handshake (RFC 6455 §4; RFC 7118 §4.1; SEED 5.Y.1.1) -----------------------------


def origin_variant(trusted: str, variant: str) -> str | list[str] | None:
    """The Origin stimulus `variant` derived from a trusted origin (EPC-ORIGIN-02)."""
    parts = urlsplit(trusted)
    scheme, host = parts.scheme or "https", parts.hostname or "wwsf.example.test"
    port = f":{parts.port}" if parts.port else ""
    if variant == "trusted":
        return trusted
    if variant == "foreign":
        return FOREIGN_ORIGIN
    if variant == "lookalike":
        return f"{scheme}://{host}.evil{port}"
    if variant == "http":
        return f"{'http' if scheme == 'https' else 'https'}://{host}{port}"
    if variant == "other_port":
        default = 443 if scheme == "https" else 80
        other = (parts.port or default) + 8000 if (parts.port or default) < 57535 else 8443
        return f"{scheme}://{host}:{other}"
    if variant == "null":
        return "null"
    if variant == "absent":
        return None
    return [trusted, FOREIGN_ORIGIN]  # duplicated: a trusted one first, as a naive check reads it


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
        if error.startswith(("tcp:", "tls:")) or (error == "timeout" and not result.tls_ok):
            raise Precondition(f"SUT unreachable at {emulator.url}: {error}", evidence)
        if error == "timeout":
            raise Precondition(
                f"no answer to the WebSocket handshake within {ctx.timers.handshake_timeout:g} s",
                evidence,
            )
    if must_open and result.conn is None:
        status = result.response.status_code if result.response is not None else None
        raise Precondition(
            f"the WebSocket did not open ({status or result.error}): the behaviour under test "
            "needs an open connection", evidence,
        )
    return result


@step("wic.connect", args=_HANDSHAKE_ARGS)
async def wic_connect(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Open a WebSocket to the SUT with the profile's WWSF Origin and `sip` (a precondition)."""
    await _handshake(ctx, args, must_open=True)


@step("wic.handshake", args=_HANDSHAKE_ARGS)
async def wic_handshake(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Attempt an opening handshake (the stimulus); a later expect.handshake_* judges it."""
    await _handshake(ctx, args, must_open=False)


def _handshake_entries(ctx: CaseContext, since: int) -> list[int]:
    kinds = (CONNECT, TLS, HTTP_REQUEST, HTTP_RESPONSE)
    return [e.seq for e in ctx.timeline.select(kind=kinds, actor="wic", since=since)]


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


def accept_value(key: str) -> str:
    """RFC 6455 §4.2.2 step 5.4: base64(SHA-1(key + GUID))."""
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


@step("expect.handshake_accepted", args={"conn": _CONN, "subprotocol": {"type": "string"}})
async def expect_handshake_accepted(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """101 selecting the subprotocol (default `sip`) with a correct Sec-WebSocket-Accept."""
    result, evidence = _result(ctx, args)
    response = result.response
    if response is None:
        ctx.failed(f"no HTTP response to the upgrade request ({result.error})", evidence=evidence)
        return
    if response.status_code != 101:
        ctx.failed(f"handshake refused with {response.status_code} {response.reason_phrase}", evidence=evidence)
        return
    wanted = args.get("subprotocol", "sip")
    selected = ", ".join(response.headers.get_all("Sec-WebSocket-Protocol")) or None
    if selected != wanted:
        ctx.failed(f"101 selects subprotocol {selected!r}, expected {wanted!r}", evidence=evidence)
    key = _sent_key(ctx, args)
    accept = ", ".join(response.headers.get_all("Sec-WebSocket-Accept")) or None
    if key is None or accept != accept_value(key):
        ctx.failed(f"Sec-WebSocket-Accept {accept!r} does not match the key {key!r}", evidence=evidence)
    if result.conn is None:
        ctx.failed(f"101 not acceptable to a WebSocket client: {result.error}", evidence=evidence)
    ctx.passed(f"101 with Sec-WebSocket-Protocol: {selected} and a correct Sec-WebSocket-Accept",
               evidence=evidence)


def status_matches(status: int, wanted: Any) -> bool:
    """`403`, `"4xx"` or a list of those."""
    if isinstance(wanted, list):
        return any(status_matches(status, w) for w in wanted)
    text = str(wanted).strip().lower()
    if len(text) == 3 and text.endswith("xx"):
        return str(status)[0] == text[0]
    return text == str(status)


@step(
    "expect.handshake_refused",
    args={
        "conn": _CONN,
        "status": {"type": ["integer", "string", "array"]},
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
    status = response.status_code
    if status == 101:
        if result.conn is not None:
            await result.conn.close(1.0)
        ctx.failed("handshake accepted with 101 (a Close afterwards would not undo it)", evidence=evidence)
        return
    wanted = args.get("status", "4xx")
    if not status_matches(status, wanted) and not (args.get("any_4xx") and 400 <= status < 500):
        ctx.failed(f"refused with {status} {response.reason_phrase}, expected {wanted}", evidence=evidence)
        return
    for name, value in args.get("header", {}).items():
        got = [v.strip() for line in response.headers.get_all(name) for v in line.split(",")]
        if value not in got:
            ctx.failed(f"{status} without {name}: {value} (got {got or 'none'})", evidence=evidence)
            return
    ctx.passed(f"refused with {status} {response.reason_phrase}", evidence=evidence)


# --- registration and calls (RFC 3261 §10, §13; SEED 5.1.X.1-4) ----------------------------------


def _mode(ctx: CaseContext) -> str:
    """What a timeout (or a refused precondition) means for the current step."""
    from harness.cases.registry import REGISTRY

    if ctx.step is None:
        return "fail"
    return ctx.step.args.get("on_timeout") or REGISTRY.steps[ctx.step.kind].on_timeout


@step(
    "wic.register",
    args={
        "conn": _CONN,
        "as": {"type": "string"},
        "expires": {"type": "integer", "minimum": 0},
        "via_transport": {"type": "string"},
        "sent_by": {"type": "string"},
        "outbound": {"type": "boolean"},
        "frame": {"enum": ["text", "binary"]},
        "options": {"type": "object"},
    },
)
async def wic_register(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """REGISTER and wait for the final response; 2xx expected.

    With `on_timeout: inconclusive` this is a precondition (no finding when it works);
    otherwise registering is the behaviour under test (a PASS or FAIL finding)."""
    chan = channel(ctx, args)
    options = dict(args.get("options", {}))
    for key in ("expires", "via_transport", "sent_by", "outbound"):
        if key in args:
            options[key] = args[key]
    request = wic(ctx).build_request("REGISTER", chan, **options)
    name = args.get("as", "register")
    ctx.vars[name] = request
    seq = await chan.send(request, frame=args.get("frame", "text"))
    ctx.vars["last_sent_seq"] = seq
    within = ctx.within(args, ctx.timers.response_timeout)
    got = await chan.response_to(request, within)
    if got is None:
        why = "connection closed" if chan.closed else f"none within {within:g} s"
        ctx.timed_out(f"no final response to REGISTER ({why})", evidence=[seq])
        return
    ctx.vars[f"response_{name}"] = got
    status = got.message.status or 0
    if not 200 <= status < 300:
        reason = f"REGISTER answered {status} {got.message.reason}"
        if _mode(ctx) == "inconclusive":
            raise Precondition(f"registration failed: {reason}", [seq, got.entry])
        ctx.failed(reason, evidence=[seq, got.entry])
    if _mode(ctx) != "inconclusive":
        ctx.passed(f"REGISTER answered {status}", evidence=[seq, got.entry])


@step("wic.invite", args={"conn": _CONN, "to": {"type": "string"}, "as": {"type": "string"}})
async def wic_invite(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """INVITE with a real aiortc JSEP offer (SEED 5.1.X.2) to `to` (default: the callee)."""
    chan = channel(ctx, args)
    options = {"to": args["to"]} if "to" in args else {}
    request = await wic(ctx).invite(chan, **options)
    ctx.vars[args.get("as", "invite")] = request
    ctx.vars["last_sent_seq"] = chan.sent[-1][1] if chan.sent else 0


@step("expect.answered", args={"conn": _CONN, "to": {"type": "string"}, "ringing": {"type": "boolean"}})
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
        ctx.timed_out(f"no final response to the INVITE within {within:g} s", evidence=[sent])
        return
    status = got.message.status or 0
    if not 200 <= status < 300:
        if _mode(ctx) == "inconclusive":
            raise Precondition(f"the call was not answered: {status}", [sent, got.entry])
        ctx.failed(f"INVITE answered {status}", evidence=[sent, got.entry])
    ctx.vars["dialog"] = wic(ctx).dialog(request, got.message)
    early = [r for r in chan.responses_to(request) if 100 < (r.message.status or 0) < 200 and r.entry < got.entry]
    ringing = any(r.message.status == 180 for r in early)
    has_sdp = b"v=0" in got.message.body
    if args.get("ringing", True) and not ringing:
        ctx.informational("no 180 before the 200 reached the WIC", evidence=[sent, got.entry])
    if _mode(ctx) == "inconclusive":
        return  # a precondition: no PASS standing in for the verdict
    ctx.passed(
        f"INVITE answered {status}{' after 180' if ringing else ''}"
        f"{' with an SDP answer' if has_sdp else ' without SDP'}",
        evidence=[sent, *(r.entry for r in early), got.entry],
    )


@step("wic.ack", args={"conn": _CONN})
async def wic_ack(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """ACK the 2xx: to its Contact, Route set from the Record-Route (RFC 3261 §13.2.2.4)."""
    chan = channel(ctx, args)
    dialog = ctx.vars.get("dialog")
    if dialog is None:
        raise Precondition("no dialog to ACK (the INVITE was not answered)")
    ctx.vars["last_sent_seq"] = await chan.send(wic(ctx).in_dialog(dialog, "ACK", chan))


@step("wic.bye", args={"conn": _CONN, "as": {"type": "string"}})
async def wic_bye(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Release the call with a BYE in the dialog (RFC 3261 §15.1.1)."""
    chan = channel(ctx, args)
    dialog = ctx.vars.get("dialog")
    if dialog is None:
        raise Precondition("no dialog to release")
    request = wic(ctx).in_dialog(dialog, "BYE", chan)
    ctx.vars[args.get("as", "bye")] = request
    ctx.vars["last_sent_seq"] = await chan.send(request)


# --- policies -------------------------------------------------------------------------------------

_POLICY_ARGS = {"method": {"type": "string"}, "action": _ACTION}


@step(
    "wic.policy",
    args={**_POLICY_ARGS, "content_length": {"enum": ["correct", "omit", "larger", "smaller"]}},
    required=("method",),
)
async def wic_policy(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """How the WIC emulator answers requests of `method`: auto, withhold or a status code
    (with an optional Content-Length stimulus on its responses)."""
    try:
        wic(ctx).set_policy(args["method"], args.get("action", "auto"), args.get("content_length", "correct"))
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None


@step("core.policy", args=_POLICY_ARGS, required=("method",))
async def core_policy(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """How the IMS-core stub answers requests of `method`: auto, withhold or a status code."""
    try:
        core(ctx).set_policy(args["method"], normalise_action(args.get("action", "auto")))
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None


# --- the core side ----------------------------------------------------------------------------------


@step(
    "core.send",
    args={
        "method": {"type": "string"},
        "body": {"type": "string"},
        "content_type": {"type": "string"},
        "aor": {"type": "string"},
        "as": {"type": "string"},
    },
    required=("method",),
)
async def core_send(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """A terminating request from the core towards the registered WIC, through the SUT
    (a MESSAGE gets a text body, an INVITE a real aiortc offer, unless `body` is given)."""
    method = args["method"].upper()
    stub = core(ctx)
    if stub.binding(args.get("aor") or ctx.profile.impu) is None:
        raise Precondition(f"cannot send a terminating {method}: no registration at the core")
    body = (args.get("body") or "").encode()
    ctype = args.get("content_type") or ("text/plain" if body else None)
    if "body" not in args and method == "MESSAGE":
        body, ctype = b"wicct: terminating MESSAGE", "text/plain"
    elif "body" not in args and method == "INVITE":
        body, ctype = await stub.offer(), "application/sdp"  # SEED 5.1.X.3: a JSEP offer
    try:
        request = stub.send_request(method, aor=args.get("aor"), body=body, content_type=ctype)
    except LookupError as exc:
        raise Precondition(f"cannot send a terminating {method}: {exc}") from None
    ctx.vars[args.get("as", "core_request")] = request


def _raw_bytes(raw: Any) -> bytes:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    return str(raw or "").encode("utf-8", "surrogateescape")


def relayed_excess(timeline: Timeline, entry: int) -> bytes:
    """Octets the core received after the Content-Length of the message in `entry`.

    On a message-oriented hop (UDP) the core stub itself discards them (RFC 3261 §18.3), so
    its parsed message looks clean; non-empty here means the SUT relayed bytes it had to
    discard."""
    try:
        return parse(_raw_bytes(timeline[entry].data.get("raw"))).excess
    except (IndexError, SipParseError):
        return b""


def relayed_unparsable_responses(timeline: Timeline, call_id: str, since: int = 0) -> list[tuple[int, int]]:
    """(seq, status) of core entries holding a response for `call_id` that the core could not
    parse (e.g. a Content-Length larger than the body, which RFC 3261 §18.3 makes the
    receiver discard): the SUT relayed a response it had to discard itself."""
    found = []
    for entry in timeline.select(kind=SIP_ERROR, actor="core", direction="rx", since=since):
        raw = _raw_bytes(entry.data.get("raw")).lstrip(b"\r\n")
        status = raw[8:11]
        if raw.startswith(b"SIP/2.0 ") and status.isdigit() and call_id.encode() in raw:
            found.append((entry.seq, int(status)))
    return found


@step(
    "expect.core_received",
    args={
        "method": {"type": "string"},
        "count": {"type": "integer", "minimum": 0},
        "min": {"type": "integer", "minimum": 0},
        "max": {"type": "integer", "minimum": 0},
        "body": {"type": "string"},
        "has_header": {"type": "array", "items": {"type": "string"}},
        "lacks_header": {"type": "array", "items": {"type": "string"}},
    },
)
async def expect_core_received(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """What reached the core: distinct transactions of `method` (retransmissions are one).

    `count` exact, or `min` / `max`; `within` waits for them (for `count: 0`, the window
    watched; default: the retransmit window). `body` compares every one's body."""
    stub = core(ctx)
    method = args.get("method")
    count, low, high = args.get("count"), args.get("min"), args.get("max")
    needed = count if count is not None else (low if low is not None else (0 if high is not None else 1))
    what = f"{method or 'request'}"
    if needed > 0:
        within = ctx.within(args, ctx.timers.response_timeout)
        await stub.wait_transactions(method, needed, within)
        if count is not None or high is not None:
            await asyncio.sleep(min(ctx.timers.t1, 0.5))  # let a duplicate show itself
    else:
        window = ctx.within(args, ctx.timers.retransmit_watch)
        await asyncio.sleep(window)
        ctx.mandated(window, f"no {what} at the core")
    found = stub.transactions(method)
    n = len(found)
    evidence = [r.entry for r in found[:6]] or [ctx.vars.get("last_sent_seq", 0)]
    if n < needed:
        ctx.timed_out(f"the core received {n} {what} transaction(s), expected {needed}", evidence=evidence)
        return
    if count is not None and n != count:
        ctx.failed(f"the core received {n} {what} transactions, expected {count}", evidence=evidence)
    if high is not None and n > high:
        ctx.failed(f"the core received {n} {what} transactions, at most {high} expected", evidence=evidence)
    for rx in found:
        message = rx.message
        if "body" in args and message.body != args["body"].encode():
            ctx.failed(f"{message.method} reached the core with body {message.body[:80]!r}, "
                       f"expected {args['body']!r}", evidence=[rx.entry])
        if "body" in args and (excess := relayed_excess(ctx.timeline, rx.entry)):
            ctx.failed(f"{message.method} reached the core followed by {len(excess)} octets after "
                       f"its Content-Length ({excess[:60]!r}): relayed, not discarded (RFC 3261 §18.3)",
                       evidence=[rx.entry])
        for name in args.get("has_header", []):
            if not message.has_header(name):
                ctx.failed(f"{message.method} reached the core without {name}", evidence=[rx.entry])
        for name in args.get("lacks_header", []):
            if message.has_header(name):
                ctx.failed(f"{message.method} reached the core with {name}: {message.header(name)}",
                           evidence=[rx.entry])
    ctx.passed(f"the core received {n} {what} transaction(s)", evidence=evidence)


@step(
    "expect.core_response",
    args={"to": {"type": "string"}, "status": {"type": ["integer", "string", "array"]}, "none": {"type": "boolean"}},
)
async def expect_core_response(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The core gets a final response (of `status`) to its request; with `none: true`, no
    such response arrives within the window (default: the retransmit window)."""
    stub = core(ctx)
    name = args.get("to", "core_request")
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no core request stored as {name!r} (use core.send first)")
    wanted = args.get("status")
    if args.get("none"):
        window = ctx.within(args, ctx.timers.retransmit_watch)
        await asyncio.sleep(window)
        ctx.mandated(window, "no response at the core")
        got = [
            r for r in stub.responses
            if r.message.call_id == request.call_id and (r.message.status or 0) >= 200
            and (wanted is None or status_matches(r.message.status or 0, wanted))
        ]
        if got:
            ctx.failed(f"the core received {got[0].message.status} to its {request.method}",
                       evidence=[r.entry for r in got])
        elif relayed := [
            (seq, code) for seq, code in relayed_unparsable_responses(ctx.timeline, request.call_id)
            if code >= 200 and (wanted is None or status_matches(code, wanted))
        ]:
            ctx.failed(f"a malformed {relayed[0][1]} to the core's {request.method} was relayed to the "
                       "core: the SUT must discard it (RFC 3261 §18.3)", evidence=[seq for seq, _ in relayed])
        else:
            sent = [s.entry for s in stub.sent if s.request is request]
            ctx.passed(f"no {wanted or 'final'} response to {request.method} reached the core "
                       f"within {window:g} s", evidence=sent)
        return
    within = ctx.within(args, ctx.timers.response_timeout)
    rx = await stub.wait_response(request, within)
    if rx is None:
        ctx.timed_out(f"no final response to the core's {request.method} within {within:g} s")
        return
    status = rx.message.status or 0
    if wanted is not None and not status_matches(status, wanted):
        ctx.failed(f"the core's {request.method} answered {status}, expected {wanted}", evidence=[rx.entry])
    else:
        ctx.passed(f"the core's {request.method} answered {status}", evidence=[rx.entry])


@step(
    "expect.wic_received",
    args={"conn": _CONN, "method": {"type": "string"}, "as": {"type": "string"}},
    required=("method",),
)
async def expect_wic_received(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The SUT delivers a request of `method` to the WIC over the connection (e.g. after
    core.send); stored as `as` (default `rx_<method>`)."""
    chan = channel(ctx, args)
    method = args["method"].upper()
    within = ctx.within(args, ctx.timers.response_timeout)
    got = await chan.request(method, within)
    if got is None:
        why = "connection closed" if chan.closed else f"none within {within:g} s"
        ctx.timed_out(f"no {method} reached the WIC ({why})")
        return
    if got.error:  # delivered, but not as SIP the WIC can take: no delivery to build on
        ctx.timed_out(f"the {method} the SUT delivered to the WIC could not be parsed ({got.error})",
                      evidence=[got.entry])
        return
    ctx.vars[args.get("as", f"rx_{method.lower()}")] = got
    if _mode(ctx) != "inconclusive":
        ctx.passed(f"{method} delivered to the WIC", evidence=[got.entry])


@step("expect.via_preserved", args={"to": {"type": "string"}})
async def expect_via_preserved(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """RFC 7118 §5.3: the WIC's Via keeps its sent-by (host and port) towards the core and
    back in the response; `received` may be added or not (recorded)."""
    name = args.get("to", "register")
    request = ctx.vars.get(name)
    got = ctx.vars.get(f"response_{name}")
    if not isinstance(request, SipMessage) or got is None or got.message is None:
        raise Precondition(f"no request and response stored as {name!r} to judge")
    sent = request.top_via
    assert sent is not None
    evidence = [ctx.vars.get("last_sent_seq", 0), got.entry]
    back = got.message.top_via
    if back is None or back.branch != sent.branch:
        ctx.failed("the response's top Via is not the WIC's", evidence=evidence)
        return
    if (back.host.lower(), back.port) != (sent.host.lower(), sent.port):
        ctx.failed(f"sent-by {sent.sent_by!r} came back as {back.sent_by!r}", evidence=evidence)
    notes = [f"received={back.received}" if back.received else "no received parameter"]
    reached = False
    stripped: list[int] = []
    for rx in core(ctx).received(request.method):
        if rx.message.call_id != request.call_id or str(rx.message.cseq) != str(request.cseq):
            continue  # another request (a REGISTER refresh shares the Call-ID)
        copy = next((v for v in rx.message.vias if v.branch == sent.branch), None)
        if copy is None:
            stripped.append(rx.entry)
            continue
        evidence.append(rx.entry)
        reached = True
        if (copy.host.lower(), copy.port) != (sent.host.lower(), sent.port):
            ctx.failed(f"sent-by {sent.sent_by!r} reached the core as {copy.sent_by!r}", evidence=evidence)
        notes.append(f"towards the core: {'received=' + copy.received if copy.received else 'no received'}")
    if not reached and stripped:
        ctx.failed(f"the {request.method} reached the core without the WIC's Via (sent-by {sent.sent_by})",
                   evidence=[*evidence, *stripped])
    if not reached:
        raise Precondition(
            f"the response came back with sent-by {back.sent_by} but no copy of the {request.method} "
            "with the WIC's Via reached the core: the hop towards the core cannot be judged", evidence)
    ctx.passed(f"sent-by {sent.sent_by} unchanged ({'; '.join(notes)})", evidence=evidence)
