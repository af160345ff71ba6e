"""harness.checks.tna on timelines built in memory: the TNA header (EPC-REG-02), nothing
reaching the core (EPC-REG-05/-06), the preferred refusal forms, a forged
integrity-protected (EPC-REG-07) and what the issuer's state means for a precondition."""

from __future__ import annotations

import pytest

from harness import evidence as ev
from harness.checks import tna
from harness.evidence import NOTE, Timeline
from harness.sip import parse
from harness.tokens import fingerprint
from harness.verdicts import Verdict

IMPI = "alice@ims.example.test"
FIELDS = ("realm", "uri", "nonce", "response")
GOOD_TNA = ('Digest username="alice@ims.example.test", realm="ims.example.test", '
            'uri="sip:ims.example.test", nonce="", response="", integrity-protected="auth-done"')


def register(cseq: int, *auth: str, call_id: str = "c1") -> bytes:
    lines = [
        "REGISTER sip:ims.example.test SIP/2.0", "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK" + str(cseq),
        "Max-Forwards: 70", "To: <sip:alice@ims.example.test>",
        "From: <sip:alice@ims.example.test>;tag=1", f"Call-ID: {call_id}", f"CSeq: {cseq} REGISTER",
        "Contact: <sip:a@a.invalid;transport=ws>", *(f"Authorization: {a}" for a in auth),
        "Content-Length: 0", "", "",
    ]
    return "\r\n".join(lines).encode()


