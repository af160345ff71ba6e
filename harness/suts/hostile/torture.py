"""RFC 4475 §3 torture messages, as wicct's own texts (`torture/rfc4475.txt`, package data).

Each message is written for wicct after the test of the same name in RFC 4475 §3 (the
name is the RFC's): the same trap, not the RFC's text. The file's notation:
`=== name` starts a message; each line that follows is one line of it, sent with CRLF;
`\\xNN` is the octet NN (RFC 4475 §2.2's non-printable characters); `{N*text}` is `text`
repeated N times (§2.3's long strings); a line `\\` alone is an empty line; a line that
starts with `#` is a comment; trailing blank lines are not part of a message.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_REPEAT = re.compile(r"\{(\d+)\*([^}]*)\}")
_OCTET = re.compile(rb"\\x([0-9a-fA-F]{2})")


def _line(text: str) -> bytes:
    if text == "\\":
        return b""
    text = _REPEAT.sub(lambda m: m.group(2) * int(m.group(1)), text)
    return _OCTET.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8"))


def parse_file(text: str) -> dict[str, bytes]:
    """name → message octets; ValueError on a file that does not start with `=== `."""
    found: dict[str, bytes] = {}
    name: str | None = None
    lines: list[str] = []

    def close() -> None:
        if name is not None:
            while lines and lines[-1] == "":
                lines.pop()
            found[name] = b"".join(_line(line) + b"\r\n" for line in lines)

    for number, raw in enumerate(text.splitlines(), 1):
        if raw.startswith("#"):
            continue
        if raw.startswith("=== "):
            close()
            name, lines = raw[4:].strip(), []
            if name in found:
                raise ValueError(f"torture file line {number}: {name!r} twice")
        elif name is None:
            if raw.strip():
                raise ValueError(f"torture file line {number}: text before the first '=== '")
        else:
            lines.append(raw)
    close()
    return found


@functools.cache
def messages() -> dict[str, bytes]:
    """Every torture message by its RFC 4475 name, in the RFC's order."""
    text = resources.files("harness.suts.hostile").joinpath("torture/rfc4475.txt").read_text("utf-8")
    return parse_file(text)
