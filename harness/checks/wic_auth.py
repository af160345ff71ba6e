"""Registration and authentication of a WIC (SUT = WIC): WIC-REG-01 (Digest: SEED 5.1.X.1.2,
TS 24.229 5.1.1.2.4, RFC 3261 §22, RFC 7616) and WIC-REG-02 (Bearer: SEED 5.1.X.1.3,
RFC 6750 §2.1, RFC 8898 §2.1, TS 24.371 7.2.1).

Pure functions over the timeline of wicct's eP-CSCF emulator (`actor`): its 401s, the
requests it received, and the `auth` facts it recorded for each request on receipt
(`evidence.AuthFacts`: the response and the token are secrets, redacted in the timeline,
so whether they were right was decided when they arrived). Every REGISTER of the case is
judged, re-registrations included; for WIC-REG-02 every request the WIC sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks.framing import Judgement, cited
from harness.checks.registry import rejudgeable
from harness.checks.transport import received_requests, sip_messages
from harness.evidence import NOTE, AuthFacts, Entry, note
from harness.sip import Challenge, SipMessage, SipParseError, parse_challenge
from harness.verdicts import Verdict


@dataclass(frozen=True)
class Sent401:
    """A 401 wicct sent to a REGISTER, and its Digest challenge."""

    entry: Entry
    call_id: str
    cseq: int
    challenge: Challenge | None


def auth_facts(entries: list[Entry], actor: str) -> list[tuple[Entry, AuthFacts]]:
    """The `auth` notes `actor` recorded, one per request it received, in order."""
    out = []
    for entry in entries:
        if entry.actor == actor and entry.kind == NOTE and "auth" in entry.data:
            out.append((entry, note.of(entry)["auth"]))
    return out


def _registers(entries: list[Entry], actor: str) -> list[tuple[Entry, AuthFacts]]:
    return [(e, f) for e, f in auth_facts(entries, actor) if f.get("method") == "REGISTER"]


def _sent_responses(entries: list[Entry], actor: str) -> list[tuple[Entry, SipMessage]]:
    """The SIP responses `actor` sent (no secret in them)."""
    return [(e, m) for e, m in sip_messages(entries, actor, "tx") if not m.is_request]


def challenges_sent(entries: list[Entry], actor: str) -> list[Sent401]:
    """The 401s `actor` sent to REGISTER requests, with the challenge each carried."""
    out = []
    for entry, message in _sent_responses(entries, actor):
        try:
            if message.status != 401 or message.cseq.method != "REGISTER":
                continue
            call_id, cseq = message.call_id, message.cseq.number
        except SipParseError:
            continue
        try:
            challenge: Challenge | None = parse_challenge(message.header("WWW-Authenticate") or "")
        except SipParseError:
            challenge = None
        out.append(Sent401(entry, call_id, cseq, challenge))
    return out


def _answer_to(sent: Sent401, registers: list[tuple[Entry, AuthFacts]]) -> tuple[Entry, AuthFacts] | None:
    """The WIC's next REGISTER after the 401, its answer to the challenge; a retransmission
    of the challenged REGISTER (same Call-ID, CSeq not above it) is none."""
    return next(((e, f) for e, f in registers if e.seq > sent.entry.seq
                 and not (f.get("call_id") == sent.call_id and f.get("cseq", 0) <= sent.cseq)), None)


def _refused_answer(sent: Sent401, registers: list[tuple[Entry, AuthFacts]]) -> bool:
    """The 401 refused Digest credentials for one of wicct's nonces that did not verify."""
    return any(f.get("call_id") == sent.call_id and f.get("cseq") == sent.cseq
               and f.get("nonce_issued") and not f.get("verified") for _, f in registers)


