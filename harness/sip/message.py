"""Sans-I/O SIP messages: parse, inspect, edit, build, serialise (RFC 3261 §7, §8, §18, §20).

Design rules:

- `parse()` takes exactly one message, as a message-oriented transport delivers it
  (one WebSocket message, RFC 7118 §5; one datagram, RFC 3261 §18.3). It never reads
  ahead and never fixes anything: what it cannot accept it reports as `SipParseError`.
- `SipMessage` keeps the wire order and spelling of header names; folded values are
  unfolded (RFC 3261 §7.3.1). Editing returns a new message.
- `to_bytes()` writes what the message says, wrong Content-Length included, so stimuli
  can be malformed on purpose. The builders compute a correct Content-Length.
- Typed accessors (`cseq`, `vias`, `from_`, ...) raise `SipParseError` when their header
  is missing or malformed. `parse()` has already checked them for a returned message,
  so they can fail only on hand-made messages or on `SipParseError.partial`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from harness.sip.errors import SipParseError, decode_text, encode_text
from harness.sip.headers import TOKEN_CHARS, CSeq, NameAddr, SipUri, Via, split_header_list
from harness.sip.names import (
    LIST_HEADERS,
    REASON_PHRASES,
    canonical_name,
    default_reason,
)

__all__ = [
    "REASON_PHRASES",
    "ParseResult",
    "SipMessage",
    "SipParseError",
    "build_request",
    "build_response",
    "canonical_name",
    "is_keepalive",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse",
]

# RFC 3261 §8.1.1: mandatory in every request and response (Max-Forwards is tolerated).
MANDATORY_HEADERS = ("via", "from", "to", "call-id", "cseq")
_SINGLE_HEADERS = ("from", "to", "call-id", "cseq")
DIALOG_CREATING_METHODS = frozenset({"INVITE", "SUBSCRIBE", "REFER", "NOTIFY"})

# a header name is a token (RFC 3261 §7.3.1, §25.1)
_TOKEN_NAME = re.compile(b"[" + b"".join(re.escape(c.encode("ascii")) for c in sorted(TOKEN_CHARS)) + b"]+")
# RFC 3261 §7.1 Request-Line / §7.2 Status-Line, SIP-Version per §25.1.
_REQUEST_LINE = re.compile(
    r"([-.!%*_+`'~A-Za-z0-9]+) ([A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20\x7f]+) (SIP/[0-9]+\.[0-9]+)",
    re.IGNORECASE,
)
_STATUS_LINE = re.compile(r"(SIP/[0-9]+\.[0-9]+) ([0-9]{3})(?: (.*))?", re.IGNORECASE | re.DOTALL)
_DIGITS = re.compile(r"[0-9]+")
_T = TypeVar("_T")
_Fail = Callable[[str, int], SipParseError]
_NEGATIVE = re.compile(r"-[0-9]+")


# --- the message -------------------------------------------------------------------------


@dataclass(frozen=True)
class SipMessage:
    """A SIP request or response (RFC 3261 §7): start line, ordered headers, body."""

    start_line: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def __post_init__(self) -> None:
        if type(self.headers) is not tuple or not set(map(type, self.headers)) <= {tuple}:
            object.__setattr__(self, "headers", tuple((n, v) for n, v in self.headers))
        if not isinstance(self.body, bytes):
            object.__setattr__(self, "body", bytes(self.body))

    # -- start line (RFC 3261 §7.1, §7.2)

    @property
    def is_request(self) -> bool:
        """True unless the start line is a Status-Line."""
        return self.start_line[:4].upper() != "SIP/"

    @property
    def method(self) -> str:
        """The request method, or the CSeq method of a response (`""` if unknown)."""
        if self.is_request:
            return self.start_line.split(" ", 1)[0]
        try:
            return self.cseq.method
        except SipParseError:
            return ""

    @property
    def request_uri(self) -> str | None:
        """The Request-URI as written, None for a response."""
        if not self.is_request:
            return None
        parts = self.start_line.split(" ")
        return parts[1] if len(parts) > 1 else None

    @property
    def status(self) -> int | None:
        """The status code of a response, None for a request."""
        known = self._known()
        if known is not None:
            return known.status
        m = _STATUS_LINE.fullmatch(self.start_line)
        return int(m.group(2)) if m else None

    @property
    def reason(self) -> str | None:
        """The reason phrase of a response (`""` when empty), None for a request."""
        m = _STATUS_LINE.fullmatch(self.start_line)
        return (m.group(3) or "") if m else None

    # -- header access (RFC 3261 §7.3)

    def header(self, name: str) -> str | None:
        """First value of header `name` (case-insensitive, compact forms both ways)."""
        key = canonical_name(name)
        for n, v in self.headers:
            if canonical_name(n) == key:
                return v
        return None

    def header_values(self, name: str) -> list[str]:
        """All values of header `name`; list headers (§7.3.1) are split at commas."""
        key = canonical_name(name)
        values = [v for n, v in self.headers if canonical_name(n) == key]
        if key not in LIST_HEADERS:
            return values
        return [part for v in values for part in split_header_list(v)]

    def has_header(self, name: str) -> bool:
        """True if header `name` occurs at least once."""
        return self.header(name) is not None

    def add_header(self, name: str, value: str, *, top: bool = False) -> SipMessage:
        """Copy with `name: value` appended, or with `top` placed above its kind (§20.42)."""
        headers = list(self.headers)
        if top:
            key = canonical_name(name)
            index = next((i for i, (n, _) in enumerate(headers) if canonical_name(n) == key), 0)
            headers.insert(index, (name, value))
        else:
            headers.append((name, value))
        return SipMessage(self.start_line, tuple(headers), self.body)

    def replace_header(self, name: str, value: str) -> SipMessage:
        """Copy with every `name` header replaced by one, where the first was (or last)."""
        key = canonical_name(name)
        headers: list[tuple[str, str]] = []
        done = False
        for n, v in self.headers:
            if canonical_name(n) != key:
                headers.append((n, v))
            elif not done:
                headers.append((name, value))
                done = True
        if not done:
            headers.append((name, value))
        return SipMessage(self.start_line, tuple(headers), self.body)

    def remove_header(self, name: str) -> SipMessage:
        """Copy without any `name` header."""
        key = canonical_name(name)
        headers = tuple((n, v) for n, v in self.headers if canonical_name(n) != key)
        return SipMessage(self.start_line, headers, self.body)

    def with_body(self, body: bytes, content_type: str | None = None) -> SipMessage:
        """Copy with `body`, a matching Content-Length and, if given, Content-Type (§20.14),
        each where the first of its kind was (the others dropped) or appended, as
        `replace_header` places them."""
        given = {"content-length": ("Content-Length", str(len(body)))}
        if content_type is not None:
            given["content-type"] = ("Content-Type", content_type)
        headers: list[tuple[str, str]] = []
        placed: set[str] = set()
        for n, v in self.headers:
            key = canonical_name(n)
            if key not in given:
                headers.append((n, v))
            elif key not in placed:
                headers.append(given[key])
                placed.add(key)
        headers += [given[key] for key in ("content-type", "content-length")
                    if key in given and key not in placed]
        return SipMessage(self.start_line, tuple(headers), body)

    def with_start_line(self, start_line: str) -> SipMessage:
        """Copy with another start line."""
        return SipMessage(start_line, self.headers, self.body)

    # -- serialisation (RFC 3261 §7)

    def to_bytes(self) -> bytes:
        """Wire form with CRLF line endings; headers exactly as held, no fixing."""
        lines = [self.start_line, *(f"{n}: {v}" for n, v in self.headers), "", ""]
        return encode_text("\r\n".join(lines)) + self.body

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def summary(self) -> str:
        """One line for logs, e.g. `REGISTER sip:ims.example.test CSeq 1 REGISTER`."""
        try:
            cseq: CSeq | None = self.cseq
        except SipParseError:
            cseq = None
        if self.is_request:
            head = f"{self.method} {self.request_uri or ''}".rstrip()
            return f"{head} CSeq {cseq}" if cseq else head
        status = self.status
        if status is None:
            return self.start_line[:80]
        head = f"{status} {self.reason}".rstrip()
        return f"{head} ({cseq.method})" if cseq else head

    # -- typed accessors (RFC 3261 §20)

    def _remember(self, typed: _Typed) -> None:
        """Keep what `parse()` parsed of this message's headers: the typed accessors then
        do not parse them again (a message is frozen, so what was parsed stays true)."""
        object.__setattr__(self, "_parsed", typed)

    def _known(self) -> _Typed | None:
        known: _Typed | None = self.__dict__.get("_parsed")
        return known

    def _required(self, name: str) -> str:
        value = self.header(name)
        if value is None:
            raise SipParseError(f"missing {name.lower()} header", 0, self.to_bytes())
        return value

    def _typed(self, name: str, value: str, parser: Callable[[str], _T]) -> _T:
        try:
            return parser(value)
        except SipParseError as err:
            raise SipParseError(
                f"bad {name.lower()} header: {err.reason}", 0, encode_text(value)
            ) from err

    @property
    def call_id(self) -> str:
        """The Call-ID (RFC 3261 §20.8)."""
        known = self._known()
        if known is not None:
            return known.call_id
        return self._required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        """The CSeq (RFC 3261 §20.16)."""
        known = self._known()
        if known is not None:
            return known.cseq
        return self._typed("CSeq", self._required("CSeq"), CSeq.parse)

    @property
    def vias(self) -> list[Via]:
        """All Via values, topmost first (RFC 3261 §20.42)."""
        known = self._known()
        if known is not None:
            return list(known.vias)
        return [self._typed("Via", v, Via.parse) for v in self.header_values("Via")]

    @property
    def top_via(self) -> Via | None:
        """The topmost Via, None if there is none."""
        vias = self.vias
        return vias[0] if vias else None

    @property
    def from_(self) -> NameAddr:
        """The From address (RFC 3261 §20.20)."""
        known = self._known()
        if known is not None:
            return known.from_
        return self._typed("From", self._required("From"), NameAddr.parse)

    @property
    def to(self) -> NameAddr:
        """The To address (RFC 3261 §20.39)."""
        known = self._known()
        if known is not None:
            return known.to
        return self._typed("To", self._required("To"), NameAddr.parse)

    @property
    def contacts(self) -> list[NameAddr]:
        """All Contact values; empty for `*` (RFC 3261 §10.2.2) or when absent."""
        values = self.header_values("Contact")
        if values == ["*"]:
            return []
        return [self._typed("Contact", v, NameAddr.parse) for v in values]

    def addresses(self, name: str) -> list[NameAddr]:
        """All values of an address list header such as Route, Path or Service-Route."""
        return [self._typed(name, v, NameAddr.parse) for v in self.header_values(name)]

    @property
    def content_length(self) -> int | None:
        """The Content-Length (RFC 3261 §20.14), None if absent."""
        value = self.header("Content-Length")
        if value is None:
            return None
        value = value.strip(" \t")
        if not _DIGITS.fullmatch(value) or len(value.lstrip("0")) > 18:
            raise SipParseError("bad content-length", 0, encode_text(value))
        return int(value)

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (RFC 3261 §20.22); None if absent or not a number."""
        value = (self.header("Max-Forwards") or "").strip(" \t")
        if not _DIGITS.fullmatch(value) or len(value.lstrip("0")) > 18:
            return None
        return int(value)


