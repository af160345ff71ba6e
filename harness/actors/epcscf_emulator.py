"""wicct's eP-CSCF emulator: the WSS server a WIC under test connects to (RFC 7118 §5),
with the registrar and the IMS core behind it (SEED 5.Y, seen from the WIC's side).

- **Lenient handshake.** Every upgrade request is recorded and accepted, with or without
  `sip` in Sec-WebSocket-Protocol and with any Origin (or none): one broken detail must not
  hide the rest of the WIC's behaviour. Checks judge the recorded GET (WIC-HS-01/02).
- **Switchable certificate.** The run's CA (which the WIC is told to trust), an unrelated
  CA ("untrusted") or the run's CA for another name ("wrong-name"): the WIC-HS-03 stimuli.
- **One SipChannel per accepted connection**, named "main", then "c2", "c3"... A WIC
  reconnects on its own; `reopen(name)` waits for that and binds the new one to `name`.
- **Registrar + IMS core.** REGISTER → 200 (top Via `received`, Contact echoed with
  `expires`, Service-Route, `Require: outbound` for an RFC 5626 registration); digest
  challenge when the profile declares `digest`; INVITE → 180, then 200 with a real aiortc
  answer; ACK absorbed; BYE, CANCEL, OPTIONS, MESSAGE → 200. `Policy` per method
  overrides this: withhold the response (BOTH-TP-04), answer another status, strip
  `received`/`rport` from the top Via (WIC-TP-03), or declare a larger Content-Length
  (BOTH-FR-07 response variant).
- **Requests to the WIC** (`build_request`): R-URI = the registered Contact, `Via:
  SIP/2.0/WSS <our host:port>`, From the profile's callee, To the IMPU; `invite()` adds a
  real aiortc offer and ACKs the 2xx itself, as a UAC core does (RFC 3261 §13.2.2.4).

The emulator writes its evidence as actor "epcscf" (direction seen from wicct).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import evidence as ev
from harness.actors.channel import Received, SipChannel
from harness.evidence import CONNECT, NOTE, Timeline
from harness.pki import Pki
from harness.profiles import Profile
from harness.sdp.jsep import MediaPeer, make_answer, make_offer
from harness.sip import (
    NameAddr,
    SipMessage,
    SipParseError,
    SipUri,
    Via,
    build_digest_challenge,
    build_request,
    build_response,
    new_branch,
    new_call_id,
    new_tag,
    verify_digest,
)
from harness.sip.headers import split_header_list
from harness.ws import WsConnection, WsServer

ACTOR = "epcscf"
CERTIFICATES = ("valid", "untrusted", "wrong-name")
POLICY_MODES = ("auto", "withhold", "status", "strip")
WRONG_NAME = "wrong.example"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, NOTIFY"
AGENT = "wicct eP-CSCF emulator"
DEFAULT_EXPIRES = 600


@dataclass
class Policy:
    """How the emulator answers the WIC's requests of one method."""

    mode: str = "auto"  # auto | withhold | status | strip (received + rport)
    status: int = 0  # for mode "status"
    content_length: str = "correct"  # "larger": declare 20 more bytes than the body

    def __post_init__(self) -> None:
        if self.mode not in POLICY_MODES:
            raise ValueError(f"unknown policy mode {self.mode!r}")
        if self.mode == "status" and not 100 <= self.status <= 699:
            raise ValueError("policy mode 'status' needs a status 100..699")


@dataclass
class Registration:
    """The WIC's binding, as the registrar stored it."""

    aor: str
    contact: NameAddr
    expires: int
    channel: SipChannel
    request: SipMessage

    @property
    def target(self) -> str:
        return str(self.contact.uri)


@dataclass
class Dialog:
    """One INVITE dialog between the emulator (as the IMS core's UA) and the WIC."""

    call_id: str
    local: NameAddr  # our From (UAC) or To (UAS), with our tag
    remote: NameAddr  # the WIC's side; its tag once known
    remote_target: str
    channel: SipChannel
    invite: SipMessage
    outgoing: bool  # the emulator sent the INVITE
    local_cseq: int = 1
    route: tuple[str, ...] = ()
    media: MediaPeer | None = None
    confirmed: bool = False
    ended: bool = False
    completion: asyncio.Task[None] | None = None  # outgoing: waits for the final response, ACKs


