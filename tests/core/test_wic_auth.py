"""WIC-REG-01/02 checks (harness/checks/wic_auth.py) on in-memory timelines, with the
facts the eP-CSCF emulator records on receipt (harness/actors/epcscf_emulator/credentials.py)."""

from __future__ import annotations

from harness import evidence as ev
from harness.actors.epcscf_emulator.credentials import Digest, read
from harness.checks import wic_auth
from harness.evidence import SIP, Timeline
from harness.sip import build_digest_authorization, build_request, build_response, parse_challenge
from harness.verdicts import Verdict

IMPI, DOMAIN, PASSWORD, TOKEN = "alice@ims.example.test", "ims.example.test", "s3cret-pw", "eyJhbGciOi.eyJzdWIi.c2ln"
INITIAL = f'Digest username="{IMPI}", realm="{DOMAIN}", uri="sip:{DOMAIN}", nonce="", response=""'


def request(method: str = "REGISTER", *, call_id: str = "c1", cseq: int = 1, auth: list[str] | None = None,
            extra: list[tuple[str, str]] | None = None):
    headers = [
        ("Via", "SIP/2.0/WSS a.invalid;branch=z9hG4bK" + f"{method}{cseq}{call_id}"),
        ("Max-Forwards", "70"), ("To", f"<sip:{IMPI}>"), ("From", f"<sip:{IMPI}>;tag=1"),
        ("Call-ID", call_id), ("CSeq", f"{cseq} {method}"),
        *(("Authorization", a) for a in (auth or [])), *(extra or []),
    ]
    return build_request(method, f"sip:{DOMAIN}", headers)


class Wire:
    """A timeline as the emulator writes it: rx requests with their auth facts, tx answers."""

    def __init__(self, digest: Digest | None = None, token: str = "") -> None:
        self.t = Timeline()
        self.digest, self.token = digest, token

    def rx(self, message) -> None:
        entry = self.t.add("epcscf", SIP, f"rx {message.summary()}", direction="rx", raw=message.to_bytes(),
                           call_id=message.call_id, cseq=str(message.cseq))
        facts = read(message, entry.seq, digest=self.digest, password=PASSWORD, token=self.token)
        self.t.put("epcscf", "credentials", ev.note({"auth": facts}))

    def tx(self, response) -> None:
        self.t.add("epcscf", SIP, f"tx {response.summary()}", direction="tx", raw=response.to_bytes())

    def challenge(self, message, *, stale: bool = False) -> str:
        assert self.digest is not None
        value = self.digest.challenge(stale=stale)
        self.tx(build_response(message, 401, headers=[("WWW-Authenticate", value)], to_tag="t"))
        return value

    def answer(self, challenge: str, *, password: str = PASSWORD, algorithm: str | None = None) -> str:
        c = parse_challenge(challenge)
        return build_digest_authorization(
            username=IMPI, realm=c.param("realm") or "", password=password, method="REGISTER",
            uri=f"sip:{DOMAIN}", nonce=c.param("nonce") or "", qop="auth",
            algorithm=algorithm or c.param("algorithm") or "MD5")

    @property
    def entries(self):
        return list(self.t)


def digest_round(*, algorithm: str = "MD5", call_id: str = "c1", cseq: int = 2, password: str = PASSWORD,
                 answer_algorithm: str | None = None, initial: list[str] | None = None) -> Wire:
    wire = Wire(Digest(DOMAIN, algorithm))
    first = request(auth=[INITIAL] if initial is None else initial)
    wire.rx(first)
    challenge = wire.challenge(first)
    retry = request(call_id=call_id, cseq=cseq,
                    auth=[wire.answer(challenge, password=password, algorithm=answer_algorithm)])
    wire.rx(retry)
    wire.tx(build_response(retry, 200, to_tag="t"))
    return wire


def test_a_right_retry_passes_md5_and_sha256():
    for algorithm in ("MD5", "SHA-256"):
        found = wic_auth.digest_retries(digest_round(algorithm=algorithm).entries, "epcscf")
        assert found is not None and found.verdict is Verdict.PASS, found
        assert algorithm in found.reason and found.evidence


