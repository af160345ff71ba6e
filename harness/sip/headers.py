"""Typed views of the SIP header fields the harness reasons about (RFC 3261 §19, §20, §25).

Design rules:

- Values are frozen dataclasses with a `parse()` classmethod and a `__str__` serialiser.
  `__str__` writes a canonical form (single spaces, angle brackets around URIs); it does
  not reproduce odd spacing of the original, which `SipMessage.headers` keeps.
- Parameter values are kept as written: a quoted-string keeps its quotes, so checks can
  tell `expires=60` from `expires="60"`; `unquote()` strips them.
- Errors are `SipParseError` with the byte offset into the text given to `parse()`.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, replace
from typing import NoReturn

from harness.sip.errors import SipParseError, encode_text

Params = tuple[tuple[str, str | None], ...]

# RFC 3261 §25.1: token, unreserved, and the extra characters of each URI component.
_ALNUM = frozenset(string.ascii_letters + string.digits)
TOKEN_CHARS = _ALNUM | frozenset("-.!%*_+`'~")
_UNRESERVED = _ALNUM | frozenset("-_.!~*'()")
_USER_CHARS = _UNRESERVED | frozenset("&=+$,;?/")
_PASSWORD_CHARS = _UNRESERVED | frozenset("&=+$,")
_URI_PARAM_CHARS = _UNRESERVED | frozenset("[]/:&+$")
_URI_HEADER_CHARS = _UNRESERVED | frozenset("[]/?:+$=&")
_HOST_CHARS = _ALNUM | frozenset("-._")
_IPV6_CHARS = frozenset(string.hexdigits + ":.")
# generic-param value: token / host / quoted-string (RFC 3261 §25.1 gen-value).
_PARAM_VALUE_CHARS = TOKEN_CHARS | frozenset("[]:")
_DIGITS = frozenset(string.digits)
_LWS = " \t\r\n"
_HEX = frozenset(string.hexdigits)


def _run_of(chars: frozenset[str]) -> re.Pattern[str]:
    """A pattern matching a run (maybe empty) of exactly these characters."""
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]*")


_TOKEN_RUN = _run_of(TOKEN_CHARS)
_DISPLAY_RUN = _run_of(TOKEN_CHARS | frozenset(" \t"))
_PARAM_VALUE_RUN = _run_of(_PARAM_VALUE_CHARS)
_HOST_RUN = _run_of(_HOST_CHARS)
_DIGITS_RUN = _run_of(_DIGITS)
# not allowed anywhere in a URI as this parser takes it: LWS, CTLs, DEL, <, >, DQUOTE
_URI_BAD = re.compile('[\x00-\x20\x7f<>"]')

__all__ = [
    "CSeq",
    "NameAddr",
    "Params",
    "SipUri",
    "Via",
    "format_params",
    "is_token",
    "parse_params",
    "quote",
    "split_header_list",
    "unquote",
]


# --- lexical helpers -------------------------------------------------------------------


def _fail(reason: str, text: str, index: int = 0) -> NoReturn:
    offset = len(encode_text(text[:index]))
    raise SipParseError(reason, offset, encode_text(text))


def _reraise(err: SipParseError, text: str, index: int, prefix: str = "") -> NoReturn:
    """Re-raise an error found in a slice of `text` that starts at `index`."""
    offset = len(encode_text(text[:index])) + err.offset
    raise SipParseError(prefix + err.reason, offset, encode_text(text)) from err


def is_token(text: str) -> bool:
    """True if `text` matches `token` (RFC 3261 §25.1)."""
    return bool(text) and all(c in TOKEN_CHARS for c in text)


def _run_end(run: re.Pattern[str], text: str, i: int) -> int:
    """The index just past the run of `run`'s characters that starts at `i` (≤ len(text))."""
    found = run.match(text, i)
    return found.end() if found else i


def _skip_lws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _LWS:
        i += 1
    return i


def _scan_quoted(text: str, i: int) -> int:
    """`text[i]` is a DQUOTE; return the index just past the closing one (§25.1)."""
    j = i + 1
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
        elif c == '"':
            return j + 1
        else:
            j += 1
    _fail("unterminated quoted string", text, i)


