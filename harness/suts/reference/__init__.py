"""The built-in reference SUTs (a conforming eP-CSCF and WIC with fault switches).

Only tiny helpers shared by both live here: the SUT's own log (a reference SUT never
writes into the case timeline: what wicct judges is only what wicct's actors saw), the
fault set a profile switches on, and Origin comparison (RFC 6454 §4, §5). The reference
SUTs reuse wicct's sans-I/O SIP and WebSocket layers, never its actors or checks.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from harness.profiles import Profile
from harness.suts import faults as fault_table

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class SutLog:
    """Timestamped lines the SUT writes about itself (surfaced by `log_text()`)."""

    def __init__(self, name: str, limit: int = 5000) -> None:
        self.name = name
        self.limit = limit
        self._t0 = time.monotonic()
        self._lines: list[str] = []

    def __call__(self, text: str) -> None:
        if len(self._lines) < self.limit:
            self._lines.append(f"{time.monotonic() - self._t0:8.3f} {self.name}: {text}")

    def text(self) -> str:
        return "\n".join(self._lines) + ("\n" if self._lines else "")


def active_faults(profile: Profile, role: str) -> frozenset[str]:
    """The profile's fault switches for `role`; an unknown name is a ValueError."""
    unknown = fault_table.unknown(role, list(profile.faults))
    if unknown:
        raise ValueError(f"unknown fault switch(es) for the reference {role}: {unknown}")
    return frozenset(profile.faults)


def origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a serialised origin, None for `null` or garbage (RFC 6454 §6.2).

    Scheme and host compare case-insensitively and a default port equals no port, so
    `https://WWSF.example.test:443` is the same origin as `https://wwsf.example.test`.
    """
    text = origin.strip()
    if not text or text == "null":
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not scheme or not parts.hostname or parts.path not in ("", "/") or parts.query:
        return None
    if port is None:
        port = _DEFAULT_PORTS.get(scheme, 0)
    return scheme, parts.hostname.lower(), port


def origin_trusted(origin: str, trusted: tuple[str, ...] | list[str]) -> bool:
    key = origin_key(origin)
    return key is not None and any(key == origin_key(t) for t in trusted)
