"""Sans-I/O SIP message model (RFC 3261) for SIP over WebSocket (RFC 7118).

Pure functions and frozen dataclasses: bytes in, values out, bytes back. No asyncio,
no sockets. Every parse failure is a `SipParseError`.
"""

from harness.sip.auth import (
    Challenge,
    Credentials,
    build_digest_authorization,
    build_digest_challenge,
    digest_response,
    parse_challenge,
    parse_credentials,
    verify_digest,
)
from harness.sip.errors import SipParseError
from harness.sip.headers import CSeq, NameAddr, SipUri, Via, parse_params, quote, unquote
from harness.sip.message import (
    REASON_PHRASES,
    ParseResult,
    SipMessage,
    build_request,
    build_response,
    call_id_scope,
    canonical_name,
    is_keepalive,
    new_branch,
    new_call_id,
    new_tag,
    parse,
)

__all__ = [
    "REASON_PHRASES",
    "CSeq",
    "Challenge",
    "Credentials",
    "NameAddr",
    "ParseResult",
    "SipMessage",
    "SipParseError",
    "SipUri",
    "Via",
    "build_digest_authorization",
    "build_digest_challenge",
    "build_request",
    "build_response",
    "call_id_scope",
    "canonical_name",
    "digest_response",
    "is_keepalive",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse",
    "parse_challenge",
    "parse_credentials",
    "parse_params",
    "quote",
    "unquote",
    "verify_digest",
]