def unquote(value: str) -> str:
    """Strip the quotes of a quoted-string and resolve quoted-pairs; else return as is."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    out = []
    i, end = 1, len(value) - 1
    while i < end:
        if value[i] == "\\" and i + 1 < end:
            i += 1
        out.append(value[i])
        i += 1
    return "".join(out)


def quote(value: str) -> str:
    """Make a quoted-string of `value` (RFC 3261 §25.1 quoted-pair for `\\` and `"`)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_header_list(value: str) -> list[str]:
    """Split a comma-separated header value, respecting quotes and `<...>` (§7.3.1).

    Empty elements are kept (`"a,,b"` gives three), an all-blank value gives none.
    """
    if not value.strip(_LWS):
        return []
    if "," not in value:
        return [value.strip(_LWS)]
    parts: list[str] = []
    start = 0
    i = 0
    n = len(value)
    in_angle = False
    while i < n:
        c = value[i]
        if c == '"':
            j = i + 1
            while j < n and value[j] != '"':
                j += 2 if value[j] == "\\" else 1
            i = j + 1
            continue
        if c == "<":
            in_angle = True
        elif c == ">":
            in_angle = False
        elif c == "," and not in_angle:
            parts.append(value[start:i].strip(_LWS))
            start = i + 1
        i += 1
    parts.append(value[start:].strip(_LWS))
    return parts


def _check_chars(text: str, start: int, part: str, allowed: frozenset[str], what: str) -> None:
    """Check that `part` (at `start` in `text`) uses `allowed` characters or escapes."""
    i = 0
    n = len(part)
    while i < n:
        c = part[i]
        if c == "%":
            if i + 2 >= n or part[i + 1] not in _HEX or part[i + 2] not in _HEX:
                _fail(f"bad escape in {what}", text, start + i)
            i += 3
            continue
        if c not in allowed:
            _fail(f"bad character in {what}", text, start + i)
        i += 1


# --- parameters --------------------------------------------------------------------------


def parse_params(text: str) -> Params:
    """Parse `*( SEMI generic-param )` with optional LWS around `;` and `=` (§25.1)."""
    params: list[tuple[str, str | None]] = []
    n = len(text)
    i = _skip_lws(text, 0)
    while i < n:
        if text[i] != ";":
            _fail("expected ';' before parameter", text, i)
        i = _skip_lws(text, i + 1)
        j = _run_end(_TOKEN_RUN, text, i)
        if j == i:
            reason = "empty parameter" if i >= n or text[i] in ";," else "bad parameter name"
            _fail(reason, text, i)
        name = text[i:j]
        i = _skip_lws(text, j)
        value: str | None = None
        if i < n and text[i] == "=":
            i = _skip_lws(text, i + 1)
            if i < n and text[i] == '"':
                j = _scan_quoted(text, i)
            else:
                j = _run_end(_PARAM_VALUE_RUN, text, i)
                if j == i:
                    _fail("missing parameter value", text, i)
            value = text[i:j]
            i = _skip_lws(text, j)
        params.append((name, value))
    return tuple(params)


def format_params(params: Params) -> str:
    """Serialise parameters as `;name` / `;name=value`."""
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def _find_param(params: Params, name: str) -> tuple[str, str | None] | None:
    key = name.lower()
    for item in params:
        if item[0].lower() == key:
            return item
    return None


def _set_param(params: Params, name: str, value: str | None) -> Params:
    key = name.lower()
    if _find_param(params, name) is None:
        return (*params, (name, value))
    out: list[tuple[str, str | None]] = []
    done = False
    for k, v in params:
        if k.lower() == key:
            if not done:
                out.append((k, value))
                done = True
        else:
            out.append((k, v))
    return tuple(out)


def _del_param(params: Params, name: str) -> Params:
    key = name.lower()
    return tuple((k, v) for k, v in params if k.lower() != key)


class _ParamsMixin:
    """Case-insensitive parameter access shared by the header value types."""

    params: Params

    def param(self, name: str) -> str | None:
        """The value of parameter `name` as written, or None (absent or no value)."""
        item = _find_param(self.params, name)
        return None if item is None else item[1]

    def has_param(self, name: str) -> bool:
        """True if parameter `name` is present, with or without a value."""
        return _find_param(self.params, name) is not None


