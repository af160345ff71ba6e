"""Just enough SIP for the real-peer driver tests' in-test peers (not the harness's parser).

The tests must not depend on `harness/sip/` so that a driver can be proven on its own.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
}


@dataclass
class Msg:
    start: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""

    @property
    def is_request(self) -> bool:
        return not self.start.startswith("SIP/2.0 ")

    @property
    def method(self) -> str:
        return self.start.split(" ", 1)[0] if self.is_request else self.cseq_method

    @property
    def ruri(self) -> str:
        return self.start.split(" ")[1]

    @property
    def status(self) -> int:
        return int(self.start.split(" ")[1]) if not self.is_request else 0

    @property
    def cseq_method(self) -> str:
        return self.get("CSeq").split()[-1]

    def get_all(self, name: str) -> list[str]:
        want = _norm(name)
        values: list[str] = []
        for key, value in self.headers:
            if _norm(key) == want:
                values.extend(
                    _split_commas(value)
                    if want in ("via", "route", "record-route", "path")
                    else [value]
                )
        return values

    def get(self, name: str, default: str = "") -> str:
        values = self.get_all(name)
        return values[0] if values else default


def _norm(name: str) -> str:
    name = name.strip().lower()
    return _COMPACT.get(name, name)


def _split_commas(value: str) -> list[str]:
    out, depth, quoted, current = [], 0, False, ""
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            depth += 1
        elif char == ">" and not quoted:
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            out.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        out.append(current.strip())
    return out


def parse(data: bytes | str) -> Msg:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    msg = Msg(lines[0], body=body)
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and msg.headers:
            name, value = msg.headers[-1]
            msg.headers[-1] = (name, value + " " + line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            msg.headers.append((name.strip(), value.strip()))
    return msg


def serialise(start: str, headers: list[tuple[str, str]], body: str = "") -> str:
    lines = [start, *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body.encode())}"]
    return "\r\n".join(lines) + "\r\n\r\n" + body


def response(
    req: Msg,
    status: int,
    reason: str,
    extra: list[tuple[str, str]] | None = None,
    *,
    to_tag: str = "",
    body: str = "",
) -> str:
    headers: list[tuple[str, str]] = [("Via", via) for via in req.get_all("Via")]
    to = req.get("To")
    if ";tag=" not in to and status > 100:
        to += ";tag=" + (to_tag or secrets.token_hex(4))
    headers += [
        ("From", req.get("From")),
        ("To", to),
        ("Call-ID", req.get("Call-ID")),
        ("CSeq", req.get("CSeq")),
    ]
    headers += extra or []
    return serialise(f"SIP/2.0 {status} {reason}", headers, body)


def uri_of(name_addr: str) -> str:
    """The URI inside <...> of a name-addr, or the value itself."""
    match = re.search(r"<([^>]*)>", name_addr)
    return match.group(1) if match else name_addr.split(";")[0].strip()


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(5)
