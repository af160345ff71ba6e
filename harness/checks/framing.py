"""Framing checks over a timeline: RFC 7118 §5 / SEED 5.1.X.0, RFC 6455 §5.1, §8.1.

Pure functions: they read what wicct's peer received from the SUT (entries with
direction "rx" of one actor) and return (verdict, reason, evidence) judgements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.checks.registry import rejudgeable
from harness.evidence import (
    SIP,
    SIP_ERROR,
    WS_ERROR,
    WS_FRAME,
    WS_MESSAGE,
    Entry,
    sip,
    sip_error,
    ws_error,
    ws_frame,
    ws_message,
)
from harness.verdicts import Verdict


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    evidence: tuple[int, ...] = ()
    note: str = ""


CITED = 20  # how many checked entries a PASS cites (the report shows them all anyway)


def cited(entries: list[Entry]) -> tuple[int, ...]:
    """The entries a PASS rests on: every verdict carries its evidence."""
    return tuple(e.seq for e in entries[:CITED])


def _rx(entries: Iterable[Entry], actor: str, kind: str) -> list[Entry]:
    return [e for e in entries if e.actor == actor and e.direction == "rx" and e.kind == kind]


@rejudgeable
def one_sip_message_per_ws_message(entries: list[Entry], actor: str) -> Judgement | None:
    """WIC-FR-01: each WS message is exactly one SIP message, nothing after its body, and no
    SIP message spans two WS messages (a fragment shows up as an unparsable message)."""
    sips = _rx(entries, actor, SIP)
    errors = _rx(entries, actor, SIP_ERROR)
    if not sips and not errors:
        return None
    bad_excess = [e for e in sips if sip.of(e).get("excess")]
    if bad_excess:
        first = bad_excess[0]
        excess = sip.of(first)["excess"]
        shown = excess[:60] if isinstance(excess, str | bytes) else excess
        return Judgement(
            Verdict.FAIL,
            f"a WebSocket message carried more than one SIP message: {len(bad_excess)} time(s); "
            f"bytes after the first message: {shown!r}",
            tuple(e.seq for e in bad_excess[:5]),
        )
    if errors:
        first = errors[0]
        return Judgement(
            Verdict.FAIL,
            f"a WebSocket message was not one whole SIP message ({sip_error.of(first)['reason']}): "
            f"{len(errors)} time(s)",
            tuple(e.seq for e in errors[:5]),
        )
    return Judgement(Verdict.PASS, f"{len(sips)} SIP message(s), each alone in its WebSocket message",
                     cited(sips))


# A masking key seen on this many frames is no fresh random key (RFC 6455 §5.3): by chance,
# three equal 32-bit keys among a case's frames are about as likely as 1 in 10^10.
KEY_REUSE = 3


def masking_key(entry: Entry) -> str | None:
    """The masking key of a received masked frame, in hex: the last 4 octets of its header
    (RFC 6455 §5.2), as recorded in `raw_head`; None when not recorded."""
    head = ws_frame.of(entry).get("raw_head") or ""
    return head[-8:] if ws_frame.of(entry)["masked"] and len(head) >= 12 else None


@rejudgeable
def frames_masked(entries: list[Entry], actor: str) -> Judgement | None:
    """WIC-FR-02 (RFC 6455 §5.1, §5.3): a client masks every frame it sends, each with a
    fresh masking key: a key repeated on `KEY_REUSE` frames or more (a fixed or all-zero
    key, a tiny key pool) is a FAIL."""
    frames = _rx(entries, actor, WS_FRAME)
    errors = [e for e in _rx(entries, actor, WS_ERROR) if "mask" in ws_error.of(e)["error"].lower()]
    unmasked = [e for e in frames if ws_frame.of(e)["masked"] is False]
    if errors or unmasked:
        bad = (errors + unmasked)[:5]
        return Judgement(Verdict.FAIL, f"{len(unmasked) or len(errors)} unmasked client frame(s)",
                         tuple(e.seq for e in bad))
    if not frames:
        return None
    by_key: dict[str, list[Entry]] = {}
    for entry in frames:
        key = masking_key(entry)
        if key is not None:
            by_key.setdefault(key, []).append(entry)
    reused = {k: es for k, es in by_key.items() if len(es) >= KEY_REUSE}
    if reused:
        key, same = max(reused.items(), key=lambda item: len(item[1]))
        return Judgement(Verdict.FAIL, f"masking key {key} used on {len(same)} of {len(frames)} client "
                         "frames: RFC 6455 §5.3 asks a fresh, unpredictable key for each frame",
                         tuple(e.seq for e in same[:5]))
    return Judgement(Verdict.PASS, f"all {len(frames)} client frames of the case masked (every "
                     f"frame the WIC sent was judged), with {len(by_key)} distinct masking keys",
                     cited(frames))


@rejudgeable
def text_is_utf8(entries: list[Entry], actor: str) -> Judgement | None:
    """WIC-FR-03 (RFC 7118 §4.2): text frames carry valid UTF-8."""
    errors = [
        e for e in _rx(entries, actor, WS_ERROR)
        if ws_error.of(e)["code"] == 1007 or "utf-8" in ws_error.of(e)["error"].lower()
    ]
    messages = [e for e in _rx(entries, actor, WS_MESSAGE) if ws_message.of(e)["opcode"] == "text"]
    invalid = [e for e in messages if isinstance(ws_message.of(e)["payload"], bytes | bytearray)]
    if errors or invalid:
        bad = (errors + invalid)[:5]
        return Judgement(Verdict.FAIL, "a text frame carried invalid UTF-8", tuple(e.seq for e in bad))
    if not messages:
        return None
    return Judgement(Verdict.PASS, f"{len(messages)} text message(s), all valid UTF-8", cited(messages))


@rejudgeable
def only_sip_and_keepalives(entries: list[Entry], actor: str) -> Judgement | None:
    """BOTH-FR-10 (RFC 7118 §4.1, informational): the SUT sends only SIP and CRLF keep-alives."""
    messages = _rx(entries, actor, WS_MESSAGE)
    if not messages:
        return None
    junk = _rx(entries, actor, SIP_ERROR)
    if junk:
        return Judgement(Verdict.INFORMATIONAL, f"{len(junk)} non-SIP WebSocket message(s) from the SUT",
                         tuple(e.seq for e in junk[:5]))
    return Judgement(Verdict.PASS, f"{len(messages)} WebSocket message(s), all SIP or keep-alives",
                     cited(messages))


@rejudgeable
def pong_echoes(pong: Entry, payload: bytes, *, ping: int = 0) -> Judgement:
    """BOTH-FR-05, BOTH-KA-01 (RFC 6455 §5.5.3): the Pong (the `WS_FRAME` entry `pong`)
    carries the Application data of the Ping wicct sent (entry `ping`)."""
    got = ws_frame.of(pong)["payload"]
    echoed = got.encode("utf-8") if isinstance(got, str) else bytes(got)
    evidence = tuple(s for s in (ping, pong.seq) if s)
    if echoed == payload:
        return Judgement(Verdict.PASS, f"Pong with payload {payload!r}", evidence)
    return Judgement(Verdict.FAIL, f"Pong with payload {echoed!r}, expected {payload!r}", evidence)
