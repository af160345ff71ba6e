"""OAuth 2.0 access tokens for web-credential registration (SEED 5.1.X.1.3, 5.Y.1.3).

The WWSF's authorization server issues the WIC a bearer token (RFC 6750); the WIC sends it
in `Authorization: Bearer <token>` (RFC 8898 §2.1); the eP-CSCF validates it (RFC 8898
§2.2: locally with the issuer's keys, or by RFC 7662 introspection) and performs Trusted
Node Authentication towards the IMS core (TS 33.203 Annex U).

This module is the pure half of wicct's token issuer (the actor, serving JWKS and
introspection over HTTPS, is `harness.actors.token_issuer`): an `Authority` holds an
issuer's signing key and mints signed JWTs with PyJWT, and `Authority.introspect` answers
an RFC 7662 introspection request for its tokens. `TOKEN_KINDS` are the stimuli the
section-5 cases send: a valid token and each way a token can be wrong. No I/O here
(docs/architecture.md principle 1); keys are made on demand, never at import time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ALGORITHM = "ES256"  # RFC 7518 §3.4; PyJWT with cryptography

# The tokens a case may ask the issuer for (`TokenRequest.kind`):
# - valid: signed by the operator's issuer, right audience and scope, IMPI and IMPUs;
# - expired: as valid, `exp` in the past (RFC 8898 §2.2, RFC 6750 §3.1 invalid_token);
# - bad-signature: as valid, but signed by a key the issuer never published (same `kid`);
# - wrong-audience: as valid, `aud` names another resource server;
# - insufficient-scope: as valid, without the scope the profile requires (RFC 6750 §3.1);
# - malformed: not a JWT, and not even a b64token (RFC 6750 §2.1);
# - no-impi: signed and active, but no IMPI claim (`sub`/`impi`/`username` absent): an
#   eP-CSCF that keeps state between messages forwards it as the previous user;
# - foreign: valid, issued by a WWSF's authorization server outside the operator domain
#   (EPC-REG-03: the eP-CSCF carries that identity towards the core).
TOKEN_KINDS = (
    "valid",
    "expired",
    "bad-signature",
    "wrong-audience",
    "insufficient-scope",
    "malformed",
    "no-impi",
    "foreign",
)


def fingerprint(secret: str) -> str:
    """A stable stand-in for a token in evidence and reports: the first 8 hex digits of
    its SHA-256 (the token itself never leaves the run)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True, kw_only=True)
class Claims:
    """What a token says (RFC 7519 §4.1 registered claims plus the IMS identities)."""

    issuer: str
    audience: str
    scope: str
    impi: str | None
    impus: tuple[str, ...] = ()
    lifetime: float = 300.0  # seconds from `issued_at`; negative: already expired
    issued_at: float | None = None  # None: now


@dataclass(frozen=True)
class Minted:
    """A token and what wicct knows about it (for checks: the IMPI it carries)."""

    kind: str
    token: str
    claims: Claims
    fingerprint: str


@dataclass
class Authority:
    """One authorization server: an issuer identifier and its ES256 signing key.

    `introspect` answers for every token this authority minted and still knows
    (RFC 7662 §2.2: `active` false for an unknown, expired or badly signed token).
    """

    issuer: str
    clock: Callable[[], float] = time.time
    kid: str = field(default_factory=lambda: secrets.token_hex(4))
    _key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()), repr=False
    )

    def sign(self, claims: Claims, *, key: ec.EllipticCurvePrivateKey | None = None) -> str:
        """A compact JWS (RFC 7515) over the claims, signed with this authority's key (or
        `key`, to make a badly signed token that names this authority's `kid`)."""
        now = claims.issued_at if claims.issued_at is not None else self.clock()
        payload: dict[str, Any] = {
            "iss": claims.issuer,
            "aud": claims.audience,
            "scope": claims.scope,
            "iat": int(now),
            "exp": int(now + claims.lifetime),
            "jti": secrets.token_hex(8),
        }
        if claims.impi is not None:
            payload["sub"] = claims.impi
            payload["impi"] = claims.impi
        if claims.impus:
            payload["impus"] = list(claims.impus)
        return jwt.encode(payload, key or self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK (RFC 7517), with `kid`, `alg` and `use`."""
        public = ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def verify(self, token: str, *, audience: str | None = None) -> dict[str, Any]:
        """The claims of a token this authority signed; raises `jwt.PyJWTError` otherwise
        (bad signature, expired, wrong audience when `audience` is given)."""
        options = {"verify_aud": audience is not None}
        return jwt.decode(
            token, self._key.public_key(), algorithms=[ALGORITHM], audience=audience,
            issuer=self.issuer, options=options,  # type: ignore[arg-type]
        )

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 §2.2 response for `token`: `active` and, when active, `scope`,
        `username` (the IMPI, as Kamailio's config and most resource servers read it),
        `sub`, `aud`, `iss`, `exp`, `iat` and `impus`. Audience and scope are reported,
        not enforced: judging them is the resource server's (the eP-CSCF's) job."""
        try:
            claims = self.verify(token)
        except jwt.PyJWTError:
            return {"active": False}
        answer: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "scope": claims.get("scope", ""),
            "aud": claims.get("aud"),
            "iss": claims.get("iss"),
            "exp": claims.get("exp"),
            "iat": claims.get("iat"),
        }
        if "sub" in claims:
            answer["sub"] = claims["sub"]
            answer["username"] = claims["sub"]
        if "impus" in claims:
            answer["impus"] = claims["impus"]
        return answer


