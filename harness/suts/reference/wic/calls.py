"""The reference WIC's calls (SEED 5.1.X.2 - 5.1.X.4; RFC 3261 §12, §13, §15): placing
one with a JSEP offer, answering one with a JSEP answer, releasing either. Dialog state
and the ACK, BYE and CANCEL come from `harness.sip.dialog`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.sdp.jsep import MediaPeer, make_answer, make_offer
from harness.sdp.media import send_audio
from harness.sip import NameAddr, SipMessage, build_request, build_response, new_call_id, new_tag
from harness.sip.dialog import Dialog as SipDialog
from harness.sip.dialog import (
    ack_for_2xx,
    ack_for_failure,
    cancel_for,
    next_request,
    uac_dialog,
    uas_dialog,
)
from harness.suts.reference.wic.identity import AGENT, ALLOW
from harness.suts.reference.wic.sdp import answer_again, offer_kinds, sent_answer, sent_offer

if TYPE_CHECKING:
    from harness.suts.reference.wic.ua import ReferenceWic

_AGENT = [("User-Agent", AGENT)]


LATE_CLOSE = 5.0  # fault close_5s_after_release: seconds after a call is released


@dataclass
class Call:
    """The WIC's one call: its dialog (RFC 3261 §12) and where the user is with it."""

    dialog: SipDialog
    invite: SipMessage
    outgoing: bool
    state: str = "calling"  # calling | early | ringing | answered | confirmed | ended
    media: MediaPeer | None = None
    sdp: str = ""  # the SDP the WIC sent last in this call (its offer or answer)
    ack: SipMessage | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def call_id(self) -> str:
        return self.dialog.call_id

    @property
    def ended(self) -> bool:
        return self.state == "ended"


