"""What the eP-CSCF emulator keeps: its constants, per-method answer policies, the WIC's
registration, the INVITE dialogs with the WIC, and its server transactions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from harness.actors.channel import SipChannel
from harness.sdp.jsep import MediaPeer
from harness.sip import NameAddr, SipMessage
from harness.sip.dialog import Dialog as SipDialog

ACTOR = "epcscf"
CERTIFICATES = ("valid", "untrusted", "wrong-name")
POLICY_MODES = ("auto", "withhold", "status", "strip", "ring")
WRONG_NAME = "wrong.example"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, NOTIFY"
AGENT = "wicct eP-CSCF emulator"
DEFAULT_EXPIRES = 600


@dataclass
class Policy:
    """How the emulator answers the WIC's requests of one method."""

    mode: str = "auto"  # auto | withhold | status | strip (received + rport) | ring (INVITE: 180, no answer)
    status: int = 0  # for mode "status"
    content_length: str = "correct"  # "larger": declare 20 more bytes than the body
    frame: str = "text"  # "binary": the responses go in binary frames (RFC 7118 §4.2, BOTH-FR-04)

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
    """One INVITE dialog between the emulator (as the IMS core's UA) and the WIC.

    `state` is the RFC 3261 §12 dialog state (`harness.sip.dialog`); for a call the
    emulator placed, what the INVITE alone fixes until the final response came.
    """

    state: SipDialog
    channel: SipChannel
    invite: SipMessage
    outgoing: bool  # the emulator sent the INVITE
    media: MediaPeer | None = None
    confirmed: bool = False
    ended: bool = False
    completion: asyncio.Task[None] | None = None  # outgoing: waits for the final response, ACKs

    @property
    def call_id(self) -> str:
        return self.state.call_id

    @property
    def remote_target(self) -> str:
        return self.state.remote_target


@dataclass
class ServerTx:
    """A server transaction (RFC 3261 §17.2): the responses sent so far, last one repeated
    to a retransmission."""

    responses: list[SipMessage] = field(default_factory=list)
