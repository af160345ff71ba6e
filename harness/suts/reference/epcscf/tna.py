"""The reference eP-CSCF as a TNA eP-CSCF: web-credential registration (SEED 5.Y.1.3).

When the profile claims `web-credentials` (`EpcscfEnv.issuer` is set), a REGISTER from the
WIC must carry exactly one `Authorization: Bearer <b64token>` (RFC 8898 §2.1, RFC 6750
§2.1). The token is validated (RFC 8898 §2.2) by RFC 7662 introspection at wicct's issuer,
or with the issuer's JWKS when the profile says `token_validation: jwks` (PyJWT): active,
signature, `exp`, audience, an operator issuer (or any, with `wwsf-identity`), the scope,
an IMPI. Then every Authorization of the client is replaced by the Trusted Node
Authentication header (TS 33.203 Annex U): `Digest username="<IMPI>", realm, uri,
nonce="", response="", integrity-protected="auth-done"`, so no client `integrity-protected`
and no token reach the core.

Refusals (RFC 6750 §3.1; RFC 8898 §2.3): no Bearer → 401 `WWW-Authenticate: Bearer realm,
authz_server` (no `error`); two Bearers or a token that is not a b64token → 400
`error="invalid_request"`; inactive, expired, badly signed, another audience or issuer, no
IMPI → 401 `error="invalid_token"`; scope missing → 403 `error="insufficient_scope"`; the
issuer unreachable or answering garbage → 503 (the WIC cannot be blamed).

Fault switches (harness.suts.faults): `tna_forward_bearer`, `tna_integrity_yes`
(EPC-REG-02), `tna_accept_expired`, `tna_skip_signature_check` (EPC-REG-05),
`tna_keep_state`, `tna_accept_missing_authorization`, `tna_joined_first_credentials` (EPC-REG-06),
`tna_pass_forged_integrity` (EPC-REG-07), `tna_omit_wwsf_identity` (EPC-REG-03),
`tna_pass_organization` (EPC-SES-03). Tokens are never logged: a SHA-256 fingerprint
stands in.

Organization (SEED 5.Y.2, EPC-SES-03): a WebSocket registered with a token from outside the
operator domain has its IMPU from that WWSF (wicct reads the catalogue's "pool-assigned
IMPU" as the IMPU a foreign token registers: the core, not the WIC, vouches for it); every
later request over it reaches the core with `Organization: <the token's issuer>`, whatever
Organization the WIC wrote. Over other WebSockets the WIC's Organization is removed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt

from harness.actors.token_issuer import IssuerEndpoint, http_request
from harness.profiles import Profile
from harness.sip import SipMessage, SipParseError, build_response
from harness.sip.auth import parse_credentials
from harness.tokens import ALGORITHM, fingerprint

ISSUER_TIMEOUT = 1.0  # seconds for one call to the issuer (below the WIC's response timeout)


class IssuerUnavailable(Exception):
    """The issuer could not be asked, or answered something that is not an answer."""


@dataclass(frozen=True)
class Refusal:
    """Why a REGISTER is refused: status, RFC 6750 §3.1 error code ("" for a bare
    challenge) and words for the log."""

    status: int
    error: str
    why: str


@dataclass(frozen=True)
class Admission:
    """The REGISTER to forward (with the TNA header), or the response for the WIC."""

    forward: SipMessage | None = None
    response: SipMessage | None = None
    wwsf: str = ""  # the token's issuer when it is outside the operator domain


def _scheme(value: str) -> str:
    return value.strip().split(" ", 1)[0].lower()


def _first_credentials(value: str) -> str:
    """Fault tna_joined_first_credentials: what precedes a `, <scheme> ` in the row."""
    head, sep, _ = value.partition(", Bearer ")
    return head if sep else value.partition(", Digest ")[0]


def _authorizations(msg: SipMessage) -> list[str]:
    return [v for n, v in msg.headers if n.strip().lower() == "authorization"]


def _forged(value: str) -> bool:
    """A client Authorization: Digest carrying integrity-protected (EPC-REG-07)."""
    if _scheme(value) != "digest":
        return False
    try:
        return parse_credentials(value).param("integrity-protected") is not None
    except SipParseError:
        return False


class Tna:
    """See the module docstring. `admit` decides on one REGISTER from the WIC."""

    def __init__(self, endpoint: IssuerEndpoint, profile: Profile, faults: frozenset[str],
                 log: Callable[[str], None]) -> None:
        self.endpoint = endpoint
        self.profile = profile
        self.faults = faults
        self.log = log
        self.foreign_ok = "wwsf-identity" in profile.features
        self.last_impi: str | None = None  # only the tna_keep_state fault reads it
        self.wwsf: dict[str, str] = {}  # flow token → WWSF identity of its registration

    async def admit(self, msg: SipMessage) -> Admission:
        values = _authorizations(msg)
        if "tna_joined_first_credentials" in self.faults:
            # RFC 6750 §2 broken on purpose: a row holding several comma-separated
            # credentials is read as its first one (two rows are still counted)
            values = [_first_credentials(v) for v in values]
        bearers = [v for v in values if _scheme(v) == "bearer"]
        if "tna_pass_forged_integrity" in self.faults and not bearers and any(map(_forged, values)):
            self.log("TNA: the WIC says integrity-protected: trusted and forwarded as is (fault)")
            return Admission(forward=msg)
        if not values and "tna_accept_missing_authorization" in self.faults:
            impi = f"{msg.to.uri.user}@{msg.to.uri.host}"
            self.log(f"TNA: no Authorization, forwarded as {impi} from To (fault)")
            return Admission(forward=self._tna(msg, impi))
        if not bearers:
            return self._refuse(msg, Refusal(401, "", "no Bearer credentials"))
        if len(bearers) > 1:
            return self._refuse(msg, Refusal(400, "invalid_request", f"{len(bearers)} Bearer credentials"))
        try:
            token = parse_credentials(bearers[0]).token
        except SipParseError:
            token = None
        if not token:
            return self._refuse(msg, Refusal(400, "invalid_request", "the token is not a b64token"))
        try:
            claims = await self._validate(token)
        except IssuerUnavailable as exc:
            self.log(f"TNA: token sha256:{fingerprint(token)} not validated: {exc}")
            return Admission(response=build_response(msg, 503, "Token Validation Unavailable"))
        if isinstance(claims, Refusal):
            self.log(f"TNA: token sha256:{fingerprint(token)} refused: {claims.why}")
            return self._refuse(msg, claims)
        impi = str(claims.get("username") or claims.get("impi") or claims.get("sub") or "")
        if not impi and "tna_keep_state" in self.faults and self.last_impi:
            impi = self.last_impi
            self.log(f"TNA: token without IMPI, the previous message's {impi} still set (fault)")
        if not impi:
            return self._refuse(msg, Refusal(401, "invalid_token", "no IMPI in the token"))
        if "tna_keep_state" in self.faults:
            self.last_impi = impi
        issuer = str(claims.get("iss") or "")
        self.log(f"TNA: token sha256:{fingerprint(token)} valid for {impi} (issuer {issuer})")
        foreign = issuer if issuer and issuer not in self.endpoint.operator_issuers else ""
        return Admission(forward=self._tna(msg, impi, issuer), wwsf=foreign)

    # -- Organization (SEED 5.Y.2) ----------------------------------------------------------

    def registered(self, flow: str, admission: Admission) -> None:
        """The flow's registration was admitted: remember its WWSF identity (or none)."""
        if admission.wwsf:
            self.wwsf[flow] = admission.wwsf
        else:
            self.wwsf.pop(flow, None)

    def organization(self, flow: str, msg: SipMessage) -> SipMessage:
        """A request from the WIC towards the core: `Organization:` is the WWSF identity of
        the flow's registration, never the WIC's own value (EPC-SES-03)."""
        identity = self.wwsf.get(flow, "")
        own = msg.header("Organization")
        if own is not None and "tna_pass_organization" in self.faults:
            self.log(f"TNA: the WIC's Organization {own!r} passed through unchecked (fault)")
            return msg
        if own is not None and own.strip() != identity:
            self.log(f"TNA: the WIC's Organization {own!r} removed")
        out = msg.remove_header("Organization")
        return out.add_header("Organization", identity) if identity else out

    # -- validation (RFC 8898 §2.2) --------------------------------------------------------

    async def _validate(self, token: str) -> dict[str, Any] | Refusal:
        if {"tna_accept_expired", "tna_skip_signature_check"} & self.faults:
            return await self._local(token)
        if self.endpoint.validation == "jwks":
            return await self._local(token)
        answer = await self._ask(self.endpoint.introspection_url, "POST", urlencode({"token": token}).encode())
        if not answer.get("active"):
            return Refusal(401, "invalid_token", "the issuer says the token is not active")
        return self._claims(answer)

    async def _local(self, token: str) -> dict[str, Any] | Refusal:
        """Validate with the issuer's published keys (RFC 7517 JWK Set; PyJWT)."""
        skip_signature = "tna_skip_signature_check" in self.faults
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return Refusal(401, "invalid_token", "not a JWT")
        options: dict[str, Any] = {"verify_aud": False, "verify_exp": "tna_accept_expired" not in self.faults}
        try:
            if skip_signature:
                options["verify_signature"] = False
                claims = jwt.decode(token, options=options, algorithms=[ALGORITHM])  # type: ignore[arg-type]
            else:
                keys = await self._ask(self.endpoint.jwks_url, "GET", b"")
                try:
                    jwk = jwt.PyJWKSet.from_dict(keys)[str(kid)]
                except (KeyError, jwt.PyJWTError) as exc:
                    return Refusal(401, "invalid_token", f"no published key {kid!r}: {exc}")
                claims = jwt.decode(token, jwk.key, algorithms=[ALGORITHM], options=options)  # type: ignore[arg-type]
        except jwt.PyJWTError as exc:
            return Refusal(401, "invalid_token", f"{type(exc).__name__}: {exc}")
        if "tna_accept_expired" in self.faults and claims.get("exp", 0) < time.time():
            self.log("TNA: the token has expired; exp not checked (fault)")
        return self._claims(claims)

    def _claims(self, claims: dict[str, Any]) -> dict[str, Any] | Refusal:
        """What both ways of validating check on the claims (RFC 8898 §2.2; RFC 6750 §3.1)."""
        e = self.endpoint
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp < time.time() and "tna_accept_expired" not in self.faults:
            return Refusal(401, "invalid_token", "expired")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if e.audience not in audiences:
            return Refusal(401, "invalid_token", f"audience {audience!r}, not {e.audience!r}")
        issuer = claims.get("iss")
        if issuer not in e.operator_issuers and not (self.foreign_ok and issuer):
            return Refusal(401, "invalid_token", f"issuer {issuer!r} outside the operator domain")
        if e.scope not in str(claims.get("scope", "")).split():
            return Refusal(403, "insufficient_scope", f"scope {claims.get('scope')!r} lacks {e.scope!r}")
        return claims

    async def _ask(self, url: str, method: str, body: bytes) -> dict[str, Any]:
        try:
            answer = await http_request(url, method=method, body=body, ca_pem=self.endpoint.ca_pem,
                                        timeout=ISSUER_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - down, stalled, TLS, HTTP: all "unavailable"
            raise IssuerUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        if answer.status != 200:
            raise IssuerUnavailable(f"{method} {url}: HTTP {answer.status}")
        try:
            data = json.loads(answer.body)
        except ValueError as exc:
            raise IssuerUnavailable(f"{method} {url}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise IssuerUnavailable(f"{method} {url}: not a JSON object")
        return data

    # -- what goes out ------------------------------------------------------------------------

    def _tna(self, msg: SipMessage, impi: str, issuer: str = "") -> SipMessage:
        """The REGISTER towards the core: the client's Authorization replaced by the TNA
        header (TS 33.203 Annex U), unless a fault keeps some of it; for a token from
        outside the operator domain, the issuer's identity where the profile says
        (`auth.wwsf_identity`, EPC-REG-03)."""
        flag = "yes" if "tna_integrity_yes" in self.faults else "auth-done"
        domain = self.profile.domain
        header = (f'Digest username="{impi}", realm="{domain}", uri="{msg.request_uri}", nonce="", '
                  f'response="", integrity-protected="{flag}"')
        auth = self.profile.auth
        identity: tuple[str, str] | None = None
        if issuer and issuer not in self.endpoint.operator_issuers:
            if "tna_omit_wwsf_identity" in self.faults:
                self.log(f"TNA: token from {issuer}, outside the operator domain: identity not sent (fault)")
            elif auth.wwsf_identity_header.lower() == "authorization" and auth.wwsf_identity_param:
                header += f', {auth.wwsf_identity_param}="{issuer}"'
            elif auth.wwsf_identity_param:
                identity = (auth.wwsf_identity_header, f'{auth.wwsf_identity_param}="{issuer}"')
            else:
                identity = (auth.wwsf_identity_header, f"<{issuer}>")
        forward_bearer = "tna_forward_bearer" in self.faults
        forward_forged = "tna_pass_forged_integrity" in self.faults
        kept = [v for v in _authorizations(msg)
                if (forward_bearer and _scheme(v) == "bearer") or (forward_forged and _forged(v))]
        if kept:
            self.log(f"TNA: {len(kept)} client Authorization header(s) forwarded with the TNA one (fault)")
        out = msg.remove_header("Authorization").add_header("Authorization", header)
        for value in kept:
            out = out.add_header("Authorization", value)
        if identity is not None:
            out = out.remove_header(identity[0]).add_header(*identity)
        return out

    def _refuse(self, msg: SipMessage, refusal: Refusal) -> Admission:
        """401/400/403 with an RFC 6750 §3 Bearer challenge (RFC 8898 §2.3 authz_server)."""
        e = self.endpoint
        params = [f'realm="{self.profile.domain}"']
        if refusal.error:
            params.append(f'error="{refusal.error}"')
        if refusal.error == "insufficient_scope" or not refusal.error:
            params.append(f'scope="{e.scope}"')
        if not refusal.error:
            params.append(f'authz_server="{e.issuer}"')
        self.log(f"TNA: REGISTER refused {refusal.status} ({refusal.why})")
        return Admission(response=build_response(
            msg, refusal.status, headers=[("WWW-Authenticate", "Bearer " + ", ".join(params))]))


__all__ = ["Admission", "IssuerUnavailable", "Refusal", "Tna"]
