"""The WIC role: the SUT is a WebRTC IMS Client; wicct plays the eP-CSCF and the IMS core.

`@environment("wic")` starts wicct's eP-CSCF emulator (`ctx.actors["peer"]`, also
`ctx.actors["epcscf"]`), then the WIC through its driver (`ctx.actors["driver"]`, chosen by
`profile.driver` in `harness.suts.registry`), told to use the emulator's wss:// URL and to
trust the run's CA. The steps below are the role's vocabulary; the role-neutral ones
(peer.send, expect.response, peer.ping...) are in `harness.cases.peer_steps`.

Judging rule of this module's expectations: a step whose timeout is a FAIL (the SUT was
obliged to act: `on_timeout: fail`) records a PASS when it holds; a step whose timeout is
INCONCLUSIVE (a precondition, the default for connection/registration/request waits)
records nothing when it holds, so preconditions never stand in for the verdict.
A driver verb that fails is INCONCLUSIVE unless the case says `on_error: fail`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from harness.actors.channel import Received, SipChannel, same_transaction
from harness.actors.epcscf_emulator import CERTIFICATES, POLICY_MODES, EpcscfEmulator, Policy
from harness.cases.context import CaseContext, Precondition
from harness.cases.model import Step
from harness.cases.registry import REGISTRY, environment, step
from harness.evidence import CONNECT, DRIVER, HTTP_REQUEST, NOTE, SIP, TLS, Entry
from harness.profiles import parse_duration
from harness.suts.base import DriverError, SutUnavailable, WicDriver, WicEnv, WicState
from harness.suts.registry import make_driver

_CONN = {"type": "string"}
_DURATION = {"type": ["string", "number"]}
_ON_ERROR = {"enum": ["fail", "inconclusive"]}
HANDSHAKE_IDS = ("WIC-HS-01", "WIC-HS-02")
POLL = 0.02


# -- the environment -----------------------------------------------------------------------


def wic_driver(ctx: CaseContext) -> WicDriver:
    """The WIC's driver for this profile (a seam the harness's own tests replace)."""
    driver = make_driver(ctx.profile)
    if not isinstance(driver, WicDriver):
        raise SutUnavailable(f"driver {ctx.profile.driver!r} is not a WIC driver")
    return driver


@environment("wic")
@contextlib.asynccontextmanager
async def wic_environment(ctx: CaseContext) -> AsyncIterator[None]:
    profile = ctx.profile
    emulator = EpcscfEmulator(
        timeline=ctx.timeline,
        profile=profile,
        pki=ctx.pki,
        workdir=ctx.workdir,
        challenge="digest" in profile.features,
    )
    await emulator.start()
    ctx.actors["peer"] = ctx.actors["epcscf"] = emulator
    driver: WicDriver | None = None
    try:
        driver = wic_driver(ctx)
        ctx.actors["driver"] = driver
        env = WicEnv(
            profile=profile,
            pki=ctx.pki,
            epcscf_url=emulator.url,
            ca_pem=ctx.pki.ca_pem,
            workdir=ctx.workdir,
            log=lambda line: ctx.timeline.add("sut", NOTE, line),
        )
        try:
            await asyncio.wait_for(driver.start(env), profile.timers.start_timeout)
        except TimeoutError:
            raise SutUnavailable(
                f"the WIC ({profile.driver}) did not start within {profile.timers.start_timeout:g} s"
            ) from None
        ctx.vars["wwsf_origin"] = expected_origin(ctx)
        ctx.timeline.add(
            "runner", NOTE,
            f"WIC ({profile.driver} driver) started, told to use {emulator.url}; "
            f"expected Origin {ctx.vars['wwsf_origin']}",
            faults=list(profile.faults),
        )
        yield
    finally:
        if driver is not None:
            try:
                await asyncio.wait_for(driver.stop(), 10.0)
            except (Exception, TimeoutError) as exc:  # noqa: BLE001 - teardown is best effort
                ctx.timeline.add("runner", NOTE, f"WIC driver stop failed: {exc!r}")
            ctx.sut_logs["wic"] = driver.log_text()
        try:
            await asyncio.wait_for(emulator.stop(), 10.0)
        except TimeoutError:
            ctx.timeline.add("runner", NOTE, "eP-CSCF emulator stop took over 10 s")
        if emulator.callback_errors:
            # a wicct bug inside the server: the verdict cannot be trusted, so ERROR
            raise RuntimeError(f"eP-CSCF emulator callback failed: {emulator.callback_errors[0]}")


def expected_origin(ctx: CaseContext) -> str:
    """WIC-HS-02's expected Origin: the driver's effective page origin when it has one
    (a browser page served on a port chosen at start), else the profile's WWSF origin."""
    driver = ctx.actors.get("driver")
    return str(getattr(driver, "origin", "") or ctx.profile.wwsf_origin)


