"""The one exception type of the SIP model.

Every parser in `harness.sip` reports malformed input by raising `SipParseError` and
nothing else, so the I/O layer can turn a garbled message from the SUT into a finding
that carries its bytes (RFC 3261 §7: a message that fails the grammar is answered with
400 Bad Request, or dropped if it is a response).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.sip.message import SipMessage


class SipParseError(ValueError):
    """Malformed SIP input.

    `offset` is the byte offset of the problem in `data`, `reason` a short lower-case
    phrase. `partial` is the message as far as it parsed, when the start line and the
    header lines were well-formed but a later check failed (bad Content-Length, missing
    mandatory header, ...), so a server can still answer 400 from its Via/From/To/
    Call-ID/CSeq (RFC 3261 §8.2.6).
    """

    offset: int
    reason: str
    data: bytes
    partial: SipMessage | None

    def __init__(
        self,
        reason: str,
        offset: int = 0,
        data: bytes = b"",
        partial: SipMessage | None = None,
    ) -> None:
        super().__init__(reason, offset)
        self.reason = reason
        self.offset = offset
        self.data = data
        self.partial = partial

    def __str__(self) -> str:
        return f"at byte {self.offset}: {self.reason}"


def encode_text(text: str) -> bytes:
    """Encode header text back to wire bytes, undoing `decode_text` exactly."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def decode_text(raw: bytes) -> str:
    """Decode wire bytes losslessly: UTF-8 (RFC 3261 §7.3.1), stray bytes as surrogates."""
    return raw.decode("utf-8", "surrogateescape")
