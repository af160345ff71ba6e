"""The eP-CSCF emulator proper: the WSS listener, its certificate, the channels, and the
IMS core's requests to the WIC (the UAC side; `answers` is the UAS side)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from pathlib import Path
from typing import Any

from harness import evidence as ev
from harness.actors.channel import SipChannel
from harness.actors.epcscf_emulator.answers import Answers
from harness.actors.epcscf_emulator.credentials import Digest
from harness.actors.epcscf_emulator.model import (
    ACTOR,
    AGENT,
    ALLOW,
    CERTIFICATES,
    WRONG_NAME,
    Dialog,
    Policy,
    Registration,
)
from harness.actors.epcscf_emulator.offers import KINDS, ims_style, off_hold, on_hold
from harness.evidence import CONNECT, NOTE, Timeline
from harness.pki import Pki
from harness.profiles import Profile
from harness.sdp.jsep import make_offer
from harness.sip import (
    SipMessage,
    SipParseError,
    SipUri,
    build_request,
    new_branch,
    new_call_id,
    new_tag,
)
from harness.sip.dialog import (
    ack_for_2xx,
    ack_for_failure,
    cancel_for,
    next_request,
    uac_dialog,
)
from harness.ws import WsConnection, WsServer

MAX_WIC_CONNECTIONS = 32  # WebSockets a WIC may hold at once towards the emulator


class EpcscfEmulator:
    """See the package docstring. Implements `harness.cases.peer_steps.Peer`."""

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
        # WIC-REG-01: the Digest challenge (first algorithm the profile lists, until a case
        # says otherwise); WIC-REG-02: the token the WIC was provisioned with ("" none)
        self.digest: Digest | None = (
            Digest(profile.domain, profile.auth.digest_algorithms[0]) if challenge else None
        )
        self.token = ""
        self.host = host
        self.certificate = "valid"
        self.policies: dict[str, Policy] = {}
        self.registration: Registration | None = None
        self.registrations: list[Registration] = []  # every successful REGISTER, in order
        self.max_expires: int | None = None  # the registrar's grant cap (RFC 3261 §10.3 step 7)
        self.dialogs: list[Dialog] = []
        self.channels: list[SipChannel] = []
        self._names: dict[str, SipChannel] = {}
        self._arrived = asyncio.Condition()
        self._server: WsServer | None = None
        self._untrusted: Pki | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cseq = itertools.count(1)
        self._answers = Answers(self)

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
            # a WIC needs one WebSocket (two while it reconnects): a hostile one opening
            # hundreds is refused past this, so wicct's memory stays bounded (issue 11)
            max_connections=MAX_WIC_CONNECTIONS,
        )
        await self._server.start()
        self.note(f"eP-CSCF emulator listening on {self.url}")
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

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def note(self, summary: str, conn: str = "", **data: Any) -> int:
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
        chan = SipChannel(conn, self.timeline, ACTOR, name, on_request=self._answers.on_request)
        async with self._arrived:
            self.channels.append(chan)
            self._names[name] = chan
            self._arrived.notify_all()
        chan.start()
        self.note(f"connection {conn.conn_id} is channel {name!r}", conn=conn.conn_id)

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
            self.note(f"no new connection from the WIC within {window:g} s")
            return None
        self._names[name] = chan
        self.note(f"channel {name!r} is now connection {chan.conn.conn_id}", conn=chan.conn.conn_id)
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
        self.note(f"policy for {method.upper()}: {policy.mode}"
                  + (f" {policy.status}" if policy.mode == "status" else "")
                  + (f", Content-Length {policy.content_length}" if policy.content_length != "correct" else "")
                  + (f", in {policy.frame} frames" if policy.frame != "text" else ""))

    # -- registrar security (WIC-REG-01/02) -------------------------------------------

    def use_digest(self, algorithm: str, *, stale_rounds: int = 0) -> None:
        """Challenge REGISTER with Digest `algorithm` (RFC 7616) from now on; the first
        `stale_rounds` right answers are refused with a fresh nonce and `stale=true`
        (RFC 3261 §22.1, RFC 7616 §3.3)."""
        self.digest = Digest(self.profile.domain, algorithm, stale_rounds)
        self.challenge = True
        self.timeline.put(ACTOR, f"Digest challenges with {algorithm}, qop=auth"
                          + (f"; the first {stale_rounds} right answer(s) refused as stale" if stale_rounds else ""),
                          ev.stimulus({"what": "digest challenge"}))

    def expect_bearer(self, token: str) -> None:
        """The WIC was provisioned with `token` (WIC-REG-02): REGISTER needs it (RFC 8898
        §2.1). The token is compared on receipt, never recorded."""
        self.token = token
        self.note("REGISTER is accepted with the provisioned Bearer token (RFC 8898 §2.1)")

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
            ("Call-ID", new_call_id(self.timeline.scope)),
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
        """ACK for the 2xx (RFC 3261 §13.2.2.4) or a new request of the dialog (§12.2.1.1)."""
        via = f"SIP/2.0/WSS {self.hostport};branch={new_branch()}"
        agent = [("User-Agent", AGENT)]
        if method == "ACK":
            return ack_for_2xx(dialog.state, dialog.invite, via, headers=agent)
        dialog.state, request = next_request(dialog.state, method, via, headers=agent)
        return request

    async def invite(self, channel: SipChannel, offer: str = "audio") -> tuple[SipMessage, int]:
        """Call the WIC with a real JSEP offer (SEED 5.1.X.3) of kind `offer` (`OFFER_KINDS`:
        audio, audio and video, IMS-style); the 2xx is ACKed here."""
        media = await make_offer(KINDS[offer])
        if offer.startswith("ims"):
            media.sdp = ims_style(media.sdp)
        invite = self.build_request("INVITE", channel, sdp=media.sdp)
        dialog = Dialog(uac_dialog(invite), channel, invite, outgoing=True, media=media)
        self.dialogs.append(dialog)
        seq = await channel.send(invite)
        dialog.completion = self.spawn(self._complete_invite(dialog))
        return invite, seq

    async def cancel(self, dialog: Dialog) -> tuple[SipMessage, int]:
        """CANCEL the emulator's pending INVITE (RFC 3261 §9.1); its 487 is ACKed by the
        INVITE's completion task."""
        cancel = cancel_for(dialog.invite, headers=[("User-Agent", AGENT)])
        return cancel, await dialog.channel.send(cancel)

    async def hold(self, dialog: Dialog, *, resume: bool = False) -> tuple[SipMessage, int]:
        """Put a call the emulator placed on hold: a re-INVITE with its offer made
        `sendonly` (RFC 3264 §8.4), or with `resume` take it off hold (`sendrecv` again);
        the 2xx is ACKed here (RFC 3261 §14.1, §13.2.2.4)."""
        if not dialog.outgoing or dialog.media is None:
            raise RuntimeError("hold needs a call the emulator placed with an offer")
        dialog.media.sdp = off_hold(dialog.media.sdp) if resume else on_hold(dialog.media.sdp)
        via = f"SIP/2.0/WSS {self.hostport};branch={new_branch()}"
        dialog.state, reinvite = next_request(
            dialog.state, "INVITE", via, headers=[("Contact", self.contact), ("User-Agent", AGENT)],
            body=dialog.media.sdp.encode(), content_type="application/sdp")
        seq = await dialog.channel.send(reinvite)
        self.spawn(self._complete_reinvite(dialog, reinvite))
        return reinvite, seq

    async def in_dialog(self, dialog: Dialog, method: str, body: str) -> tuple[SipMessage, int]:
        """A non-INVITE request of the call from the network towards the WIC (RFC 3261
        §12.2.1.1: MESSAGE, INFO...), `body` as text/plain; the WIC owes it one final response."""
        via = f"SIP/2.0/WSS {self.hostport};branch={new_branch()}"
        dialog.state, request = next_request(
            dialog.state, method.upper(), via, headers=[("User-Agent", AGENT)],
            body=body.encode(), content_type="text/plain")
        return request, await dialog.channel.send(request)

    async def _complete_reinvite(self, dialog: Dialog, reinvite: SipMessage) -> None:
        chan = dialog.channel
        final = await chan.response_to(reinvite, 300.0, final=True)
        if final is None or final.message is None:
            return
        response, agent = final.message, [("User-Agent", AGENT)]
        if (response.status or 0) >= 300:
            await chan.send(ack_for_failure(reinvite, response, headers=agent))
            return
        via = f"SIP/2.0/WSS {self.hostport};branch={new_branch()}"
        await chan.send(ack_for_2xx(dialog.state, reinvite, via, headers=agent))

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
            await chan.send(ack_for_failure(invite, response, headers=[("User-Agent", AGENT)]))
            return
        with contextlib.suppress(SipParseError):
            dialog.state = uac_dialog(invite, response)
        if dialog.media is not None and response.body:
            try:
                await dialog.media.accept_answer(response.body.decode("utf-8", "replace"))
            except Exception as exc:  # noqa: BLE001 - the WIC's SDP is evidence, not a crash
                self.note(f"aiortc refused the WIC's answer: {exc!r}", conn=chan.conn.conn_id)
        dialog.confirmed = True
        await chan.send(self._in_dialog(dialog, "ACK"))


__all__ = ["EpcscfEmulator"]