def ok(cseq: int, status: str = "200 OK", *headers: str, call_id: str = "c1") -> bytes:
    lines = [f"SIP/2.0 {status}", "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK" + str(cseq),
             "To: <sip:alice@ims.example.test>;tag=2", "From: <sip:alice@ims.example.test>;tag=1",
             f"Call-ID: {call_id}", f"CSeq: {cseq} REGISTER", *headers, "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


class Case:
    """A timeline as the actors write it: minted tokens registered with the redactor."""

    def __init__(self) -> None:
        self.t = Timeline()

    def mint(self, kind: str, impi: str | None = IMPI) -> str:
        token = f"eyJ{kind}.{id(self)}.{len(self.t)}sig"
        self.t.redactor.add(token, fingerprint=True)
        self.t.put("issuer", f"minted {kind}", ev.token({"event": "minted", "fingerprint": fingerprint(token),
                                                         "kind": kind, "issuer": "https://a", "impi": impi}))
        return token

    def wic_tx(self, raw: bytes, conn: str = "wic-1") -> int:
        return self.t.put("wic", "tx", ev.sip({"raw": raw, "start_line": "", "call_id": "", "cseq": ""}),
                          direction="tx", conn=conn).seq

    def wic_rx(self, raw: bytes, conn: str = "wic-1") -> int:
        return self.t.put("wic", "rx", ev.sip({"raw": raw, "start_line": "", "call_id": "", "cseq": ""}),
                          direction="rx", conn=conn).seq

    def core_rx(self, raw: bytes) -> int:
        return self.t.put("core", "rx", ev.sip({"raw": raw, "start_line": "", "call_id": "", "cseq": ""}),
                          direction="rx", conn="core-udp").seq

    @property
    def entries(self) -> list[ev.Entry]:
        return list(self.t)


def registered(forwarded: str, *, conn_back: str = "wic-1") -> Case:
    case = Case()
    token = case.mint("valid")
    case.wic_tx(register(1, f"Bearer {token}"))
    case.core_rx(register(1, forwarded.replace("TOKEN", token)))
    case.wic_rx(ok(1), conn=conn_back)
    return case


def test_the_token_itself_never_is_in_the_entries() -> None:
    case = registered(GOOD_TNA)
    assert all("eyJ" not in str(e.data) for e in case.entries)


def test_a_good_tna_header_passes_and_cites_both_sides() -> None:
    judgement = tna.tna_forwarded(registered(GOOD_TNA).entries, fields=FIELDS)
    assert judgement is not None and judgement.verdict is Verdict.PASS, judgement
    assert judgement.evidence == (2, 3)
    assert "auth.tna_fields: realm, uri, nonce, response" in judgement.reason


def test_unquoted_auth_done_passes() -> None:
    judgement = tna.tna_forwarded(registered(GOOD_TNA.replace('"auth-done"', "auth-done")).entries, fields=FIELDS)
    assert judgement is not None and judgement.verdict is Verdict.PASS
    assert "(unquoted)" in judgement.reason


@pytest.mark.parametrize(
    ("forwarded", "words"),
    [
        (GOOD_TNA.replace('"auth-done"', '"yes"'), "integrity-protected='yes'"),
        (GOOD_TNA.replace(', integrity-protected="auth-done"', ""), "no integrity-protected"),
        (GOOD_TNA.replace("alice@", "bob@"), "not the token's IMPI"),
        (GOOD_TNA.replace('nonce=""', 'nonce="abc"'), 'expected nonce=""'),
        (GOOD_TNA.replace('realm="ims.example.test", ', ""), "no realm"),
        ("Bearer TOKEN", "Bearer was forwarded"),
    ],
)
def test_each_flaw_of_the_tna_header_fails(forwarded: str, words: str) -> None:
    judgement = tna.tna_forwarded(registered(forwarded).entries, fields=FIELDS)
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert words in judgement.reason


def test_a_forwarded_bearer_next_to_a_good_header_fails_and_names_the_fingerprint() -> None:
    case = Case()
    token = case.mint("valid")
    case.wic_tx(register(1, f"Bearer {token}"))
    case.core_rx(register(1, GOOD_TNA, f"Bearer {token}"))
    judgement = tna.tna_forwarded(case.entries, fields=FIELDS)
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert f"sha256:{fingerprint(token)}" in judgement.reason


def test_fields_are_the_profile_setting() -> None:
    flawed = registered(GOOD_TNA.replace('realm="ims.example.test", ', ""))
    assert tna.tna_forwarded(flawed.entries, fields=("nonce",)).verdict is Verdict.PASS  # type: ignore[union-attr]


def test_the_200_on_another_websocket_fails() -> None:
    judgement = tna.tna_forwarded(registered(GOOD_TNA, conn_back="wic-2").entries, fields=FIELDS)
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert "came back on wic-2" in judgement.reason


def test_only_registers_with_one_valid_bearer_are_judged() -> None:
    case = Case()
    expired = case.mint("expired")
    case.wic_tx(register(1, f"Bearer {expired}"))
    case.core_rx(register(1, "Bearer x"))
    case.wic_tx(register(2))  # no token: not the EPC-REG-02 stimulus either
    case.core_rx(register(2))
    assert tna.tna_forwarded(case.entries, fields=FIELDS) is None


def bad_stimulus(forward: bool, *, other_method: bool = False) -> tuple[Case, int, str]:
    case = Case()
    valid = case.mint("valid")
    case.wic_tx(register(1, f"Bearer {valid}"))
    case.core_rx(register(1, GOOD_TNA))
    bad = case.mint("expired")
    since = case.wic_tx(register(2, f"Bearer {bad}"))
    case.core_rx(register(1, GOOD_TNA))  # a late retransmission of the earlier transaction
    if forward:
        case.core_rx(register(2, GOOD_TNA))
    if other_method:
        case.core_rx(register(3, f"Bearer {bad}").replace(b"REGISTER", b"OPTIONS"))
    return case, since, fingerprint(bad)


def test_nothing_reached_the_core_passes_saying_what_was_watched() -> None:
    case, since, fp = bad_stimulus(False)
    judgement = tna.nothing_reached_core(case.entries, since=since, fingerprints=(fp,), watched="0.2 s after the 401")
    assert judgement.verdict is Verdict.PASS
    assert fp in judgement.reason and "0.2 s after the 401" in judgement.reason


def test_a_new_register_at_the_core_fails_with_its_username() -> None:
    case, since, fp = bad_stimulus(True)
    judgement = tna.nothing_reached_core(case.entries, since=since, fingerprints=(fp,), watched="")
    assert judgement.verdict is Verdict.FAIL
    assert "CSeq 2" in judgement.reason and "alice@ims.example.test" in judgement.reason


def test_any_request_carrying_the_bad_token_fails() -> None:
    case, since, fp = bad_stimulus(False, other_method=True)
    judgement = tna.nothing_reached_core(case.entries, since=since, fingerprints=(fp,), watched="")
    assert judgement.verdict is Verdict.FAIL
    assert f"OPTIONS carrying the token sha256:{fp}" in judgement.reason


def test_refused_needs_a_4xx() -> None:
    assert tna.refused(401, "Unauthorized", "x").verdict is Verdict.PASS
    assert tna.refused(200, "OK", "x").verdict is Verdict.FAIL
    assert tna.refused(503, "Service Unavailable", "x").verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("form", "status", "challenge", "verdict"),
    [
        ("invalid_token", "401 Unauthorized", 'Bearer realm="x", error="invalid_token"', Verdict.PASS),
        ("invalid_token", "403 Forbidden", 'Bearer realm="x", error="invalid_token"', Verdict.FAIL),
        ("invalid_token", "401 Unauthorized", 'Digest realm="x", nonce="n"', Verdict.FAIL),
        ("challenge", "401 Unauthorized", 'Bearer realm="x", authz_server="https://a"', Verdict.PASS),
        ("challenge", "401 Unauthorized", 'Bearer realm="x"', Verdict.FAIL),
        ("challenge", "401 Unauthorized", 'Bearer realm="x", authz_server="https://a", error="invalid_token"',
         Verdict.FAIL),
        ("insufficient_scope", "403 Forbidden", 'Bearer error="insufficient_scope"', Verdict.PASS),
        ("insufficient_scope", "401 Unauthorized", 'Bearer error="insufficient_scope"', Verdict.FAIL),
        ("invalid_request", "400 Bad Request", 'Bearer error="invalid_request"', Verdict.PASS),
        ("invalid_request", "400 Bad Request", 'Bearer error="invalid_token"', Verdict.FAIL),
    ],
)
def test_preferred_forms(form: str, status: str, challenge: str, verdict: Verdict) -> None:
    response = parse(ok(2, status, f"WWW-Authenticate: {challenge}")).message
    assert tna.preferred_form(response, form).verdict is verdict


