"""Web-credential registration through an eP-CSCF: Trusted Node Authentication towards the
IMS core, and what must never reach it (SEED 5.Y.1.3; TS 33.203 Annex U; RFC 8898 §2.2;
RFC 6750 §3.1).

- `tna_forwarded` (EPC-REG-02): every REGISTER the core received for a REGISTER the WIC
  sent with a valid bearer token carries `Authorization: Digest` with `username` = the
  token's IMPI, `integrity-protected` = `auth-done` (quoted or not) and the TNA fields of
  the profile (`auth.tna_fields`: realm, uri, `nonce=""`, empty `response`), no Bearer
  credentials and no token; its final response came back over the WebSocket the REGISTER
  came in on.
- `nothing_reached_core` (EPC-REG-05, -06): after a bad stimulus, no new REGISTER and no
  request carrying the bad token reached the core.
- `refused`, `preferred_form` (EPC-REG-05, -06): the SUT's answer to the WIC: a 4xx
  (shall) and the RFC 6750 §3 form the catalogue prefers (should).
- `forged_integrity`, `refused_forged` (EPC-REG-07): the WIC's own `integrity-protected`
  never reaches the core.
- `issuer_story`: what wicct's token issuer saw, for the reason of a failed precondition.

Pure (docs/architecture.md principle 1): functions of timeline entries. Tokens are never in
the entries: the redactor put `<redacted sha256:xxxxxxxx>` in their place, and the
issuer's `minted` entries say which kind of token and which IMPI each fingerprint stands for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.checks.framing import Judgement
from harness.checks.registry import rejudgeable
from harness.checks.relay import raw_bytes
from harness.checks.transport import message_of
from harness.evidence import NOTE, SIP, TOKEN, Entry, sip, token
from harness.sip import SipMessage, SipParseError
from harness.sip.auth import Challenge, Credentials, parse_challenge, parse_credentials
from harness.verdicts import Verdict

STAND_IN = re.compile(r"<redacted sha256:([0-9a-f]{8})>")
VALID_KINDS = ("valid", "foreign")  # tokens an eP-CSCF must accept (foreign: with wwsf-identity)
AUTH_DONE = "auth-done"  # TS 24.229 §7.2A.2; TS 33.203 Annex U
EMPTY_FIELDS = ("nonce", "response")  # present and empty in a TNA header
SHOWN = 3  # problems a FAIL reason lists


@dataclass(frozen=True)
class TokenFact:
    """A token wicct's issuer minted, as its `minted` entry records it (never the token)."""

    fingerprint: str
    kind: str
    impi: str | None
    issuer: str
    entry: int


@dataclass(frozen=True)
class Seen:
    """A SIP message one of wicct's actors sent or received."""

    entry: int
    conn: str
    message: SipMessage
    raw: str

    @property
    def key(self) -> tuple[str, str]:
        """Call-ID and CSeq: a proxy keeps both (RFC 3261 §16.6), so the copy the core
        received and the WIC's original share them."""
        return (self.message.call_id, str(self.message.cseq))


def minted(entries: Iterable[Entry]) -> dict[str, TokenFact]:
    """Every token the issuer minted in the case, by fingerprint."""
    out: dict[str, TokenFact] = {}
    for entry in entries:
        if entry.kind != TOKEN:
            continue
        data = token.of(entry)
        if data["event"] == "minted" and data.get("fingerprint"):
            fp = data.get("fingerprint", "")
            out[fp] = TokenFact(fp, data.get("kind", "?"), data.get("impi"), data.get("issuer", ""), entry.seq)
    return out


def messages(entries: Iterable[Entry], actor: str, direction: str, *, requests: bool | None = None,
             method: str | None = None, after: int = 0) -> list[Seen]:
    """The parsed SIP messages `actor` sent ("tx") or received ("rx") after seq `after`."""
    out = []
    for entry in entries:
        if entry.kind != SIP or entry.actor != actor or entry.direction != direction or entry.seq <= after:
            continue
        message = message_of(entry)
        if message is None:
            continue
        raw = raw_bytes(sip.of(entry).get("raw"))
        if requests is not None and message.is_request != requests:
            continue
        if method is not None and (not message.is_request or message.method.upper() != method):
            continue
        out.append(Seen(entry.seq, entry.conn, message, raw.decode("utf-8", "replace")))
    return out


def authorizations(message: SipMessage) -> list[str]:
    """Every Authorization value, one per header line (RFC 3261 §20.7: not a comma list)."""
    return [v for n, v in message.headers if n.strip().lower() == "authorization"]


