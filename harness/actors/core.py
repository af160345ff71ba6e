"""wicct's IMS-core stub: the I/S-CSCF behind an eP-CSCF under test (actor "core").

It listens for SIP on loopback, over UDP and TCP on the same port (RFC 3261 §18), records
every message in and out as evidence (`SIP` entries, conn "core-udp" / "core-tcp"), and
answers as an S-CSCF with a registrar and a callee behind it would. What it does per
method is a policy a case can change (`auto`, `withhold`, or a status code):

- REGISTER: 200 echoing each Contact with its expiry (RFC 3261 §10.3 step 8) and the Path
  (RFC 3327 §5.3); the binding keeps Contact, Path and the address the REGISTER came
  from, so terminating requests go back through the eP-CSCF: R-URI = the registered
  Contact, `Route:` = the Path, sent to that address (RFC 3327 §5.4). With the digest
  registrar on (`set_registrar("digest")`, off by default) it plays the S-CSCF of TS 24.229
  5.4.1.2: a REGISTER without a digest response that verifies against the profile's
  password is answered 401 with a fresh nonce (realm = the profile's domain, qop=auth), and
  the accepted one 200 with Service-Route and P-Associated-URI too (5.4.1.2.2); each
  decision is a note in the evidence;
- INVITE: 180, then 200 with a real JSEP answer from aiortc (RFC 9429), or, to a plain
  RTP/AVP offer (media handled at the eP-CSCF's edge), a plain answer on the core's own
  RTP ports (`rtp_endpoint.py`, echoing what they get); ACK absorbed;
- CANCEL (RFC 3261 §9.2): matched to the INVITE server transaction by Call-ID, CSeq number
  and top Via branch (a proxy sends its CANCEL with the INVITE's branch, §16.10); a match
  still without a final response (an `INVITE` policy of 180) gets 200 to the CANCEL and
  487 to the INVITE, anything else 481;
- anything else: 200.

It counts what it received per method and per transaction (a retransmission is the same
transaction: same Call-ID, CSeq and top Via branch), which the "processed once" and
"never two transactions" checks read.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness import evidence as ev
from harness.actors.rtp_endpoint import RtpEndpoint
from harness.evidence import NOTE, Timeline
from harness.profiles import Profile
from harness.sdp.plain import is_plain, plain_answer, plain_media, plain_offer
from harness.sip import (
    NameAddr,
    SipMessage,
    SipParseError,
    SipUri,
    build_request,
    build_response,
    call_id_scope,
    new_branch,
    new_call_id,
    new_tag,
    parse,
)
from harness.sip.auth import Credentials, build_digest_challenge, parse_credentials, verify_digest
from harness.sip.dialog import (
    ack_for_2xx,
    ack_for_failure,
    next_request,
    same_transaction,
    uac_dialog,
    uas_dialog,
)
from harness.sipstream import read_sip_stream

ACTOR = "core"
DEFAULT_EXPIRES = 600
_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class Source:
    """Where a message came from (and where answers go): transport and peer address."""

    transport: str  # "udp" | "tcp"
    addr: tuple[str, int]

    def __str__(self) -> str:
        return f"{self.transport}:{self.addr[0]}:{self.addr[1]}"


@dataclass(frozen=True)
class CoreRx:
    """One SIP message the core received."""

    message: SipMessage
    entry: int
    source: Source

    @property
    def key(self) -> tuple[str, str, str]:
        """The transaction it belongs to: Call-ID, CSeq and top Via branch (RFC 3261 §17.2.3)."""
        via = self.message.top_via
        return (self.message.call_id, str(self.message.cseq), (via.branch or "") if via else "")


@dataclass
class Binding:
    """A registered contact (RFC 3261 §10.3) with its Path vector (RFC 3327)."""

    aor: str
    contact: NameAddr
    path: list[str]
    source: Source
    expires: int
    entry: int


@dataclass
class DigestRegistrar:
    """The S-CSCF's SIP digest registrar (TS 24.229 5.4.1.2.1; RFC 3261 §22.4, RFC 2617
    §3.2.1): the nonces it issued and, per nonce, the highest nonce-count accepted (a
    replayed count is challenged again, RFC 2617 §3.2.2)."""

    realm: str
    password: str
    algorithm: str = "MD5"
    nonces: dict[str, int] = field(default_factory=dict)

    def challenge(self) -> str:
        """A WWW-Authenticate value with a fresh nonce, qop=auth."""
        nonce = secrets.token_hex(16)
        self.nonces[nonce] = 0
        return build_digest_challenge(self.realm, nonce, algorithm=self.algorithm, qop="auth")

    def refusal(self, message: SipMessage) -> str | None:
        """Why `message` is not authenticated (None: it is; the nonce-count is then kept)."""
        found: list[Credentials] = []
        for value in message.header_values("Authorization"):
            with contextlib.suppress(SipParseError):
                credentials = parse_credentials(value)
                if credentials.scheme.lower() == "digest" and credentials.param("realm") == self.realm:
                    found.append(credentials)
        if not found:
            return f"no Digest credentials for realm {self.realm}"
        credentials = found[0]
        nonce = credentials.param("nonce") or ""
        if not credentials.param("response"):
            return "no digest response (initial REGISTER)"
        if nonce not in self.nonces:
            return "a nonce this registrar did not issue"
        nc = credentials.param("nc") or ""
        if credentials.param("qop") != "auth" or not _hex(nc):
            return "no qop=auth with a nonce-count (RFC 2617 §3.2.2: qop was offered)"
        count = int(nc, 16)
        if count <= self.nonces[nonce]:
            return f"nonce-count {nc} already used"
        if not verify_digest(credentials, password=self.password, method=message.method, realm=self.realm,
                             nonce=nonce, body=message.body):
            return "a digest response that does not verify"
        self.nonces[nonce] = count
        return None


@dataclass
class _Sent:
    """A request the core originated, with the dialog facts its ACK needs."""

    request: SipMessage
    entry: int
    source: Source
    acked: set[str] = field(default_factory=set)


def parse_listen(listen: str) -> tuple[str, str, int]:
    """`udp://127.0.0.1:0` → ("udp", "127.0.0.1", 0)."""
    scheme, _, rest = listen.partition("://")
    host, _, port = rest.rstrip("/").rpartition(":")
    if scheme not in ("udp", "tcp") or not host or not port.isdigit():
        raise ValueError(f"bad core listen address {listen!r} (want udp://host:port or tcp://host:port)")
    return scheme, host.strip("[]"), int(port)



def bind_error(transport: str, host: str, port: int, exc: OSError | None) -> OSError:
    """The stub's bind failure as an OSError that keeps the errno (EADDRINUSE is classified
    by the runner and the pre-flight probe as "port in use") and says what failed."""
    why = (exc.strerror or str(exc)) if exc is not None else "no free port"
    text = f"core stub cannot bind {transport} {host}:{port}: {why}"
    return OSError(exc.errno, text) if exc is not None and exc.errno else OSError(text)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, core: CoreStub) -> None:
        self.core = core

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.core._datagram(data, Source("udp", (addr[0], addr[1])))


class CoreStub:
    """See the module docstring. Start with `start()`, always `stop()`."""

    actor_name = ACTOR

    def __init__(self, timeline: Timeline, profile: Profile) -> None:
        self.timeline = timeline
        self.profile = profile
        self.transport, self.host, self._wanted_port = parse_listen(profile.core_listen)
        self.port = 0
        self.policies: dict[str, str | int] = {}
        self.digest: DigestRegistrar | None = None
        self.requests: list[CoreRx] = []
        self.responses: list[CoreRx] = []
        self.bindings: dict[tuple[str, str], Binding] = {}
        self.sent: list[_Sent] = []
        # INVITEs the core answered with 2xx and the 2xx: the dialogs it can release
        self.answered: list[tuple[CoreRx, SipMessage]] = []
        # every confirmed call, in order: (INVITE, 2xx, where to send, "uas" | "uac")
        self.calls: list[tuple[SipMessage, SipMessage, Source, str]] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._writers: dict[tuple[str, int], asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._media: list[Any] = []
        # INVITE server transactions without a final response yet, for CANCEL (RFC 3261 §9.2)
        self._pending: dict[tuple[str, int, str], CoreRx] = {}
        # the core's own RTP endpoints per call (Call-ID): its plain answers and plain offers
        self.rtp: dict[str, list[RtpEndpoint]] = {}
        self._changed: asyncio.Condition | None = None
        self._dialog_tags: dict[tuple[str, str], str] = {}

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._changed = asyncio.Condition()
        last: OSError | None = None
        for _ in range(20):
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _Udp(self), local_addr=(self.host, self._wanted_port)
                )
            except OSError as exc:  # errno kept: EADDRINUSE is an environment error
                raise bind_error("udp", self.host, self._wanted_port, exc) from exc
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._tcp_client, self.host, port)
            except OSError as exc:
                transport.close()
                last = exc
                if self._wanted_port:
                    break
                continue
            self._udp, self.port = transport, port
            break
        if self._udp is None:
            raise bind_error("tcp", self.host, self._wanted_port, last)
        self.timeline.put(
            ACTOR, f"IMS-core stub listening on udp/tcp {self.host}:{self.port}",
            ev.note({"host": self.host, "port": self.port, "transport": self.transport}),
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        for writer in list(self._writers.values()):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tcp.wait_closed(), 1.0)
            self._tcp = None
        media, self._media = self._media, []
        # every peer closed, even when one fails: an aiortc peer left open outlives the case
        await asyncio.gather(*(peer.close() for peer in media), return_exceptions=True)

    # -- policy -------------------------------------------------------------------------

    def set_policy(self, method: str, action: str | int) -> None:
        """`auto`, `withhold`, or a status code for requests of `method`."""
        self.policies[method.upper()] = normalise_action(action)

    def set_registrar(self, auth: str, *, algorithm: str = "MD5") -> None:
        """`digest`: challenge REGISTER as an S-CSCF (TS 24.229 5.4.1.2); `none`: accept it."""
        if auth not in ("digest", "none"):
            raise ValueError(f"unknown registrar authentication {auth!r} (digest or none)")
        self.digest = DigestRegistrar(self.profile.domain, self.profile.password, algorithm) if auth == "digest" else None

    # -- what came ----------------------------------------------------------------------

    def received(self, method: str | None = None) -> list[CoreRx]:
        return [r for r in self.requests if method is None or r.message.method == method.upper()]

    def transactions(
        self, method: str | None = None, predicate: Callable[[CoreRx], bool] | None = None
    ) -> list[CoreRx]:
        """The first copy of each distinct request transaction of `method`."""
        seen: set[tuple[str, str, str]] = set()
        out = []
        for rx in self.received(method):
            if rx.key in seen or (predicate is not None and not predicate(rx)):
                continue
            seen.add(rx.key)
            out.append(rx)
        return out

    def count(self, method: str | None = None) -> int:
        return len(self.transactions(method))

    async def wait_transactions(
        self,
        method: str | None,
        n: int,
        within: float,
        predicate: Callable[[CoreRx], bool] | None = None,
    ) -> list[CoreRx]:
        """Wait until at least `n` transactions of `method` came (or `within` ran out)."""
        await self._wait(lambda: len(self.transactions(method, predicate)) >= n, within)
        return self.transactions(method, predicate)

    async def wait_response(
        self, request: SipMessage, within: float, *, final: bool = True
    ) -> CoreRx | None:
        def find() -> CoreRx | None:
            for rx in self.responses:
                if same_transaction(rx.message, request) and (
                    not final or (rx.message.status or 0) >= 200
                ):
                    return rx
            return None

        await self._wait(lambda: find() is not None, within)
        return find()

    def binding(self, aor: str | None = None) -> Binding | None:
        """The most recent binding of `aor` (default: any)."""
        found = [b for (a, _), b in self.bindings.items() if aor is None or _same_aor(a, aor)]
        return found[-1] if found else None

    async def _wait(self, done: Callable[[], bool], within: float) -> bool:
        assert self._changed is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with self._changed:
            while not done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # -- receiving ----------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _datagram(self, data: bytes, source: Source) -> None:
        self._spawn(self._received(data, source))

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        addr = (peer[0], peer[1])
        self._writers[addr] = writer
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            while True:
                data = await read_sip_stream(reader, lambda why: self._unframeable(why, addr))
                if data is None:
                    break
                if data:
                    await self._received(data, Source("tcp", addr))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.pop(addr, None)
            with contextlib.suppress(Exception):
                writer.close()

    def _unframeable(self, why: str, addr: tuple[str, int]) -> None:
        """The TCP stream from `addr` ended as unframeable: say so in the evidence."""
        self.timeline.put(ACTOR, f"tcp stream from {addr[0]}:{addr[1]} ended: {why}",
                          ev.note({"error": why}), direction="rx", conn="core-tcp")

    async def _received(self, data: bytes, source: Source) -> None:
        conn = f"core-{source.transport}"
        if not data.strip(b"\r\n"):
            return  # RFC 5626 keep-alive
        try:
            message = parse(data).message
        except SipParseError as exc:
            self.timeline.put(
                ACTOR, f"rx unparsable SIP from {source}: {exc}",
                ev.sip_error({
                    "raw": data, "offset": exc.offset, "reason": exc.reason, "source": str(source),
                }),
                direction="rx", conn=conn,
            )
            return
        scope = call_id_scope(message.call_id)
        stray = scope is not None and scope != self.timeline.scope
        entry = self.timeline.put(
            ACTOR, f"rx {message.summary()}" + (" (stray: made in another case)" if stray else ""),
            ev.sip({
                "raw": data, "start_line": message.start_line, "call_id": message.call_id,
                "cseq": str(message.cseq), "source": str(source),
            }),
            direction="rx", conn=conn,
        )
        if stray:
            # a late copy of another case's message (e.g. the SUT retransmitting to a fixed
            # core port): labelled, never counted or answered as this case's traffic
            self.timeline.put(ACTOR, f"stray from another case (Call-ID {message.call_id}): "
                              "not judged in this case", ev.note({"stray_of": entry.seq}))
            return
        rx = CoreRx(message, entry.seq, source)
        if message.is_request:
            self.requests.append(rx)
            await self._notify()
            self._spawn(self._answer(rx))
        else:
            self.responses.append(rx)
            # the call is recorded (and ACKed) before any waiter wakes: a step that saw the
            # 2xx and at once releases the call must find it (core.bye after a 200)
            self._after_response(rx)
            await self._notify()

    # -- answering (an S-CSCF with a registrar and a callee behind it) -------------------

    async def _answer(self, rx: CoreRx) -> None:
        method = rx.message.method.upper()
        if method == "ACK":
            return
        action = self.policies.get(method, "auto")
        if action == "withhold":
            self.timeline.add(ACTOR, NOTE, f"withholding the response to {method} (policy)")
            return
        if isinstance(action, int):
            await self._respond(rx, action)
        elif method == "REGISTER":
            await self._register(rx)
        elif method == "INVITE":
            await self._invite(rx)
        elif method == "CANCEL":
            await self._cancel(rx)
        else:
            await self._respond(rx, 200)

    def _to_tag(self, message: SipMessage) -> str:
        via = message.top_via
        key = (message.call_id, (via.branch or "") if via else "")
        return self._dialog_tags.setdefault(key, new_tag())

    async def _respond(
        self,
        rx: CoreRx,
        status: int,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipMessage:
        response = build_response(
            rx.message, status, to_tag=self._to_tag(rx.message) if status > 100 else None,
            headers=headers or [], body=body, content_type=content_type,
        )
        if rx.message.method.upper() == "INVITE":
            key = _cancel_key(rx.message)
            if status < 200:
                self._pending[key] = rx
            else:
                self._pending.pop(key, None)
        self._send(response, rx.source)
        return response

    async def _cancel(self, rx: CoreRx) -> None:
        """RFC 3261 §9.2: 200 to a CANCEL matching a pending INVITE, then 487 to that INVITE;
        481 when no INVITE transaction matches (or it was answered already)."""
        invite = self._pending.get(_cancel_key(rx.message))
        if invite is None:
            self.timeline.add(ACTOR, NOTE, "CANCEL matches no pending INVITE transaction (481)")
            await self._respond(rx, 481)
            return
        await self._respond(rx, 200)
        await self._respond(invite, 487)

    async def _register(self, rx: CoreRx) -> None:
        message = rx.message
        if self.digest is not None:
            why = self.digest.refusal(message)
            if why is not None:
                self.timeline.add(ACTOR, NOTE, f"REGISTER challenged (401): {why}", challenged=rx.entry)
                await self._respond(rx, 401, headers=[("WWW-Authenticate", self.digest.challenge())])
                return
            self.timeline.add(ACTOR, NOTE, "REGISTER authenticated: the digest response verifies",
                              authenticated=rx.entry)
        aor = str(message.to.uri)
        default = _int(message.header("Expires"), DEFAULT_EXPIRES)
        paths = message.header_values("Path")
        echoed: list[tuple[str, str]] = []
        for contact in message.contacts:
            expires = _int(contact.param("expires"), default)
            key = (aor, str(contact.uri))
            if expires == 0:
                self.bindings.pop(key, None)
                continue
            self.bindings[key] = Binding(aor, contact, paths, rx.source, expires, rx.entry)
            echoed.append(("Contact", str(contact.with_param("expires", str(expires)))))
        echoed += [("Path", p) for p in paths]
        if self.digest is not None:  # TS 24.229 5.4.1.2.2 f), g)
            echoed += [("Service-Route", f"<sip:orig@{self.host}:{self.port};transport={rx.source.transport};lr>"),
                       ("P-Associated-URI", f"<{self.profile.impu}>")]
        await self._respond(rx, 200, headers=echoed)

    def contact_uri(self, transport: str) -> str:
        user = SipUri.parse(self.profile.callee).user or "core"
        return f"<sip:{user}@{self.host}:{self.port};transport={transport}>"

    async def _invite(self, rx: CoreRx) -> None:
        contact = [("Contact", self.contact_uri(rx.source.transport))]
        await self._respond(rx, 180, headers=contact)
        offer = rx.message.body.decode("utf-8", "replace")
        if "v=0" not in offer:
            await self._respond(rx, 200, headers=contact)
            return
        from harness.sdp.jsep import TooManySections, check_sections, make_answer

        try:
            check_sections(offer)  # one socket (plain) or transceiver (JSEP) per m= section
        except TooManySections as exc:
            self.timeline.add(ACTOR, NOTE, f"cannot answer the offer: {exc}")
            await self._respond(rx, 488)
            return
        if is_plain(offer):  # past an eIMS-AGW: the core's own RTP endpoint answers
            await self._plain_answer(rx, offer, contact)
            return
        try:
            answer = await make_answer(offer)
        except Exception as exc:  # noqa: BLE001 - an offer aiortc refuses: 488, with the reason
            self.timeline.add(ACTOR, NOTE, f"cannot answer the offer: {exc!r}")
            await self._respond(rx, 488)
            return
        self._media.append(answer)
        ok = await self._respond(
            rx, 200, headers=contact, body=answer.sdp.encode(), content_type="application/sdp"
        )
        self.answered.append((rx, ok))
        self.calls.append((rx.message, ok, rx.source, "uas"))

    async def _plain_answer(self, rx: CoreRx, offer: str, contact: list[tuple[str, str]]) -> None:
        """An RTP/AVP offer (media handled at the eP-CSCF's edge, TS 23.228 U.1): 200 with a
        plain answer on the core's own RTP ports, which echo what they get (RFC 3264 §6)."""
        endpoints = [RtpEndpoint(self.timeline, self.host, kind) for kind, _, _ in plain_media(offer)]
        self._media.extend(endpoints)
        self.rtp[rx.message.call_id] = endpoints
        ports = [await e.open() for e in endpoints]
        answer = plain_answer(offer, self.host, ports, secrets.randbelow(2**31))
        ok = await self._respond(rx, 200, headers=contact, body=answer.encode(), content_type="application/sdp")
        self.answered.append((rx, ok))
        self.calls.append((rx.message, ok, rx.source, "uas"))

    def _after_response(self, rx: CoreRx) -> None:
        """ACK a final response to an INVITE the core sent: a 2xx in its dialog (RFC 3261
        §13.2.2.4), a 300-699 in its transaction (§17.1.1.3, every retransmission)."""
        response = rx.message
        status = response.status or 0
        if response.method != "INVITE" or status < 200:
            return
        for sent in self.sent:
            if not same_transaction(response, sent.request):
                continue
            if status >= 300:
                self._send(ack_for_failure(sent.request, response), sent.source)
                return
            tag = response.to.tag or ""
            if tag in sent.acked:
                return
            sent.acked.add(tag)
            self.calls.append((sent.request, response, sent.source, "uac"))
            via = self._via(sent.source.transport)
            ack = ack_for_2xx(uac_dialog(sent.request, response), sent.request, via)
            self._send(ack, sent.source)
            return

    # -- sending --------------------------------------------------------------------------

    def _via(self, transport: str) -> str:
        return f"SIP/2.0/{transport.upper()} {self.host}:{self.port};branch={new_branch()};rport"

    def _send(self, message: SipMessage, dest: Source) -> int:
        data = message.to_bytes()
        entry = self.timeline.put(
            ACTOR, f"tx {message.summary()}",
            ev.sip({
                "raw": data, "start_line": message.start_line, "call_id": message.call_id,
                "cseq": str(message.cseq), "dest": str(dest),
            }),
            direction="tx", conn=f"core-{dest.transport}",
        )
        if dest.transport == "udp":
            if self._udp is not None:
                self._udp.sendto(data, dest.addr)
        else:
            writer = self._writers.get(dest.addr)
            if writer is None or writer.is_closing():
                self.timeline.add(ACTOR, NOTE, f"not sent: no TCP connection to {dest}")
            else:
                writer.write(data)
        return entry.seq

    async def offer(self) -> bytes:
        """A real JSEP offer (aiortc) for a terminating INVITE; the peer closes with the stub."""
        from harness.sdp.jsep import make_offer

        peer = await make_offer()
        self._media.append(peer)
        return peer.sdp.encode()

    async def plain_offer(self) -> tuple[bytes, list[RtpEndpoint]]:
        """An IMS-style plain RTP/AVP audio offer on one of the core's own RTP ports (its
        echo endpoint, TS 23.228 U.1); the endpoint closes with the stub. Bind it to the
        call with `attach_rtp` once the request exists."""
        endpoint = RtpEndpoint(self.timeline, self.host, "audio")
        self._media.append(endpoint)
        port = await endpoint.open()
        return plain_offer(self.host, [port], secrets.randbelow(2**31)).encode(), [endpoint]

    def attach_rtp(self, call_id: str, endpoints: list[RtpEndpoint]) -> None:
        """The core's RTP endpoints of the call `call_id`."""
        self.rtp[call_id] = endpoints

    def send_request(
        self,
        method: str,
        *,
        aor: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> SipMessage:
        """A terminating request towards the registered WIC, through the eP-CSCF.

        R-URI = the registered Contact, `Route:` = the Path vector, sent to the address
        the REGISTER came from (RFC 3327 §5.4). LookupError without a binding.
        """
        target = aor or self.profile.impu
        binding = self.binding(target)
        if binding is None:
            raise LookupError(f"no registration of {target} at the core")
        method = method.upper()
        fields: list[tuple[str, str]] = [
            ("Via", self._via(binding.source.transport)),
            ("Max-Forwards", "70"),
            *[("Route", p) for p in binding.path],
            ("From", f"<{self.profile.callee}>;tag={new_tag()}"),
            ("To", f"<{binding.aor}>"),
            ("Call-ID", new_call_id(self.timeline.scope)),
            ("CSeq", f"1 {method}"),
        ]
        if method in ("INVITE", "SUBSCRIBE", "REFER"):
            fields.append(("Contact", self.contact_uri(binding.source.transport)))
        fields += list(headers or [])
        request = build_request(method, str(binding.contact.uri), fields, body, content_type)
        entry = self._send(request, binding.source)
        self.sent.append(_Sent(request, entry, binding.source))
        return request

    def release(self) -> SipMessage:
        """BYE in the dialog of the last call the core took part in: one it answered with
        2xx (the far end releases, RFC 3261 §15.1.1; the dialog as the UAS holds it,
        §12.1.1: Request-URI the caller's Contact, Route its Record-Route) or one it placed
        and got a 2xx for (§12.1.2: route set = reversed Record-Route). LookupError when
        there was none."""
        if not self.calls:
            raise LookupError("the core took part in no answered INVITE: no dialog to release")
        invite, ok, source, side = self.calls[-1]
        dialog = uas_dialog(invite, ok) if side == "uas" else uac_dialog(invite, ok)
        _, bye = next_request(dialog, "BYE", self._via(source.transport))
        entry = self._send(bye, source)
        self.sent.append(_Sent(bye, entry, source))
        return bye


def normalise_action(action: str | int) -> str | int:
    """A policy value: `auto`, `withhold` or a status code (100-699)."""
    if isinstance(action, int) or (isinstance(action, str) and action.strip().isdigit()):
        status = int(action)
        if not 100 <= status <= 699:
            raise ValueError(f"not a SIP status code: {action!r}")
        return status
    text = str(action).strip().lower()
    if text not in ("auto", "withhold"):
        raise ValueError(f"unknown policy action {action!r} (auto, withhold or a status code)")
    return text


def _cancel_key(message: SipMessage) -> tuple[str, int, str]:
    """What a CANCEL shares with its INVITE (RFC 3261 §9.2): Call-ID, CSeq number, top Via branch."""
    via = message.top_via
    return (message.call_id, message.cseq.number, (via.branch or "") if via else "")


def _int(value: str | None, default: int) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        return default


def _hex(value: str) -> bool:
    return bool(value) and all(c in "0123456789abcdefABCDEF" for c in value)


def _same_aor(a: str, b: str) -> bool:
    try:
        ua, ub = SipUri.parse(a), SipUri.parse(b)
    except SipParseError:
        return a == b
    return (ua.user, ua.host.lower()) == (ub.user, ub.host.lower())


__all__ = ["Binding", "CoreRx", "CoreStub", "DigestRegistrar", "Source", "normalise_action", "parse_listen"]
