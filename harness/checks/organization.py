"""EPC-SES-03 (SEED 5.Y.2, should): after a registration with a token from a WWSF outside
the operator domain, every INVITE the core receives from that WIC carries `Organization:`
with the WWSF identity, and an `Organization:` the WIC supplied itself is never passed
through unchecked (replaced by the identity, or the INVITE refused).

`organization` judges every INVITE the core received after the stimulus (initial and
re-INVITEs alike) and every INVITE the WIC sent with its own Organization: one that did not
reach the core must have been refused (a final response ≥ 300). At least one INVITE must
have reached the core carrying the identity: the positive evidence of a PASS.

Pure (docs/architecture.md principle 1): a function of timeline entries.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.checks.framing import Judgement
from harness.checks.registry import rejudgeable
from harness.checks.tna import Seen, messages
from harness.evidence import Entry
from harness.sip import SipMessage
from harness.verdicts import Verdict

HEADER = "Organization"  # RFC 3261 §20.25: TEXT-UTF8-TRIM, not a comma list
SHOWN = 3  # problems a FAIL reason lists


def organizations(message: SipMessage) -> list[str]:
    """Every Organization value, one per header line, trimmed (its text may hold commas,
    so the line is never split)."""
    return [v.strip() for n, v in message.headers if n.strip().lower() == HEADER.lower()]


def _same(value: str, identity: str) -> bool:
    """The value names the identity: equal once trimmed, with optional quotes or <>."""
    return value.strip().strip('"').strip("<>").strip() == identity.strip()


def _final(entries: Sequence[Entry], sent: Seen, wic: str) -> Seen | None:
    """The WIC's first final response to the INVITE it sent as `sent`."""
    for rx in messages(entries, wic, "rx", requests=False, after=sent.entry):
        if rx.key == sent.key and (rx.message.status or 0) >= 200:
            return rx
    return None


@rejudgeable
def organization(entries: Sequence[Entry], *, since: int, identity: str, wic: str = "wic") -> Judgement:
    """EPC-SES-03 on every INVITE after seq `since` (the registration with the foreign
    token): the core's copies carry `Organization: <identity>` and no value the WIC
    supplied; each WIC INVITE with its own Organization reached the core that way or was
    refused."""
    sent = messages(entries, wic, "tx", method="INVITE", after=since)
    supplied = {v for s in sent for v in organizations(s.message) if not _same(v, identity)}
    reached = messages(entries, "core", "rx", method="INVITE", after=since)
    at_core = {rx.key for rx in reached}
    problems: list[str] = []
    evidence: list[int] = []
    good: list[int] = []
    for rx in reached:
        values = organizations(rx.message)
        cseq = rx.message.cseq.number
        leaked = [v for v in values if v in supplied]
        if leaked:
            problems.append(f"the WIC's own Organization {leaked[0]!r} reached the core (INVITE CSeq {cseq})")
        elif not values:
            problems.append(f"an INVITE (CSeq {cseq}) reached the core without Organization")
        elif not any(_same(v, identity) for v in values):
            problems.append(f"an INVITE (CSeq {cseq}) reached the core with Organization "
                            f"{values[0]!r}, not the WWSF identity {identity!r}")
        else:
            good.append(rx.entry)
            continue
        evidence.append(rx.entry)
    refusals: list[str] = []
    for s in sent:
        own = [v for v in organizations(s.message) if not _same(v, identity)]
        if not own or s.key in at_core:
            continue
        final = _final(entries, s, wic)
        status = (final.message.status or 0) if final is not None else 0
        if final is not None and status >= 300:
            refusals.append(f"the INVITE with the WIC's Organization {own[0]!r} was refused with {status}")
            good.extend((s.entry, final.entry))
        else:
            problems.append(f"the INVITE with the WIC's Organization {own[0]!r} neither reached the core "
                            f"nor was refused ({f'answered {status}' if final is not None else 'no final response'})")
            evidence.append(s.entry)
    if problems:
        return Judgement(Verdict.FAIL, "; ".join(problems[:SHOWN]), (since, *evidence))
    carried = [rx for rx in reached if rx.entry in good]
    if not carried:
        return Judgement(Verdict.FAIL, f"no INVITE reached the core after the registration, so none carried "
                         f"Organization: {identity}", (since,))
    words = (f"{len(carried)} INVITE(s) reached the core with Organization: {identity}"
             + (f" ({len(supplied)} value(s) the WIC supplied never did)" if supplied else ""))
    return Judgement(Verdict.PASS, "; ".join([words, *refusals]), (since, *good))


__all__ = ["HEADER", "organization", "organizations"]
