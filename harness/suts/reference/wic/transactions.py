"""The reference WIC's transactions over a reliable transport (RFC 3261 §17).

Client side (§17.1): no retransmissions over the WebSocket (RFC 7118 §5), Timer B/F fire
at 64×T1; responses are matched by branch and CSeq method (§17.1.3). Server side
(§17.2): a retransmitted request is absorbed by its transaction (§17.2.3), which repeats
its last response. The fault `retransmit_over_ws` runs Timer A/E as over UDP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.sip import SipMessage, build_response
from harness.sip.dialog import client_transaction_key, server_transaction_key
from harness.suts.reference.wic.identity import AGENT

if TYPE_CHECKING:
    from harness.suts.reference.wic.ua import ReferenceWic

T2 = 4.0  # RFC 3261 §17.1.2.2: cap of the (fault-only) retransmission interval
OWN_T1 = 0.5  # fault retransmit_own_t1: the RFC 3261 §17.1.1.1 default, hard-coded


@dataclass
class ClientTx:
    request: SipMessage
    final: asyncio.Future[SipMessage]
    on_provisional: Callable[[SipMessage], None] | None = None
    provisional: bool = False

    @property
    def method(self) -> str:
        return self.request.method


class Transactions:
    """Client and server transactions of one `ReferenceWic`."""

    def __init__(self, ua: ReferenceWic) -> None:
        self.ua = ua
        self.log = ua.log
        self.t1 = ua.profile.timers.t1
        self.client: dict[tuple[str, str], ClientTx] = {}
        self.server: dict[tuple[str | int, ...], list[SipMessage]] = {}

    # -- client transactions (RFC 3261 §17.1 over a reliable transport) ----------------------

    async def transact(
        self, request: SipMessage, on_provisional: Callable[[SipMessage], None] | None = None
    ) -> SipMessage | None:
        """Send a request and wait for its final response; None when Timer B/F fired
        (64×T1) or the connection went away. No retransmission over the WebSocket."""
        key = client_transaction_key(request) or ("", request.method)
        tx = ClientTx(request, asyncio.get_running_loop().create_future(), on_provisional)
        self.client[key] = tx
        retransmit = None
        try:
            if not await self.ua.send(request):
                return None
            if "retransmit_over_ws" in self.ua.faults:
                retransmit = self.ua.spawn(self._retransmit(tx, self.t1))
            elif "retransmit_own_t1" in self.ua.faults:
                retransmit = self.ua.spawn(self._retransmit(tx, OWN_T1))
            elif "retransmit_bye_over_ws" in self.ua.faults and request.method == "BYE":
                retransmit = self.ua.spawn(self._retransmit(tx, self.t1))  # RFC 7118 §5 broken: BYE only
            elif "retransmit_mangled" in self.ua.faults:
                retransmit = self.ua.spawn(self._retransmit(tx, self.t1, mangled=True))
            timer = 64 * self.t1
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(tx.final), timer)
                except TimeoutError:
                    if tx.method == "INVITE" and tx.provisional:
                        continue  # "Proceeding": no Timer B any more, the callee is ringing
                    self.log(f"{tx.method} timed out after {timer:g} s (Timer {'B' if tx.method == 'INVITE' else 'F'})")
                    return None
        except asyncio.CancelledError:
            if tx.final.cancelled():
                return None  # the connection went away
            raise
        finally:
            if retransmit is not None:
                retransmit.cancel()
            self.client.pop(key, None)

    async def _retransmit(self, tx: ClientTx, t1: float, *, mangled: bool = False) -> None:
        """Faults retransmit_over_ws (on the profile's T1) and retransmit_own_t1 (on a
        hard-coded 500 ms): Timer A/E as over UDP (RFC 3261 §17.1.1.2, §17.1.2.2);
        retransmit_mangled: the copies carry a Content-Length 4 larger than the body (they
        do not parse, RFC 3261 §18.3)."""
        interval = t1
        while not tx.final.done():
            await asyncio.sleep(interval)
            if tx.final.done() or (tx.method == "INVITE" and tx.provisional):
                return
            self.log(f"retransmitting {tx.method} after {interval:g} s (fault)")
            if mangled:
                await self.ua.send_raw(_longer_content_length(tx.request))
            else:
                await self.ua.send(tx.request)
            interval = min(interval * 2, T2)

    def on_response(self, response: SipMessage) -> None:
        via = response.top_via
        if via is None:
            return
        if "drop_responses_without_received" in self.ua.faults and via.received is None:
            self.log(f"ignored {response.summary()}: no 'received' in the top Via (fault)")
            return
        key = client_transaction_key(response)
        tx = self.client.get(key) if key is not None else None
        if tx is None:
            self.ua.calls.on_stray_response(response)
            return
        if (response.status or 0) < 200:
            tx.provisional = True
            if tx.on_provisional is not None:
                tx.on_provisional(response)
        elif not tx.final.done():
            tx.final.set_result(response)

    def cancel_all(self) -> None:
        """The connection went away: every pending client transaction ends."""
        for tx in list(self.client.values()):
            if not tx.final.done():
                tx.final.cancel()

    # -- server transactions (RFC 3261 §17.2) ------------------------------------------------

    async def absorbed(self, request: SipMessage) -> bool:
        """True for a retransmission (RFC 3261 §17.2.3): its transaction repeats its last
        response. Otherwise a new server transaction starts (False)."""
        key = server_transaction_key(request)
        if key in self.server:
            sent = self.server[key]
            if sent:
                await self.ua.send(sent[-1])
            return True
        self.server[key] = []
        return False

    def record(self, request: SipMessage, *responses: SipMessage) -> None:
        """Responses sent in `request`'s server transaction."""
        self.server.setdefault(server_transaction_key(request), []).extend(responses)

    async def reply(
        self,
        request: SipMessage,
        status: int,
        *,
        to_tag: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        pack_with: SipMessage | None = None,
    ) -> SipMessage:
        """Answer `request` in its server transaction (RFC 3261 §8.2.6)."""
        response = build_response(
            request, status, headers=[*(headers or []), ("User-Agent", AGENT)], body=body,
            content_type=content_type, to_tag=to_tag if status > 100 else None,
        )
        self.record(request, response)
        await self.ua.send(response, pack_with=pack_with)
        return response


def _longer_content_length(request: SipMessage) -> bytes:
    """Fault retransmit_mangled: `request`'s bytes with a Content-Length 4 larger than its body."""
    data = request.to_bytes()
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith((b"content-length:", b"l:"))]
    return b"\r\n".join([*lines, b"Content-Length: %d" % (len(body) + 4)]) + sep + body
