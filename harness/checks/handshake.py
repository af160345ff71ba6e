"""Judgements of a recorded WebSocket opening handshake (RFC 6455 §4; RFC 7118 §4.1).

Pure functions over what the timeline recorded of an HTTP head: `headers` is the list of
[name, value] pairs as recorded, in wire order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.checks.framing import Judgement, cited
from harness.checks.registry import rejudgeable
from harness.checks.status import status_matches
from harness.evidence import (
    HTTP_REQUEST,
    HTTP_RESPONSE,
    TLS,
    Entry,
    http_request,
    http_response,
    tls,
)
from harness.verdicts import Verdict

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
    problems += key_problems(headers)
    offered = tokens(header_values(headers, "Sec-WebSocket-Protocol"))
    if "sip" not in offered:
        problems.append(f"Sec-WebSocket-Protocol offers {offered or 'nothing'}, not 'sip'")
    return problems


def key_problems(headers: Headers) -> list[str]:
    """RFC 6455 §4.1 item 7: one Sec-WebSocket-Key, a base64-encoded 16-octet value."""
    keys = header_values(headers, "Sec-WebSocket-Key")
    if len(keys) != 1:
        return [f"{len(keys)} Sec-WebSocket-Key headers, not one"]
    try:
        octets = base64.b64decode(keys[0].strip(), validate=True)
    except (binascii.Error, ValueError):
        return [f"Sec-WebSocket-Key {keys[0]!r} is not base64"]
    if len(octets) != 16:
        return [f"Sec-WebSocket-Key {keys[0]!r} decodes to {len(octets)} octets, not 16"]
    return []


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


def _requests(entries: Iterable[Entry], actor: str) -> list[Entry]:
    return [e for e in entries if e.kind == HTTP_REQUEST and e.actor == actor and e.direction == "rx"]


def _over_tls(entries: list[Entry], actor: str, conn: str | None) -> bool:
    handshakes = [e for e in entries if e.kind == TLS and e.actor == actor and e.conn == conn]
    return bool(handshakes) and not tls_error(handshakes[0])


def _judge_each(
    items: list[Entry], problems_of: dict[int, list[str]], ok: str, noun: str = "upgrade request"
) -> Judgement | None:
    """One judgement over every item: FAIL naming each bad one (its place among all of
    them and its seq), else PASS citing them."""
    if not items:
        return None
    bad = [(n, e) for n, e in enumerate(items, 1) if problems_of[e.seq]]
    if bad:
        shown = "; ".join(f"{noun} {n} of {len(items)} (seq {e.seq}): {', '.join(problems_of[e.seq])}"
                          for n, e in bad[:3])
        return Judgement(Verdict.FAIL, shown, tuple(e.seq for _, e in bad[:5]))
    return Judgement(Verdict.PASS, f"{len(items)} {noun}(s): {ok}", cited(items))


@rejudgeable
def upgrade_requests_valid(entries: list[Entry], actor: str) -> Judgement | None:
    """WIC-HS-01 on EVERY upgrade request the SUT made in the case (reconnects included):
    over TLS, GET with Upgrade, Connection, version 13, a valid key and `sip` offered."""
    requests = _requests(entries, actor)
    problems = {}
    for e in requests:
        found = upgrade_problems(str(http_request.of(e).get("method", "")), http_request.of(e).get("headers", []))
        if not _over_tls(entries, actor, e.conn):
            found.insert(0, "not over TLS")
        problems[e.seq] = found
    return _judge_each(requests, problems,
                       "GET over TLS with Upgrade, Connection, version 13, a valid key and 'sip'")


@rejudgeable
def origins_valid(entries: list[Entry], actor: str, expected: str) -> Judgement | None:
    """WIC-HS-02 on EVERY upgrade request of the case: one Origin, the WWSF's."""
    requests = _requests(entries, actor)
    problems = {e.seq: origin_problems(http_request.of(e).get("headers", []), expected) for e in requests}
    return _judge_each(requests, problems, f"Origin is the WWSF origin {expected}")


def opened(entries: list[Entry], actor: str) -> list[Entry]:
    """The 101 responses wicct's server (`actor`) sent: the WebSockets that opened."""
    return [e for e in entries if e.kind == HTTP_RESPONSE and e.actor == actor
            and e.direction == "tx" and http_response.of(e).get("status") == 101]