def test_each_broken_retry_fails():
    cases = {
        "a new Call-ID": digest_round(call_id="other"),
        "CSeq 3 instead of 2": digest_round(cseq=3),
        "a wrong MD5 digest response": digest_round(password="wrong"),
        "algorithm MD5 instead of SHA-256": digest_round(algorithm="SHA-256", answer_algorithm="MD5"),
    }
    for expected, wire in cases.items():
        found = wic_auth.digest_retries(wire.entries, "epcscf")
        assert found is not None and found.verdict is Verdict.FAIL, expected
        assert expected in found.reason, (expected, found.reason)


def test_no_retry_after_a_401_fails_but_a_refused_wrong_answer_needs_none():
    wire = Wire(Digest(DOMAIN))
    first = request(auth=[INITIAL])
    wire.rx(first)
    wire.challenge(first)
    found = wic_auth.digest_retries(wire.entries, "epcscf")
    assert found is not None and found.verdict is Verdict.FAIL and "no REGISTER after the 401" in found.reason

    wire = digest_round(password="wrong")
    retry = request(cseq=2)  # the 401 that refused the wrong answer: the WIC may give up
    wire.challenge(retry)
    found = wic_auth.digest_retries(wire.entries, "epcscf")
    assert found is not None and "no REGISTER after" not in found.reason and "wrong" in found.reason


def test_a_stale_round_is_judged_like_any_challenge():
    wire = Wire(Digest(DOMAIN))
    first = request(auth=[INITIAL])
    wire.rx(first)
    c1 = wire.challenge(first)
    second = request(cseq=2, auth=[wire.answer(c1)])
    wire.rx(second)
    c2 = wire.challenge(second, stale=True)
    third = request(cseq=3, auth=[wire.answer(c2)])
    wire.rx(third)
    found = wic_auth.digest_retries(wire.entries, "epcscf")
    assert found is not None and found.verdict is Verdict.PASS and "1 with stale=true" in found.reason
    # the old nonce again after the stale 401: not that challenge's nonce
    wire = Wire(Digest(DOMAIN))
    wire.rx(first)
    c1 = wire.challenge(first)
    wire.rx(second := request(cseq=2, auth=[wire.answer(c1)]))
    wire.challenge(second, stale=True)
    wire.rx(request(cseq=3, auth=[wire.answer(c1)]))
    found = wic_auth.digest_retries(wire.entries, "epcscf")
    assert found is not None and found.verdict is Verdict.FAIL and "not the nonce of that 401" in found.reason


def test_initial_register_form_is_should_level_and_judged_on_every_initial_register():
    ok = wic_auth.initial_authorization(digest_round().entries, "epcscf", IMPI, DOMAIN)
    assert ok is not None and ok.verdict is Verdict.PASS and ok.evidence
    missing = wic_auth.initial_authorization(digest_round(initial=[]).entries, "epcscf", IMPI, DOMAIN)
    assert missing is not None and missing.verdict is Verdict.FAIL and "no Authorization" in missing.reason
    other = INITIAL.replace(IMPI, "bob@ims.example.test")
    wrong = wic_auth.initial_authorization(digest_round(initial=[other]).entries, "epcscf", IMPI, DOMAIN)
    assert wrong is not None and wrong.verdict is Verdict.FAIL and "username" in wrong.reason
    # a re-registration without Authorization after a good first round: FAIL too
    wire = digest_round()
    wire.rx(request(cseq=3))
    again = wic_auth.initial_authorization(wire.entries, "epcscf", IMPI, DOMAIN)
    assert again is not None and again.verdict is Verdict.FAIL and "CSeq 3" in again.reason


def test_a_register_reusing_an_issued_nonce_is_no_initial_register():
    wire = Wire(Digest(DOMAIN))
    first = request(auth=[INITIAL])
    wire.rx(first)
    c1 = wire.challenge(first)
    wire.rx(request(cseq=2, auth=[wire.answer(c1)]))
    wire.rx(request(cseq=3, auth=[wire.answer(c1)]))  # re-registration with the same nonce
    found = wic_auth.initial_authorization(wire.entries, "epcscf", IMPI, DOMAIN)
    assert found is not None and found.verdict is Verdict.PASS and "1 initial" in found.reason


