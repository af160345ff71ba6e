"""wicct's WIC emulator (actor "wic"): the SIP WebSocket client facing an eP-CSCF under test.

It behaves like a JsSIP-style WebRTC IMS Client (SEED 5.1.X, RFC 7118): it opens WSS
connections (verifying the SUT's certificate against the CA its driver names, RFC 7118
§9.1, unless the profile sets `tls_verify: false`), builds well-formed requests (Via
`SIP/2.0/WSS <random>.invalid`, Contact `<sip:<random>@<random>.invalid;transport=ws>`,
RFC 7118 §5.1, §5.2; with RFC 5626 `+sip.instance` / `reg-id` when the profile claims
`outbound`), places calls with real aiortc offers, and answers what the SUT sends
(OPTIONS/MESSAGE/BYE → 200, INVITE → 180 then 200 with an aiortc answer) unless a case
set a policy; a request that does not parse is recorded and not answered. It implements
the `Peer` protocol of `harness.cases.peer_steps`; every connection is a `SipChannel`
with evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.actors.channel import Received, SipChannel
from harness.actors.core import normalise_action
from harness.actors.digest_client import DigestClient
from harness.evidence import NOTE, Timeline
from harness.profiles import Profile
from harness.sip import SipMessage, build_request, build_response, new_branch, new_call_id, new_tag
from harness.sip.dialog import Dialog as SipDialog
from harness.sip.dialog import ack_for_2xx, ack_for_failure, cancel_for, next_request, uac_dialog
from harness.sip.stimuli import content_length_stimulus
from harness.ws import ConnectResult, connect

ACTOR = "wic"
USER_AGENT = "wicct WIC emulator"
DEFAULT_ORIGIN = object()  # connect(): use the profile's WWSF origin

REQUEST_OPTIONS = frozenset(
    {
        "to", "ruri", "via_transport", "sent_by", "call_id", "cseq", "from_tag", "to_tag",
        "expires", "outbound", "contact", "headers", "max_forwards", "route", "digest", "from",
        "authorization", "compact", "joined",
    }
)  # fmt: skip
# RFC 3261 §7.3.3: the compact forms a request may use (option `compact`)
COMPACT_NAMES = {"Via": "v", "To": "t", "From": "f", "Call-ID": "i", "Contact": "m", "Supported": "k"}


def joined_rows(fields: list[tuple[str, str]], names: Sequence[str]) -> list[tuple[str, str]]:
    """`fields` with the rows of each header of `names` (any case) joined into one row at
    the place of the first, values separated by ", " (RFC 3261 §7.3.1)."""
    wanted = {n.lower() for n in names}
    out: list[tuple[str, str]] = []
    first: dict[str, int] = {}
    for name, value in fields:
        key = name.lower()
        if key in wanted and key in first:
            at = first[key]
            out[at] = (out[at][0], f"{out[at][1]}, {value}")
            continue
        first.setdefault(key, len(out))
        out.append((name, value))
    return out


def _token(n: int = 8) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class Session:
    """What one connection's user agent keeps (JsSIP makes these per UA instance)."""

    user: str = field(default_factory=_token)
    host: str = field(default_factory=lambda: f"{_token(12)}.invalid")
    instance: str = field(default_factory=lambda: str(uuid.uuid4()))
    reg_call_id: str = field(default_factory=new_call_id)
    reg_from_tag: str = field(default_factory=new_tag)
    cseq: dict[str, int] = field(default_factory=dict)

    def next_cseq(self, call_id: str) -> int:
        self.cseq[call_id] = self.cseq.get(call_id, 0) + 1
        return self.cseq[call_id]


@dataclass
class Dialog:
    """A dialog the WIC created as UAC: its RFC 3261 §12.1.2 state and the INVITE."""

    state: SipDialog
    invite: SipMessage

    @property
    def call_id(self) -> str:
        return self.state.call_id

    @property
    def remote_target(self) -> str:
        return self.state.remote_target

    @property
    def route_set(self) -> tuple[str, ...]:
        return self.state.route_set


@dataclass(frozen=True)
class ConnectParams:
    origin: Any
    subprotocols: tuple[str, ...] | None
    version: str
    extra_headers: tuple[tuple[str, str], ...]


@dataclass
class Policy:
    action: str | int = "auto"
    content_length: str = "correct"
    frame: str = "text"  # "binary": responses go in binary frames (RFC 7118 §4.2, BOTH-FR-04)


