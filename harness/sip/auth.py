"""SIP authentication headers: Digest (RFC 3261 §22, RFC 2617, RFC 7616) and Bearer.

Parses WWW-Authenticate/Proxy-Authenticate challenges and Authorization/
Proxy-Authorization credentials, computes and verifies Digest responses, and builds both
headers. Bearer follows RFC 6750 §3 (challenge) and RFC 8898 (credentials in SIP).

Parameter names are lower-cased (auth-param names are case-insensitive, RFC 2617 §1.2);
values are unquoted, and `quoted` records which ones were quoted on the wire, since
conformance checks care (e.g. RFC 3261 §25.1 `qop-value` unquoted in credentials,
3GPP TS 24.229 `integrity-protected`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.sip.errors import SipParseError, encode_text
from harness.sip.headers import TOKEN_CHARS, quote, unquote

__all__ = [
    "Challenge",
    "Credentials",
    "build_digest_authorization",
    "build_digest_challenge",
    "digest_response",
    "parse_challenge",
    "parse_credentials",
    "verify_digest",
]

# RFC 6750 §2.1 b64token.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_LWS = " \t\r\n"


@dataclass(frozen=True)
class Challenge:
    """A WWW-Authenticate / Proxy-Authenticate value (RFC 3261 §20.44, §22.1)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict, hash=False)
    quoted: dict[str, bool] = field(default_factory=dict, hash=False)

    def param(self, name: str) -> str | None:
        """Value of auth-param `name` (case-insensitive), unquoted."""
        return self.params.get(name.lower())


@dataclass(frozen=True)
class Credentials:
    """An Authorization / Proxy-Authorization value (RFC 3261 §20.7, §22.2).

    `token` is set for the `Bearer <b64token>` form (RFC 6750 §2.1), `params` otherwise.
    """

    scheme: str
    params: dict[str, str] = field(default_factory=dict, hash=False)
    token: str | None = None
    quoted: dict[str, bool] = field(default_factory=dict, hash=False)

    def param(self, name: str) -> str | None:
        """Value of auth-param `name` (case-insensitive), unquoted."""
        return self.params.get(name.lower())


# --- parsing -----------------------------------------------------------------------------


def _fail(reason: str, text: str, index: int) -> SipParseError:
    return SipParseError(reason, len(encode_text(text[:index])), encode_text(text))


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _LWS:
        i += 1
    return i


def _scheme(text: str) -> tuple[str, int]:
    i = _skip(text, 0)
    j = i
    while j < len(text) and text[j] in TOKEN_CHARS:
        j += 1
    if j == i:
        raise _fail("missing auth scheme", text, i)
    if j < len(text) and text[j] not in _LWS:
        raise _fail("bad auth scheme", text, j)
    return text[i:j], _skip(text, j)


def _auth_params(text: str, i: int) -> tuple[dict[str, str], dict[str, bool]]:
    """`auth-param *(COMMA auth-param)`, `auth-param = token EQUAL (token / quoted-string)`."""
    params: dict[str, str] = {}
    quoted: dict[str, bool] = {}
    n = len(text)
    while i < n:
        j = i
        while j < n and text[j] in TOKEN_CHARS:
            j += 1
        if j == i:
            raise _fail("bad auth parameter", text, i)
        name = text[i:j].lower()
        i = _skip(text, j)
        if i >= n or text[i] != "=":
            raise _fail("missing '=' in auth parameter", text, i)
        i = _skip(text, i + 1)
        if i < n and text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise _fail("unterminated quoted string", text, i)
            j += 1
            value, was_quoted = unquote(text[i:j]), True
        else:
            # Lenient: any run up to a comma or LWS; `quoted` tells checks what came.
            j = i
            while j < n and text[j] not in ',"' and text[j] not in _LWS:
                j += 1
            if j == i:
                raise _fail("missing auth parameter value", text, i)
            value, was_quoted = text[i:j], False
        if name in params:
            raise _fail("duplicate auth parameter", text, i)
        params[name] = value
        quoted[name] = was_quoted
        i = _skip(text, j)
        if i < n:
            if text[i] != ",":
                raise _fail("expected ',' between auth parameters", text, i)
            i = _skip(text, i + 1)
            if i >= n:
                raise _fail("trailing comma", text, i)
    return params, quoted


def parse_challenge(value: str) -> Challenge:
    """Parse a challenge: `Digest realm="x", nonce="y"` or RFC 6750 §3 `Bearer realm="x"`."""
    scheme, i = _scheme(value)
    params, quoted = _auth_params(value, i)
    return Challenge(scheme, params, quoted)


def parse_credentials(value: str) -> Credentials:
    """Parse credentials: `Digest username="u", ...` or `Bearer <b64token>`."""
    scheme, i = _scheme(value)
    rest = value[i:].rstrip(_LWS)
    if rest and _B64TOKEN.fullmatch(rest):
        return Credentials(scheme, {}, rest, {})
    params, quoted = _auth_params(value, i)
    return Credentials(scheme, params, None, quoted)


# --- Digest computation ------------------------------------------------------------------

_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda b: hashlib.md5(b).hexdigest(),
    "SHA-256": lambda b: hashlib.sha256(b).hexdigest(),
}