@rejudgeable
def digest_retries(entries: list[Entry], actor: str) -> Judgement | None:
    """WIC-REG-01 (shall; RFC 3261 §22.2, §10.2.4, §8.1.3.5): after each 401 the WIC sends
    the REGISTER again with the same Call-ID, CSeq + 1 and a right Digest response to that
    challenge's nonce, with its algorithm; a 401 with `stale=true` included (RFC 7616
    §3.3: retry with the new nonce, without asking the user). None without any 401."""
    sent = [s for s in challenges_sent(entries, actor) if s.challenge is not None
            and s.challenge.scheme.lower() == "digest"]
    if not sent:
        return None
    registers = _registers(entries, actor)
    problems: list[str] = []
    bad: list[int] = []
    evidence: list[Entry] = []
    stale = 0
    for s in sent:
        assert s.challenge is not None
        nonce = s.challenge.param("nonce") or ""
        algorithm = s.challenge.param("algorithm") or "MD5"
        stale += (s.challenge.param("stale") or "").lower() == "true"
        answer = _answer_to(s, registers)
        if answer is None and _refused_answer(s, registers):
            continue  # it refused a wrong answer, already judged: the WIC may give up
        if answer is None:
            problems.append(f"no REGISTER after the 401 (entry {s.entry.seq})")
            bad.append(s.entry.seq)
            continue
        entry, facts = answer
        evidence += [s.entry, entry]
        wrong = []
        if facts.get("call_id") != s.call_id:
            wrong.append("a new Call-ID")
        if facts.get("cseq") != s.cseq + 1:
            wrong.append(f"CSeq {facts.get('cseq')} instead of {s.cseq + 1}")
        if facts.get("scheme", "").lower() != "digest":
            wrong.append(f"Authorization {facts.get('scheme') or 'absent'} instead of Digest")
        elif facts.get("nonce") != nonce:
            wrong.append("not the nonce of that 401")
        elif (facts.get("algorithm") or "MD5").upper() != algorithm.upper():
            wrong.append(f"algorithm {facts.get('algorithm')} instead of {algorithm}")
        elif not facts.get("verified"):
            wrong.append(f"a wrong {algorithm} digest response")
        if facts.get("count", 0) > 1:
            wrong.append(f"{facts.get('count')} Authorization headers")
        if wrong:
            problems.append(f"REGISTER CSeq {facts.get('cseq')} answering the 401 (entry "
                            f"{s.entry.seq}): {', '.join(wrong)}")
            bad += [s.entry.seq, entry.seq]
    if problems:
        return Judgement(Verdict.FAIL, "; ".join(problems[:3]), tuple(bad[:10]))
    algorithms = sorted({(s.challenge.param("algorithm") or "MD5") for s in sent if s.challenge})
    with_stale = f", {stale} with stale=true" if stale else ""
    return Judgement(
        Verdict.PASS,
        f"{len(sent)} Digest challenge(s) ({', '.join(algorithms)}, qop=auth{with_stale}) each "
        "answered by a REGISTER with the same Call-ID, CSeq + 1 and a verified response",
        cited(evidence),
    )


@rejudgeable
def initial_authorization(entries: list[Entry], actor: str, impi: str, realm: str) -> Judgement | None:
    """WIC-REG-01 (should; TS 24.229 5.1.1.2.1, TS 34.229-1 C.2b): an initial REGISTER, one
    that answers no 401 and reuses no nonce wicct issued, carries `Authorization: Digest`
    with username = the IMPI, realm, uri, `nonce=""` and `response=""`."""
    sent = challenges_sent(entries, actor)
    registers = _registers(entries, actor)
    answers = {a[0].seq for s in sent if (a := _answer_to(s, registers)) is not None}
    initial = [(e, f) for e, f in registers if e.seq not in answers and not f.get("nonce_issued")]
    if not initial:
        return None
    problems: list[str] = []
    bad: list[int] = []
    for entry, facts in initial:
        wrong = []
        if facts.get("scheme", "").lower() != "digest":
            wrong.append("no Authorization" if not facts.get("count") else f"scheme {facts.get('scheme')!r}")
        else:
            if facts.get("username") != impi:
                wrong.append(f"username {facts.get('username')!r} instead of the IMPI {impi!r}")
            if facts.get("realm") != realm:
                wrong.append(f"realm {facts.get('realm')!r} instead of {realm!r}")
            if not facts.get("uri"):
                wrong.append("no uri")
            if facts.get("nonce") != "":
                wrong.append("a nonce that is not empty")
            if not facts.get("response_empty"):
                wrong.append('no response=""')
        if wrong:
            problems.append(f"REGISTER CSeq {facts.get('cseq')}: {', '.join(wrong)}")
            bad.append(entry.seq)
    if problems:
        return Judgement(Verdict.FAIL, f"initial REGISTER without the TS 24.229 Authorization: "
                         f"{'; '.join(problems[:3])}", tuple(bad[:10]))
    return Judgement(
        Verdict.PASS,
        f"{len(initial)} initial REGISTER(s) with Authorization: Digest username={impi!r}, "
        f"realm, uri, nonce=\"\", response=\"\"",
        cited([e for e, _ in initial]),
    )


