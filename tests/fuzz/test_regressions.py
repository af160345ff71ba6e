"""Crashes the fuzz targets of bench/fuzz/ found, each fixed in its module (issue 11, item 4).

Each test is the shrunk input of one crash: it fails on the code before the fix.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from harness.evidence import Redactor, Timeline, fingerprint_stand_in
from harness.report.junit import render_junit
from harness.report.text import clean
from harness.sdp import located
from harness.sdp.checker import answer_fits, check_answer

from .conftest import target

OFFER = target("sdp").corpus()[0]


# -- fuzz_sdp: an empty answer (aiortc parses it to nothing) --------------------------


def test_empty_answer_to_an_offer_fails_on_the_body_not_an_index_error() -> None:
    """answer_fits read the last line of an answer without lines (IndexError)."""
    for judged in (answer_fits(OFFER, ""), check_answer("", offer=OFFER)):
        assert not judged.passed
        assert judged.failures[0].rule == "sdp-syntax"
        assert judged.failures[0].line == 0


# -- fuzz_evidence: redaction on append ------------------------------------------------


def test_a_response_named_inside_a_quoted_value_does_not_hide_the_real_one() -> None:
    """`response="` in a quoted value ran to the next quote, so the real digest response
    after it was left in clear."""
    for before in ('username="response=", ', 'response=" '):
        text = Redactor().text(f'{before}response="0123456789abcdef0123"')
        assert "0123456789abcdef0123" not in text
        assert fingerprint_stand_in("0123456789abcdef0123") in text


def test_one_redaction_never_eats_the_name_of_another_credential() -> None:
    """`access_token= response="..."`: the access_token pattern took `response=` as its
    value; applied one after the other, the digest pattern then found no name."""
    for text in ('access_token= response="00000000000000000"', "access_token= access_token=x1y2z3w4v5"):
        redacted = Redactor().text(text)
        assert "00000000000000000" not in redacted and "x1y2z3w4v5" not in redacted


def test_a_credential_holding_stray_bytes_is_redacted_without_raising() -> None:
    """A SUT's stray byte after access_token= (SIP text is read with surrogateescape)
    raised UnicodeEncodeError in the fingerprint, on append."""
    start_line = b"REGISTER sip:x;access_token=a\xffb SIP/2.0".decode("utf-8", "surrogateescape")
    timeline = Timeline()
    entry = timeline.add("wic", "note", start_line, text=start_line)
    assert "a\udcffb" not in entry.summary and "<redacted sha256:" in entry.data["text"]


def test_jwt_like_runs_redact_in_linear_time() -> None:
    """`eyJ-eyJ-...` made every `eyJ` a JWT start and each scanned to the end of the run:
    quadratic, about 150 s for one 1 MB message, which a hostile SUT can send. The guard is
    a generous bound (60 s for what now takes milliseconds), so that the test fails instead
    of hanging if the quadratic pattern comes back."""
    code = ("from harness.evidence import Redactor\n"
            "run = 'eyJ-' * 250_000\n"
            "assert Redactor().text(run) == run\n"  # no JOSE header: never a credential
            "out = Redactor().text('eyJhbGciOiJIUzI1NiJ9' + run)\n"  # {\"alg\":\"HS256\"} then the run
            "assert out.startswith('<redacted sha256:') and len(out) < 100\n")  # one JWT-like piece
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_random_base64_starting_like_a_jwt_is_no_secret() -> None:
    """A Sec-WebSocket-Accept (or a nonce) that happens to begin with `eyJ` was redacted as
    a piece of a JWT, and EPC-HS-01 then judged the stand-in: a false FAIL, once in a
    fresh-clone CI. Only a first part that decodes to a JOSE header's start counts."""
    for value in ("eyJabcdefghijklmnopqrstuvwx=", "eyJ_____abcdefghijklmnopqr",
                  "eyJ-eyJ-eyJ-eyJ-eyJ-eyJ", "eyJabcdefghijklmnopq.rstuvwxyz.abcd"):
        for text in (f"Sec-WebSocket-Accept: {value}", f'nonce="{value}"', value):
            assert Redactor().text(text) == text
            assert Redactor().value(text.encode()) == text.encode()
    piece = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9"[:19]  # {"typ":"JWT", cut in a log
    assert piece not in Redactor().text(f"cut here {piece}")