@rejudgeable
def accepts_valid(entries: list[Entry], actor: str) -> Judgement | None:
    """EPC-HS-01 on EVERY 101 the SUT sent to wicct's client (`actor`): the subprotocol
    `sip` selected, Sec-WebSocket-Accept computed from that connection's key, and no
    extension the client did not offer (RFC 6455 §4.1)."""
    responses = [e for e in entries if e.kind == HTTP_RESPONSE and e.actor == actor
                 and e.direction == "rx" and http_response.of(e).get("status") == 101]
    if not responses:
        return None
    problems: dict[int, list[str]] = {}
    for response in responses:
        request = next((e for e in entries if e.kind == HTTP_REQUEST and e.actor == actor
                        and e.direction == "tx" and e.conn == response.conn), None)
        headers = http_response.of(response).get("headers", [])
        found = []
        selected = tokens(header_values(headers, "Sec-WebSocket-Protocol"))
        offered = tokens(header_values(http_request.of(request).get("headers", []), "Sec-WebSocket-Protocol")) \
            if request is not None else []
        if "sip" in offered and selected != ["sip"]:
            found.append(f"101 selects {selected or 'no subprotocol'}, not sip")
        keys = header_values(http_request.of(request).get("headers", []), "Sec-WebSocket-Key") if request else []
        accept = header_values(headers, "Sec-WebSocket-Accept")
        if len(keys) == 1 and accept != [accept_value(keys[0])]:
            found.append(f"Sec-WebSocket-Accept {accept or 'absent'} does not match the key")
        # RFC 6455 §4.1 (client, step 5) / §9.1: an extension the client did not offer
        # fails the handshake: no 101 the client must refuse is a valid answer
        asked = tokens(header_values(http_request.of(request).get("headers", []), "Sec-WebSocket-Extensions")) \
            if request is not None else []
        unasked = [x for x in tokens(header_values(headers, "Sec-WebSocket-Extensions"))
                   if x.split(";")[0].strip() not in {a.split(";")[0].strip() for a in asked}]
        if unasked:
            found.append(f"101 selects extension(s) {unasked} the client never offered")
        problems[response.seq] = found
    return _judge_each(responses, problems, "sip selected, Sec-WebSocket-Accept correct", "101")


@rejudgeable
def refusal(
    entries: list[Entry], wanted: Any, *, any_4xx: bool = False, headers: Mapping[str, str] | None = None
) -> Judgement | None:
    """EPC-HS-02/03, EPC-ORIGIN-02 (RFC 6455 §4.2.2, §4.1): the eP-CSCF answered wicct's
    upgrade request (the HTTP response among `entries`, one handshake's) with the refusal
    the case wants (`status_matches`, or any 4xx), never a 101 (a Close afterwards would not
    undo it), carrying each header value of `headers`. None when no response was recorded."""
    responses = [e for e in entries if e.kind == HTTP_RESPONSE and "status" in http_response.of(e)]
    if not responses:
        return None
    data = http_response.of(responses[-1])
    status, phrase = data.get("status", 0), data.get("reason", "")
    evidence = tuple(e.seq for e in entries)
    if status == 101:
        return Judgement(Verdict.FAIL, "handshake accepted with 101 (a Close afterwards would not undo it)",
                         evidence)
    if not status_matches(status, wanted) and not (any_4xx and 400 <= status < 500):
        return Judgement(Verdict.FAIL, f"refused with {status} {phrase}, expected {wanted}", evidence)
    for name, value in (headers or {}).items():
        got = [v.strip() for line in header_values(data["headers"], name) for v in line.split(",")]
        if value not in got:
            return Judgement(Verdict.FAIL, f"{status} without {name}: {value} (got {got or 'none'})", evidence)
    return Judgement(Verdict.PASS, f"refused with {status} {phrase}", evidence)


def tls_error(entry: Entry) -> str | None:
    """Why the `TLS` handshake of `entry` failed, None when a session was established."""
    return tls.of(entry).get("error")


def ended_by_client(tls: Sequence[Entry]) -> list[Entry]:
    """Server-side TLS handshakes that the client ended itself: an alert or a close during
    the handshake (RFC 8446 §6.2, what a client that refuses the server's certificate does),
    as opposed to ones wicct's server gave up on after its handshake timeout with nothing
    from the client (WIC-HS-03: silence after a TCP connect is no evidence that the WIC
    judged the certificate)."""
    return [e for e in tls if tls_error(e) and tls_error(e) != "timeout"]
