"""What an eP-CSCF forwarded to the registrar: EPC-REG-01 (SEED 5.Y.1.2 → TS 24.229
5.2.2.4, SIP digest with TLS), read from the IMS-core stub's side of the timeline.

Every REGISTER the core received is placed in the stage of its registration (its Call-ID,
RFC 3261 §10.2.4) when it arrived, from what the core had answered before:

- `first`: the core has not challenged this registration yet;
- `challenge_response`: the core answered a REGISTER of it with 401/407 and has not yet
  accepted one after that (the REGISTER carries the response to the challenge);
- `later`: the core accepted (2xx) a REGISTER after challenging: the session is bound.

A retransmission (same Call-ID, CSeq and top Via branch) keeps the stage of its first
copy. The profile says which `integrity-protected` value each stage carries
(`auth.integrity_protected`; defaults absent, `tls-pending`, `tls-yes`, unconfirmed in the
catalogue); `no` (IMS AKA without protection) is never right. The parameter may be quoted
or not. Every REGISTER must also carry a Path (RFC 3327 §5.2) towards the registrar.
Pure (docs/architecture.md "Principles").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.checks.framing import CITED, Judgement
from harness.checks.registry import rejudgeable
from harness.checks.transport import sip_messages
from harness.evidence import NOTE, Entry, note
from harness.sip import SipMessage, SipParseError
from harness.sip.auth import parse_credentials
from harness.verdicts import Verdict

FIRST = "first"
CHALLENGE_RESPONSE = "challenge_response"
LATER = "later"
STAGES = (FIRST, CHALLENGE_RESPONSE, LATER)
ABSENT = "absent"  # the profile value meaning "no integrity-protected parameter"
PARAM = "integrity-protected"
_WORDS = {FIRST: "first REGISTER", CHALLENGE_RESPONSE: "challenge response", LATER: "later REGISTER"}


@dataclass(frozen=True)
class ForwardedRegister:
    """One REGISTER transaction copy the core received, with its registration stage."""

    entry: int
    message: SipMessage
    stage: str
    values: tuple[str, ...]  # integrity-protected of each Digest credentials carrying it
    quoted: tuple[bool, ...]
    credentials: int  # how many Digest credentials it carried
    error: str = ""  # an Authorization that did not parse


def _key(message: SipMessage) -> tuple[str, str, str]:
    via = message.top_via
    return (message.call_id, str(message.cseq), (via.branch or "") if via else "")


def _is_register(message: SipMessage) -> bool:
    try:
        return message.cseq.method.upper() == "REGISTER"
    except SipParseError:
        return False


def _integrity(message: SipMessage) -> tuple[tuple[str, ...], tuple[bool, ...], int, str]:
    values: list[str] = []
    quoted: list[bool] = []
    digest = 0
    for text in message.header_values("Authorization"):
        try:
            credentials = parse_credentials(text)
        except SipParseError as exc:
            return (), (), digest, f"Authorization does not parse ({exc.reason}): {text[:80]!r}"
        if credentials.scheme.lower() != "digest":
            continue
        digest += 1
        value = credentials.param(PARAM)
        if value is not None:
            values.append(value)
            quoted.append(credentials.quoted.get(PARAM, False))
    return tuple(values), tuple(quoted), digest, ""


def forwarded_registers(entries: list[Entry], actor: str = "core") -> list[ForwardedRegister]:
    """Every REGISTER `actor` (the core stub) received, in order, each with its stage."""
    strays = {note.of(e).get("stray_of") for e in entries if e.actor == actor and e.kind == NOTE}
    challenged: set[str] = set()
    bound: set[str] = set()
    stages: dict[tuple[str, str, str], str] = {}
    out: list[ForwardedRegister] = []
    for entry, message in sip_messages(entries, actor):
        if entry.seq in strays or not _is_register(message):
            continue
        call_id = message.call_id
        if entry.direction == "tx":  # the core's own answer: it moves the registration on
            status = message.status or 0
            if status in (401, 407):
                challenged.add(call_id)
            elif 200 <= status < 300 and call_id in challenged:
                bound.add(call_id)
            continue
        if entry.direction != "rx" or not message.is_request:
            continue
        stage = LATER if call_id in bound else CHALLENGE_RESPONSE if call_id in challenged else FIRST
        stage = stages.setdefault(_key(message), stage)
        values, quoted, digest, error = _integrity(message)
        out.append(ForwardedRegister(entry.seq, message, stage, values, quoted, digest, error))
    return out


@rejudgeable
def path_on_every_register(registers: list[ForwardedRegister]) -> Judgement | None:
    """RFC 3327 §5.2 (EPC-REG-01): the eP-CSCF adds a Path to every REGISTER it forwards."""
    if not registers:
        return None
    missing = [r for r in registers if not r.message.has_header("Path")]
    if missing:
        stages = ", ".join(_WORDS[s] for s in STAGES if any(r.stage == s for r in missing))
        return Judgement(Verdict.FAIL, f"{len(missing)} of {len(registers)} REGISTER(s) reached the core "
                         f"without a Path ({stages})", tuple(r.entry for r in missing[:6]))
    return Judgement(Verdict.PASS, f"Path on all {len(registers)} REGISTER(s) the core received",
                     _cited(registers))


def _expected_text(value: str) -> str:
    return "no integrity-protected" if value == ABSENT else f"integrity-protected={value}"


def _wrong(register: ForwardedRegister, expected: str) -> str | None:
    """Why one REGISTER is wrong for its stage, or None."""
    if register.error:
        return register.error
    if any(v.lower() == "no" for v in register.values):
        return "integrity-protected=no (IMS AKA, never right for digest over TLS)"
    if expected == ABSENT:
        return f"integrity-protected={register.values[0]}" if register.values else None
    if not register.credentials:
        return "no Digest Authorization at all"
    if len(register.values) < register.credentials:
        return "no integrity-protected"
    off = [v for v in register.values if v.lower() != expected.lower()]
    return f"integrity-protected={off[0]}" if off else None


@rejudgeable
def integrity_protected(
    registers: list[ForwardedRegister], expected: Mapping[str, str]
) -> Judgement | None:
    """EPC-REG-01: each REGISTER carries the profile's `integrity-protected` value for its
    stage (`expected`: `auth.integrity_protected`), `no` never; quoted or not."""
    if not registers:
        return None
    used = ", ".join(f"{stage}: {expected[stage]}" for stage in STAGES)
    wrong = [(r, why) for r in registers if (why := _wrong(r, expected[r.stage])) is not None]
    if wrong:
        r, why = wrong[0]
        return Judgement(
            Verdict.FAIL,
            f"{_WORDS[r.stage]} reached the core with {why}, expected {_expected_text(expected[r.stage])} "
            f"({len(wrong)} of {len(registers)} REGISTER(s) wrong; profile values, unconfirmed: {used})",
            tuple(r.entry for r, _ in wrong[:6]),
        )
    counts = ", ".join(
        f"{n} {_WORDS[stage]}(s) with {_expected_text(expected[stage])}"
        for stage in STAGES if (n := sum(r.stage == stage for r in registers))
    )
    forms = {q for r in registers for q in r.quoted}
    form = {frozenset({True}): " (quoted)", frozenset({False}): " (unquoted)"}.get(frozenset(forms), "")
    return Judgement(Verdict.PASS, f"{counts}{form}; profile values, unconfirmed: {used}",
                     _cited(registers))


def _cited(registers: list[ForwardedRegister]) -> tuple[int, ...]:
    return tuple(r.entry for r in registers[:CITED])


__all__ = [
    "ABSENT",
    "CHALLENGE_RESPONSE",
    "FIRST",
    "LATER",
    "STAGES",
    "ForwardedRegister",
    "forwarded_registers",
    "integrity_protected",
    "path_on_every_register",
]