class WicEmulator:
    """See the module docstring."""

    actor_name = ACTOR

    def __init__(
        self,
        timeline: Timeline,
        profile: Profile,
        url: str,
        ssl_context: ssl.SSLContext | None,
        *,
        server_hostname: str | None = None,
        bearer: str | None = None,
    ) -> None:
        self.timeline = timeline
        # SEED 5.Y.1.3, RFC 8898 §2.1: the web-credentials token every default REGISTER
        # carries as `Authorization: Bearer` (None: the profile does not claim them)
        self.bearer = bearer
        self.profile = profile
        self.url = url
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.outbound = "outbound" in profile.features
        self.policies: dict[str, Policy] = {}
        self.results: dict[str, ConnectResult] = {}
        self.dialogs: list[Dialog] = []
        self._channels: dict[str, SipChannel] = {}
        self._old: list[SipChannel] = []
        self._sessions: dict[int, Session] = {}
        self._params: dict[str, ConnectParams] = {}
        self._media: list[Any] = []
        # the aiortc peer of each call (Call-ID), offerer or answerer; `answer_audio`: the
        # answers send audio (silence), so media can be watched in both directions
        self.media: dict[str, Any] = {}
        self.answer_audio = False
        self.digest = DigestClient(profile.impi, profile.domain, profile.password, timeline.redactor)

    # -- connections ----------------------------------------------------------------------

    async def connect(
        self,
        name: str = "main",
        *,
        origin: Any = DEFAULT_ORIGIN,
        subprotocols: Sequence[str] | None = ("sip",),
        version: str = "13",
        extra_headers: Sequence[tuple[str, str]] = (),
        timeout: float | None = None,
    ) -> ConnectResult:
        """Open a WebSocket connection named `name` (RFC 6455 §4.1); never raises for
        network or SUT faults: they are in `ConnectResult.error`."""
        params = ConnectParams(
            origin,
            tuple(subprotocols) if subprotocols is not None else None,
            version,
            tuple((str(n), str(v)) for n, v in extra_headers),
        )
        self._params[name] = params
        previous = self._channels.pop(name, None)
        if previous is not None:
            self._old.append(previous)
        result = await connect(
            self.url,
            timeline=self.timeline,
            actor=ACTOR,
            ssl_context=self.ssl_context,
            origin=self.profile.wwsf_origin if origin is DEFAULT_ORIGIN else origin,
            subprotocols=params.subprotocols,
            version=version,
            extra_headers=params.extra_headers,
            timeout=timeout if timeout is not None else self.profile.timers.handshake_timeout,
            server_hostname=self.server_hostname,
        )
        self.results[name] = result
        if result.conn is not None:
            channel = SipChannel(result.conn, self.timeline, ACTOR, name, on_request=self._on_request)
            self._channels[name] = channel.start()
        return result

    def channel(self, name: str = "main") -> SipChannel | None:
        return self._channels.get(name)

    def channels(self) -> dict[str, SipChannel]:
        """The open (or last) channel of each connection name."""
        return dict(self._channels)

    async def reopen(self, name: str = "main") -> SipChannel | None:
        """A new connection with the parameters `name` was first opened with."""
        params = self._params.get(name, ConnectParams(DEFAULT_ORIGIN, ("sip",), "13", ()))
        self.timeline.add(ACTOR, NOTE, f"reopening connection {name!r}")
        result = await self.connect(
            name,
            origin=params.origin,
            subprotocols=params.subprotocols,
            version=params.version,
            extra_headers=params.extra_headers,
        )
        return self.channel(name) if result.conn is not None else None

    async def stop(self) -> None:
        channels = [*self._channels.values(), *self._old]
        self._channels.clear()
        self._old.clear()
        if channels:
            await asyncio.gather(*(c.stop() for c in channels), return_exceptions=True)
        media, self._media = self._media, []
        # every peer closed, even when one fails: an aiortc peer left open outlives the case
        await asyncio.gather(*(peer.close() for peer in media), return_exceptions=True)

    def session(self, channel: SipChannel) -> Session:
        return self._sessions.setdefault(
            id(channel), Session(reg_call_id=new_call_id(self.timeline.scope))
        )

    # -- requests (RFC 3261 §8.1.1, RFC 7118 §5) ------------------------------------------

    def build_request(self, method: str, channel: SipChannel, **options: Any) -> SipMessage:
        """A well-formed request as a JsSIP-like WIC writes it.

        Options: to, ruri, via_transport ("WSS"; "wss" is the lower-case stimulus),
        sent_by, call_id, cseq, from_tag, to_tag, expires, outbound, contact (False: none;
        a string: that value), headers ([[name, value]...]), max_forwards, route ([uri...]),
        digest (REGISTER: SIP digest Authorization, `harness.actors.digest_client`).
        from (the From name-addr without its tag; default: the profile's display name and IMPU).
        authorization (the Authorization values to send, a string or a list; None or an
        empty list: none; absent: `Bearer <bearer>` on a REGISTER when the emulator has a
        token, RFC 8898 §2.1).
        compact (true: Via, To, From, Call-ID, Contact and Supported in their compact forms
        `v:`, `t:`, `f:`, `i:`, `m:`, `k:`, RFC 3261 §7.3.3).
        joined (a list of header names: the rows of each written as one comma-separated
        row, RFC 3261 §7.3.1; `Authorization` joined is the spelling §7.3.1 does not allow
        for it, a stimulus).
        """
        unknown = set(options) - REQUEST_OPTIONS
        if unknown:
            raise ValueError(f"unknown request option(s) {sorted(unknown)} (known: {sorted(REQUEST_OPTIONS)})")
        method = method.upper()
        s = self.session(channel)
        profile = self.profile
        outbound = bool(options.get("outbound", self.outbound))
        register = method == "REGISTER"
        target = str(options.get("to") or (profile.impu if register else profile.callee))
        ruri = str(options.get("ruri") or (f"sip:{profile.domain}" if register else target))
        call_id = str(options.get("call_id") or (s.reg_call_id if register else new_call_id(self.timeline.scope)))
        cseq = int(options.get("cseq") or s.next_cseq(call_id))
        from_tag = str(options.get("from_tag") or (s.reg_from_tag if register else new_tag()))
        identity = str(options.get("from") or f'"{profile.display_name}" <{profile.impu}>')
        to_value = f"<{target}>" + (f";tag={options['to_tag']}" if options.get("to_tag") else "")
        via = (
            f"SIP/2.0/{options.get('via_transport', 'WSS')} {options.get('sent_by', s.host)}"
            f";branch={new_branch()}"
        )
        fields: list[tuple[str, str]] = [
            ("Via", via),
            ("Max-Forwards", str(options.get("max_forwards", 70))),
            *[("Route", f"<{r}>" if not str(r).startswith("<") else str(r)) for r in options.get("route", [])],
            ("To", to_value),
            ("From", f"{identity};tag={from_tag}"),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        contact = options.get("contact", method in ("REGISTER", "INVITE", "SUBSCRIBE"))
        if contact is True:
            fields.append(("Contact", self.contact(channel, register=register, outbound=outbound)))
        elif contact:
            fields.append(("Contact", str(contact)))
        if register:
            fields.append(("Expires", str(options.get("expires", 600))))
        if register and options.get("digest"):
            fields.append(("Authorization", self.digest.authorization(call_id, method, ruri)))
        if outbound and method in ("REGISTER", "INVITE"):
            fields.append(("Supported", "path, outbound"))
        elif register:
            fields.append(("Supported", "path"))
        fields += [("Authorization", value) for value in self._authorization(register, options)]
        fields.append(("User-Agent", USER_AGENT))
        fields += [(str(n), str(v)) for n, v in options.get("headers", [])]
        if options.get("joined"):
            fields = joined_rows(fields, options["joined"])
        if options.get("compact"):
            fields = [(COMPACT_NAMES.get(n, n), v) for n, v in fields]
        return build_request(method, ruri, fields)

    def _authorization(self, register: bool, options: dict[str, Any]) -> list[str]:
        """The Authorization values of a request (see `build_request`)."""
        if "authorization" not in options:
            return [f"Bearer {self.bearer}"] if register and self.bearer else []
        value = options["authorization"]
        if not value:
            return []
        return [str(value)] if isinstance(value, str) else [str(v) for v in value]

    def contact(self, channel: SipChannel, *, register: bool, outbound: bool) -> str:
        """`<sip:user@host.invalid;transport=ws>` (RFC 7118 §5.2), with RFC 5626 parameters."""
        s = self.session(channel)
        uri = f"sip:{s.user}@{s.host};transport=ws"
        if not outbound:
            return f"<{uri}>"
        if register:
            return f'<{uri}>;+sip.instance="<urn:uuid:{s.instance}>";reg-id=1'
        return f"<{uri};ob>"

    async def register(self, channel: SipChannel, **options: Any) -> SipMessage:
        request = self.build_request("REGISTER", channel, **options)
        await channel.send(request)
        return request

    # -- calls (SEED 5.1.X.2; RFC 3261 §13, §12) --------------------------------------------

    async def invite(self, channel: SipChannel, *, media: Sequence[str] = ("audio",), **options: Any) -> SipMessage:
        """An INVITE with a real aiortc offer of one m= section per kind in `media`
        (JSEP: bundled, BUNDLE group and all)."""
        from harness.sdp.jsep import make_offer

        offer = await make_offer(tuple(media))
        self._media.append(offer)
        request = self.build_request("INVITE", channel, **options)
        self.media[request.call_id] = offer
        request = request.with_body(offer.sdp.encode(), "application/sdp")
        await channel.send(request)
        return request

    def media_note(self, call_id: str, facts: Mapping[str, Any]) -> int:
        """A note with what the call's aiortc peer saw of its media (ICE and connection
        states, RTP packets received and sent: `harness.sdp.media.media_facts`); its seq."""
        return self.timeline.add(
            ACTOR, NOTE, f"media of the call {call_id}: ICE {facts['ice']}, connection {facts['connection']}, "
            f"RTP received {facts['rtp_received']}, sent {facts['rtp_sent']}", media=dict(facts), call_id=call_id,
        ).seq

    def dialog(self, invite: SipMessage, response: SipMessage) -> Dialog:
        """The UAC's dialog from a 2xx (RFC 3261 §12.1.2): route set = reversed Record-Route."""
        dialog = Dialog(uac_dialog(invite, response), invite)
        self.dialogs.append(dialog)
        return dialog

    def in_dialog(self, dialog: Dialog, method: str, channel: SipChannel) -> SipMessage:
        """ACK (same CSeq number, RFC 3261 §13.2.2.4) or a new in-dialog request (CSeq + 1,
        §12.2.1.1), with JsSIP's header order."""
        method = method.upper()
        via = f"SIP/2.0/WSS {self.session(channel).host};branch={new_branch()}"
        agent = [("User-Agent", USER_AGENT)]
        if method == "ACK":
            return ack_for_2xx(dialog.state, dialog.invite, via, headers=agent, to_first=True)
        dialog.state, request = next_request(dialog.state, method, via, headers=agent, to_first=True)
        return request

    def cancel(self, invite: SipMessage) -> SipMessage:
        """The CANCEL of a pending INVITE (RFC 3261 §9.1: its Request-URI, top Via, Route,
        From, To, Call-ID and CSeq number), with JsSIP's header order."""
        return cancel_for(invite, headers=[("User-Agent", USER_AGENT)], to_first=True)

    def ack_failure(self, invite: SipMessage, response: SipMessage) -> SipMessage:
        """The ACK of a 300-699 to `invite`, in its transaction (RFC 3261 §17.1.1.3)."""
        return ack_for_failure(invite, response, headers=[("User-Agent", USER_AGENT)], to_first=True)

    # -- answering what the SUT sends --------------------------------------------------------

    def set_policy(
        self, method: str, action: str | int = "auto", content_length: str = "correct", frame: str = "text"
    ) -> None:
        self.policies[method.upper()] = Policy(normalise_action(action), content_length, frame)

    async def _on_request(self, channel: SipChannel, received: Received) -> None:
        request = received.message
        if request is None:
            return
        if received.error:  # never a 200 to what did not parse (RFC 3261 §8.2): not answered
            self.timeline.add(ACTOR, NOTE, f"not answered: unparsable request ({received.error})",
                              conn=channel.conn.conn_id)
            return
        method = request.method.upper()
        if method == "ACK":
            return
        policy = self.policies.get(method, Policy())
        if policy.action == "withhold":
            self.timeline.add(ACTOR, NOTE, f"withholding the response to {method} (policy)",
                              conn=channel.conn.conn_id)
            return
        to_tag = new_tag()
        if isinstance(policy.action, int):
            await self._respond(channel, request, policy.action, to_tag, policy)
        elif method == "INVITE":
            await self._answer_invite(channel, request, to_tag, policy)
        else:
            await self._respond(channel, request, 200, to_tag, policy)

    async def _answer_invite(self, channel: SipChannel, request: SipMessage, to_tag: str, policy: Policy) -> None:
        """SEED 5.1.X.3: 180 first, then 200 with a JSEP answer."""
        contact = [("Contact", self.contact(channel, register=False, outbound=self.outbound))]
        await self._respond(channel, request, 180, to_tag, policy, headers=contact)
        body, ctype = b"", None
        if b"v=0" in request.body:
            from harness.sdp.jsep import make_answer

            try:
                answer = await make_answer(request.body.decode("utf-8", "replace"), audio=self.answer_audio)
            except Exception as exc:  # noqa: BLE001 - an offer aiortc refuses
                self.timeline.add(ACTOR, NOTE, f"cannot answer the offer: {exc!r}")
                await self._respond(channel, request, 488, to_tag, policy)
                return
            self._media.append(answer)
            self.media[request.call_id] = answer
            body, ctype = answer.sdp.encode(), "application/sdp"
        await self._respond(channel, request, 200, to_tag, policy, headers=contact, body=body, content_type=ctype)

    async def _respond(
        self,
        channel: SipChannel,
        request: SipMessage,
        status: int,
        to_tag: str,
        policy: Policy,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> None:
        response = build_response(
            request, status, to_tag=to_tag if status > 100 else None,
            headers=[*(headers or []), ("User-Agent", USER_AGENT)],
            body=body, content_type=content_type,
        )
        response = content_length_stimulus(response, policy.content_length)
        if channel.closed:
            return
        with contextlib.suppress(Exception):
            await channel.send(response, frame=policy.frame)



__all__ = ["DEFAULT_ORIGIN", "Dialog", "Session", "WicEmulator"]
