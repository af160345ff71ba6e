"""What the reference eP-CSCF keeps per WebSocket flow and per client transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from harness.sip import SipMessage
from harness.ws import WsConnection

HOST = "127.0.0.1"  # the proxy listens here, on both sides

@dataclass(eq=False)
class Flow:
    """One WebSocket connection from a WIC (RFC 5626 flow); `token` names it in Path/RR."""

    token: str
    conn: WsConnection
    peer_host: str
    peer_port: int
    released: int = 0  # calls released over the flow (fault close_after_second_release)
    registers: int = 0  # REGISTERs relayed over the flow (fault path_on_first_register_only)
    compact_via: set[str] = field(default_factory=set)  # Call-IDs (fault rewrite_sent_by_compact_via)
    finals: dict[str, int] = field(default_factory=dict)  # final responses per method (fault resend_third_final)

    @property
    def open(self) -> bool:
        return not self.conn.closed


@dataclass(eq=False)
class Txn:
    """A client transaction the proxy started (RFC 3261 §16.6, §17.1)."""

    branch: str
    method: str
    request: SipMessage  # the request as received, for a 408 upstream
    upstream: Callable[[SipMessage], Awaitable[None]]  # sends a response back
    resend: Callable[[], Awaitable[None]] | None  # a retransmission (None: reliable)
    flow: Flow | None  # the WebSocket side of this transaction
    towards_wic: bool
    provisional: bool = False
    final: bool = False
    timer: asyncio.Task[None] | None = None
    retransmit_t1: float | None = None  # Timer A/E's start when not the profile's T1 (a fault)