@dataclass(frozen=True)
class _Typed:
    """The headers `parse()` checked by parsing them (RFC 3261 §8.1.1), as parsed."""

    vias: tuple[Via, ...]
    from_: NameAddr
    to: NameAddr
    cseq: CSeq
    call_id: str
    status: int | None


@dataclass(frozen=True)
class ParseResult:
    """What `parse()` found: the message and how the input splits around it.

    `data[:consumed]` is the message (with any leading CRLFs), `excess == data[consumed:]`
    are trailing octets a Content-Length excluded (RFC 3261 §18.3), `declared_length`
    the Content-Length value (None if absent).
    """

    message: SipMessage
    consumed: int
    excess: bytes
    declared_length: int | None


# --- parsing -----------------------------------------------------------------------------


@dataclass
class _RawHeader:
    offset: int
    name: str
    parts: list[bytes]
    canon: str = ""  # canonical_name(name), set once every line is read
    text: str = ""  # the unfolded value (RFC 3261 §7.3.1), set once every line is read

    def finish(self) -> None:
        if len(self.parts) == 1:  # not folded: the usual case
            self.text = decode_text(self.parts[0]).strip(" \t")
        else:
            texts = (decode_text(p).strip(" \t") for p in self.parts)
            self.text = " ".join(t for t in texts if t)
        self.canon = canonical_name(self.name)


