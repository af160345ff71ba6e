"""The one status matcher of the case language: `403`, `"4xx"`, `"403"` or a list of those,
and `answered`: a response of the SUT judged against it."""

from __future__ import annotations

from typing import Any

from harness.checks.framing import Judgement
from harness.checks.registry import rejudgeable
from harness.checks.transport import message_of
from harness.evidence import Entry
from harness.verdicts import Verdict


def status_matches(status: int, wanted: Any) -> bool:
    """True when `status` is what `wanted` asks for; `None` accepts any status.

    `wanted` is an integer, a three-digit string, a class such as `"4xx"` (any case), or a
    list of those (any of them)."""
    if wanted is None:
        return True
    if isinstance(wanted, list | tuple):
        return any(status_matches(status, w) for w in wanted)
    text = str(wanted).strip().lower()
    if len(text) == 3 and text.endswith("xx"):
        return str(status)[0] == text[0]
    return text == str(status)


@rejudgeable
def answered(response: Entry, wanted: Any, *, request: int = 0) -> Judgement:
    """The status of the SUT's response (the `SIP` entry `response`) to a request wicct
    sent (entry `request`) is the one the case asks for (`status_matches`; RFC 3261 §8.2.6,
    §21: a final response's class says what the UAS did). Unparsable: status 0."""
    message = message_of(response)
    status = (message.status or 0) if message is not None else 0
    method = message.method if message is not None else "request"
    evidence = tuple(s for s in (request, response.seq) if s)
    if status_matches(status, wanted):
        return Judgement(Verdict.PASS, f"{method} answered {status}", evidence)
    return Judgement(Verdict.FAIL, f"{method} answered {status}, expected {wanted}", evidence)
