"""One evidence timeline per case (DESIGN.md principle 3: evidence first).

Every actor appends what it saw or did: TLS facts, the HTTP handshake, each WebSocket
frame, each SIP message, timers and notes. Checks read the timeline and cite entries by
their sequence number. Secrets registered with the timeline's redactor never leave it in
clear: every text is redacted when the entry is appended.

Pure data and no I/O: safe to import from the sans-I/O core.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Entry kinds. Actors use these names; checks filter on them.
TLS = "tls"  # data: version, cipher, peer_cert_subject, error
HTTP_REQUEST = "http.request"  # data: method, path, headers [[name, value]...], raw
HTTP_RESPONSE = "http.response"  # data: status, reason, headers, raw
WS_FRAME = "ws.frame"  # data: opcode, fin, rsv1..3, masked, length, payload (text or hex)
WS_MESSAGE = "ws.message"  # data: opcode, length, payload, frames [seq...]
WS_CLOSE = "ws.close"  # data: code, reason, tcp_closed, by
WS_ERROR = "ws.error"  # data: error (protocol error raised by websockets), code
SIP = "sip"  # data: raw, start_line, method/status, call_id, cseq
SIP_ERROR = "sip.error"  # data: raw, offset, reason
CONNECT = "connect"  # data: peer, local, error
NOTE = "note"
STIMULUS = "stimulus"  # data: what wicct deliberately did
DRIVER = "driver"  # data: verb, result

REDACTED = "<redacted>"


class Redactor:
    """Replaces registered secrets (passwords, bearer tokens) in any text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 3:
            self._secrets.add(secret)

    def text(self, value: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def value(self, value: Any) -> Any:
        """Redact recursively in strings, bytes, lists, sets and dicts (keys too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes | bytearray):
            # Stay bytes: invalid UTF-8 that carries a secret must still read as invalid.
            data = bytes(value)
            for secret in sorted(self._secrets, key=len, reverse=True):
                data = data.replace(secret.encode("utf-8"), REDACTED.encode())
            return data
        if isinstance(value, Mapping):
            return {(self.text(k) if isinstance(k, str) else k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        return value


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One observation. `direction` is seen from the wicct actor: "rx" or "tx" ("" if none)."""

    seq: int
    t: float
    actor: str
    kind: str
    summary: str
    direction: str = ""
    conn: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self, redactor: Redactor | None = None) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "t": round(self.t, 6),
            "actor": self.actor,
            "kind": self.kind,
            "direction": self.direction,
            "conn": self.conn,
            "summary": self.summary,
            "data": _jsonable(self.data, redactor or Redactor()),
        }


def _jsonable(value: Any, redactor: Redactor) -> Any:
    # Texts were redacted when the entry was appended; what only becomes text here (keys,
    # the repr of an object such as an exception) is redacted here.
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return {"hex": bytes(value).hex()}
    if isinstance(value, Mapping):
        return {
            (k if isinstance(k, str) else redactor.text(str(k))): _jsonable(v, redactor)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v, redactor) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return redactor.text(repr(value))


class Timeline:
    """Append-only list of entries for one case. Listeners are called on every append."""

    def __init__(self, redactor: Redactor | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.redactor = redactor or Redactor()
        self._clock = clock
        self._t0 = clock()
        self._entries: list[Entry] = []
        self._listeners: list[Callable[[Entry], None]] = []

    def now(self) -> float:
        return self._clock() - self._t0

    def add(
        self,
        actor: str,
        kind: str,
        summary: str,
        *,
        direction: str = "",
        conn: str = "",
        **data: Any,
    ) -> Entry:
        entry = Entry(
            seq=len(self._entries) + 1,
            t=self.now(),
            actor=actor,
            kind=kind,
            summary=self.redactor.text(summary),
            direction=direction,
            conn=conn,
            data=self.redactor.value(data),
        )
        self._entries.append(entry)
        for listener in list(self._listeners):
            listener(entry)
        return entry

    def subscribe(self, listener: Callable[[Entry], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, seq: int) -> Entry:
        return self._entries[seq - 1]

    def select(
        self,
        *,
        kind: str | Iterable[str] | None = None,
        actor: str | None = None,
        direction: str | None = None,
        conn: str | None = None,
        since: int = 0,
    ) -> list[Entry]:
        kinds = {kind} if isinstance(kind, str) else set(kind) if kind is not None else None
        return [
            e
            for e in self._entries
            if e.seq > since
            and (kinds is None or e.kind in kinds)
            and (actor is None or e.actor == actor)
            and (direction is None or e.direction == direction)
            and (conn is None or e.conn == conn)
        ]

    def to_json(self) -> list[dict[str, Any]]:
        return [e.to_json(self.redactor) for e in self._entries]