def test_a_real_jwt_is_still_redacted_where_it_starts() -> None:
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"
    for text in (token, f" {token}", f'"{token}"', f"token={token}&x", f"eyJ-eyJ {token}"):
        assert token not in Redactor().text(text)


# -- fuzz_report: junit.xml from hostile text ------------------------------------------


def _junit_of(profile: str, reason: str) -> bytes:
    report = {"cases": [{"id": "X-1", "profile": profile, "sut_role": "wic", "verdict": "FAIL",
                         "reason": reason, "findings": [], "evidence": []}],
              "suts": [{"profile": profile, "role": "wic", "name": reason}]}
    return ET.tostring(render_junit(report), encoding="utf-8")


def test_junit_is_well_formed_with_control_characters_in_a_profile_id() -> None:
    """The suite name (the profile id) went into the XML unescaped: `\\x08` is not XML."""
    ET.fromstring(_junit_of("bad\x08profile", "ok"))


def test_junit_is_well_formed_with_lone_surrogates() -> None:
    """Text read with surrogateescape (a SUT's stray bytes) became `&#56575;`, which XML
    1.0 forbids: the file did not parse."""
    root = ET.fromstring(_junit_of("p\udcff", "reason \udcff \ufffe end"))
    assert "\\udcff" in ET.tostring(root, encoding="unicode")
    assert clean("a\udcffb\ufffe") == "a\\udcffb\\ufffe"


# -- fuzz_sdp: naming the refused line of a long body ----------------------------------


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = located.SessionDescription.parse

    def counted(sdp: str) -> located.SessionDescription:
        calls.append(len(sdp))
        return real(sdp)

    monkeypatch.setattr(located.SessionDescription, "parse", counted)
    return calls


@pytest.mark.parametrize("where", ["session", "section", "long-section"])
def test_a_long_unparsable_body_is_located_in_few_parses(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every prefix of the body was parsed to find the refused line: quadratic, minutes
    for a hostile body of 10^4 lines (fuzz_sdp ran at 8 inputs/s). Now the session part and
    each m= section are searched on their own, a long one by halves; the line named is the
    same."""
    filler = "a=x-filler:1\r\n" * 3000
    head, _, media = OFFER.partition("m=")
    body = {"session": head + filler + "a=setup:bogus\r\nm=" + media,
            "section": OFFER + "a=rtcp:x\r\n" + filler,
            "long-section": OFFER + filler + "a=rtcp:x\r\n"}[where]
    calls = _parses(monkeypatch)
    refused = located.locate(body)
    assert isinstance(refused, located.Unparsable)
    assert refused.line.text in ("a=setup:bogus", "a=rtcp:x")
    assert len(calls) < 100, len(calls)  # the whole-body prefixes: over 3000
    lines = located.numbered(body)
    assert lines[refused.line.number - 1] == refused.line


def test_no_random_websocket_key_or_accept_is_redacted_even_when_it_starts_like_a_jwt() -> None:
    """The class behind that false FAIL: any random base64 value a check judges (keys,
    accepts, nonces), here 5,000 of each length forced to begin with `eyJ`, reads as sent."""
    import base64
    import random

    rng = random.Random(7118)
    redactor = Redactor()
    for size in (16, 20, 24):  # a Sec-WebSocket-Key, a Sec-WebSocket-Accept, a nonce
        for _ in range(5000):
            head = b'{"' + bytes([rng.randrange(0x40, 0x80)])  # base64 "eyJ" then any character
            value = base64.b64encode(head + rng.randbytes(size - 3)).decode()
            assert value.startswith("eyJ")
            text = f"Sec-WebSocket-Accept: {value}\r\n"
            assert redactor.text(text) == text, value