@rejudgeable
def no_sec_agree(entries: list[Entry], actor: str) -> Judgement | None:
    """WIC-REG-01 (informational): a WSS WIC sends no `Security-Client` and no `sec-agree`
    option tag (RFC 3329): TLS is set up before registration."""
    registers = [(e, m) for e, m in received_requests(entries, actor) if m.method == "REGISTER"]
    if not registers:
        return None
    carrying = []
    for entry, message in registers:
        tags = {t.strip().lower() for name in ("Require", "Proxy-Require", "Supported")
                for t in message.header_values(name)}
        if message.has_header("Security-Client") or "sec-agree" in tags:
            carrying.append(entry)
    if carrying:
        return Judgement(Verdict.INFORMATIONAL,
                         f"{len(carrying)} of {len(registers)} REGISTER(s) carry Security-Client or "
                         "sec-agree (RFC 3329), unneeded over WSS", cited(carrying))
    return Judgement(Verdict.INFORMATIONAL,
                     f"no Security-Client and no sec-agree in {len(registers)} REGISTER(s)",
                     cited([e for e, _ in registers]))


def _failed_invites(entries: list[Entry], actor: str) -> set[tuple[str, int]]:
    """(Call-ID, CSeq number) of INVITEs `actor` answered with a final non-2xx."""
    out = set()
    for _, message in _sent_responses(entries, actor):
        try:
            if message.cseq.method == "INVITE" and (message.status or 0) >= 300:
                out.add((message.call_id, message.cseq.number))
        except SipParseError:
            continue
    return out


def exempt(facts: AuthFacts, failed: set[tuple[str, int]]) -> str:
    """Why a request need not carry new credentials (RFC 3261 §22.1): CANCEL, and the ACK
    for a non-2xx (both must match their INVITE hop by hop); "" when it must."""
    method = facts.get("method", "")
    if method == "CANCEL":
        return "CANCEL"
    if method == "ACK" and (facts.get("call_id", ""), facts.get("cseq", -1)) in failed:
        return "ACK for a non-2xx"
    return ""


@rejudgeable
def bearer_on_every_request(entries: list[Entry], actor: str) -> Judgement | None:
    """WIC-REG-02 (shall): `Authorization: Bearer <b64token>` with the provisioned token on
    REGISTER and every later request the WIC sends (INVITE, ACK for a 2xx, BYE, MESSAGE,
    OPTIONS, SUBSCRIBE...; TS 24.371 7.2.1), exactly one such header; the
    `Bearer access_token="..."` form of TS 24.371 Table A.3.2-1 is NON-STRICT."""
    facts = auth_facts(entries, actor)
    if not facts:
        return None
    failed = _failed_invites(entries, actor)
    judged, skipped, nonstrict = [], [], []
    problems: list[str] = []
    bad: list[int] = []
    for entry, f in facts:
        why = exempt(f, failed)
        if why:
            skipped.append(why)
            continue
        judged.append(entry)
        label = f"{f.get('method')} CSeq {f.get('cseq')}"
        if not f.get("count"):
            problems.append(f"{label}: no Authorization")
        elif f.get("scheme", "").lower() != "bearer":
            problems.append(f"{label}: scheme {f.get('scheme')!r}, not Bearer")
        elif f.get("form") == "malformed":
            problems.append(f"{label}: Bearer credentials that are not a b64token (RFC 6750 §2.1)")
        elif not f.get("token_matches"):
            problems.append(f"{label}: not the provisioned token")
        elif f.get("count", 0) > 1:
            problems.append(f"{label}: {f.get('count')} Authorization headers")
        else:
            if f.get("form") == "access_token":
                nonstrict.append(entry)
            continue
        bad.append(entry.seq)
    if not judged:
        return None
    methods = ", ".join(dict.fromkeys(str(f.get("method")) for e, f in facts if e in judged))
    if problems:
        return Judgement(Verdict.FAIL, f"{len(problems)} of {len(judged)} request(s) without the "
                         f"Bearer token: {'; '.join(problems[:3])}", tuple(bad[:10]))
    exempted = f"; not judged: {', '.join(sorted(set(skipped)))} (RFC 3261 §22.1)" if skipped else ""
    if nonstrict:
        return Judgement(Verdict.PASS, f"the provisioned token on all {len(judged)} request(s) ({methods}), "
                         f"{len(nonstrict)} in the Bearer access_token=\"...\" form of TS 24.371 "
                         f"Table A.3.2-1, not RFC 6750 §2.1's b64token{exempted}",
                         cited(nonstrict), note="NON-STRICT")
    return Judgement(Verdict.PASS, f"Authorization: Bearer <b64token> with the provisioned token on all "
                     f"{len(judged)} request(s) ({methods}){exempted}", cited(judged))


__all__ = [
    "Sent401",
    "auth_facts",
    "bearer_on_every_request",
    "challenges_sent",
    "digest_retries",
    "exempt",
    "initial_authorization",
    "no_sec_agree",
]