def scheme(value: str) -> str:
    return value.strip().split(" ", 1)[0].lower()


def bearer_fingerprints(message: SipMessage) -> list[str]:
    """The fingerprints of the tokens in the message's `Authorization: Bearer` values."""
    return [fp for v in authorizations(message) if scheme(v) == "bearer" for fp in STAND_IN.findall(v)]


def _digest(value: str) -> Credentials | None:
    try:
        return parse_credentials(value)
    except SipParseError:
        return None


# --- EPC-REG-02: the TNA header ------------------------------------------------------------


def tna_problems(message: SipMessage, raw: str, *, impi: str, fields: Sequence[str]) -> list[str]:
    """What is wrong with the credentials of one REGISTER the core received (empty: none)."""
    problems = []
    values = authorizations(message)
    if any(scheme(v) == "bearer" for v in values):
        problems.append("the client's Authorization: Bearer was forwarded")
    leaked = sorted(set(STAND_IN.findall(raw)))
    if leaked:
        problems.append(f"the token sha256:{', '.join(leaked)} reached the core")
    digests = [v for v in values if scheme(v) == "digest"]
    if not digests:
        return [*problems, "no Authorization: Digest (TNA) header"]
    parsed = [_digest(v) for v in digests]
    tna = next((c for c in parsed if c is not None and c.param("integrity-protected") is not None), None)
    if tna is None:
        tna = next((c for c in parsed if c is not None), None)
    if tna is None:
        return [*problems, f"unparsable Authorization: {digests[0][:80]}"]
    username = tna.param("username")
    if username != impi:
        problems.append(f"username={username!r}, not the token's IMPI {impi!r}")
    flag = tna.param("integrity-protected")
    if flag is None:
        problems.append("no integrity-protected parameter")
    elif flag.lower() != AUTH_DONE:
        problems.append(f"integrity-protected={flag!r}, not {AUTH_DONE}")
    for name in fields:
        value = tna.param(name)
        if value is None:
            problems.append(f"no {name} parameter")
        elif name in EMPTY_FIELDS and value != "":
            problems.append(f'{name}="{value[:40]}", expected {name}=""')
        elif name not in EMPTY_FIELDS and not value:
            problems.append(f"empty {name}")
    return problems


@rejudgeable
def tna_forwarded(entries: Sequence[Entry], *, fields: Sequence[str], wic: str = "wic") -> Judgement | None:
    """EPC-REG-02 on every REGISTER the core received whose original the WIC sent with one
    Authorization header, a Bearer with a valid token; None when there was none."""
    tokens = minted(entries)
    sent = {s.key: s for s in messages(entries, wic, "tx", method="REGISTER")}
    answers = messages(entries, wic, "rx", requests=False)
    setting = f"TNA fields checked per the profile's auth.tna_fields: {', '.join(fields) or 'none'}"
    judged: list[int] = []
    problems: list[str] = []
    bad: list[int] = []
    quoted: set[bool] = set()
    for rx in messages(entries, "core", "rx", method="REGISTER"):
        original = sent.get(rx.key)
        if original is None or len(authorizations(original.message)) != 1:
            continue
        fps = bearer_fingerprints(original.message)
        fact = tokens.get(fps[0]) if len(fps) == 1 else None
        if fact is None or fact.kind not in VALID_KINDS or not fact.impi:
            continue  # not the EPC-REG-02 stimulus: the refusal checks judge it
        judged += [original.entry, rx.entry]
        found = tna_problems(rx.message, rx.raw, impi=fact.impi, fields=fields)
        for value in authorizations(rx.message):
            if (c := _digest(value)) is not None and c.param("integrity-protected") is not None:
                quoted.add(c.quoted.get("integrity-protected", False))
        finals = [a for a in answers if a.key == original.key and (a.message.status or 0) >= 200]
        elsewhere = [a for a in finals if a.conn != original.conn]
        if elsewhere:
            found.append(f"its {elsewhere[0].message.status} came back on {elsewhere[0].conn}, "
                         f"not on {original.conn}")
        if found:
            bad += [original.entry, rx.entry, *(a.entry for a in elsewhere)]
            problems += [f"REGISTER CSeq {rx.message.cseq.number}: {p}" for p in found]
    if not judged:
        return None
    if problems:
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        return Judgement(Verdict.FAIL, "; ".join(problems[:SHOWN]) + more + f" [{setting}]", tuple(bad))
    how = " and ".join(sorted({"quoted" if q else "unquoted" for q in quoted}))
    return Judgement(
        Verdict.PASS,
        f"{len(judged) // 2} REGISTER(s) with a valid token reached the core as Digest username=<the "
        f"token's IMPI>, integrity-protected={AUTH_DONE} ({how}), no Bearer, no token; final "
        f"responses on the WIC's own WebSocket [{setting}]",
        tuple(judged),
    )