# --- SIP URI -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SipUri(_ParamsMixin):
    """A SIP or SIPS URI (RFC 3261 §19.1), or another absolute URI kept opaque.

    `host` keeps the brackets of an IPv6 reference. A `tel:` URI (RFC 3966) keeps the
    number in `user` and its parameters in `params`; other schemes keep everything after
    the colon in `opaque`.
    """

    scheme: str
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: Params = ()
    headers: str = ""
    opaque: str = ""

    @property
    def is_sip(self) -> bool:
        """True for `sip:` and `sips:` URIs."""
        return self.scheme in ("sip", "sips")

    @property
    def host_port(self) -> str:
        """`host[:port]`."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def with_param(self, name: str, value: str | None = None) -> SipUri:
        """Copy with parameter `name` set (replaced if present, else appended)."""
        return replace(self, params=_set_param(self.params, name, value))

    def without_param(self, name: str) -> SipUri:
        """Copy without parameter `name`."""
        return replace(self, params=_del_param(self.params, name))

    def __str__(self) -> str:
        if not self.is_sip and self.scheme != "tel":
            return f"{self.scheme}:{self.opaque}"
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out += [":", self.password]
            if self.is_sip:
                out.append("@")
        out.append(self.host_port)
        out.append(format_params(self.params))
        if self.headers:
            out += ["?", self.headers]
        return "".join(out)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a URI (RFC 3261 §19.1.1, §25.1 SIP-URI); no LWS anywhere inside."""
        n = len(text)
        i = 0
        if not text or text[0] not in string.ascii_letters:
            _fail("bad uri scheme", text, 0)
        while i < n and (text[i] in _ALNUM or text[i] in "+-."):
            i += 1
        if i >= n or text[i] != ":":
            _fail("bad uri scheme", text, i)
        scheme = text[:i].lower()
        base = i + 1
        rest = text[base:]
        bad = _URI_BAD.search(rest)
        if bad is not None:
            _fail("bad character in uri", text, base + bad.start())
        if not rest:
            _fail("empty uri", text, base)
        if scheme == "tel":
            return cls._parse_tel(text, base)
        if scheme not in ("sip", "sips"):
            return cls(scheme, opaque=rest)
        return cls._parse_sip(text, scheme, base)

    @classmethod
    def _parse_tel(cls, text: str, base: int) -> SipUri:
        number, _, tail = text[base:].partition(";")
        if not number:
            _fail("empty telephone number", text, base)
        params = _parse_uri_params(text, base + len(number) + 1, tail) if tail else ()
        return cls("tel", user=number, params=params)

    @classmethod
    def _parse_sip(cls, text: str, scheme: str, base: int) -> SipUri:
        rest = text[base:]
        user = password = None
        host_at = base
        at = rest.rfind("@")
        if at >= 0:
            userinfo = rest[:at]
            user, colon, pw = userinfo.partition(":")
            if not user:
                _fail("empty user", text, base)
            _check_chars(text, base, user, _USER_CHARS, "user")
            if colon:
                password = pw
                _check_chars(text, base + len(user) + 1, pw, _PASSWORD_CHARS, "password")
            host_at = base + at + 1
        hostpart = text[host_at:]
        i = 0
        n = len(hostpart)
        if hostpart.startswith("["):
            close = hostpart.find("]")
            if close < 0:
                _fail("unterminated ipv6 reference", text, host_at)
            inner = hostpart[1:close]
            if not inner or any(c not in _IPV6_CHARS for c in inner):
                _fail("bad ipv6 reference", text, host_at)
            i = close + 1
        else:
            i = _run_end(_HOST_RUN, hostpart, i)
            if i == 0:
                _fail("missing host", text, host_at)
        host = hostpart[:i]
        port = None
        if i < n and hostpart[i] == ":":
            j = _run_end(_DIGITS_RUN, hostpart, i + 1)
            if j == i + 1 or j - i - 1 > 5 or int(hostpart[i + 1 : j]) > 65535:
                _fail("bad port", text, host_at + i + 1)
            port = int(hostpart[i + 1 : j])
            i = j
        tail = hostpart[i:]
        headers = ""
        q = tail.find("?")
        if q >= 0:
            headers = tail[q + 1 :]
            if not headers:
                _fail("empty uri headers", text, host_at + i + q)
            _check_chars(text, host_at + i + q + 1, headers, _URI_HEADER_CHARS, "uri headers")
            tail = tail[:q]
        params: Params = ()
        if tail:
            if tail[0] != ";":
                _fail("unexpected character after host", text, host_at + i)
            params = _parse_uri_params(text, host_at + i + 1, tail[1:])
        return cls(scheme, user, password, host, port, params, headers)