MARK = "wicct-forged-1234"


def forged(value: str, *, with_token: bool, forwarded: list[str] | None, own: str = "auth-done") -> Case:
    """A precondition REGISTER the eP-CSCF forwarded with its own `own` value, then the
    WIC's forged header (with or without a valid Bearer), and what reached the core."""
    case = Case()
    valid = case.mint("valid")
    case.wic_tx(register(1, f"Bearer {valid}"))
    case.core_rx(register(1, GOOD_TNA.replace("auth-done", own)))
    header = f'Digest username="{IMPI}", nonce="", response="", integrity-protected="{value}", opaque="{MARK}"'
    sent = [f"Bearer {case.mint('valid')}", header] if with_token else [header]
    case.since = case.wic_tx(register(2, *sent))  # type: ignore[attr-defined]
    if forwarded is not None:
        case.core_rx(register(2, *forwarded))
    return case


@pytest.mark.parametrize(
    ("value", "with_token", "forwarded", "own", "verdict"),
    [
        ("auth-done", False, None, "auth-done", Verdict.PASS),  # refused: nothing reached the core
        ("yes", True, [GOOD_TNA], "auth-done", Verdict.PASS),  # replaced by the eP-CSCF's own
        ("tls-yes", False, [f'Digest username="x", opaque="{MARK}"'], "auth-done", Verdict.PASS),  # stripped
        ("tls-yes", False, [f'Digest username="x", integrity-protected="tls-yes", opaque="{MARK}"'],
         "auth-done", Verdict.FAIL),  # passed through
        ("auth-done", False, [GOOD_TNA], "auth-done", Verdict.FAIL),  # no token, yet the flag
        ("yes", True, [GOOD_TNA.replace("auth-done", "yes")], "auth-done", Verdict.FAIL),  # copied
        ("yes", True, [GOOD_TNA.replace("auth-done", "yes")], "yes", Verdict.PASS),  # its own (EPC-REG-02's)
        ("ip-assoc-yes", True, [GOOD_TNA, f'Digest integrity-protected="ip-assoc-yes", opaque="{MARK}"'],
         "auth-done", Verdict.FAIL),  # kept next to the TNA header
    ],
)
def test_forged_integrity(value: str, with_token: bool, forwarded: list[str] | None, own: str,
                          verdict: Verdict) -> None:
    case = forged(value, with_token=with_token, forwarded=forwarded, own=own)
    judgement = tna.forged_integrity(case.entries, since=case.since, marker=MARK,  # type: ignore[attr-defined]
                                     value=value, with_token=with_token)
    assert judgement.verdict is verdict, judgement.reason


