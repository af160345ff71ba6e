"""EPC-KA-03 (RFC 7118 §6, informational): what an eP-CSCF does on an idle WebSocket whose
Pongs are withheld: its own keep-alive (RFC 6455 §5.5.2 Pings, RFC 5626 CRLFCRLF) and
whether, when and how it closes the connection. There is no verdict to reach: the row
asks the report to say what the SUT's policy is, so the judgement is INFORMATIONAL, citing
every Ping and the close. Pure: a function of timeline entries.
"""

from __future__ import annotations

from harness.checks.framing import Judgement
from harness.checks.registry import rejudgeable
from harness.evidence import WS_CLOSE, WS_FRAME, WS_MESSAGE, Entry, ws_close, ws_frame, ws_message
from harness.verdicts import Verdict


def _intervals(times: list[float]) -> str:
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    if not gaps:
        return ""
    return f", every {min(gaps):.1f}-{max(gaps):.1f} s" if max(gaps) - min(gaps) > 0.05 else f", every {gaps[0]:.1f} s"


@rejudgeable
def idle_policy(entries: list[Entry], conn: str, since: int, window: float, *, pongs: bool) -> Judgement:
    """The SUT's Pings and CRLF keep-alives received on `conn` after entry `since`, and its
    close, over an idle `window` (seconds) with the WIC's Pongs withheld unless `pongs`."""
    start = next((e.t for e in entries if e.seq > since), None)
    mine = [e for e in entries if e.seq > since and e.conn == conn]
    pings = [e for e in mine if e.kind == WS_FRAME and e.direction == "rx" and ws_frame.of(e)["opcode"] == "ping"]
    crlf = [e for e in mine if e.kind == WS_MESSAGE and e.direction == "rx"
            and ws_message.of(e)["payload"] in ("\r\n\r\n", b"\r\n\r\n")]
    closes = [e for e in mine if e.kind == WS_CLOSE]
    withheld = "Pongs withheld" if not pongs else "Pongs answered"
    parts = []
    if pings:
        first = pings[0].t - start if start is not None else 0.0
        parts.append(f"{len(pings)} Ping(s) from the SUT, the first after {first:.1f} s"
                     f"{_intervals([p.t for p in pings])}")
    else:
        parts.append("no Ping from the SUT")
    if crlf:
        parts.append(f"{len(crlf)} CRLFCRLF keep-alive(s)")
    if closes:
        facts = ws_close.of(closes[0])
        after = closes[0].t - start if start is not None else 0.0
        who = "the SUT" if facts["by"] == "peer" or facts["tcp_closed_by"] == "peer" else "wicct"
        parts.append(f"connection closed by {who} after {after:.1f} s (Close code {facts['code']}, "
                     f"TCP closed by {facts['tcp_closed_by'] or '?'})")
    else:
        parts.append(f"connection kept open for the {window:g} s watched")
    evidence = tuple(e.seq for e in [*pings[:10], *crlf[:5], *closes[:1]])
    return Judgement(Verdict.INFORMATIONAL, f"idle WebSocket, {withheld}: {'; '.join(parts)}", evidence)


__all__ = ["idle_policy"]
