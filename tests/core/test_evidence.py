"""Redaction at the edges of the timeline: what becomes text only when written as JSON."""

from harness.checks import framing
from harness.evidence import REDACTED, WS_MESSAGE, Redactor, Timeline

SECRET = "s3cret-pw"


def _timeline() -> Timeline:
    redactor = Redactor()
    redactor.add(SECRET)
    return Timeline(redactor)


def test_object_reprs_keys_and_sets_are_redacted_in_json():
    timeline = _timeline()
    timeline.add(
        "runner", "note", "x",
        error=RuntimeError(f"login with {SECRET} refused"),
        by_user={SECRET: 1, (SECRET, 2): 3},
        tried={f"pw={SECRET}"},
    )
    text = repr(timeline.to_json())
    assert SECRET not in text
    assert REDACTED in text


def test_invalid_utf8_with_a_secret_stays_invalid_utf8():
    timeline = _timeline()
    payload = b"\xff\xfe " + SECRET.encode()
    timeline.add("epcscf", WS_MESSAGE, "rx", direction="rx", opcode="text", payload=payload)
    entry = timeline[1]
    assert isinstance(entry.data["payload"], bytes)
    assert SECRET.encode() not in entry.data["payload"]
    judgement = framing.text_is_utf8(list(timeline), "epcscf")
    assert judgement is not None and judgement.verdict == "FAIL"


# -- credentials found by their shape (issue 8 item 6) ----------------------------------------

DIGEST = 'Authorization: Digest username="alice", nonce="abc", response="0123456789abcdef0123456789abcdef"'


def test_a_digest_response_is_replaced_by_its_fingerprint_and_an_empty_one_stays() -> None:
    redactor = Redactor()
    text = redactor.text(DIGEST)
    assert "0123456789abcdef" not in text and 'response="<redacted sha256:' in text
    assert 'username="alice", nonce="abc"' in text  # what the checks read stays
    tna = 'Authorization: Digest username="alice", nonce="", response="", integrity-protected="auth-done"'
    assert redactor.text(tna) == tna
    assert "deadbeefcafe" not in redactor.text('Authentication-Info: rspauth="deadbeefcafe"')
    assert redactor.text(text) == text  # a stand-in is not redacted again


def test_bearer_tokens_wicct_never_minted_are_redacted_in_text_and_bytes() -> None:
    redactor = Redactor()
    raw = b"MESSAGE sip:b SIP/2.0\r\nAuthorization: Bearer sut.own-token~1\r\nX: \xff\r\n\r\n"
    data = redactor.value(raw)
    assert isinstance(data, bytes) and b"sut.own-token~1" not in data and b"\xff" in data
    assert b"Authorization: Bearer <redacted sha256:" in data
    for text in ('Authorization: Bearer access_token="opaque-1"', "log: Bearer abcdefghijklmnopqrstuvwxyz0123",
                 "token=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln&x=1"):
        assert "<redacted sha256:" in redactor.text(text), text
    for text in ('WWW-Authenticate: Bearer error="invalid_token", authz_server="https://as"',
                 "the Bearer token is not forwarded", 'WWW-Authenticate: Bearer realm="ims"'):
        assert redactor.text(text) == text  # challenges and prose are not credentials


def test_a_piece_of_a_jwt_is_redacted_too() -> None:
    """A message or log cut inside a token leaves a JWT without its dots: its base64url JSON
    head (`eyJ...`) is still a credential's part and never reaches a report."""
    redactor = Redactor()
    for text in ('..."eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9', "tail: eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzd",
                 "Authorization: Bea eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9"):
        out = redactor.text(text)
        assert "eyJ" not in out and "<redacted sha256:" in out, out
    assert redactor.text("the key eyJ is short") == "the key eyJ is short"


def test_a_pattern_match_has_the_fingerprint_an_issuer_s_token_has() -> None:
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"
    registered = Redactor()
    registered.add(token, fingerprint=True)
    assert registered.text(f"Bearer {token}") == Redactor().text(f"Bearer {token}")
    assert Redactor.of(["pw-123"]).text("pw-123") == REDACTED


def test_a_short_secret_is_redacted_as_a_word_never_inside_a_value_checks_judge() -> None:
    """A profile password "1234" was replaced inside a Via port (51234), so a check read a
    mangled sent-by; a long secret still goes wherever it is, even glued to letters."""
    redactor = Redactor.of(["1234", "a-long-password"])
    text = "Via: SIP/2.0/WSS 127.0.0.1:51234;branch=z9hG4bK1234x pw=1234, xa-long-passwordy"
    assert redactor.text(text) == f"Via: SIP/2.0/WSS 127.0.0.1:51234;branch=z9hG4bK1234x pw={REDACTED}, x{REDACTED}y"
    assert redactor.value(text.encode()) == redactor.text(text).encode()
    # one secret never matches inside another's stand-in
    assert Redactor.of(["act", "xxsecretxx"]).text("act xxsecretxx") == f"{REDACTED} {REDACTED}"