def parse(data: bytes) -> ParseResult:
    """Parse one SIP message from a message-oriented transport (RFC 3261 §7, §18.3).

    Leading CRLFs are skipped (§7.5); bare LF line ends are accepted. Without a
    Content-Length the body is the rest of `data`; a smaller one leaves `excess`;
    a larger one is an error. Raises `SipParseError` and nothing else.
    """
    data = bytes(data)
    n = len(data)
    pos = 0
    while pos < n and data[pos] in b"\r\n":
        if data[pos] == 0x0D and data[pos + 1 : pos + 2] != b"\n":
            break
        pos += 1
    if pos >= n:
        raise SipParseError("empty message", pos, data)

    start_off = pos
    nl = data.find(b"\n", pos)
    start_raw = data[pos : n if nl < 0 else nl].removesuffix(b"\r")
    start_line = decode_text(start_raw)
    version = _check_start_line(start_line, start_off, data)

    raw: list[_RawHeader] = []
    terminated = False
    body_start = n
    blank_off = n
    pos = n if nl < 0 else nl + 1
    while pos < n:
        nl = data.find(b"\n", pos)
        line = data[pos : n if nl < 0 else nl].removesuffix(b"\r")
        if not line and nl >= 0:
            terminated = True
            blank_off = pos
            body_start = nl + 1
            break
        if line[:1] in (b" ", b"\t"):
            if not raw:
                raise SipParseError("unexpected continuation line", pos, data)
            raw[-1].parts.append(line)
        else:
            colon = line.find(b":")
            if colon < 0:
                raise SipParseError("missing colon in header", pos, data)
            name = line[:colon].rstrip(b" \t")
            if _TOKEN_NAME.fullmatch(name) is None:
                raise SipParseError("bad header name", pos, data)
            raw.append(_RawHeader(pos, name.decode("ascii"), [line[colon + 1 :]]))
        pos = n if nl < 0 else nl + 1

    for h in raw:
        h.finish()
    headers = tuple((h.name, h.text) for h in raw)
    partial = SipMessage(start_line, headers, data[body_start:])
    if not terminated:
        raise SipParseError("headers not terminated", n, data, partial)

    def fail(reason: str, offset: int) -> SipParseError:
        return SipParseError(reason, offset, data, partial)

    if version.upper() != "SIP/2.0":
        # RFC 3261 §8.2.6 / §21.5.25: answerable with 505, hence the partial message.
        raise fail("unsupported sip version", start_off)

    declared = _content_length(raw, fail)
    typed = _check_headers(partial, raw, start_off, blank_off, fail)

    if declared is None:
        end = n
    else:
        if declared > n - body_start:
            cl_off = next(h.offset for h in raw if h.canon == "content-length")
            raise fail("content-length larger than body", cl_off)
        end = body_start + declared
    message = SipMessage(start_line, headers, data[body_start:end])
    message._remember(typed)
    return ParseResult(message, end, data[end:], declared)