class Calls:
    """UAC and UAS behaviour of one `ReferenceWic` for INVITE dialogs."""

    def __init__(self, ua: ReferenceWic) -> None:
        self.ua = ua
        self.me = ua.identity
        self.log = ua.log
        self.released = 0  # calls released so far (fault close_after_second_release)
        self.incoming = 0  # new incoming calls so far (fault no_180_on_second_call)
        self.reoffers = 0  # re-INVITEs answered so far (fault contact_tcp_on_second_reinvite)

    # -- as UAC (RFC 3261 §13.2) -------------------------------------------------------------

    async def place(self, target: str) -> None:
        """UAC: INVITE with a JSEP offer, ACK on 2xx (RFC 3261 §13.2)."""
        ua, me = self.ua, self.me
        faults = ua.faults
        media = await make_offer(offer_kinds(faults))
        offer = sent_offer(media.sdp, faults)
        local = NameAddr.parse(me.aor).with_param("tag", new_tag())
        headers = [
            ("Via", me.dialog_via()),
            ("Max-Forwards", "70"),
            *(("Route", r) for r in ua.service_route),
            ("To", f"<{target}>"),
            ("From", str(local)),
            ("Call-ID", new_call_id()),
            ("CSeq", "1 INVITE"),
            ("Contact", me.dialog_contact()),
            ("Allow", ALLOW),
            ("Supported", "outbound"),
            ("User-Agent", AGENT),
            *me.invite_extras(),
            *me.bearer("INVITE"),
        ]
        invite = build_request("INVITE", target, headers, offer.encode(), "application/sdp")
        call = Call(uac_dialog(invite), invite, outgoing=True, media=media, sdp=offer)
        ua.call = call

        def provisional(response: SipMessage) -> None:
            if (response.status or 0) > 100 and call.state == "calling":
                call.state = "early"

        final = await ua.transactions.transact(invite, provisional)
        if final is None:
            call.state = "ended"
            await media.close()
            return
        status = final.status or 0
        if status >= 300:
            call.state = "ended"
            await ua.send(ack_for_failure(invite, final, headers=_AGENT, to_first=True))
            await media.close()
            return
        call.dialog = uac_dialog(invite, final)
        try:
            await media.accept_answer(final.body.decode("utf-8", "replace"))
        except Exception as exc:  # noqa: BLE001 - a bad answer is logged, the dialog stands
            self.log(f"the answer SDP was refused: {exc!r}")
        call.ack = ack_for_2xx(call.dialog, invite, me.dialog_via(), headers=[*_AGENT, *me.bearer("ACK")])
        call.state = "confirmed"
        await ua.send(call.ack)
        send_audio(media.pc)  # SEED 5.1.X.2: the call's media (silence) flows

    def on_stray_response(self, response: SipMessage) -> None:
        """A response no client transaction wants: a retransmitted 2xx is ACKed again."""
        call = self.ua.call
        status = response.status or 0
        if (
            response.cseq.method == "INVITE" and 200 <= status < 300 and call is not None
            and call.call_id == response.call_id and call.ack is not None
        ):
            self.log("2xx retransmission: ACK again (RFC 3261 §13.2.2.4)")
            self.ua.spawn(self.ua.send(call.ack))

    # -- the user's verbs ----------------------------------------------------------------------

    async def accept(self, call: Call) -> None:
        """UAS: 200 with a JSEP answer to the ringing call (SEED 5.1.X.3)."""
        offer, faults = call.invite.body.decode("utf-8", "replace"), self.ua.faults
        call.media = await (make_answer(offer, audio=True) if call.invite.body else make_offer())
        call.sdp = (sent_answer(offer, call.media.sdp, faults) if call.invite.body
                    else sent_offer(call.media.sdp, faults))
        if call.state != "ringing":
            return  # cancelled meanwhile
        call.state = "answered"
        await self.ua.transactions.reply(
            call.invite, 200, to_tag=call.dialog.local_tag, body=call.sdp.encode(),
            headers=[("Contact", self.me.dialog_contact(final_answer=True)), ("Allow", ALLOW)],
            content_type="application/sdp",
        )
        send_audio(call.media.pc)

    async def release(self, call: Call) -> None:
        """BYE, CANCEL or a rejection, by the state of the call."""
        ua = self.ua
        if call.state in ("answered", "confirmed"):
            call.dialog, bye = next_request(call.dialog, "BYE", self.me.dialog_via("BYE"),
                                            headers=[*_AGENT, *self.me.bearer("BYE")])
            call.state = "ended"
            response = await ua.transactions.transact(bye)
            self.log(f"call released (BYE answered {response.status if response else 'nothing'})")
            await self._after_release(call)
        elif call.outgoing:
            await ua.transactions.transact(cancel_for(call.invite, headers=_AGENT, to_first=True))
        elif call.state == "ringing":
            call.state = "ended"
            await ua.transactions.reply(call.invite, 603, to_tag=call.dialog.local_tag)
            await self._after_release(call)

    async def _after_release(self, call: Call) -> None:
        if call.media is not None:
            await call.media.close()
        if "close_after_bye" in self.ua.faults:
            await self.ua.close("call released (fault close_after_bye)")
        if "close_5s_after_release" in self.ua.faults:
            self.ua.spawn(self._close_later(LATE_CLOSE))
        self.released += 1
        if "close_after_second_release" in self.ua.faults and self.released == 2:
            # SEED 5.1.X.4 broken on purpose, on the second release only (a per-session counter)
            await self.ua.close("second call released (fault close_after_second_release)")

    async def _close_later(self, seconds: float) -> None:
        """An idle-call timer: the WIC drops its connection some seconds after a release."""
        await asyncio.sleep(seconds)
        await self.ua.close("idle after call (fault close_5s_after_release)")

    # -- requests from the eP-CSCF (UAS) ------------------------------------------------------

    async def on_invite(self, request: SipMessage) -> None:
        ua = self.ua
        call = ua.call
        if request.to.tag is not None:  # in-dialog: a re-INVITE (RFC 3261 §14.2)
            if call is None or call.call_id != request.call_id or not call.sdp:
                await ua.transactions.reply(request, 481)
                return
            if request.body:  # a re-offer (a hold): answered from the current session
                call.sdp = answer_again(call.sdp, request.body.decode("utf-8", "replace"))
            self.reoffers += 1
            contact = self.me.dialog_contact()
            if "contact_tcp_on_second_reinvite" in ua.faults and self.reoffers >= 2:
                # RFC 7118 §5.2 broken on purpose: only from the second re-INVITE of a session on
                contact = contact.replace(";transport=ws;", ";transport=tcp;")
            await ua.transactions.reply(request, 200, headers=[("Contact", contact)],
                                        body=call.sdp.encode(), content_type="application/sdp")
            return
        if call is not None and not call.ended:
            await ua.transactions.reply(request, 486, to_tag=new_tag())
            return
        trying = build_response(request, 100, headers=_AGENT)
        ringing = build_response(request, 180, to_tag=new_tag(), headers=[
            ("Contact", self.me.dialog_contact()), ("Allow", ALLOW), ("User-Agent", AGENT),
        ])
        ua.call = Call(uas_dialog(request, ringing), request, outgoing=False, state="ringing")
        self.incoming += 1
        later = self.incoming > 1 and "no_180_on_second_call" in ua.faults
        if "no_180" in ua.faults or later:  # SEED 5.1.X.3 broken on purpose: 200 with no alerting
            ua.transactions.record(request, trying)
            await ua.send(trying)
            return
        ua.transactions.record(request, trying, ringing)
        await ua.send(trying, pack_with=ringing)  # SEED 5.1.X.3: 180 at once

    def on_ack(self, request: SipMessage) -> None:
        call = self.ua.call
        if call is not None and call.call_id == request.call_id and call.state == "answered":
            call.state = "confirmed"
            if request.body and call.media is not None and not call.invite.body:
                self.ua.spawn(call.media.accept_answer(request.body.decode("utf-8", "replace")))

    async def on_bye(self, request: SipMessage) -> None:
        call = self.ua.call
        if call is None or call.call_id != request.call_id or call.ended:
            await self.ua.transactions.reply(request, 481)
            return
        call.state = "ended"
        if "close_before_bye_answer" in self.ua.faults:
            # SEED 5.1.X.4 broken on purpose: the socket goes with the call, before the 200
            await self.ua.close("call released (fault close_before_bye_answer)")
            return
        response = await self.ua.transactions.reply(request, 200)
        if "resend_bye_200" in self.ua.faults:
            # RFC 3261 §17.2.2 broken on purpose: the 200 sent again with no BYE copy
            await self.ua.send(response)
        self.log("call released by the eP-CSCF side")
        await self._after_release(call)

    async def on_cancel(self, request: SipMessage) -> None:
        call = self.ua.call
        if call is None or call.call_id != request.call_id or call.state != "ringing":
            await self.ua.transactions.reply(request, 481)
            return
        await self.ua.transactions.reply(request, 200)
        call.state = "ended"
        await self.ua.transactions.reply(call.invite, 487, to_tag=call.dialog.local_tag)
        if "close_after_cancel" in self.ua.faults:
            # SEED 5.1.X.4 broken on purpose: a call that never got answered ends the socket
            await self.ua.close("call cancelled (fault close_after_cancel)")