def test_a_refusal_of_a_forged_flag_other_than_401_403_is_non_strict() -> None:
    assert tna.refused_forged(403, "Forbidden").verdict is Verdict.PASS
    other = tna.refused_forged(400, "Bad Request")
    assert (other.verdict, other.note) == (Verdict.PASS, "NON-STRICT")
    assert tna.refused_forged(200, "OK").verdict is Verdict.FAIL


def test_the_issuer_story_names_its_mode_and_answers() -> None:
    case = Case()
    case.mint("valid")
    since = len(case.t)
    assert not tna.issuer_failed(case.entries)
    assert "made no request" in tna.issuer_story(case.entries, since=since)
    case.t.add("issuer", NOTE, "token issuer mode: garbage")
    case.t.put("issuer", "POST", ev.token({"event": "refused", "method": "POST", "path": "/introspect",
                                             "status": 200, "reason": "garbage body (mode)"}))
    story = tna.issuer_story(case.entries, since=since)
    assert tna.issuer_failed(case.entries)
    assert "set to 'garbage'" in story and "POST /introspect → 200 (garbage body (mode))" in story
    case.t.add("issuer", NOTE, "token issuer mode: serve")
    assert not tna.issuer_failed(case.entries)


FOREIGN = "https://auth.partner-wwsf.example.test"


@pytest.mark.parametrize(
    ("header", "param", "line", "found"),
    [
        ("Authorization", "wwsf-identity", f'Authorization: {GOOD_TNA}, wwsf-identity="{FOREIGN}"', [FOREIGN]),
        ("P-WWSF-Identity", "", f"P-WWSF-Identity: <{FOREIGN}>", [FOREIGN]),
        ("X-Wwsf", "id", f"X-Wwsf: x;id={FOREIGN}", [FOREIGN]),
        ("Authorization", "wwsf-identity", f"Authorization: {GOOD_TNA}", []),
    ],
)
def test_identity_values_read_where_the_profile_says(header: str, param: str, line: str, found: list[str]) -> None:
    raw = register(1).replace(b"Content-Length", line.encode() + b"\r\nContent-Length")
    assert tna.identity_values(parse(raw).message, header, param) == found


@pytest.mark.parametrize(("carried", "verdict"), [(FOREIGN, Verdict.PASS), ("https://other", Verdict.FAIL),
                                                  (None, Verdict.FAIL)])
def test_wwsf_identity(carried: str | None, verdict: Verdict) -> None:
    case = Case()
    since = case.wic_tx(register(2, f"Bearer {case.mint('foreign')}"))
    if carried is not None:
        case.core_rx(register(2, f'{GOOD_TNA}, wwsf-identity="{carried}"'))
    judgement = tna.wwsf_identity(case.entries, since=since, header="Authorization", param="wwsf-identity",
                                  issuer=FOREIGN)
    assert judgement.verdict is verdict
    assert "auth.wwsf_identity" in judgement.reason


@pytest.mark.parametrize(
    ("value", "forwarded", "verdict"),
    [
        # a digest eP-CSCF marks the WIC's own Digest header with its value: replaced, a PASS
        ("yes", [f'Digest username="x", integrity-protected="tls-yes", opaque="{MARK}"'], Verdict.PASS),
        ("auth-done", [f'Digest username="x", opaque="{MARK}"'], Verdict.PASS),  # stripped
        # the WIC's value kept on the digest path: a pass-through, a FAIL
        ("yes", [f'Digest username="x", integrity-protected="yes", opaque="{MARK}"'], Verdict.FAIL),
        ("auth-done", [f'Digest username="x", integrity-protected="auth-done", opaque="{MARK}"'], Verdict.FAIL),
    ],
)
def test_forged_integrity_with_a_digest_registrar(value: str, forwarded: list[str], verdict: Verdict) -> None:
    case = forged(value, with_token=False, forwarded=forwarded, own="tls-pending")
    judgement = tna.forged_integrity(case.entries, since=case.since, marker=MARK,  # type: ignore[attr-defined]
                                     value=value, with_token=False, digest=True)
    assert judgement.verdict is verdict, judgement.reason
    # the same header judged without the digest registrar: every flag kept is a pass-through
    if 'integrity-protected="' in forwarded[0]:
        strict = tna.forged_integrity(case.entries, since=case.since, marker=MARK,  # type: ignore[attr-defined]
                                      value=value, with_token=False)
        assert strict.verdict is Verdict.FAIL
