"""The eP-CSCF emulator's registrar security (SUT = WIC): the Digest challenge and its
verification (RFC 3261 §22, RFC 7616: MD5 and SHA-256, qop=auth, a stale-nonce round,
WIC-REG-01) and the Bearer token the WIC was provisioned with (RFC 6750 §2.1, RFC 8898
§2.1, TS 24.371 7.2.1: WIC-REG-02).

Credentials are secrets: the timeline redacts the token and the digest `response`. So the
emulator reads each request's Authorization when it arrives and records what the checks
need as facts (`evidence.AuthFacts`: scheme, form, whether the token matches, the digest
fields and whether the response verified), never the secret itself.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from harness.evidence import AuthFacts
from harness.sip import (
    SipMessage,
    SipParseError,
    build_digest_challenge,
    parse_credentials,
    verify_digest,
)

STRICT, ACCESS_TOKEN, MALFORMED = "strict", "access_token", "malformed"
SCHEME_MAX = 16  # longer is no auth-scheme (RFC 7235 names are short): a bare token


@dataclass
class Digest:
    """The Digest side: the algorithm wicct challenges with, the nonces it issued (nonce →
    algorithm), and how many right answers are still to be refused as stale."""

    realm: str
    algorithm: str = "MD5"
    stale_rounds: int = 0
    nonces: dict[str, str] = field(default_factory=dict)

    def challenge(self, *, stale: bool = False) -> str:
        """A fresh WWW-Authenticate (RFC 3261 §22.1; RFC 7616 §3.3: qop="auth")."""
        nonce = secrets.token_hex(16)
        self.nonces[nonce] = self.algorithm
        return build_digest_challenge(self.realm, nonce, algorithm=self.algorithm, qop="auth", stale=stale)


def read(message: SipMessage, seq: int, *, digest: Digest | None, password: str, token: str) -> AuthFacts:
    """The facts of one request's Authorization (RFC 3261 §20.7), judged on receipt against
    the issued nonces and `password` (Digest) or the provisioned `token` (Bearer)."""
    values = message.header_values("Authorization")
    facts = AuthFacts(request=seq, method=message.method.upper(), count=len(values), scheme="")
    try:
        facts["call_id"] = message.call_id
        facts["cseq"] = message.cseq.number
    except SipParseError:
        pass
    if not values:
        return facts
    if token and hmac.compare_digest(values[0].strip().encode(), token.encode()):
        # the bare token, without a scheme (RFC 6750 §2.1 broken): recorded, not the token
        facts["scheme"], facts["form"], facts["token_matches"] = "(no scheme)", MALFORMED, True
        return facts
    try:
        credentials = parse_credentials(values[0])
    except SipParseError:
        scheme = values[0].split(" ", 1)[0]
        facts["scheme"] = scheme if len(scheme) <= SCHEME_MAX else "(no scheme)"
        facts["form"] = MALFORMED
        facts["token_matches"] = False
        return facts
    # a value with no scheme (a bare token) parses as a long "scheme": never record it
    facts["scheme"] = credentials.scheme if len(credentials.scheme) <= SCHEME_MAX else "(no scheme)"
    if credentials.scheme.lower() == "bearer":
        presented = credentials.token
        if presented is not None:
            facts["form"] = STRICT
        elif set(credentials.params) == {"access_token"}:
            # TS 24.371 Table A.3.2-1 shows this form; RFC 6750 §2.1 does not define it
            facts["form"], presented = ACCESS_TOKEN, credentials.params["access_token"]
        else:
            facts["form"] = MALFORMED
        facts["token_matches"] = bool(token and presented) and hmac.compare_digest(
            (presented or "").encode(), token.encode())
        return facts
    if credentials.scheme.lower() != "digest":
        return facts
    p = credentials.params
    facts["username"] = p.get("username", "")
    facts["realm"] = p.get("realm", "")
    facts["uri"] = p.get("uri", "")
    facts["nonce"] = p.get("nonce", "")
    facts["qop"] = p.get("qop", "")
    facts["algorithm"] = p.get("algorithm", "MD5")
    facts["response_empty"] = p.get("response", None) == ""
    nonce = p.get("nonce", "")
    issued = digest is not None and nonce in digest.nonces
    facts["nonce_issued"] = issued
    facts["verified"] = bool(
        digest is not None and issued
        and facts["algorithm"].upper() == digest.nonces[nonce].upper()
        and verify_digest(credentials, password=password, method=message.method,
                          realm=digest.realm, nonce=nonce)
    )
    return facts


def bearer_challenge(realm: str, facts: AuthFacts) -> str:
    """RFC 6750 §3: no error without credentials, `invalid_token` for a token refused."""
    if not facts.get("count"):
        return f'Bearer realm="{realm}"'
    return f'Bearer realm="{realm}", error="invalid_token"'


def summary(facts: AuthFacts) -> str:
    """One line for the timeline (no secret in it)."""
    what = f"{facts.get('method', '?')} {facts.get('cseq', '?')}"
    if not facts.get("count"):
        return f"{what}: no Authorization"
    scheme = facts.get("scheme", "")
    several = f" ({facts['count']} Authorization headers)" if facts.get("count", 0) > 1 else ""
    if scheme.lower() == "bearer":
        match = "the provisioned token" if facts.get("token_matches") else "NOT the provisioned token"
        return f"{what}: Bearer, {facts.get('form')} form, {match}{several}"
    if scheme.lower() == "digest":
        if facts.get("response_empty") and not facts.get("nonce"):
            return f"{what}: Digest with empty nonce and response (initial REGISTER form){several}"
        verified = "verified" if facts.get("verified") else "NOT verified"
        known = "" if facts.get("nonce_issued") else ", nonce not issued by wicct"
        return f"{what}: Digest {facts.get('algorithm')}, response {verified}{known}{several}"
    return f"{what}: Authorization scheme {scheme!r}{several}"


__all__ = ["ACCESS_TOKEN", "MALFORMED", "STRICT", "Digest", "bearer_challenge", "read", "summary"]