def _parse_uri_params(text: str, start: int, tail: str) -> Params:
    """Parse `pname[=pvalue]` items separated by `;` (RFC 3261 §25.1 uri-parameters)."""
    params: list[tuple[str, str | None]] = []
    pos = start
    for item in tail.split(";"):
        name, eq, value = item.partition("=")
        if not name:
            _fail("empty uri parameter", text, pos)
        _check_chars(text, pos, name, _URI_PARAM_CHARS, "uri parameter")
        if eq:
            if not value:
                _fail("empty uri parameter value", text, pos + len(name) + 1)
            _check_chars(text, pos + len(name) + 1, value, _URI_PARAM_CHARS, "uri parameter")
        params.append((name, value if eq else None))
        pos += len(item) + 1
    return tuple(params)


# --- name-addr / addr-spec ---------------------------------------------------------------


@dataclass(frozen=True)
class NameAddr(_ParamsMixin):
    """`name-addr` or `addr-spec` plus header parameters (From, To, Contact, Route; §20.10).

    `display_name` is None when absent, the unquoted text otherwise (`""` for `""`).
    In the bare `addr-spec` form, parameters after the URI are header parameters.
    """

    display_name: str | None
    uri: SipUri
    params: Params = ()

    @property
    def tag(self) -> str | None:
        """The `tag` parameter (RFC 3261 §19.3)."""
        return self.param("tag")

    def with_param(self, name: str, value: str | None = None) -> NameAddr:
        """Copy with header parameter `name` set (replaced if present, else appended)."""
        return replace(self, params=_set_param(self.params, name, value))

    def without_param(self, name: str) -> NameAddr:
        """Copy without header parameter `name`."""
        return replace(self, params=_del_param(self.params, name))

    def __str__(self) -> str:
        name = self.display_name
        if name is None:
            lead = ""
        elif name and all(is_token(word) for word in name.split(" ")):
            lead = name + " "
        else:
            lead = quote(name) + " "
        return f"{lead}<{self.uri}>{format_params(self.params)}"

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse `( name-addr / addr-spec ) *( SEMI param )` (RFC 3261 §20.10, §25.1).

        A display name may be a quoted-string or tokens separated by LWS; no LWS is
        needed before `<` (RFC 4475 §3.1.1.6).
        """
        n = len(text)
        i = _skip_lws(text, 0)
        if i >= n:
            _fail("empty address", text, i)
        display: str | None = None
        if text[i] == '"':
            j = _scan_quoted(text, i)
            display = unquote(text[i:j])
            i = _skip_lws(text, j)
            if i >= n or text[i] != "<":
                _fail("expected '<' after display name", text, i)
        else:
            j = _run_end(_DISPLAY_RUN, text, i)
            if j < n and text[j] == "<":
                words = text[i:j].strip(" \t")
                display = words or None
                i = j
            elif j < n and text[j] != ":" and "<" in text[j:]:
                _fail("bad display name", text, j)
            else:
                return cls._parse_addr_spec(text, i)
        close = text.find(">", i + 1)
        if close < 0:
            _fail("unterminated '<'", text, i)
        try:
            uri = SipUri.parse(text[i + 1 : close])
        except SipParseError as err:
            _reraise(err, text, i + 1)
        try:
            params = parse_params(text[close + 1 :])
        except SipParseError as err:
            _reraise(err, text, close + 1)
        return cls(display, uri, params)

    @classmethod
    def _parse_addr_spec(cls, text: str, i: int) -> NameAddr:
        n = len(text)
        j = i
        while j < n and text[j] not in "; \t\r\n":
            j += 1
        spec = text[i:j]
        for k, c in enumerate(spec):
            if c in ",?":
                # RFC 3261 §20: such URIs MUST be enclosed in angle brackets.
                _fail("uri with ',' or '?' needs angle brackets", text, i + k)
        try:
            uri = SipUri.parse(spec)
        except SipParseError as err:
            _reraise(err, text, i)
        try:
            params = parse_params(text[j:])
        except SipParseError as err:
            _reraise(err, text, j)
        return cls(None, uri, params)


# --- Via ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Via(_ParamsMixin):
    """One `via-parm` (RFC 3261 §20.42): sent-protocol, sent-by and parameters.

    `protocol` is the sent-protocol with any LWS removed, case as written
    (e.g. `SIP/2.0/WSS`, RFC 7118 §5.1).
    """

    protocol: str
    host: str
    port: int | None = None
    params: Params = ()

    @property
    def transport(self) -> str:
        """The transport, upper-cased (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, ...)."""
        return self.protocol.rsplit("/", 1)[-1].upper()

    @property
    def sent_by(self) -> str:
        """`host[:port]`."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def branch(self) -> str | None:
        """The `branch` parameter (RFC 3261 §8.1.1.7)."""
        return self.param("branch")

    @property
    def received(self) -> str | None:
        """The `received` parameter (RFC 3261 §18.2.1)."""
        return self.param("received")

    @property
    def rport(self) -> str | None:
        """RFC 3581 `rport`: None if absent, `""` if present without a value."""
        item = _find_param(self.params, "rport")
        if item is None:
            return None
        return item[1] if item[1] is not None else ""

    def with_param(self, name: str, value: str | None = None) -> Via:
        """Copy with parameter `name` set (replaced if present, else appended)."""
        return replace(self, params=_set_param(self.params, name, value))

    def without_param(self, name: str) -> Via:
        """Copy without parameter `name`."""
        return replace(self, params=_del_param(self.params, name))

    def __str__(self) -> str:
        return f"{self.protocol} {self.sent_by}{format_params(self.params)}"

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one via-parm; LWS is allowed around `/`, `:`, `;` and `=` (§25.1)."""
        n = len(text)
        i = _skip_lws(text, 0)
        fields: list[str] = []
        for k in range(3):
            j = _run_end(_TOKEN_RUN, text, i)
            if j == i:
                _fail("bad sent-protocol", text, i)
            fields.append(text[i:j])
            i = _skip_lws(text, j)
            if k < 2:
                if i >= n or text[i] != "/":
                    _fail("bad sent-protocol", text, i)
                i = _skip_lws(text, i + 1)
        if i == j:
            _fail("missing lws after sent-protocol", text, i)
        if i >= n:
            _fail("missing sent-by", text, i)
        start = i
        if text[i] == "[":
            close = text.find("]", i)
            if (
                close < 0
                or close == i + 1
                or any(c not in _IPV6_CHARS for c in text[i + 1 : close])
            ):
                _fail("bad sent-by host", text, i)
            i = close + 1
        else:
            i = _run_end(_HOST_RUN, text, i)
            if i == start:
                _fail("bad sent-by host", text, start)
        host = text[start:i]
        port = None
        k = _skip_lws(text, i)
        if k < n and text[k] == ":":
            p = _skip_lws(text, k + 1)
            q = _run_end(_DIGITS_RUN, text, p)
            if q == p or q - p > 5 or int(text[p:q]) > 65535:
                _fail("bad sent-by port", text, p)
            port = int(text[p:q])
            i = q
        try:
            params = parse_params(text[i:])
        except SipParseError as err:
            _reraise(err, text, i)
        return cls("/".join(fields), host, port, params)


# --- CSeq --------------------------------------------------------------------------------

_MAX_CSEQ = 2**32 - 1


@dataclass(frozen=True)
class CSeq:
    """`CSeq: 1*DIGIT LWS Method` (RFC 3261 §20.16); the number fits 32 bits (§8.1.1.5)."""

    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"

    @classmethod
    def parse(cls, text: str) -> CSeq:
        """Parse a CSeq value; leading zeros are fine (RFC 4475 §3.1.1.1)."""
        n = len(text)
        i = _skip_lws(text, 0)
        j = _run_end(_DIGITS_RUN, text, i)
        if j == i:
            _fail("bad cseq number", text, i)
        digits = text[i:j].lstrip("0") or "0"
        if len(digits) > 10 or int(digits) > _MAX_CSEQ:
            _fail("cseq number out of range", text, i)
        number = int(digits)
        k = _skip_lws(text, j)
        if k == j:
            _fail("missing lws in cseq", text, j)
        m = _run_end(_TOKEN_RUN, text, k)
        if m == k:
            _fail("bad cseq method", text, k)
        if _skip_lws(text, m) != n:
            _fail("trailing characters in cseq", text, m)
        return cls(number, text[k:m])