# --- EPC-REG-05, -06: nothing reaches the core ---------------------------------------------


@rejudgeable
def nothing_reached_core(entries: Sequence[Entry], *, since: int, fingerprints: Sequence[str],
                         watched: str) -> Judgement:
    """No REGISTER transaction the core had not seen by seq `since` (the bad stimulus), and
    no request carrying one of the bad tokens, reached the core after it. `watched` says
    what was watched and for how long, for the PASS reason."""
    before = {s.key for s in messages([e for e in entries if e.seq <= since], "core", "rx", requests=True)}
    leaks: list[str] = []
    evidence: list[int] = []
    for rx in messages(entries, "core", "rx", requests=True, after=since):
        carried = [fp for fp in STAND_IN.findall(rx.raw) if fp in fingerprints]
        if rx.message.method.upper() == "REGISTER" and rx.key not in before:
            who = _username(rx.message)
            leaks.append(f"a REGISTER (CSeq {rx.message.cseq.number}"
                         + (f", Authorization username {who!r}" if who else "") + ") reached the core")
            evidence.append(rx.entry)
        elif carried:
            leaks.append(f"a {rx.message.method} carrying the token sha256:{carried[0]} reached the core")
            evidence.append(rx.entry)
    shown = ", ".join(f"sha256:{fp}" for fp in fingerprints) or "none"
    if leaks:
        return Judgement(Verdict.FAIL, "; ".join(leaks[:SHOWN]), tuple(evidence))
    return Judgement(Verdict.PASS, f"no new REGISTER and no request carrying the token(s) ({shown}) "
                     f"reached the core: {watched}", (since,))


def new_registers(entries: Sequence[Entry], *, since: int) -> list[Seen]:
    """REGISTER transactions the core received after seq `since` that it had not seen by then."""
    before = {s.key for s in messages([e for e in entries if e.seq <= since], "core", "rx", requests=True)}
    return [rx for rx in messages(entries, "core", "rx", method="REGISTER", after=since) if rx.key not in before]


def _username(message: SipMessage) -> str | None:
    for value in authorizations(message):
        c = _digest(value)
        if c is not None and c.param("username"):
            return c.param("username")
    return None


@rejudgeable
def refused(status: int, reason: str, what: str) -> Judgement:
    """The SUT must refuse `what` with a 4xx (RFC 8898 §2.2; RFC 6750 §3.1)."""
    if 400 <= status < 500:
        return Judgement(Verdict.PASS, f"{what} refused with {status} {reason}")
    return Judgement(Verdict.FAIL, f"{what} answered {status} {reason}, not refused with a 4xx")


def bearer_challenges(response: SipMessage) -> list[Challenge]:
    out = []
    for value in response.header_values("WWW-Authenticate"):
        try:
            challenge = parse_challenge(value)
        except SipParseError:
            continue
        if challenge.scheme.lower() == "bearer":
            out.append(challenge)
    return out


# The preferred answers of the catalogue (EPC-REG-05, EPC-REG-06 a-c): status, the RFC 6750
# §3.1 error code (None: a challenge without `error`), and the words for the reason.
FORMS: dict[str, tuple[int, str | None, str]] = {
    "invalid_token": (401, "invalid_token", 'a 401 with WWW-Authenticate: Bearer error="invalid_token"'),
    "challenge": (401, None, "a 401 Bearer challenge without error, with authz_server (RFC 8898 §2.3)"),
    "insufficient_scope": (403, "insufficient_scope", 'a 403 with Bearer error="insufficient_scope"'),
    "invalid_request": (400, "invalid_request", 'a 400 with Bearer error="invalid_request"'),
}


@rejudgeable
def preferred_form(response: SipMessage, form: str) -> Judgement:
    """Whether the refusal has the form the catalogue prefers (should-level)."""
    status, error, words = FORMS[form]
    got = response.status or 0
    challenges = bearer_challenges(response)
    errors = [c.param("error") for c in challenges]
    if got != status:
        return Judgement(Verdict.FAIL, f"refused with {got}, not {words}")
    if not challenges:
        return Judgement(Verdict.FAIL, f"{got} without a WWW-Authenticate: Bearer challenge, not {words}")
    if error is None:
        if any(e is not None for e in errors):
            return Judgement(Verdict.FAIL, f"the Bearer challenge carries error={errors[0]!r}: {words}")
        if not any(c.param("authz_server") for c in challenges):
            return Judgement(Verdict.FAIL, f"the Bearer challenge has no authz_server: {words}")
        return Judgement(Verdict.PASS, f"answered {words}")
    if error not in errors:
        return Judgement(Verdict.FAIL, f"the Bearer challenge's error is {errors[0]!r}, not {words}")
    return Judgement(Verdict.PASS, f"answered {words}")