@dataclass
class _ServerTx:
    responses: list[SipMessage] = field(default_factory=list)


class EpcscfEmulator:
    """See the module docstring. Implements `harness.cases.peer_steps.Peer`."""

    actor_name = ACTOR

    def __init__(
        self,
        *,
        timeline: Timeline,
        profile: Profile,
        pki: Pki,
        workdir: Path,
        challenge: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        self.timeline = timeline
        self.profile = profile
        self.pki = pki
        self.workdir = workdir
        self.challenge = challenge
        self.host = host
        self.certificate = "valid"
        self.policies: dict[str, Policy] = {}
        self.registration: Registration | None = None
        self.registrations: list[Registration] = []  # every successful REGISTER, in order
        self.dialogs: list[Dialog] = []
        self.channels: list[SipChannel] = []
        self._names: dict[str, SipChannel] = {}
        self._arrived = asyncio.Condition()
        self._server: WsServer | None = None
        self._untrusted: Pki | None = None
        self._server_txs: dict[tuple[str, str], _ServerTx] = {}
        self._nonces: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cseq = itertools.count(1)

    # -- life cycle -----------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.port if self._server is not None else 0

    @property
    def callback_errors(self) -> list[str]:
        """wicct bugs caught inside the WebSocket server's callbacks (policy, on_connection)."""
        return list(self._server.callback_errors) if self._server is not None else []

    @property
    def url(self) -> str:
        return f"wss://{self.host}:{self.port}/"

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> str:
        self._server = WsServer(
            timeline=self.timeline,
            actor=ACTOR,
            ssl_context=self.pki.server_context(),
            subprotocols=("sip",),
            require_subprotocol=False,  # lenient: record, accept, let the checks judge
            policy=None,  # lenient: any Origin, or none
            on_connection=self._on_connection,
            host=self.host,
            # a WIC set up beforehand (external driver) was pointed at a fixed port
            port=int(self.profile.driver_options.get("listen_port", 0)),
            handshake_timeout=self.profile.timers.handshake_timeout,
        )
        await self._server.start()
        self._note(f"eP-CSCF emulator listening on {self.url}")
        return self.url

    async def stop(self) -> None:
        """Stop tasks, channels, media and the listener; bounded, never raises."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        await asyncio.gather(*(c.stop() for c in self.channels), return_exceptions=True)
        medias = [d.media for d in self.dialogs if d.media is not None]
        await asyncio.gather(*(m.close() for m in medias), return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.stop(), 5.0)
        if self._untrusted is not None:
            self._untrusted.close()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _note(self, summary: str, conn: str = "", **data: Any) -> int:
        return self.timeline.add(ACTOR, NOTE, summary, conn=conn, **data).seq

    # -- certificate (WIC-HS-03) ----------------------------------------------------

    def use_certificate(self, kind: str) -> None:
        """Present the run CA's certificate ("valid"), one from an unrelated CA
        ("untrusted"), or the run CA's for another name ("wrong-name") from now on."""
        if kind not in CERTIFICATES:
            raise ValueError(f"unknown certificate kind {kind!r}")
        assert self._server is not None, "start() first"
        if kind == "valid":
            context = self.pki.server_context()
            detail = "the run's CA, loopback names"
        elif kind == "untrusted":
            if self._untrusted is None:
                self._untrusted = Pki(self.workdir / "untrusted-ca", name="wicct unrelated CA")
            context = self._untrusted.server_context()
            detail = "an unrelated CA the WIC was not told to trust, loopback names"
        else:
            context = self.pki.server_context(WRONG_NAME)
            detail = f"the run's CA, issued for {WRONG_NAME} only"
        self._server.ssl_context = context
        self.certificate = kind
        self.timeline.put(ACTOR, f"certificate now {kind}: {detail}",
                          ev.stimulus({"what": "certificate", "kind_of_certificate": kind}))

    # -- connections and channels ---------------------------------------------------

    async def _on_connection(self, conn: WsConnection) -> None:
        index = len(self.channels) + 1
        name = "main" if "main" not in self._names else f"c{index}"
        chan = SipChannel(conn, self.timeline, ACTOR, name, on_request=self._on_request)
        async with self._arrived:
            self.channels.append(chan)
            self._names[name] = chan
            self._arrived.notify_all()
        chan.start()
        self._note(f"connection {conn.conn_id} is channel {name!r}", conn=conn.conn_id)

    def channel(self, name: str = "main") -> SipChannel | None:
        return self._names.get(name)

    async def wait_channel(self, name: str, within: float) -> SipChannel | None:
        """The channel called `name`, waiting up to `within` for it to be opened."""
        async with self._arrived:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._arrived.wait_for(lambda: name in self._names), max(within, 0.0)
                )
        return self._names.get(name)

    async def reopen(self, name: str = "main", within: float | None = None) -> SipChannel | None:
        """The WIC's next connection after `name` closed (a WIC reconnects on its own),
        bound to `name`; None when none opened within the reconnect window."""
        timers = self.profile.timers
        window = within if within is not None else timers.handshake_timeout + timers.response_timeout
        old = self._names.get(name)
        after = self.channels.index(old) + 1 if old in self.channels else 0

        def newer() -> SipChannel | None:
            for chan in reversed(self.channels[after:]):
                if not chan.closed:
                    return chan
            return None

        async with self._arrived:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait_for(lambda: newer() is not None), window)
            chan = newer()
        if chan is None:
            self._note(f"no new connection from the WIC within {window:g} s")
            return None
        self._names[name] = chan
        self._note(f"channel {name!r} is now connection {chan.conn.conn_id}", conn=chan.conn.conn_id)
        return chan

    def peer_address(self, chan: SipChannel) -> tuple[str, int | None]:
        """The WIC's source address of one connection (for Via `received`/`rport`)."""
        for entry in self.timeline.select(kind=CONNECT, actor=ACTOR, conn=chan.conn.conn_id):
            peer = str(ev.connect.of(entry)["peer"] or "")
            host, _, port = peer.rpartition(":")
            if host:
                return host.strip("[]"), int(port) if port.isdigit() else None
        return self.host, None

    # -- policies ---------------------------------------------------------------------

    def set_policy(self, method: str, policy: Policy) -> None:
        self.policies[method.upper()] = policy
        self._note(f"policy for {method.upper()}: {policy.mode}"
                   + (f" {policy.status}" if policy.mode == "status" else "")
                   + (f", Content-Length {policy.content_length}" if policy.content_length != "correct" else ""))

    # -- requests to the WIC (the Peer protocol) ------------------------------------

    @property
    def contact(self) -> str:
        user = SipUri.parse(self.profile.callee).user or "core"
        return f"<sip:{user}@{self.hostport};transport=ws>"

    def target(self) -> str:
        """The WIC's registered Contact URI (its IMPU before it registered)."""
        return self.registration.target if self.registration is not None else self.profile.impu

    def current_dialog(self) -> Dialog | None:
        for dialog in reversed(self.dialogs):
            if not dialog.ended:
                return dialog
        return None

    def build_request(self, method: str, channel: SipChannel, **options: Any) -> SipMessage:
        """A request from the IMS core to the WIC: out of dialog (OPTIONS, MESSAGE,
        INVITE with `sdp=`...), or ACK/BYE in the current dialog."""
        method = method.upper()
        if method in ("ACK", "BYE") and options.get("in_dialog", True):
            dialog = self.current_dialog()
            if dialog is not None:
                return self._in_dialog(dialog, method)
        if method == "INVITE" and "sdp" not in options:
            raise RuntimeError("an INVITE to the WIC needs an SDP offer: use the epcscf.invite step")
        uri = options.get("uri") or self.target()
        headers = [
            ("Via", f"SIP/2.0/WSS {self.hostport};branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", f"<{self.profile.callee}>;tag={new_tag()}"),
            ("To", f"<{self.profile.impu}>"),
            ("Call-ID", new_call_id()),
            ("CSeq", f"{next(self._cseq)} {method}"),
        ]
        if method == "INVITE":
            headers += [("Record-Route", f"<sip:{self.hostport};transport=ws;lr>"),
                        ("Contact", self.contact), ("Allow", ALLOW), ("Supported", "outbound")]
        elif method in ("OPTIONS", "SUBSCRIBE", "REFER"):
            headers.append(("Contact", self.contact))
        headers.append(("User-Agent", AGENT))
        headers += [tuple(h) for h in options.get("headers", [])]
        if "sdp" in options:
            return build_request(method, uri, headers, options["sdp"].encode(), "application/sdp")
        if "body" in options:
            body = str(options["body"]).encode()
            return build_request(method, uri, headers, body, options.get("content_type", "text/plain"))
        if method == "MESSAGE":
            return build_request(method, uri, headers, b"wicct: hello", "text/plain")
        return build_request(method, uri, headers)

    def _in_dialog(self, dialog: Dialog, method: str) -> SipMessage:
        if method == "ACK":
            cseq = dialog.invite.cseq.number
        else:
            dialog.local_cseq += 1
            cseq = dialog.local_cseq
        headers = [
            ("Via", f"SIP/2.0/WSS {self.hostport};branch={new_branch()}"),
            ("Max-Forwards", "70"),
            *(("Route", r) for r in dialog.route),
            ("From", str(dialog.local)),
            ("To", str(dialog.remote)),
            ("Call-ID", dialog.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("User-Agent", AGENT),
        ]
        return build_request(method, dialog.remote_target, headers)

    async def invite(self, channel: SipChannel) -> tuple[SipMessage, int]:
        """Call the WIC with a real JSEP offer (SEED 5.1.X.3); the 2xx is ACKed here."""
        media = await make_offer()
        invite = self.build_request("INVITE", channel, sdp=media.sdp)
        dialog = Dialog(
            call_id=invite.call_id,
            local=invite.from_,
            remote=invite.to,
            remote_target=invite.request_uri or self.target(),
            channel=channel,
            invite=invite,
            outgoing=True,
            local_cseq=invite.cseq.number,
            media=media,
        )
        self.dialogs.append(dialog)
        seq = await channel.send(invite)
        dialog.completion = self._spawn(self._complete_invite(dialog))
        return invite, seq

    async def established(self, dialog: Dialog, within: float) -> bool:
        """Wait (bounded) until an outgoing call's final response was handled and ACKed."""
        if dialog.completion is not None and not dialog.completion.done():
            await asyncio.wait([dialog.completion], timeout=within)
        return dialog.confirmed and not dialog.ended

    async def _complete_invite(self, dialog: Dialog) -> None:
        """The UAC core's part: ACK a 2xx (RFC 3261 §13.2.2.4) or a failure (§17.1.1.3)."""
        chan, invite = dialog.channel, dialog.invite
        final = await chan.response_to(invite, 300.0, final=True)
        if final is None or final.message is None:
            return
        response = final.message
        status = response.status or 0
        if status >= 300:
            dialog.ended = True
            via = invite.header("Via") or ""
            ack = build_request("ACK", invite.request_uri or self.target(), [
                ("Via", via), ("Max-Forwards", "70"), ("From", str(dialog.local)),
                ("To", response.header("To") or str(dialog.remote)), ("Call-ID", dialog.call_id),
                ("CSeq", f"{invite.cseq.number} ACK"), ("User-Agent", AGENT),
            ])
            await chan.send(ack)
            return
        with contextlib.suppress(SipParseError, IndexError):
            dialog.remote = response.to
            contacts = response.contacts
            if contacts:
                dialog.remote_target = str(contacts[0].uri)
            dialog.route = tuple(reversed(response.header_values("Record-Route")))
        if dialog.media is not None and response.body:
            try:
                await dialog.media.accept_answer(response.body.decode("utf-8", "replace"))
            except Exception as exc:  # noqa: BLE001 - the WIC's SDP is evidence, not a crash
                self._note(f"aiortc refused the WIC's answer: {exc!r}", conn=chan.conn.conn_id)
        dialog.confirmed = True
        await chan.send(self._in_dialog(dialog, "ACK"))

    # -- requests from the WIC ------------------------------------------------------

    async def _on_request(self, chan: SipChannel, received: Received) -> None:
        msg = received.message
        if msg is None or received.error:
            self._note(f"not answered: unparsable request ({received.error})", conn=chan.conn.conn_id)
            return
        try:
            method = msg.method.upper()
            branch = msg.top_via.branch if msg.top_via else None
        except SipParseError as exc:
            self._note(f"not answered: {exc}", conn=chan.conn.conn_id)
            return
        key = (branch or msg.call_id, method)
        if method != "ACK" and key in self._server_txs:
            # RFC 3261 §17.2: a retransmission is absorbed by its transaction, which
            # repeats its last response (if it sent one).
            tx = self._server_txs[key]
            self._note(f"retransmission of {method} absorbed", conn=chan.conn.conn_id)
            if tx.responses:
                await chan.send(tx.responses[-1])
            return
        tx = self._server_txs.setdefault(key, _ServerTx())
        policy = self.policies.get(method, Policy())
        if method == "ACK":
            await self._ack(chan, msg)
            return
        if policy.mode == "withhold":
            self._note(f"{method} deliberately not answered (policy)", conn=chan.conn.conn_id)
            return
        if policy.mode == "status":
            await self._respond(chan, tx, msg, policy.status, policy)
            return
        handler = {
            "REGISTER": self._register,
            "INVITE": self._invite,
            "BYE": self._bye,
            "CANCEL": self._cancel,
        }.get(method)
        if handler is not None:
            await handler(chan, tx, msg, policy)
        elif method in ("OPTIONS", "MESSAGE", "INFO", "UPDATE", "NOTIFY"):
            extra = [("Allow", ALLOW), ("Accept", "application/sdp, text/plain")] if method == "OPTIONS" else []
            await self._respond(chan, tx, msg, 200, policy, headers=extra)
        else:
            await self._respond(chan, tx, msg, 405, policy, headers=[("Allow", ALLOW)])

    async def _respond(
        self,
        chan: SipChannel,
        tx: _ServerTx,
        request: SipMessage,
        status: int,
        policy: Policy,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        to_tag: str | None = None,
    ) -> SipMessage:
        response = build_response(
            request, status, headers=[*(headers or []), ("Server", AGENT)], body=body,
            content_type=content_type, to_tag=to_tag if status > 100 else None,
        )
        response = self._fix_via(chan, response, strip=policy.mode == "strip")
        if policy.content_length == "larger":
            response = response.replace_header("Content-Length", str(len(response.body) + 20))
        tx.responses.append(response)
        await chan.send(response)
        return response

    def _fix_via(self, chan: SipChannel, response: SipMessage, *, strip: bool) -> SipMessage:
        """RFC 3261 §18.2.1 / RFC 3581: `received` (and `rport`'s value) in the top Via,
        as a proxy facing a `.invalid` sent-by adds them; or neither (WIC-TP-03 stimulus)."""
        index = next((i for i, (n, _) in enumerate(response.headers) if n.lower() in ("via", "v")), None)
        if index is None:
            return response
        name, value = response.headers[index]
        parts = split_header_list(value)
        try:
            via = Via.parse(parts[0])
        except SipParseError:
            return response
        if strip:
            via = via.without_param("received").without_param("rport")
        else:
            host, port = self.peer_address(chan)
            if via.host.strip("[]") != host:
                via = via.with_param("received", host)
            if via.rport == "" and port is not None:
                via = via.with_param("rport", str(port))
        headers = list(response.headers)
        headers[index] = (name, ", ".join([str(via), *parts[1:]]))
        return SipMessage(response.start_line, tuple(headers), response.body)

    async def _register(self, chan: SipChannel, tx: _ServerTx, msg: SipMessage, policy: Policy) -> None:
        """Registrar (RFC 3261 §10.3, RFC 5626 §6, RFC 3608)."""
        if self.challenge and not self._authorized(msg):
            nonce = secrets.token_hex(12)
            self._nonces.add(nonce)
            challenge = build_digest_challenge(self.profile.domain, nonce)
            await self._respond(chan, tx, msg, 401, policy, headers=[("WWW-Authenticate", challenge)],
                                to_tag=new_tag())
            return
        try:
            contacts = msg.contacts
            default = int((msg.header("Expires") or str(DEFAULT_EXPIRES)).strip())
        except (SipParseError, ValueError):
            await self._respond(chan, tx, msg, 400, policy, to_tag=new_tag())
            return
        echoed = []
        for contact in contacts:
            raw = contact.param("expires")
            expires = int(raw) if raw and raw.isdigit() else default
            expires = min(expires, 3600)
            if expires == 0:
                self.registration = None
                continue
            echoed.append(str(contact.with_param("expires", str(expires))))
            self.registration = Registration(
                aor=str(msg.to.uri), contact=contact, expires=expires, channel=chan, request=msg
            )
            self.registrations.append(self.registration)
        headers = [("Contact", c) for c in echoed]
        headers.append(("Service-Route", f"<sip:orig@{self.hostport};transport=ws;lr>"))
        supported = {s.strip().lower() for s in msg.header_values("Supported")}
        if any(c.has_param("reg-id") for c in contacts) and "outbound" in supported:
            headers.append(("Require", "outbound"))  # RFC 5626 §6
        headers.append(("Supported", "path, outbound"))
        await self._respond(chan, tx, msg, 200, policy, headers=headers, to_tag=new_tag())

    def _authorized(self, msg: SipMessage) -> bool:
        value = msg.header("Authorization")
        return bool(value) and any(
            verify_digest(value, password=self.profile.password, method=msg.method, nonce=n)
            for n in self._nonces
        )

    async def _invite(self, chan: SipChannel, tx: _ServerTx, msg: SipMessage, policy: Policy) -> None:
        """The IMS core answers the WIC's call: 180, then 200 with a real JSEP answer."""
        existing = next((d for d in self.dialogs if d.call_id == msg.call_id and not d.ended), None)
        if msg.to.tag is not None:
            if existing is None:
                await self._respond(chan, tx, msg, 481, policy)
                return
            sdp = existing.media.sdp.encode() if existing.media is not None else b""
            await self._respond(chan, tx, msg, 200, policy, headers=[("Contact", self.contact)],
                                body=sdp, content_type="application/sdp" if sdp else None)
            return
        tag = new_tag()
        contact = [("Contact", self.contact), ("Allow", ALLOW)]
        await self._respond(chan, tx, msg, 180, policy, headers=contact, to_tag=tag)
        try:
            offer = msg.body.decode("utf-8", "replace")
            media = await make_answer(offer) if msg.body else await make_offer()
        except Exception as exc:  # noqa: BLE001 - an offer aiortc cannot answer is the WIC's
            self._note(f"aiortc could not answer the WIC's offer: {exc!r}", conn=chan.conn.conn_id)
            await self._respond(chan, tx, msg, 488, policy, to_tag=tag)
            return
        response = await self._respond(chan, tx, msg, 200, policy, headers=contact, to_tag=tag,
                                       body=media.sdp.encode(), content_type="application/sdp")
        contacts = msg.contacts
        self.dialogs.append(Dialog(
            call_id=msg.call_id,
            local=response.to,
            remote=msg.from_,
            remote_target=str(contacts[0].uri) if contacts else str(msg.from_.uri),
            channel=chan,
            invite=msg,
            outgoing=False,
            local_cseq=0,
            route=tuple(msg.header_values("Record-Route")),
            media=media,
        ))

    async def _ack(self, chan: SipChannel, msg: SipMessage) -> None:
        dialog = next((d for d in self.dialogs if d.call_id == msg.call_id and not d.outgoing), None)
        if dialog is None:
            return
        dialog.confirmed = True
        if msg.body and dialog.media is not None and not dialog.invite.body:
            with contextlib.suppress(Exception):
                await dialog.media.accept_answer(msg.body.decode("utf-8", "replace"))

    async def _bye(self, chan: SipChannel, tx: _ServerTx, msg: SipMessage, policy: Policy) -> None:
        dialog = next((d for d in self.dialogs if d.call_id == msg.call_id and not d.ended), None)
        if dialog is None:
            await self._respond(chan, tx, msg, 481, policy)
            return
        dialog.ended = True
        await self._respond(chan, tx, msg, 200, policy)
        if dialog.media is not None:
            self._spawn(dialog.media.close())

    async def _cancel(self, chan: SipChannel, tx: _ServerTx, msg: SipMessage, policy: Policy) -> None:
        branch = msg.top_via.branch if msg.top_via else None
        invite_tx = self._server_txs.get((branch or msg.call_id, "INVITE"))
        await self._respond(chan, tx, msg, 200 if invite_tx else 481, policy)
        if invite_tx and invite_tx.responses and (invite_tx.responses[-1].status or 0) < 200:
            # the INVITE was not answered yet: 487 Request Terminated (RFC 3261 §9.2)
            last = invite_tx.responses[-1]
            terminated = SipMessage("SIP/2.0 487 Request Terminated", last.headers, b"")
            terminated = terminated.remove_header("Contact").replace_header("Content-Length", "0")
            invite_tx.responses.append(terminated)
            await chan.send(terminated)


__all__ = ["CERTIFICATES", "POLICY_MODES", "Dialog", "EpcscfEmulator", "Policy", "Registration"]