def _algorithm(algorithm: str) -> tuple[Callable[[bytes], str], bool]:
    """Hash function and session flag for MD5, SHA-256, their -sess forms and AKAv1-MD5.

    AKAv1-MD5 (RFC 3310) is MD5 Digest with RES as the password.
    """
    name = algorithm.upper()
    if name.startswith("AKAV1-"):
        name = name[6:]
    sess = name.endswith("-SESS")
    if sess:
        name = name[:-5]
    if name not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return _HASHES[name], sess


def digest_response(
    *,
    username: str,
    realm: str,
    password: str | bytes,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | int | None = None,
    cnonce: str | None = None,
    algorithm: str = "MD5",
    body: bytes = b"",
) -> str:
    """The `response` value (RFC 2617 §3.2.2.1, RFC 3261 §22.4, RFC 7616 §3.4.1).

    Without `qop` this is the RFC 2069 form. `body` only matters for `qop=auth-int`.
    Raises ValueError for an unsupported algorithm or `qop` without `nc`/`cnonce`.
    """
    h, sess = _algorithm(algorithm)
    secret = password if isinstance(password, bytes) else password.encode()
    ha1 = h(f"{username}:{realm}:".encode() + secret)
    if sess:
        ha1 = h(f"{ha1}:{nonce}:{cnonce or ''}".encode())
    if qop == "auth-int":
        ha2 = h(f"{method}:{uri}:{h(body)}".encode())
    else:
        ha2 = h(f"{method}:{uri}".encode())
    if not qop:
        return h(f"{ha1}:{nonce}:{ha2}".encode())
    if nc is None or cnonce is None:
        raise ValueError("qop needs nc and cnonce")
    nc_text = f"{nc:08x}" if isinstance(nc, int) else nc
    return h(f"{ha1}:{nonce}:{nc_text}:{cnonce}:{qop}:{ha2}".encode())


def build_digest_authorization(
    *,
    username: str,
    realm: str,
    password: str | bytes,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | int | None = None,
    cnonce: str | None = None,
    algorithm: str = "MD5",
    opaque: str | None = None,
    body: bytes = b"",
) -> str:
    """An Authorization value answering a Digest challenge (RFC 3261 §22.2, §25.1).

    With `qop`, a missing `cnonce` is generated and `nc` defaults to `00000001`.
    """
    if qop:
        cnonce = cnonce if cnonce is not None else secrets.token_hex(8)
        nc = nc if nc is not None else 1
    nc_text = f"{nc:08x}" if isinstance(nc, int) else nc
    response = digest_response(
        username=username,
        realm=realm,
        password=password,
        method=method,
        uri=uri,
        nonce=nonce,
        qop=qop,
        nc=nc_text,
        cnonce=cnonce,
        algorithm=algorithm,
        body=body,
    )
    parts = [
        f"username={quote(username)}",
        f"realm={quote(realm)}",
        f"nonce={quote(nonce)}",
        f"uri={quote(uri)}",
        f"response={quote(response)}",
        f"algorithm={algorithm}",
    ]
    if cnonce is not None and qop:
        parts.append(f"cnonce={quote(cnonce)}")
    if opaque is not None:
        parts.append(f"opaque={quote(opaque)}")
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}"]
    return "Digest " + ", ".join(parts)


def build_digest_challenge(
    realm: str,
    nonce: str,
    *,
    algorithm: str = "MD5",
    qop: str | None = "auth",
    opaque: str | None = None,
    stale: bool = False,
) -> str:
    """A WWW-Authenticate value (RFC 3261 §22.1, §25.1 digest-cln; qop quoted)."""
    parts = [f"realm={quote(realm)}", f"nonce={quote(nonce)}", f"algorithm={algorithm}"]
    if qop:
        parts.append(f"qop={quote(qop)}")
    if opaque is not None:
        parts.append(f"opaque={quote(opaque)}")
    if stale:
        parts.append("stale=TRUE")
    return "Digest " + ", ".join(parts)


def verify_digest(
    credentials: Credentials | str,
    *,
    password: str | bytes,
    method: str,
    body: bytes = b"",
    realm: str | None = None,
    nonce: str | None = None,
) -> bool:
    """True if Digest `credentials` carry the right `response` (RFC 3261 §22.4).

    `realm` and `nonce`, when given, must also match what the credentials say. Never
    raises for malformed or unsupported credentials: they simply do not verify.
    """
    if isinstance(credentials, str):
        try:
            credentials = parse_credentials(credentials)
        except SipParseError:
            return False
    if credentials.scheme.lower() != "digest":
        return False
    p = credentials.params
    needed = ("username", "realm", "nonce", "uri", "response")
    if any(k not in p for k in needed):
        return False
    if (realm is not None and p["realm"] != realm) or (nonce is not None and p["nonce"] != nonce):
        return False
    qop = p.get("qop")
    if qop and ("nc" not in p or "cnonce" not in p):
        return False
    try:
        expected = digest_response(
            username=p["username"],
            realm=p["realm"],
            password=password,
            method=method,
            uri=p["uri"],
            nonce=p["nonce"],
            qop=qop,
            nc=p.get("nc"),
            cnonce=p.get("cnonce"),
            algorithm=p.get("algorithm", "MD5"),
            body=body,
        )
    except ValueError:
        return False
    return hmac.compare_digest(expected, p["response"].lower())