# --- EPC-REG-07: the WIC's integrity-protected -----------------------------------------------


@rejudgeable
def forged_integrity(entries: Sequence[Entry], *, since: int, marker: str, value: str,
                     with_token: bool, digest: bool = False) -> Judgement:
    """The WIC sent `integrity-protected=value` in an Authorization header of its own,
    recognisable by `marker`, at seq `since` (with a valid Bearer next to it or not). Its
    value must never reach the core: a header with the marker that still carries
    integrity-protected is a pass-through; without a valid token any REGISTER reaching the
    core with integrity-protected is one; with a token, the WIC's value is copied when the
    core gets it and the eP-CSCF never wrote it on its own before `since` (a wrong value of
    its own is EPC-REG-02's finding, not this one).

    With `digest` (the core is a SIP digest registrar: the eP-CSCF marks every REGISTER's
    Digest credentials itself, TS 24.229 5.2.2.4) the WIC's header may reach the core with
    its flag replaced ("stripped or replaced", the row): a marked header whose flag is the
    WIC's value is a pass-through, one with another value the eP-CSCF's own."""
    earlier = messages([e for e in entries if e.seq <= since], "core", "rx", requests=True)
    before = {s.key for s in earlier}
    own = {f.lower() for s in earlier for f in _flags(s.message)}
    holes: list[str] = []
    evidence: list[int] = []
    reached: list[str] = []
    for rx in messages(entries, "core", "rx", requests=True, after=since):
        new = rx.message.method.upper() == "REGISTER" and rx.key not in before
        for header in authorizations(rx.message):
            c = _digest(header)
            flag = c.param("integrity-protected") if c is not None else None
            if digest and marker in header and flag is not None and flag.lower() != value.lower():
                reached.append(f"its own integrity-protected={flag} in place of the WIC's")
            elif digest and flag is not None and flag.lower() != value.lower():
                reached.append(f"its own integrity-protected={flag}")
            elif marker in header and flag is not None:
                holes.append(f"the WIC's Authorization with integrity-protected={flag} reached the core "
                             f"in a {rx.message.method}")
            elif new and flag is not None and not with_token:
                holes.append(f"without a valid token, a REGISTER reached the core with "
                             f"integrity-protected={flag}")
            elif new and flag is not None and flag.lower() == value.lower() and flag.lower() not in own:
                holes.append(f"a REGISTER reached the core with the WIC's integrity-protected={flag}, "
                             "a value the eP-CSCF never wrote on its own")
            elif new and flag is not None:
                reached.append(f"its own integrity-protected={flag}")
        if new:
            evidence.append(rx.entry)
            if not any(marker in h for h in authorizations(rx.message)) and not reached:
                reached.append("the WIC's value stripped")
    if holes:
        return Judgement(Verdict.FAIL, "; ".join(holes[:SHOWN]), tuple(evidence))
    what = (f"the REGISTER reached the core with {', '.join(sorted(set(reached)))}" if evidence
            else "no REGISTER reached the core")
    return Judgement(Verdict.PASS, f"the WIC's integrity-protected={value} never reached the core: {what}",
                     (since, *evidence))


def _flags(message: SipMessage) -> list[str]:
    """The integrity-protected values in a message's Authorization: Digest headers."""
    out = []
    for value in authorizations(message):
        c = _digest(value)
        if c is not None and (flag := c.param("integrity-protected")) is not None:
            out.append(flag)
    return out


@rejudgeable
def refused_forged(status: int, reason: str) -> Judgement:
    """A refusal of a REGISTER with a forged integrity-protected: 401 or 403 as the
    catalogue says (EPC-REG-07); another 4xx refuses too (NON-STRICT); anything else is no
    refusal."""
    if status in (401, 403):
        return Judgement(Verdict.PASS, f"refused with {status} {reason}")
    if 400 <= status < 500:
        return Judgement(Verdict.PASS, f"refused with {status} {reason} (the catalogue names 401 or 403)",
                         note="NON-STRICT")
    return Judgement(Verdict.FAIL, f"answered {status} {reason}: neither forwarded with the value "
                     "stripped nor refused")


