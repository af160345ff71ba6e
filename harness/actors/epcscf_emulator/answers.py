"""How the eP-CSCF emulator answers the WIC's requests: a registrar and the IMS core's UAS.

REGISTER → 200 (top Via `received`, Contact echoed with `expires`, Service-Route,
`Require: outbound` for an RFC 5626 registration), or a digest challenge; INVITE → 180,
then 200 with a real aiortc answer (policy `ring`: 180 only); ACK absorbed; BYE, CANCEL, OPTIONS, MESSAGE → 200.
A per-method `Policy` overrides this. Retransmissions are absorbed by their server
transaction (RFC 3261 §17.2.3), which repeats its last response.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from harness import evidence as ev
from harness.actors.channel import Received, SipChannel
from harness.actors.epcscf_emulator import credentials
from harness.actors.epcscf_emulator.model import (
    ACTOR,
    AGENT,
    ALLOW,
    DEFAULT_EXPIRES,
    Dialog,
    Policy,
    Registration,
    ServerTx,
)
from harness.evidence import AuthFacts
from harness.sdp.jsep import make_answer, make_offer
from harness.sip import (
    SipMessage,
    SipParseError,
    Via,
    build_response,
    new_tag,
)
from harness.sip.dialog import cancelled_transaction_key, server_transaction_key, uas_dialog
from harness.sip.headers import split_header_list

if TYPE_CHECKING:
    from harness.actors.epcscf_emulator.emulator import EpcscfEmulator


def fix_via(response: SipMessage, peer: tuple[str, int | None], *, strip: bool) -> SipMessage:
    """RFC 3261 §18.2.1 / RFC 3581: `received` (and `rport`'s value) in the top Via,
    as a proxy facing a `.invalid` sent-by adds them; or neither (WIC-TP-03 stimulus).
    `peer` is the WIC's source address on the connection."""
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
        host, port = peer
        if via.host.strip("[]") != host:
            via = via.with_param("received", host)
        if via.rport == "" and port is not None:
            via = via.with_param("rport", str(port))
    headers = list(response.headers)
    headers[index] = (name, ", ".join([str(via), *parts[1:]]))
    return SipMessage(response.start_line, tuple(headers), response.body)


class Answers:
    """The emulator's UAS side: one `on_request` per request the WIC sends."""

    def __init__(self, emulator: EpcscfEmulator) -> None:
        self.emu = emulator
        self.server_txs: dict[tuple[str | int, ...], ServerTx] = {}

    async def on_request(self, chan: SipChannel, received: Received) -> None:
        msg = received.message
        if msg is None or received.error:
            self.emu.note(f"not answered: unparsable request ({received.error})", conn=chan.conn.conn_id)
            return
        try:
            method = msg.method.upper()
            key = server_transaction_key(msg)
        except SipParseError as exc:
            self.emu.note(f"not answered: {exc}", conn=chan.conn.conn_id)
            return
        facts = self._credentials(chan, msg, received.entry)
        if method == "ACK":
            await self._ack(chan, msg)
            return
        if key in self.server_txs:
            # RFC 3261 §17.2: a retransmission is absorbed by its transaction, which
            # repeats its last response (if it sent one).
            tx = self.server_txs[key]
            self.emu.note(f"retransmission of {method} absorbed", conn=chan.conn.conn_id)
            if tx.responses:
                await chan.send(tx.responses[-1])
            return
        tx = self.server_txs.setdefault(key, ServerTx())
        policy = self.emu.policies.get(method, Policy())
        if policy.mode == "withhold":
            self.emu.note(f"{method} deliberately not answered (policy)", conn=chan.conn.conn_id)
            return
        if policy.mode == "status":
            await self._respond(chan, tx, msg, policy.status, policy)
            return
        if method == "REGISTER" and not await self._admitted(chan, tx, msg, policy, facts):
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
        tx: ServerTx,
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
        response = fix_via(response, self.emu.peer_address(chan), strip=policy.mode == "strip")
        if policy.content_length == "larger":
            response = response.replace_header("Content-Length", str(len(response.body) + 20))
        tx.responses.append(response)
        await chan.send(response, frame=policy.frame)
        return response

    async def _register(self, chan: SipChannel, tx: ServerTx, msg: SipMessage, policy: Policy) -> None:
        """Registrar (RFC 3261 §10.3, RFC 5626 §6, RFC 3608)."""
        emu = self.emu
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
            expires = min(expires, 3600, emu.max_expires or 3600)  # RFC 3261 §10.3 step 7: may shorten
            if expires == 0:
                emu.registration = None
                continue
            echoed.append(str(contact.with_param("expires", str(expires))))
            emu.registration = Registration(
                aor=str(msg.to.uri), contact=contact, expires=expires, channel=chan, request=msg
            )
            emu.registrations.append(emu.registration)
        headers = [("Contact", c) for c in echoed]
        headers.append(("Service-Route", f"<sip:orig@{emu.hostport};transport=ws;lr>"))
        supported = {s.strip().lower() for s in msg.header_values("Supported")}
        if any(c.has_param("reg-id") for c in contacts) and "outbound" in supported:
            headers.append(("Require", "outbound"))  # RFC 5626 §6
        headers.append(("Supported", "path, outbound"))
        await self._respond(chan, tx, msg, 200, policy, headers=headers, to_tag=new_tag())

    def _credentials(self, chan: SipChannel, msg: SipMessage, seq: int) -> AuthFacts | None:
        """WIC-REG-01/02: read the request's Authorization on receipt and record the facts
        (the credentials themselves are secrets). Only when wicct authenticates."""
        emu = self.emu
        if emu.digest is None and not emu.token:
            return None
        facts = credentials.read(msg, seq, digest=emu.digest, password=emu.profile.password,
                                 token=emu.token)
        emu.timeline.put(ACTOR, f"credentials of {credentials.summary(facts)}",
                         ev.note({"auth": facts}), conn=chan.conn.conn_id)
        return facts

    async def _admitted(
        self, chan: SipChannel, tx: ServerTx, msg: SipMessage, policy: Policy, facts: AuthFacts | None
    ) -> bool:
        """The registrar's authentication (RFC 3261 §22.1): with a provisioned token, that
        token in whatever form it came (lenient, as the handshake: one broken detail must
        not hide the rest; RFC 6750 §3.1 challenge on refusal); else, with `digest`, a verified Digest answer to
        a nonce wicct issued (RFC 7616), the first ones refused as stale when asked."""
        emu = self.emu
        if facts is None:
            return True
        if emu.token:
            if facts.get("token_matches"):
                return True  # lenient: any form; the checks judge the form (WIC-REG-02)
            challenge = credentials.bearer_challenge(emu.profile.domain, facts)
        else:
            digest = emu.digest
            assert digest is not None
            stale = bool(facts.get("verified")) and digest.stale_rounds > 0
            if facts.get("verified") and not stale:
                return True
            if stale:
                digest.stale_rounds -= 1
                digest.nonces.pop(facts.get("nonce", ""), None)  # that nonce is now old
            challenge = digest.challenge(stale=stale)
        await self._respond(chan, tx, msg, 401, policy, headers=[("WWW-Authenticate", challenge)],
                            to_tag=new_tag())
        return False

    async def _invite(self, chan: SipChannel, tx: ServerTx, msg: SipMessage, policy: Policy) -> None:
        """The IMS core answers the WIC's call: 180, then 200 with a real JSEP answer."""
        emu = self.emu
        existing = next((d for d in emu.dialogs if d.call_id == msg.call_id and not d.ended), None)
        if msg.to.tag is not None:
            if existing is None:
                await self._respond(chan, tx, msg, 481, policy)
                return
            sdp = existing.media.sdp.encode() if existing.media is not None else b""
            await self._respond(chan, tx, msg, 200, policy, headers=[("Contact", emu.contact)],
                                body=sdp, content_type="application/sdp" if sdp else None)
            return
        tag = new_tag()
        contact = [("Contact", emu.contact), ("Allow", ALLOW)]
        await self._respond(chan, tx, msg, 180, policy, headers=contact, to_tag=tag)
        if policy.mode == "ring":  # the callee is alerted and never answers (until CANCEL)
            return
        try:
            offer = msg.body.decode("utf-8", "replace")
            media = await make_answer(offer, audio=True) if msg.body else await make_offer()
        except Exception as exc:  # noqa: BLE001 - an offer aiortc cannot answer is the WIC's
            emu.note(f"aiortc could not answer the WIC's offer: {exc!r}", conn=chan.conn.conn_id)
            await self._respond(chan, tx, msg, 488, policy, to_tag=tag)
            return
        response = await self._respond(chan, tx, msg, 200, policy, headers=contact, to_tag=tag,
                                       body=media.sdp.encode(), content_type="application/sdp")
        emu.dialogs.append(Dialog(uas_dialog(msg, response), chan, msg, outgoing=False, media=media))

    async def _ack(self, chan: SipChannel, msg: SipMessage) -> None:
        dialog = next((d for d in self.emu.dialogs if d.call_id == msg.call_id and not d.outgoing), None)
        if dialog is None:
            return
        dialog.confirmed = True
        if msg.body and dialog.media is not None and not dialog.invite.body:
            with contextlib.suppress(Exception):
                await dialog.media.accept_answer(msg.body.decode("utf-8", "replace"))

    async def _bye(self, chan: SipChannel, tx: ServerTx, msg: SipMessage, policy: Policy) -> None:
        dialog = next((d for d in self.emu.dialogs if d.call_id == msg.call_id and not d.ended), None)
        if dialog is None:
            await self._respond(chan, tx, msg, 481, policy)
            return
        dialog.ended = True
        await self._respond(chan, tx, msg, 200, policy)
        if dialog.media is not None:
            self.emu.spawn(dialog.media.close())

    async def _cancel(self, chan: SipChannel, tx: ServerTx, msg: SipMessage, policy: Policy) -> None:
        invite_tx = self.server_txs.get(cancelled_transaction_key(msg))
        await self._respond(chan, tx, msg, 200 if invite_tx else 481, policy)
        if invite_tx and invite_tx.responses and (invite_tx.responses[-1].status or 0) < 200:
            # the INVITE was not answered yet: 487 Request Terminated (RFC 3261 §9.2)
            last = invite_tx.responses[-1]
            terminated = SipMessage("SIP/2.0 487 Request Terminated", last.headers, b"")
            terminated = terminated.remove_header("Contact").replace_header("Content-Length", "0")
            invite_tx.responses.append(terminated)
            await chan.send(terminated)
