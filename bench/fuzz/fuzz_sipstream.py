"""Fuzz target: the SIP stream reader (harness/sipstream.py; RFC 3261 §18.3 framing by
Content-Length on the IMS core's TCP hop).

Property: over any byte stream, `read_sip_stream` returns messages, keep-alives and then
None at the end, never raises, and always makes progress (each message comes out of the
stream's bytes in order; the stream is consumed in at most one call per byte). Each message
that parses as SIP has exactly its Content-Length of body.

    python bench/fuzz/fuzz_sipstream.py -runs=1000000        # atheris
    python bench/fuzz/fuzz_sipstream.py --hypothesis 10000   # hypothesis
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import Property, instrumented, main  # noqa: E402

with instrumented(__name__ == "__main__"):
    from harness.sip import SipParseError, parse
    from harness.sipstream import read_sip_stream

NAME = "sipstream"
_LOOP = asyncio.new_event_loop()


async def _read_all(data: bytes, limit: int) -> list[bytes]:
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    reader.feed_eof()
    out: list[bytes] = []
    for _ in range(len(data) + 1):
        message = await read_sip_stream(reader)
        if message is None:
            return out
        out.append(message)
    raise AssertionError(f"no end after {len(data) + 1} reads: {out[-3:]!r}")


def check_stream(case: tuple[bytes, int]) -> None:
    data, limit = case
    messages = _LOOP.run_until_complete(asyncio.wait_for(_read_all(data, limit), 30))
    at = 0
    for message in messages:
        found = data.find(message, at) if message else at
        assert found >= 0, (message, data)
        at = found + len(message)
        if not message:
            continue
        try:
            result = parse(message)
        except SipParseError:
            continue
        if result.declared_length is not None and result.declared_length > 0:
            assert not result.excess and len(result.message.body) == result.declared_length


def one_input(data: bytes) -> None:
    check_stream((data[1:], 64 + (data[0] if data else 0) * 256))


def seeds() -> list[bytes]:
    sip = (b"INVITE sip:b@c SIP/2.0\r\nl: 5\r\nCall-ID: x\r\n\r\nhello"
           b"\r\n\r\nSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    return [b"\xff" + sip, b"\x00" + sip * 3, b"\x01\r\n\r\n\r\nX\r\nContent-Length: -1\r\n\r\n"]


_PIECES = st.sampled_from([b"\r\n", b"\r\n\r\n", b"SIP/2.0 200 OK\r\n", b"Content-Length: 7\r\n",
                           b"l:3\r\n", b"content-length : 99999999999\r\n", b"L: \xd9\xa3\r\n",
                           b"Content-Length: 0\r\n", b"x" * 300]) | st.binary(max_size=40)

PROPERTIES: list[Property] = [
    (st.binary(max_size=2048), one_input),
    (st.tuples(st.lists(_PIECES, max_size=20).map(b"".join), st.integers(16, 4096)),
     check_stream),
]

if __name__ == "__main__":
    sys.exit(main(NAME, one_input, seeds, PROPERTIES))
