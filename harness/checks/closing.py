"""Who ended a WebSocket connection, and why, from its entries (RFC 6455 §7.1.1-§7.1.7).

A verdict rests only on what the SUT did (docs/architecture.md principle 6): when an
awaited answer never came, the reason must say what happened first. Pure: a function of
the recorded `WS_ERROR`, `WS_CLOSE` and note entries of one connection.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from harness.evidence import NOTE, WS_CLOSE, WS_ERROR, WS_FRAME, Entry, ws_close, ws_error, ws_frame


class Closer(enum.StrEnum):
    """Whose doing the end of a connection was."""

    OPEN = "open"  # not closed (as far as the entries go)
    SUT = "sut"  # the SUT sent a Close first, or dropped TCP (RFC 6455 §7.1.1, §7.1.5)
    SUT_ERROR = "sut-error"  # wicct failed the connection on the SUT's protocol error (§7.1.7)
    WICCT = "wicct"  # wicct's own decision (its Close, or its TCP abort)


@dataclass(frozen=True)
class CloseStory:
    """What ended connection `conn`: who, a reason in words, the entries that show it."""

    closer: Closer
    reason: str
    evidence: tuple[int, ...] = ()

    @property
    def by_sut(self) -> bool:
        """The SUT ended it (a close, or a protocol error that made wicct fail it)."""
        return self.closer in (Closer.SUT, Closer.SUT_ERROR)


def close_story(entries: Iterable[Entry], actor: str, conn: str) -> CloseStory:
    """How wicct's `actor` saw connection `conn` end.

    The first `WS_ERROR` wins: websockets (or wicct, for invalid UTF-8) failed the
    connection because of what the SUT sent (RFC 6455 §7.1.7), whoever then closed TCP.
    Else the `WS_CLOSE` entry says who started the close (`by`) and who closed TCP.
    """
    mine = [e for e in entries if e.actor == actor and e.conn == conn]
    for entry in mine:
        if entry.kind == WS_ERROR:
            error = ws_error.of(entry)
            closes = [e.seq for e in mine if e.kind == WS_CLOSE]
            return CloseStory(
                Closer.SUT_ERROR,
                f"wicct failed the connection (Close {error['code']}) because the SUT sent an "
                f"invalid frame: {error['error']}",
                (entry.seq, *closes),
            )
    close = next((e for e in mine if e.kind == WS_CLOSE), None)
    if close is None:  # TCP not closed yet: the first Close frame says who began (§7.1.2)
        first = next((e for e in mine if e.kind == WS_FRAME and ws_frame.of(e)["opcode"] == "close"),
                     None)
        if first is None:
            return CloseStory(Closer.OPEN, "the connection is open")
        code = ws_frame.of(first).get("code")
        if first.direction == "rx":
            return CloseStory(Closer.SUT, f"the SUT closed the connection (Close {code})", (first.seq,))
        return CloseStory(Closer.WICCT, f"wicct closed the connection (Close {code})", (first.seq,))
    data = ws_close.of(close)
    if data["by"] == "peer":
        if data["code"] is not None:
            said = f"Close {data['code']}" + (f" {data['reason']!r}" if data["reason"] else "")
            return CloseStory(Closer.SUT, f"the SUT closed the connection ({said})", (close.seq,))
        return CloseStory(Closer.SUT, "the SUT closed TCP without a Close frame", (close.seq,))
    if data["sent_code"] is not None:
        said = f"Close {data['sent_code']}" + (
            f" {data['sent_reason']!r}" if data["sent_reason"] else "")
        why = f"wicct closed the connection ({said})"
    else:
        why = "wicct dropped TCP without a Close frame"
    notes = [e for e in mine if e.kind == NOTE and e.seq < close.seq]
    if notes and data["sent_code"] is None:
        why += f" ({notes[-1].summary})"
    return CloseStory(Closer.WICCT, why, (close.seq,))
