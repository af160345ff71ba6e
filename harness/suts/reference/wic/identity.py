"""What the reference WIC writes about itself: its AOR, an invented `.invalid` sent-by and
Contact user (RFC 7118 §5.2), its RFC 5626 instance, and the fault switches that spoil
the transport in Via and Contact."""

from __future__ import annotations

import secrets
import uuid

from harness.profiles import Profile
from harness.sip import new_branch

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, NOTIFY"
AGENT = "wicct reference WIC"


class Identity:
    """The WIC's names on the wire, fixed for the life of one `ReferenceWic`."""

    def __init__(self, profile: Profile, faults: frozenset[str], token: str = "") -> None:
        self.profile = profile
        self.faults = faults
        self.token = token  # web credentials (WIC-REG-02): "" registers with Digest
        self.instance = f"urn:uuid:{uuid.uuid4()}"
        self.host = f"{secrets.token_hex(5)}.invalid"  # RFC 7118 §5.2: an invented sent-by
        self.user = secrets.token_hex(4)

    @property
    def aor(self) -> str:
        name = self.profile.display_name
        return f'"{name}" <{self.profile.impu}>' if name else f"<{self.profile.impu}>"

    def contact_transport(self) -> str:
        if "contact_transport_tcp" in self.faults:
            return "tcp"
        if "contact_transport_upper_tcp" in self.faults:  # RFC 7118 §5.2 broken in an odd spelling
            return "TCP"
        return "wss" if "contact_transport_wss" in self.faults else "ws"

    def via(self) -> str:
        """The Via of a new request, with a fresh branch (RFC 7118 §5.1: transport WSS)."""
        transport = "TCP" if "via_transport_tcp" in self.faults else "WSS"
        if "via_lowercase_tcp" in self.faults:  # RFC 7118 §5.1 broken in an odd spelling
            transport = "tcp"
        return f"SIP/2.0/{transport} {self.host};branch={new_branch()}"

    def dialog_via(self, method: str = "") -> str:
        """The Via of a request of a call (INVITE, ACK, BYE, CANCEL): as `via()`; the fault
        `via_tcp_on_invite` stands for a call code path that writes its own (RFC 7118 §5.1)."""
        if "via_tcp_on_invite" in self.faults or (method == "BYE" and "via_tcp_on_bye" in self.faults):
            return f"SIP/2.0/TCP {self.host};branch={new_branch()}"
        return self.via()

    def dialog_contact(self, *, final_answer: bool = False) -> str:
        """The Contact of INVITEs and their answers: the `ob` flow token (RFC 5626 §5);
        `transport=ws` (RFC 7118 §5.2) unless a fault spoils it (`contact_tcp_on_answer`:
        only in the 200 that answers an incoming call, the terminating leg)."""
        spoiled = "contact_tcp_on_invite" in self.faults or (final_answer and "contact_tcp_on_answer" in self.faults)
        transport = "tcp" if spoiled else self.contact_transport()
        return f"<sip:{self.user}@{self.host};transport={transport};ob>"

    def invite_extras(self) -> list[tuple[str, str]]:
        """Extra headers of an INVITE: none; the fault `latin1_subject_on_invite` adds a
        localized Subject (RFC 3261 §20.36) that the connection then writes in Latin-1."""
        return [("Subject", "Appel vidéo")] if "latin1_subject_on_invite" in self.faults else []

    def bearer(self, method: str) -> list[tuple[str, str]]:
        """`Authorization: Bearer <token>` (RFC 6750 §2.1, RFC 8898 §2.1) on every request
        but CANCEL and the ACK for a non-2xx (TS 24.371 7.2.1; RFC 3261 §22.1): the
        callers of those never ask. Faults spoil it: REGISTER only, the access_token form,
        the bare token."""
        if not self.token or ("bearer_register_only" in self.faults and method != "REGISTER"):
            return []
        if "bearer_access_token_form" in self.faults:
            return [("Authorization", f'Bearer access_token="{self.token}"')]
        if "bearer_no_scheme" in self.faults:
            return [("Authorization", self.token)]
        if method == "BYE" and "bearer_one_byte_off_on_bye" in self.faults:  # RFC 8898 §2.1 broken
            last = "A" if self.token[-1] != "A" else "B"
            return [("Authorization", f"Bearer {self.token[:-1]}{last}")]
        return [("Authorization", f"Bearer {self.token}")]
