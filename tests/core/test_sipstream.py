"""SIP over a byte stream (harness.sipstream): Content-Length framing, bounded."""

import asyncio

from harness.sipstream import MAX_BODY, read_sip_stream


def _read(data: bytes, eof: bool = True) -> bytes | None:
    async def go() -> bytes | None:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        return await asyncio.wait_for(read_sip_stream(reader), 2.0)

    return asyncio.run(go())


def test_a_message_is_framed_by_its_content_length():
    head = b"MESSAGE sip:b SIP/2.0\r\nContent-Length: 5\r\n\r\n"
    assert _read(head + b"hello" + b"NEXT") == head + b"hello"
    assert _read(b"\r\n\r\n") == b""


def test_an_announced_body_over_the_limit_ends_the_stream_without_buffering_it():
    """A peer announcing 10**12 octets (and sending them slowly, or never) must not make
    wicct buffer without end: the stream is unframeable, read as its end (no EOF fed:
    without the limit this would wait for the body)."""
    for length in (MAX_BODY + 1, 10**12):
        head = f"MESSAGE sip:b SIP/2.0\r\nContent-Length: {length}\r\n\r\n".encode()
        assert _read(head + b"x" * 100, eof=False) is None


def test_an_unframeable_stream_says_why_it_ended():
    """The stream's end is never silent: the caller gets the reason for its evidence."""
    reasons: list[str] = []

    async def go(data: bytes, eof: bool = True) -> bytes | None:
        reader = asyncio.StreamReader(limit=1024)
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        return await asyncio.wait_for(read_sip_stream(reader, reasons.append), 2.0)

    head = f"MESSAGE sip:b SIP/2.0\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode()
    assert asyncio.run(go(head, eof=False)) is None
    assert asyncio.run(go(b"MESSAGE sip:b SIP/2.0\r\nX: " + b"a" * 4096, eof=False)) is None
    assert asyncio.run(go(b"MESSAGE sip:b SIP/2.0\r\nContent-Length: 9\r\n\r\nhi")) is None
    assert asyncio.run(go(b"")) is None  # a plain end of stream: nothing to say
    assert len(reasons) == 3
    assert "over the" in reasons[0] and "limit" in reasons[1] and "short" in reasons[2]