def emulator(ctx: CaseContext) -> EpcscfEmulator:
    return ctx.actor("epcscf")


def obliged(ctx: CaseContext, step_: Step) -> bool:
    """True when this step's timeout is a FAIL: the SUT was obliged, so success is judged."""
    mode = step_.args.get("on_timeout") or REGISTRY.steps[step_.kind].on_timeout
    return mode == "fail"


def connect_window(ctx: CaseContext) -> float:
    """How long a WIC told to register may take to connect and send its first request."""
    return ctx.timers.handshake_timeout + ctx.timers.response_timeout


# -- driver verbs --------------------------------------------------------------------------


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


@step("driver.register", args={"on_error": _ON_ERROR})
async def driver_register(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Make the WIC connect to wicct's eP-CSCF and REGISTER."""
    await _verb(ctx, args, "register")


@step("driver.call", args={"target": {"type": "string"}, "on_error": _ON_ERROR})
async def driver_call(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Make the WIC call `target` (default: the profile's callee) with a JSEP offer."""
    await _verb(ctx, args, "call", args.get("target") or ctx.profile.callee)


@step("driver.answer", args={"on_error": _ON_ERROR})
async def driver_answer(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Make the WIC accept the incoming call (200 with a JSEP answer)."""
    await _verb(ctx, args, "answer")


@step("driver.hangup", args={"on_error": _ON_ERROR})
async def driver_hangup(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Make the WIC release the current call (BYE, CANCEL or a rejection)."""
    await _verb(ctx, args, "hangup")


# -- the eP-CSCF emulator's knobs -----------------------------------------------------------


@step("epcscf.certificate", args={"kind": {"enum": list(CERTIFICATES)}}, required=("kind",))
async def epcscf_certificate(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Present a valid, an untrusted (unrelated CA) or a wrong-name certificate from now on."""
    emulator(ctx).use_certificate(args["kind"])


@step(
    "epcscf.policy",
    args={
        "method": {"type": "string"},
        "mode": {"enum": list(POLICY_MODES)},
        "status": {"type": "integer", "minimum": 100, "maximum": 699},
        "content_length": {"enum": ["correct", "larger"]},
    },
    required=("method",),
)
async def epcscf_policy(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """How the emulator answers the WIC's requests of `method` from now on: auto, withhold,
    another status, or strip `received`/`rport` from the top Via; optionally with a
    Content-Length larger than the body."""
    policy = Policy(
        mode=args.get("mode", "auto"),
        status=args.get("status", 0),
        content_length=args.get("content_length", "correct"),
    )
    emulator(ctx).set_policy(args["method"], policy)


@step("epcscf.invite", args={"conn": _CONN, "as": {"type": "string"}})
async def epcscf_invite(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The IMS core calls the registered WIC: INVITE with a real aiortc offer (the 2xx is
    ACKed by the emulator). Stored as `as` (default `invite`) for expect.response."""
    emu = emulator(ctx)
    if emu.registration is None:
        raise Precondition("the WIC is not registered: no Contact to send an INVITE to")
    chan = await _channel(ctx, args)
    invite, seq = await emu.invite(chan)
    ctx.vars[args.get("as", "invite")] = invite
    ctx.vars["last_sent_seq"] = seq


@step("epcscf.bye", args={"conn": _CONN, "as": {"type": "string"}})
async def epcscf_bye(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The IMS core releases the current call: BYE in its dialog (stored as `as`, default `bye`)."""
    emu = emulator(ctx)
    dialog = emu.current_dialog()
    if dialog is None or not await emu.established(dialog, ctx.timers.response_timeout):
        raise Precondition("no established call to release")
    chan = await _channel(ctx, args)
    bye = emu.build_request("BYE", chan)
    dialog.ended = True
    ctx.vars[args.get("as", "bye")] = bye
    ctx.vars["last_sent_seq"] = await chan.send(bye)


async def _channel(ctx: CaseContext, args: dict[str, Any], within: float = 0.0) -> SipChannel:
    name = args.get("conn", "main")
    chan = await emulator(ctx).wait_channel(name, within)
    if chan is None:
        raise Precondition(f"no WebSocket connection {name!r} from the WIC")
    return chan


# -- expectations: connection and handshake (WIC-HS-01..03) --------------------------------


async def _poll(predicate: Any, within: float) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = predicate()
        if found or loop.time() >= deadline:
            return found
        await asyncio.sleep(POLL)


def _rx(ctx: CaseContext, kind: str) -> list[Entry]:
    return ctx.timeline.select(kind=kind, actor="epcscf", direction="rx")


@step("expect.connection", args={}, on_timeout="inconclusive")
async def expect_connection(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """A WebSocket connection from the WIC arrives (channel "main")."""
    within = ctx.within(args, connect_window(ctx))
    chan = await emulator(ctx).wait_channel("main", within)
    if chan is None:
        ctx.timed_out(f"no WebSocket connection from the WIC within {within:g} s")
        return
    if obliged(ctx, step_):
        ctx.passed("the WIC opened a WebSocket connection", evidence=[_first(ctx, CONNECT)])


def _first(ctx: CaseContext, kind: str) -> int:
    entries = _rx(ctx, kind)
    return entries[0].seq if entries else 0


def header_values(headers: list[Any], name: str) -> list[str]:
    """Values of one header in a recorded HTTP head ([[name, value], ...])."""
    return [str(v) for n, v in headers if str(n).lower() == name.lower()]


def _tokens(values: list[str]) -> list[str]:
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def upgrade_problems(method: str, headers: list[Any]) -> list[str]:
    """WIC-HS-01 (RFC 6455 §4.1, RFC 7118 §4.1) on a recorded upgrade request."""
    problems = []
    if method != "GET":
        problems.append(f"method is {method!r}, not GET")
    if "websocket" not in [t.lower() for t in _tokens(header_values(headers, "Upgrade"))]:
        problems.append(f"Upgrade is {header_values(headers, 'Upgrade') or 'absent'}, not websocket")
    if "upgrade" not in [t.lower() for t in _tokens(header_values(headers, "Connection"))]:
        problems.append(f"Connection is {header_values(headers, 'Connection') or 'absent'}, without upgrade")
    versions = header_values(headers, "Sec-WebSocket-Version")
    if versions != ["13"]:
        problems.append(f"Sec-WebSocket-Version is {versions or 'absent'}, not 13")
    if len(header_values(headers, "Sec-WebSocket-Key")) != 1:
        problems.append("no single Sec-WebSocket-Key")
    offered = _tokens(header_values(headers, "Sec-WebSocket-Protocol"))
    if "sip" not in offered:
        problems.append(f"Sec-WebSocket-Protocol offers {offered or 'nothing'}, not 'sip'")
    return problems


def origin_problems(headers: list[Any], expected: str) -> list[str]:
    """WIC-HS-02 (SEED 5.1.X.1.1, RFC 6455 §4.1 item 8): one Origin, the WWSF's."""
    origins = header_values(headers, "Origin")
    if not origins:
        return ["no Origin header"]
    if len(origins) > 1:
        return [f"{len(origins)} Origin headers: {origins}"]
    if origins[0] != expected:
        return [f"Origin is {origins[0]!r}, expected the WWSF origin {expected!r}"]
    return []


@step("expect.handshake", args={})
async def expect_handshake(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC's opening handshake, as recorded: GET over TLS with Upgrade, Connection,
    version 13 and `sip` offered (WIC-HS-01); Origin = the WWSF origin (WIC-HS-02).
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
        if tls:
            raise Precondition(f"the WIC refused wicct's valid certificate: {tls[0].data.get('error')}",
                               [tls[0].seq])
        raise Precondition(f"the WIC made no connection within {within:g} s")
    request = requests[0]
    headers = list(request.data.get("headers", []))
    tls = [e for e in ctx.timeline.select(kind=TLS, actor="epcscf", conn=request.conn)]
    evidence = [request.seq, *(e.seq for e in tls)]
    if "WIC-HS-01" in ids:
        problems = upgrade_problems(str(request.data.get("method", "")), headers)
        if not tls or tls[0].data.get("error"):
            problems.insert(0, "the upgrade request did not come over TLS")
        _judge_problems(ctx, "WIC-HS-01", problems, evidence,
                        "GET over TLS with Upgrade, Connection, version 13 and 'sip' offered")
    if "WIC-HS-02" in ids:
        expected = expected_origin(ctx)
        _judge_problems(ctx, "WIC-HS-02", origin_problems(headers, expected), evidence,
                        f"Origin is the WWSF origin {expected}")


def _judge_problems(ctx: CaseContext, rid: str, problems: list[str], evidence: list[int], ok: str) -> None:
    if problems:
        ctx.failed("; ".join(problems), evidence=evidence, requirement=rid, stop=False)
    else:
        ctx.passed(ok, evidence=evidence, requirement=rid)


@step("expect.no_connection", args={})
async def expect_no_connection(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """WIC-HS-03 (RFC 7118 §9.1, SEED 5.1.X.1.3): facing a certificate it cannot verify,
    the WIC aborts TLS: no upgrade request and no REGISTER during the whole window."""
    within = ctx.within(args, connect_window(ctx))
    await asyncio.sleep(within)
    ctx.mandated(within, "no upgrade request after a bad certificate")
    attempts = _rx(ctx, CONNECT)
    tls = ctx.timeline.select(kind=TLS, actor="epcscf")
    gets = _rx(ctx, HTTP_REQUEST)
    registers = [e for e in _rx(ctx, SIP) if str(e.data.get("start_line", "")).startswith("REGISTER")]
    certificate = emulator(ctx).certificate
    if gets or registers:
        established = [e.seq for e in tls if not e.data.get("error")]
        ctx.failed(
            f"the WIC accepted the {certificate} certificate: {len(gets)} upgrade request(s), "
            f"{len(registers)} REGISTER(s)",
            evidence=[*established, *(e.seq for e in gets[:2]), *(e.seq for e in registers[:2])],
        )
    if not attempts:
        raise Precondition(f"the WIC made no connection attempt within {within:g} s")
    if any(not e.data.get("error") for e in tls):
        ctx.failed(f"TLS was established with the {certificate} certificate",
                   evidence=[e.seq for e in tls if not e.data.get("error")])
    errors = sorted({str(e.data.get("error")) for e in tls})
    ctx.passed(
        f"{len(attempts)} attempt(s), TLS aborted each time ({'; '.join(errors) or 'no TLS'}); "
        "no upgrade request, no REGISTER",
        evidence=[e.seq for e in tls[:3]] or [attempts[0].seq],
    )


# -- expectations: SIP from the WIC ---------------------------------------------------------


@step(
    "expect.request",
    args={"conn": _CONN, "method": {"type": "string"}, "as": {"type": "string"}},
    required=("method",),
    on_timeout="inconclusive",
)
async def expect_request(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC sends a request of `method` (the next one not yet expected); stored as
    `as` (default `rx_<method>`)."""
    method = args["method"].upper()
    name = args.get("conn", "main")
    loop = asyncio.get_running_loop()
    within = ctx.within(args, connect_window(ctx))
    deadline = loop.time() + within
    chan = await emulator(ctx).wait_channel(name, within)
    if chan is None:
        ctx.timed_out(f"no {method}: no WebSocket connection from the WIC within {within:g} s")
        return
    cursors = ctx.vars.setdefault("_request_cursor", {})
    start = cursors.get((id(chan), method), 0)

    def match(item: Received) -> bool:
        # a request that did not parse also ends the wait: it is reported, not taken
        return item.is_request and item.message is not None and item.message.method.upper() == method

    got = await chan.wait_for(match, max(deadline - loop.time(), 0.0), start=start)
    if got is None:
        why = "the connection closed" if chan.closed else f"none within {within:g} s"
        ctx.timed_out(f"the WIC sent no {method} ({why})")
        return
    if got.error:
        cursors[(id(chan), method)] = chan.received.index(got) + 1
        ctx.timed_out(f"the WIC's {method} could not be parsed ({got.error})", evidence=[got.entry])
        return
    cursors[(id(chan), method)] = chan.received.index(got) + 1
    ctx.vars[args.get("as", f"rx_{method.lower()}")] = got
    if obliged(ctx, step_):
        ctx.passed(f"the WIC sent {got.message.summary() if got.message else method}", evidence=[got.entry])


async def _state(ctx: CaseContext) -> WicState:
    """The driver's state, bounded: a driver whose state() hangs must not stall the case."""
    try:
        return await asyncio.wait_for(ctx.actor("driver").state(), ctx.timers.response_timeout)
    except DriverError as exc:
        raise Precondition(f"the WIC driver cannot report its state: {exc}") from None
    except TimeoutError:
        raise Precondition(
            f"the WIC driver did not report its state within {ctx.timers.response_timeout:g} s"
        ) from None


async def _registered(ctx: CaseContext) -> bool:
    return (await _state(ctx)).registered


@step("expect.registered", args={}, on_timeout="inconclusive")
async def expect_registered(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC itself reports that it is registered (its driver's state)."""
    within = ctx.within(args, ctx.timers.response_timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await _registered(ctx):
        if loop.time() >= deadline:
            state = await _state(ctx)
            ctx.timed_out(f"the WIC is not registered after {within:g} s ({state.detail})",
                          evidence=[_last_register_response(ctx)])
            return
        await asyncio.sleep(POLL)
    ctx.timeline.add("runner", DRIVER, "the WIC reports: registered", verb="state")
    if obliged(ctx, step_):
        ctx.passed("the WIC reports that it is registered", evidence=[_last_register_response(ctx)])


def _last_register_response(ctx: CaseContext) -> int:
    sent = [e for e in ctx.timeline.select(kind=SIP, actor="epcscf", direction="tx")
            if "(REGISTER)" in e.summary]
    return sent[-1].seq if sent else 0


@step("expect.unregistered", args={"for": _DURATION})
async def expect_unregistered(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC does not report itself registered during the window (a response it must
    drop, e.g. a 200 with a Content-Length larger than its body, RFC 3261 §18.3)."""
    window = parse_duration(args.get("for", ctx.timers.response_timeout))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    while loop.time() < deadline:
        if await _registered(ctx):
            ctx.failed("the WIC reports itself registered", evidence=[_last_register_response(ctx)])
        await asyncio.sleep(POLL)
    ctx.mandated(window, "registration state")
    response = _last_register_response(ctx)
    if not response:  # nothing to act on: not registering proves nothing
        raise Precondition("wicct sent no response to a REGISTER: nothing the WIC could act on")
    ctx.passed(f"the WIC did not act on the response ({window:g} s)", evidence=[response])


@step("expect.ack", args={"conn": _CONN})
async def expect_ack(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The WIC ACKs the 2xx to the INVITE it sent last (RFC 3261 §13.2.2.4).

    Only an ACK after a 2xx wicct sent to that INVITE counts: without a 2xx (the emulator
    withheld it, or answered 488 whose ACK the transaction layer sends) it is INCONCLUSIVE."""
    chan = await _channel(ctx, args)
    invites = [r for r in chan.received if r.is_request and not r.error and r.message.method == "INVITE"]
    if not invites:
        raise Precondition("the WIC sent no INVITE to acknowledge")
    invite = invites[-1]
    call_id = invite.message.call_id
    within = ctx.within(args, ctx.timers.response_timeout)
    got = await chan.wait_for(
        lambda r: r.is_request and r.message.method == "ACK" and r.message.call_id == call_id, within
    )
    ok = [seq for m, seq in chan.sent
          if m is not None and not m.is_request and same_transaction(m, invite.message)
          and 200 <= (m.status or 0) < 300 and (got is None or seq < got.entry)]
    if not ok:
        finals = [seq for m, seq in chan.sent if m is not None and not m.is_request
                  and same_transaction(m, invite.message) and (m.status or 0) >= 200]
        raise Precondition("wicct sent no 2xx to the WIC's INVITE: no ACK for a 2xx to judge",
                           [invite.entry, *finals, *([got.entry] if got else [])])
    if got is None:
        ctx.timed_out(f"no ACK within {within:g} s of the 2xx", evidence=[invite.entry, ok[0]])
        return
    if obliged(ctx, step_):
        ctx.passed("ACK sent for the 2xx to the INVITE", evidence=[invite.entry, ok[0], got.entry])


@step("expect.answered_once", args={"conn": _CONN, "to": {"type": "string"}, "window": _DURATION})
async def expect_answered_once(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """The stored request got exactly one final response over the window: it was
    processed once (BOTH-FR-05, BOTH-FR-06)."""
    from harness.sip import SipMessage

    chan = await _channel(ctx, args)
    name = args.get("to", "last")
    request = ctx.vars.get(name)
    if not isinstance(request, SipMessage):
        raise RuntimeError(f"no request stored as {name!r}")
    window = parse_duration(args.get("window", 4 * ctx.timers.t1))
    await asyncio.sleep(window)
    ctx.mandated(window, "duplicate responses")
    finals = [r for r in chan.responses_to(request) if (r.message.status or 0) >= 200]
    if len(finals) == 1:
        ctx.passed(f"{request.method} answered once", evidence=[finals[0].entry])
    elif not finals:
        ctx.timed_out(f"{request.method} got no final response", evidence=[ctx.vars.get("last_sent_seq", 0)])
    else:
        ctx.failed(f"{request.method} answered {len(finals)} times: processed more than once",
                   evidence=[r.entry for r in finals])


@step("observe.reconnect", args={})
async def observe_reconnect(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Informational: after the connection closed, does the WIC reconnect and register again?"""
    within = ctx.within(args, connect_window(ctx))
    emu = emulator(ctx)
    before = len(emu.registrations)
    chan = await emu.reopen("main", within)
    if chan is None:
        ctx.informational(f"the WIC did not reconnect within {within:g} s")
        return
    got: Received | None = await chan.request("REGISTER", ctx.timers.response_timeout)
    connect = ctx.timeline.select(kind=CONNECT, actor="epcscf", conn=chan.conn.conn_id)
    evidence = [connect[0].seq] if connect else []
    if got is None:
        ctx.informational("the WIC reconnected but sent no REGISTER", evidence=evidence)
        return
    await _poll(lambda: len(emu.registrations) > before, ctx.timers.response_timeout)
    ctx.informational("the WIC reconnected and registered again", evidence=[*evidence, got.entry])


__all__ = [
    "expected_origin",
    "origin_problems",
    "upgrade_problems",
    "wic_driver",
    "wic_environment",
]