@dataclass(frozen=True, kw_only=True)
class TokenSettings:
    """Profile settings for web credentials (`auth:` in a profile; unconfirmed points of
    section 5 of the catalogue, with documented defaults that the report states)."""

    issuer: str = "https://auth.wwsf.example.test"
    foreign_issuer: str = "https://auth.partner-wwsf.example.test"
    operator_issuers: tuple[str, ...] = ()  # empty: the issuer alone
    audience: str = "ims.example.test"
    scope: str = "sip"
    lifetime: float = 300.0
    validation: str = "introspection"  # or "jwks": how the eP-CSCF validates (RFC 8898 §2.2)

    def inside(self, issuer: str) -> bool:
        """Whether `issuer` is inside the operator domain (EPC-REG-03)."""
        return issuer in (self.operator_issuers or (self.issuer,))


class Issuers:
    """The operator's authority and a foreign WWSF's, and every token they minted."""

    def __init__(self, settings: TokenSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.operator = Authority(settings.issuer, clock)
        self.foreign = Authority(settings.foreign_issuer, clock)
        self.minted: list[Minted] = []

    def authorities(self) -> tuple[Authority, ...]:
        return (self.operator, self.foreign)

    def mint(self, kind: str, *, impi: str, impus: tuple[str, ...] = ()) -> Minted:
        """A token of `kind` (one of TOKEN_KINDS) for `impi`."""
        s = self.settings
        claims = Claims(issuer=s.issuer, audience=s.audience, scope=s.scope, impi=impi,
                        impus=impus, lifetime=s.lifetime)
        authority = self.operator
        key: ec.EllipticCurvePrivateKey | None = None
        if kind == "valid":
            pass
        elif kind == "expired":
            claims = _with(claims, issued_at=authority.clock() - 2 * s.lifetime - 60)
        elif kind == "bad-signature":
            key = ec.generate_private_key(ec.SECP256R1())
        elif kind == "wrong-audience":
            claims = _with(claims, audience="other-resource.example.test")
        elif kind == "insufficient-scope":
            claims = _with(claims, scope="profile email")
        elif kind == "no-impi":
            claims = _with(claims, impi=None, impus=())
        elif kind == "foreign":
            authority = self.foreign
            claims = _with(claims, issuer=s.foreign_issuer)
        elif kind == "malformed":
            token = "not a token: " + secrets.token_hex(12) + " {}"
            minted = Minted(kind, token, claims, fingerprint(token))
            self.minted.append(minted)
            return minted
        else:
            raise ValueError(f"unknown token kind {kind!r} (known: {', '.join(TOKEN_KINDS)})")
        token = authority.sign(claims, key=key)
        minted = Minted(kind, token, claims, fingerprint(token))
        self.minted.append(minted)
        return minted

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 answer from whichever authority signed `token` (inactive if none)."""
        for authority in self.authorities():
            answer = authority.introspect(token)
            if answer["active"]:
                return answer
        return {"active": False}

    def jwks(self) -> dict[str, Any]:
        """Both authorities' public keys (RFC 7517 §5 JWK Set)."""
        return {"keys": [a.jwk() for a in self.authorities()]}

    def find(self, token: str) -> Minted | None:
        for minted in self.minted:
            if minted.token == token:
                return minted
        return None


def _with(claims: Claims, **changes: Any) -> Claims:
    values: Mapping[str, Any] = {**claims.__dict__, **changes}
    return Claims(**values)


__all__ = [
    "ALGORITHM",
    "TOKEN_KINDS",
    "Authority",
    "Claims",
    "Issuers",
    "Minted",
    "TokenSettings",
    "fingerprint",
]