def _check_start_line(line: str, offset: int, data: bytes) -> str:
    """Check the Request-Line or Status-Line shape (RFC 3261 §7.1, §7.2); the version.

    Elements are separated by exactly one SP (RFC 4475 §3.1.2.9, §3.1.2.10).
    """
    if line[:4].upper() == "SIP/":
        m = _STATUS_LINE.fullmatch(line)
        if m is None or not 100 <= int(m.group(2)) <= 699 or "\r" in (m.group(3) or ""):
            raise SipParseError("bad start line", offset, data)
        return m.group(1)
    m = _REQUEST_LINE.fullmatch(line)
    if m is None:
        raise SipParseError("bad start line", offset, data)
    return m.group(3)


def _content_length(raw: list[_RawHeader], fail: _Fail) -> int | None:
    """The Content-Length, checked for syntax and agreement (RFC 3261 §20.14)."""
    found: set[int] = set()
    for h in raw:
        if h.canon != "content-length":
            continue
        value = h.text
        if _NEGATIVE.fullmatch(value):
            raise fail("negative content-length", h.offset)
        if not _DIGITS.fullmatch(value):
            raise fail("bad content-length", h.offset)
        digits = value.lstrip("0") or "0"
        if len(digits) > 18:
            raise fail("content-length larger than body", h.offset)
        found.add(int(digits))
        if len(found) > 1:
            # RFC 4475 §3.3.9: no way to know how many octets belong to the body.
            raise fail("conflicting content-length", h.offset)
    return next(iter(found)) if found else None