def test_sec_agree_is_informational_either_way():
    plain = wic_auth.no_sec_agree(digest_round().entries, "epcscf")
    assert plain is not None and plain.verdict is Verdict.INFORMATIONAL and plain.reason.startswith("no ")
    wire = Wire(Digest(DOMAIN))
    wire.rx(request(auth=[INITIAL], extra=[("Security-Client", "tls"), ("Require", "sec-agree")]))
    carried = wic_auth.no_sec_agree(wire.entries, "epcscf")
    assert carried is not None and carried.verdict is Verdict.INFORMATIONAL and "carry" in carried.reason


def bearer_call(auth_of) -> Wire:
    """REGISTER, INVITE (200), ACK, BYE, a CANCEL, an INVITE refused 486 and its ACK."""
    wire = Wire(token=TOKEN)
    for method, call_id, cseq in (("REGISTER", "r", 1), ("INVITE", "i", 1), ("ACK", "i", 1),
                                  ("BYE", "i", 2), ("CANCEL", "x", 1), ("INVITE", "y", 1), ("ACK", "y", 1)):
        message = request(method, call_id=call_id, cseq=cseq, auth=auth_of(method, call_id))
        wire.rx(message)
        if method == "INVITE":
            wire.tx(build_response(message, 486 if call_id == "y" else 200, to_tag="t"))
    return wire


def exempt(method: str, call_id: str) -> bool:
    return method == "CANCEL" or (method, call_id) == ("ACK", "y")


def test_bearer_on_every_request_but_cancel_and_the_ack_for_a_non_2xx():
    found = wic_auth.bearer_on_every_request(
        bearer_call(lambda m, c: [] if exempt(m, c) else [f"Bearer {TOKEN}"]).entries, "epcscf")
    assert found is not None and found.verdict is Verdict.PASS and found.note == ""
    assert "5 request(s)" in found.reason and "CANCEL" in found.reason and "ACK for a non-2xx" in found.reason


def test_bearer_missing_wrong_or_malformed_fails():
    variants = {
        "BYE CSeq 2: no Authorization": lambda m, c: [] if m == "BYE" else [f"Bearer {TOKEN}"],
        "ACK CSeq 1: no Authorization": lambda m, c: [] if (m, c) == ("ACK", "i") else [f"Bearer {TOKEN}"],
        "not the provisioned token": lambda m, c: ["Bearer b3RoZXI="],
        "not Bearer": lambda m, c: [TOKEN],
        "2 Authorization headers": lambda m, c: [f"Bearer {TOKEN}", f"Bearer {TOKEN}"],
        "not a b64token": lambda m, c: ["Bearer a b"],
    }
    for expected, auth_of in variants.items():
        found = wic_auth.bearer_on_every_request(bearer_call(auth_of).entries, "epcscf")
        assert found is not None and found.verdict is Verdict.FAIL, expected
        assert expected in found.reason, (expected, found.reason)


def test_access_token_form_is_non_strict():
    found = wic_auth.bearer_on_every_request(
        bearer_call(lambda m, c: [f'Bearer access_token="{TOKEN}"']).entries, "epcscf")
    assert found is not None and (found.verdict, found.note) == (Verdict.PASS, "NON-STRICT")


def test_the_facts_never_hold_the_secret():
    wire = digest_round()
    bare = Wire(token=TOKEN)
    bare.rx(request(auth=[TOKEN]))
    bare.rx(request(cseq=2, auth=[f"Bearer {TOKEN}"]))
    for entries in (wire.entries, bare.entries):
        for _, facts in wic_auth.auth_facts(entries, "epcscf"):
            text = repr(facts)
            assert TOKEN not in text
            assert "response=" not in text
    schemes = [f["scheme"] for _, f in wic_auth.auth_facts(bare.entries, "epcscf")]
    assert schemes == ["(no scheme)", "Bearer"]


def test_a_retransmission_of_the_challenged_register_is_not_its_answer():
    wire = Wire(Digest(DOMAIN))
    first = request(auth=[INITIAL])
    wire.rx(first)
    challenge = wire.challenge(first)
    wire.rx(first)  # retransmitted (as over UDP): the transaction repeats its 401
    wire.rx(request(cseq=2, auth=[wire.answer(challenge)]))
    found = wic_auth.digest_retries(wire.entries, "epcscf")
    assert found is not None and found.verdict is Verdict.PASS, found
