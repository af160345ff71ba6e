"""What reached wicct's IMS-core stub through an eP-CSCF under test, judged from the core's
`SIP` entries (TS 24.229 eP-CSCF relaying; RFC 3261 §18.3; RFC 7118 §5.3), so that `wicct
rejudge` decides `expect.core_received` and `expect.core_response` again from the stored
timeline. The step gathers (the stub groups retransmissions into transactions and
waits); these judge.
"""

from __future__ import annotations

from typing import Any

from harness.checks.framing import Judgement
from harness.checks.registry import rejudgeable
from harness.checks.status import status_matches
from harness.checks.transport import message_of
from harness.evidence import SIP, Entry
from harness.verdicts import Verdict

SHOWN = 6  # transactions a finding cites


@rejudgeable
def transactions(found: list[Entry], what: str, needed: int, count: int | None = None,
                 high: int | None = None, *, watched: float = 0.0) -> list[Judgement]:
    """How many distinct transactions of `what` reached the core (`found`: the first entry
    of each): fewer than `needed` is a FAIL (or INCONCLUSIVE for a precondition step), other
    than `count` or more than `high` a FAIL; none at all, when none was wanted, a PASS over
    the `watched` seconds. The judgements in the order the step records them."""
    n = len(found)
    cited = tuple(e.seq for e in found[:SHOWN])
    if n < needed:
        return [Judgement(Verdict.FAIL, f"the core received {n} {what} transaction(s), expected {needed}", cited)]
    made = []
    if count is not None and n != count:
        made.append(Judgement(Verdict.FAIL, f"the core received {n} {what} transactions, expected {count}", cited))
    if high is not None and n > high:
        made.append(Judgement(Verdict.FAIL, f"the core received {n} {what} transactions, at most {high} expected",
                              cited))
    if n == 0:
        made.append(Judgement(Verdict.PASS, f"no {what} reached the core in {watched:g} s"))
    else:
        made.append(Judgement(Verdict.PASS, f"the core received {n} {what} transaction(s)", cited))
    return made


@rejudgeable
def request_content(entry: Entry, body: str | None = None, has_header: list[str] | None = None,
                    lacks_header: list[str] | None = None) -> list[Judgement]:
    """A request that reached the core (entry `entry`) carries the body the case sent, and
    has (lacks) the headers the case names (TS 24.229 §5.10: what the eP-CSCF adds or
    removes). One FAIL per difference; a PASS when there is none."""
    message = message_of(entry)
    if message is None:
        return [Judgement(Verdict.FAIL, f"entry {entry.seq} is no SIP request the core could read", (entry.seq,))]
    made = []
    if body is not None and message.body != body.encode():
        made.append(Judgement(Verdict.FAIL, f"{message.method} reached the core with body {message.body[:80]!r} "
                              f"({len(message.body)} octets), expected {body[:80]!r} "
                              f"({len(body.encode())} octets)", (entry.seq,)))
    for name in has_header or []:
        if not message.has_header(name):
            made.append(Judgement(Verdict.FAIL, f"{message.method} reached the core without {name}", (entry.seq,)))
    for name in lacks_header or []:
        if message.has_header(name):
            made.append(Judgement(Verdict.FAIL, f"{message.method} reached the core with {name}: "
                                  f"{message.header(name)}", (entry.seq,)))
    return made or [Judgement(Verdict.PASS, f"{message.method} reached the core as sent", (entry.seq,))]


@rejudgeable
def answer(response: Entry, wanted: Any = None) -> Judgement:
    """The final response the core got to its own request (entry `response`) has the
    status the case asks for (RFC 3261 §8.2.6; `status_matches`)."""
    message = message_of(response)
    status = (message.status or 0) if message is not None else 0
    method = message.method if message is not None else "request"
    if wanted is not None and not status_matches(status, wanted):
        return Judgement(Verdict.FAIL, f"the core's {method} answered {status}, expected {wanted}", (response.seq,))
    return Judgement(Verdict.PASS, f"the core's {method} answered {status}", (response.seq,))


@rejudgeable
def no_answer(entries: list[Entry], call_id: str, method: str, within: float, wanted: Any = None,
              *, final: bool = True) -> Judgement:
    """No (final) response of `wanted` status to the core's `method` (Call-ID `call_id`)
    reached the core up to the window note that ends `entries` (RFC 3261 §18.3: a response
    the SUT must discard, or a request it must not forward)."""
    got = []
    for entry in entries:
        if entry.actor != "core" or entry.kind != SIP or entry.direction != "rx":
            continue
        message = message_of(entry)
        if message is None or message.status is None or message.call_id != call_id:
            continue
        if (final and message.status < 200) or not status_matches(message.status, wanted):
            continue
        got.append((entry.seq, message.status))
    if got:
        return Judgement(Verdict.FAIL, f"the core received {got[0][1]} to its {method}", tuple(s for s, _ in got))
    return Judgement(Verdict.PASS,
                     f"no {wanted or 'final'} response to {method} reached the core within {within:g} s")


@rejudgeable
def answered_in_time(entries: list[Entry], call_id: str, method: str, within: float) -> Judgement:
    """A final response to the core's `method` (Call-ID `call_id`) reached the core up to
    the window note that ends `entries` (RFC 3261 §17.1.1: the SUT relays the answer)."""
    for entry in entries:
        if entry.actor != "core" or entry.kind != SIP or entry.direction != "rx":
            continue
        message = message_of(entry)
        if message is not None and message.call_id == call_id and (message.status or 0) >= 200:
            return Judgement(Verdict.PASS, f"the core's {method} answered {message.status}", (entry.seq,))
    return Judgement(Verdict.FAIL, f"no final response to the core's {method} within {within:g} s")