def _check_headers(
    msg: SipMessage, raw: list[_RawHeader], start_off: int, blank_off: int, fail: _Fail
) -> _Typed:
    """Mandatory headers present once and well-formed (RFC 3261 §8.1.1, §20); what was
    parsed on the way is returned, for the message's typed accessors."""
    named: dict[str, list[_RawHeader]] = {}
    for h in raw:
        named.setdefault(h.canon, []).append(h)
    for name in MANDATORY_HEADERS:
        if name not in named:
            raise fail(f"missing {name} header", blank_off)
    for name in _SINGLE_HEADERS:
        if len(named[name]) > 1:
            raise fail(f"duplicate {name} header", named[name][1].offset)

    def check(name: str, parser: Callable[[str], _T]) -> list[_T]:
        parsed = []
        for h in named.get(name, ()):
            try:
                parsed.append(parser(h.text))
            except SipParseError as err:
                raise fail(f"bad {name} header: {err.reason}", h.offset) from err
        return parsed

    vias = tuple(via for vias in check("via", _parse_via_list) for via in vias)
    from_ = check("from", NameAddr.parse)[0]
    to = check("to", NameAddr.parse)[0]
    cseq = check("cseq", CSeq.parse)[0]
    call_id = check("call-id", _check_call_id)[0]
    check("contact", _parse_contact_list)
    if msg.is_request:
        uri = msg.request_uri or ""
        uri_off = start_off + len(encode_text(msg.method)) + 1
        if uri[:4].lower() == "sip:" or uri[:5].lower() == "sips:":
            try:
                parsed = SipUri.parse(uri)
            except SipParseError as err:
                raise fail(f"bad request-uri: {err.reason}", uri_off + err.offset) from err
            if parsed.headers:
                # RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI.
                raise fail("headers in request-uri", uri_off)
        if cseq.method != msg.method:
            # RFC 3261 §8.1.1.5: the CSeq method MUST match the request method.
            raise fail("cseq method does not match request method", named["cseq"][0].offset)
    # a Status-Line parse() accepted is `SIP/2.0 DDD ...` (one SP, version checked)
    status = int(msg.start_line[8:11]) if not msg.is_request else None
    return _Typed(vias, from_, to, cseq, call_id, status)


