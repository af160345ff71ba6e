"""The reference eP-CSCF's client transactions (RFC 3261 §16.6, §17.1): matched by branch
and CSeq method (§17.1.3); Timer A/E retransmissions only when the transaction has a
`resend` (UDP, or the fault `retransmit_over_ws`: none over a WebSocket, RFC 7118 §5);
Timer B/F answer 408 upstream at 64×T1."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from harness.sip import SipMessage, SipParseError, build_response
from harness.sip.dialog import client_transaction_key
from harness.suts.reference.epcscf.state import Txn

if TYPE_CHECKING:
    from harness.suts.reference.epcscf.proxy import Proxy

T2 = 4.0  # RFC 3261 §17.1.2.2


class Transactions:
    """The client transactions of one `Proxy`, keyed per RFC 3261 §17.1.3."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.txns: dict[tuple[str, str], Txn] = {}

    def start(self, txn: Txn, sent: SipMessage) -> None:
        """`txn` sent `sent` (the request as forwarded, with the proxy's Via on top)."""
        self.txns[client_transaction_key(sent) or (txn.branch, txn.method)] = txn
        txn.timer = asyncio.get_running_loop().create_task(self._timers(txn))
        self.proxy.tasks.add(txn.timer)
        txn.timer.add_done_callback(self.proxy.tasks.discard)

    def match(self, response: SipMessage) -> Txn | None:
        """The transaction `response` belongs to (RFC 3261 §17.1.3), if any."""
        key = client_transaction_key(response)
        return self.txns.get(key) if key is not None else None

    def cancel_timers(self) -> None:
        for txn in self.txns.values():
            if txn.timer is not None:
                txn.timer.cancel()

    def progress(self, txn: Txn, response: SipMessage) -> None:
        if (response.status or 0) >= 200:
            txn.final = True
        else:
            txn.provisional = True
        if txn.timer is not None and (txn.final or (txn.method == "INVITE" and txn.provisional)):
            txn.timer.cancel()

    async def _timers(self, txn: Txn) -> None:
        """Timer A/E retransmissions when `resend` is set; Timer B/F: 408 upstream at 64×T1."""
        t1 = self.proxy.t1
        invite = txn.method == "INVITE"
        interval, elapsed, limit = txn.retransmit_t1 or t1, 0.0, 64 * t1
        while elapsed < limit:
            step = min(interval, limit - elapsed)
            await asyncio.sleep(step)
            elapsed += step
            if txn.final or (invite and txn.provisional):
                return
            if txn.resend is not None and elapsed < limit:
                await txn.resend()
                interval = interval * 2 if invite else min(interval * 2, T2)
        if not txn.final:
            txn.final = True
            self.proxy.log(f"{txn.method} transaction {txn.branch} timed out: 408 upstream")
            with contextlib.suppress(SipParseError):
                await txn.upstream(build_response(txn.request, 408))