# --- EPC-REG-03: the WWSF identity -----------------------------------------------------------


def identity_values(message: SipMessage, header: str, param: str) -> list[str]:
    """The WWSF identities a message carries where the profile says (`auth.wwsf_identity`):
    the `param` parameter of `header` (an auth-param of Authorization, or a `name=value`
    parameter of another header), or, with no `param`, the header's value itself."""
    values = [v for n, v in message.headers if n.strip().lower() == header.lower()]
    if not param:
        return [v.strip().strip("<>\"") for v in values]
    found = re.compile(r'(?:^|[\s,;])' + re.escape(param) + r'\s*=\s*(?:"([^"]*)"|([^\s,;]+))', re.I)
    return [m.group(1) if m.group(1) is not None else m.group(2) for v in values for m in found.finditer(v)]


@rejudgeable
def wwsf_identity(entries: Sequence[Entry], *, since: int, header: str, param: str,
                  issuer: str) -> Judgement:
    """EPC-REG-03: every REGISTER the core received after seq `since` (a REGISTER with a
    token from `issuer`, outside the operator domain) carries `issuer` where the profile
    says; the finding names the setting."""
    where = f"{header} parameter {param}" if param else f"the {header} header"
    setting = f"[profile auth.wwsf_identity: header {header!r}, param {param!r}]"
    reached = new_registers(entries, since=since)
    if not reached:
        return Judgement(Verdict.FAIL, f"no REGISTER reached the core for the token from {issuer} {setting}",
                         (since,))
    wrong = [(rx, identity_values(rx.message, header, param)) for rx in reached]
    wrong = [(rx, got) for rx, got in wrong if issuer not in got]
    if wrong:
        rx, got = wrong[0]
        return Judgement(Verdict.FAIL, f"the REGISTER reached the core with {where} "
                         f"{', '.join(map(repr, got)) if got else 'absent'}, not {issuer!r} {setting}",
                         (since, rx.entry))
    return Judgement(Verdict.PASS, f"{len(reached)} REGISTER(s) reached the core with {where} = {issuer} "
                     f"{setting}", (since, *(rx.entry for rx in reached)))


# --- the issuer ------------------------------------------------------------------------------


def _modes(entries: Iterable[Entry]) -> list[str]:
    """The modes wicct's token issuer was set to (`TokenIssuer.set_mode` notes), in order."""
    return [e.summary.split(":", 1)[1].strip() for e in entries
            if e.kind == NOTE and e.actor == "issuer" and e.summary.startswith("token issuer mode:")]


def issuer_failed(entries: Sequence[Entry]) -> bool:
    """Whether wicct's own token issuer was made to fail (a mode other than `serve`:
    garbage, HTTP 500, a stall, down). A refusal of a valid token is then no verdict on
    the SUT (INCONCLUSIVE)."""
    modes = _modes(entries)
    return bool(modes) and modes[-1] != "serve"


def issuer_story(entries: Sequence[Entry], *, since: int) -> str:
    """What wicct's token issuer saw after seq `since`: its mode and the requests it answered
    (for the reason of a failed "a valid token gets through" precondition)."""
    modes = _modes(entries)
    asked = [token.of(e) for e in entries if e.kind == TOKEN and e.seq > since
             and token.of(e)["event"] != "minted"]
    parts = []
    if modes and modes[-1] != "serve":
        parts.append(f"wicct's token issuer was set to {modes[-1]!r}")
    if not asked:
        parts.append("the SUT made no request to wicct's token issuer")
    else:
        answers = [f"{a.get('method', '?')} {a.get('path', '?')} → {a.get('status') or 'no answer'}"
                   + (f" ({a['reason']})" if a.get("reason") else "") for a in asked[:SHOWN]]
        parts.append(f"the token issuer answered {len(asked)} request(s): {'; '.join(answers)}")
    return "; ".join(parts)


__all__ = [
    "AUTH_DONE",
    "FORMS",
    "STAND_IN",
    "VALID_KINDS",
    "Seen",
    "TokenFact",
    "authorizations",
    "bearer_challenges",
    "bearer_fingerprints",
    "forged_integrity",
    "identity_values",
    "issuer_failed",
    "issuer_story",
    "messages",
    "minted",
    "new_registers",
    "nothing_reached_core",
    "preferred_form",
    "refused",
    "refused_forged",
    "tna_forwarded",
    "tna_problems",
    "wwsf_identity",
]