def _parse_via_list(value: str) -> list[Via]:
    return [Via.parse(part) for part in split_header_list(value) or [""]]


def _parse_contact_list(value: str) -> None:
    parts = split_header_list(value)
    if parts == ["*"]:
        return
    for part in parts or [""]:
        NameAddr.parse(part)


def _check_call_id(value: str) -> str:
    # RFC 3261 §25.1: callid = word [ "@" word ]; no LWS inside.
    if not value or " " in value or "\t" in value:
        raise SipParseError("bad call-id", 0, encode_text(value))
    return value


# --- building ----------------------------------------------------------------------------


def build_request(
    method: str,
    uri: str,
    headers: Iterable[tuple[str, str]],
    body: bytes = b"",
    content_type: str | None = None,
) -> SipMessage:
    """A request with a correct Content-Length, and Content-Type if given (§8.1.1)."""
    msg = SipMessage(f"{method} {uri} SIP/2.0", tuple(headers), b"")
    return msg.with_body(body, content_type)


def build_response(
    request: SipMessage,
    status: int,
    reason: str | None = None,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
    to_tag: str | None = None,
) -> SipMessage:
    """A response to `request` (RFC 3261 §8.2.6.2, §12.1.1).

    Copies every Via in order, From, To (adding `to_tag` if To has no tag), Call-ID
    and CSeq, plus Record-Route in 101-299 responses to dialog-creating requests. Works
    on `SipParseError.partial` too: whatever is missing is simply not copied.
    """
    if reason is None:
        reason = default_reason(status)
    out: list[tuple[str, str]] = [
        ("Via", v) for n, v in request.headers if canonical_name(n) == "via"
    ]
    copy_rr = 100 < status < 300 and request.method.upper() in DIALOG_CREATING_METHODS
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.header(name)
        if value is None:
            continue
        if name == "To" and to_tag is not None and not _has_tag(value):
            value = f"{value};tag={to_tag}"
        out.append((name, value))
    if copy_rr:
        out += [
            ("Record-Route", v) for n, v in request.headers if canonical_name(n) == "record-route"
        ]
    out += list(headers)
    msg = SipMessage(f"SIP/2.0 {status} {reason}", tuple(out), b"")
    return msg.with_body(body, content_type)


def _has_tag(value: str) -> bool:
    try:
        return NameAddr.parse(value).tag is not None
    except SipParseError:
        return ";tag=" in value.replace(" ", "").lower()


def new_branch() -> str:
    """A fresh Via branch with the RFC 3261 §8.1.1.7 magic cookie."""
    return "z9hG4bK" + secrets.token_hex(10)


def new_tag() -> str:
    """A fresh From/To tag: at least 32 bits of randomness (RFC 3261 §19.3)."""
    return secrets.token_hex(6)


CALL_ID_SCOPE = re.compile(r"\.wicct-([0-9a-f]{8})$")


def new_call_id(scope: str = "") -> str:
    """A fresh, globally unique Call-ID (RFC 3261 §8.1.1.4); with `scope` (a case's token,
    8 hex digits) it ends in `.wicct-<scope>`, so a request that outlives its case is
    recognised as a stray wherever it arrives (`call_id_scope`)."""
    token = secrets.token_hex(16)
    return f"{token}.wicct-{scope}" if scope else token


def call_id_scope(call_id: str) -> str | None:
    """The case token a wicct-made Call-ID carries, None for any other Call-ID."""
    match = CALL_ID_SCOPE.search(call_id)
    return match.group(1) if match else None


def is_keepalive(payload: bytes) -> bool:
    """True for an RFC 5626 §3.5.1 keep-alive: `CRLF CRLF` ping or `CRLF` pong."""
    return bytes(payload) in (b"\r\n\r\n", b"\r\n")
