"""What wicct's WIC emulator keeps to register with SIP digest (TS 24.229 5.1.1.2.1,
RFC 3261 §22.2, RFC 2617 §3.2.2), per registration (its Call-ID).

Before any challenge a REGISTER carries `Authorization: Digest username="<IMPI>",
realm="<home domain>", uri="sip:<home domain>", nonce="", response=""`. A 401/407 with
a Digest challenge is kept; every later REGISTER of that registration answers it with the
next nonce-count (qop=auth when offered), as a JsSIP-like client reuses its last
challenge. Each computed response is registered with the timeline's redactor before it
is sent, so it never appears in the evidence (a fingerprint stands in).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.evidence import Redactor
from harness.sip import SipMessage, SipParseError
from harness.sip.auth import (
    Challenge,
    build_digest_authorization,
    parse_challenge,
    parse_credentials,
)
from harness.sip.headers import quote


@dataclass
class DigestClient:
    """See the module docstring."""

    impi: str
    domain: str
    password: str
    redactor: Redactor
    challenges: dict[str, Challenge] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def authorization(self, call_id: str, method: str, uri: str) -> str:
        """The Authorization value for the next request of registration `call_id`."""
        challenge = self.challenges.get(call_id)
        if challenge is None:  # TS 24.229 5.1.1.2.1: the initial REGISTER
            return (f"Digest username={quote(self.impi)}, realm={quote(self.domain)}, "
                    f'uri={quote(f"sip:{self.domain}")}, nonce="", response=""')
        self.counts[call_id] = self.counts.get(call_id, 0) + 1
        qops = [q.strip() for q in (challenge.param("qop") or "").split(",")]
        opaque = challenge.param("opaque")
        value = build_digest_authorization(
            username=self.impi,
            realm=challenge.param("realm") or self.domain,
            password=self.password,
            method=method,
            uri=uri,
            nonce=challenge.param("nonce") or "",
            qop="auth" if "auth" in qops else None,
            nc=self.counts[call_id],
            algorithm=challenge.param("algorithm") or "MD5",
            opaque=opaque,
        )
        self.redactor.add(parse_credentials(value).param("response"), fingerprint=True)
        return value

    def challenged(self, response: SipMessage) -> bool:
        """Keep the Digest challenge of a 401/407 to a REGISTER (True if there was one)."""
        name = "Proxy-Authenticate" if response.status == 407 else "WWW-Authenticate"
        for text in response.header_values(name):
            try:
                challenge = parse_challenge(text)
            except SipParseError:
                continue
            if challenge.scheme.lower() == "digest" and challenge.param("nonce") is not None:
                self.challenges[response.call_id] = challenge
                self.counts[response.call_id] = 0
                return True
        return False


__all__ = ["DigestClient"]
