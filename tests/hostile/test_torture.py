"""The RFC 4475 §3 torture texts (package data) and their notation."""

from __future__ import annotations

import pytest

from harness.sip import SipParseError, parse
from harness.suts.hostile import torture

# RFC 4475 §3: 3.1.1 (13 valid), 3.1.2 (18 invalid), 3.2 (1), 3.3 (15), 3.4 (1)
RFC_4475_NAMES = ["wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri", "transports", "mpart01", "unreason", "noreason", "badinv01", "clerr", "scalar02", "scalarlg", "quotbal", "ltgtruri", "lwsruri", "lwsstart", "trws", "escruri", "baddate", "regbadct", "badaspec", "baddn", "badvers", "mismatch01", "mismatch02", "bigcode", "badbranch", "insuf", "unkscm", "novelsc", "unksm2", "bext01", "invut", "regaut01", "multi01", "mcl01", "bcast", "zeromf", "cparam01", "cparam02", "regescrt", "sdp01", "inv2543"]


def test_every_message_of_section_3_is_there_in_order() -> None:
    assert list(torture.messages()) == RFC_4475_NAMES


@pytest.mark.parametrize("name", RFC_4475_NAMES)
def test_each_message_has_a_head_that_ends(name: str) -> None:
    message = torture.messages()[name]
    assert b"\r\n\r\n" in message, "every torture message has a blank line after its head"
    assert not message.startswith(b"#")


def test_notation_octets_repeats_comments_and_empty_lines() -> None:
    text = "# a comment\n=== one\nA {3*ab}\\x00\\xff\n# inside\n\\\nbody\n\n\n=== two\nX\n"
    assert torture.parse_file(text) == {
        "one": b"A ababab\x00\xff\r\n\r\nbody\r\n",
        "two": b"X\r\n",
    }


@pytest.mark.parametrize(
    "text", ["stray\n=== one\nA\n", "=== one\nA\n=== one\nB\n"], ids=["before", "twice"]
)
def test_a_broken_file_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="torture file line"):
        torture.parse_file(text)


def test_the_traps_are_really_there() -> None:
    """A sample of the traps: a test that the texts are not tamed by accident."""
    m = torture.messages()
    assert b"\x00" in m["intmeth"] and b"\x07" in m["intmeth"]  # NUL and BEL in a quoted string
    assert m["bigcode"].startswith(b"SIP/2.0 4294967301 ")
    assert m["badvers"].startswith(b"OPTIONS sip:t.watson@ims.example.test SIP/7.0\r\n")
    assert m["dblreq"].count(b" SIP/2.0\r\n") == 2  # two requests in one message
    assert m["mcl01"].count(b"Content-Length:") == 2
    assert len(m["longreq"]) > 2000
    with pytest.raises(SipParseError):
        parse(m["clerr"])  # a Content-Length larger than the body (RFC 3261 §18.3)
