"""Judgements of a recorded WebSocket opening handshake (RFC 6455 §4; RFC 7118 §4.1).

Pure functions over what the timeline recorded of an HTTP head: `headers` is the list of
[name, value] pairs as recorded, in wire order.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

Headers = Iterable[Sequence[object]]


def accept_value(key: str) -> str:
    """RFC 6455 §4.2.2 step 5.4: base64(SHA-1(key + GUID))."""
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def header_values(headers: Headers, name: str) -> list[str]:
    """Values of one header in a recorded HTTP head ([[name, value], ...])."""
    return [str(v) for n, v in headers if str(n).lower() == name.lower()]


def tokens(values: Iterable[str]) -> list[str]:
    """The comma-separated tokens of header values, trimmed, empty ones dropped."""
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def upgrade_problems(method: str, headers: Headers) -> list[str]:
    """WIC-HS-01 (RFC 6455 §4.1, RFC 7118 §4.1) on a recorded upgrade request."""
    headers = list(headers)
    problems = []
    if method != "GET":
        problems.append(f"method is {method!r}, not GET")
    if "websocket" not in [t.lower() for t in tokens(header_values(headers, "Upgrade"))]:
        problems.append(f"Upgrade is {header_values(headers, 'Upgrade') or 'absent'}, not websocket")
    if "upgrade" not in [t.lower() for t in tokens(header_values(headers, "Connection"))]:
        problems.append(
            f"Connection is {header_values(headers, 'Connection') or 'absent'}, without upgrade"
        )
    versions = header_values(headers, "Sec-WebSocket-Version")
    if versions != ["13"]:
        problems.append(f"Sec-WebSocket-Version is {versions or 'absent'}, not 13")
    if len(header_values(headers, "Sec-WebSocket-Key")) != 1:
        problems.append("no single Sec-WebSocket-Key")
    offered = tokens(header_values(headers, "Sec-WebSocket-Protocol"))
    if "sip" not in offered:
        problems.append(f"Sec-WebSocket-Protocol offers {offered or 'nothing'}, not 'sip'")
    return problems


def origin_problems(headers: Headers, expected: str) -> list[str]:
    """WIC-HS-02 (SEED 5.1.X.1.1, RFC 6455 §4.1 item 8): one Origin, the WWSF's."""
    origins = header_values(headers, "Origin")
    if not origins:
        return ["no Origin header"]
    if len(origins) > 1:
        return [f"{len(origins)} Origin headers: {origins}"]
    if origins[0] != expected:
        return [f"Origin is {origins[0]!r}, expected the WWSF origin {expected!r}"]
    return []
