"""wicct answers an offer with at most `MAX_SECTIONS` m= sections (issue 11: a 5000-section
offer made aiortc take 8.7 GB); past that it refuses before building anything."""

import asyncio

import pytest

from harness.sdp.jsep import MAX_SECTIONS, TooManySections, check_sections, make_answer
from harness.suts.hostile.behaviours import huge_offer


def offer(sections: int) -> str:
    head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    return head + "".join(f"m=audio {10000 + 2 * i} RTP/AVP 0\r\n" for i in range(sections))


def test_an_offer_past_the_limit_is_refused_before_aiortc_sees_it():
    check_sections(offer(MAX_SECTIONS))
    with pytest.raises(TooManySections, match=f"{MAX_SECTIONS + 1} m= sections"):
        check_sections(offer(MAX_SECTIONS + 1))
    with pytest.raises(TooManySections, match="5000 m= sections"):
        asyncio.run(make_answer(huge_offer().decode()))
