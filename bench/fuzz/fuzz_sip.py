"""Fuzz target: the SIP parser (harness/sip/: message, headers, auth; RFC 3261 §7, §20, §25).

Property: every parser raises `SipParseError` and nothing else (harness/sip/errors.py), and a
message that parses serialises to octets that parse again to the same message (what wicct
re-sends, it must read back). The first input byte picks the parser; the rest is its input.
Seeds: RFC 4475's torture messages (tests/sip/rfc4475.py).

    python bench/fuzz/fuzz_sip.py -runs=1000000        # atheris
    python bench/fuzz/fuzz_sip.py --hypothesis 10000   # hypothesis
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import REPO, Property, instrumented, main  # noqa: E402

with instrumented(__name__ == "__main__"):
    from harness.sip import (
        CSeq,
        NameAddr,
        SipParseError,
        SipUri,
        Via,
        parse,
        parse_challenge,
        parse_credentials,
        parse_params,
        unquote,
    )
    from harness.sip.errors import decode_text
    from harness.sip.headers import split_header_list

NAME = "sip"

HEADER_PARSERS: tuple[Callable[[str], object], ...] = (
    SipUri.parse, NameAddr.parse, Via.parse, CSeq.parse, parse_params, parse_challenge,
    parse_credentials, unquote, split_header_list,
)


def check_message(data: bytes) -> None:
    """parse() raises SipParseError only; a parsed message reads back the same, and every
    typed accessor raises SipParseError only."""
    try:
        result = parse(data)
    except SipParseError:
        return
    message = result.message
    assert result.consumed + len(result.excess) == len(data)
    again = parse(message.to_bytes()).message
    assert (again.start_line, again.headers, again.body) == (
        message.start_line, message.headers, message.body), (message, again)
    message.summary()
    for accessor in ("call_id", "cseq", "vias", "top_via", "from_", "to", "contacts",
                     "content_length", "max_forwards"):
        with contextlib.suppress(SipParseError):
            getattr(message, accessor)
    for _, value in message.headers:
        for parser in (NameAddr.parse, Via.parse, parse_challenge):
            with contextlib.suppress(SipParseError):
                parser(value)


def check_header(data: bytes) -> None:
    """Each header-value parser raises SipParseError only; a parsed value prints back to
    text that parses to the same value."""
    if not data:
        return
    parser = HEADER_PARSERS[data[0] % len(HEADER_PARSERS)]
    text = decode_text(data[1:])
    try:
        value = parser(text)
    except SipParseError:
        return
    if isinstance(value, SipUri | NameAddr | Via | CSeq):
        assert type(value).parse(str(value)) == value, (text, str(value))


def one_input(data: bytes) -> None:
    if data[:1] == b"\x00":
        check_header(data[1:])
    else:
        check_message(data)


def _torture() -> list[bytes]:
    spec = importlib.util.spec_from_file_location("rfc4475", REPO / "tests/sip/rfc4475.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    texts = [v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)]
    return [module.wire(t) for t in texts]


def seeds() -> list[bytes]:
    return _torture()


# -- hypothesis: messages built from SIP's own pieces, then mutated ----------------------

_NAMES = ["Via", "v", "From", "f", "To", "t", "Call-ID", "i", "CSeq", "Contact", "m",
          "Content-Length", "l", "Max-Forwards", "Authorization", "WWW-Authenticate",
          "Route", "Record-Route", "Content-Type", "c", "X-Junk"]
_VALUES = [
    "SIP/2.0/WSS example.invalid;branch=z9hG4bK776asdhds;rport", "SIP / 2.0 / UDP [::1]:5060",
    '"Alice \\"A\\"" <sip:alice@example.com>;tag=1928301774', "sip:bob@[2001:db8::1]:5061;lr",
    "<sips:bob@example.com;transport=ws?subject=x>", "*", "314159 INVITE", "0 REGISTER",
    "a84b4c76e66710@pc33.atlanta.com", 'Digest username="u", realm="r", nonce="n", '
    'uri="sip:r", response="0123456789abcdef0123456789abcdef"', "Bearer eyJhbGciOi.x.y",
    "70", "0", "00000000000000000000012", "-1", "<tel:+1-201-555-0123>", "sip:%41@h;a=\"b\"",
]
_START = ["REGISTER sip:example.com SIP/2.0", "INVITE sips:bob@example.com;transport=ws SIP/2.0",
          "SIP/2.0 200 OK", "SIP/2.0 401 Unauthorized", "OPTIONS * SIP/2.0", "SIP/2.0 699 ",
          "MESSAGE tel:+1234 SIP/2.0"]


@st.composite
def sip_messages(draw: st.DrawFn) -> bytes:
    start = draw(st.sampled_from(_START) | st.text(max_size=40))
    headers = draw(st.lists(
        st.tuples(st.sampled_from(_NAMES) | st.text(max_size=12),
                  st.sampled_from(_VALUES) | st.text(max_size=60)), max_size=12))
    body = draw(st.binary(max_size=80))
    eol = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    head = eol.join([start, *(f"{n}:{draw(st.sampled_from(['', ' ', eol + ' ']))}{v}"
                              for n, v in headers)])
    data = (head + eol + eol).encode("utf-8", "surrogatepass") + body
    cut = draw(st.integers(0, len(data)))
    return data[:cut] if draw(st.booleans()) else data


PROPERTIES: list[Property] = [
    (st.binary(max_size=2048), one_input),
    (sip_messages(), check_message),
    (st.sampled_from(_torture()).flatmap(
        lambda m: st.tuples(st.just(m), st.integers(0, len(m)), st.binary(max_size=8))).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]):]), check_message),
    (st.tuples(st.integers(0, 255), st.text(max_size=200)).map(
        lambda t: bytes([t[0]]) + t[1].encode("utf-8", "surrogatepass")), check_header),
]

if __name__ == "__main__":
    sys.exit(main(NAME, one_input, seeds, PROPERTIES))
