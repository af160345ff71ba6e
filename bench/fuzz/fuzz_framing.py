"""Fuzz target: the framing judge (harness/checks/framing.py) on evidence made from frames.

The bytes a SUT could send after the upgrade go through the real evidence path: websockets'
sans-I/O protocol as wicct observes it (harness/ws/observe.py), the frame and message
recorder (harness/ws/record.py) and the SIP channel's reading of each message
(harness/actors/channel.py), then the four judges of WIC-FR-01..03 and BOTH-FR-10, and the
timeline's report.json form. Property: nothing raises; every cited entry exists; no junk
sender gets a PASS (an unmasked client frame is never PASS on masking, invalid UTF-8 never
PASS on UTF-8, an unparsable message never PASS on one SIP message per WebSocket message).

    python bench/fuzz/fuzz_framing.py -runs=1000000        # atheris
    python bench/fuzz/fuzz_framing.py --hypothesis 10000   # hypothesis
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import Property, instrumented, main  # noqa: E402

with instrumented(__name__ == "__main__"):
    from websockets.protocol import OPEN
    from websockets.uri import parse_uri

    from harness import evidence as ev
    from harness.actors.channel import SipChannel
    from harness.checks import framing
    from harness.evidence import Timeline
    from harness.verdicts import Verdict
    from harness.ws.observe import ObservedClient, ObservedServer, raw_frame
    from harness.ws.record import ConnectionRecord, Recorder

NAME = "framing"
ACTOR = "epcscf"


class _Conn:
    """What SipChannel's recorder reads of a connection: its id."""

    conn_id = "c1"


def judge(wire: bytes, *, server: bool, chunk: int = 0) -> Timeline:
    """Feed `wire` to wicct's side of an open connection (the server when the SUT is a WIC,
    the client when it is an eP-CSCF), record it, read the messages as SIP, judge."""
    timeline = Timeline()
    protocol = (ObservedServer(state=OPEN) if server
                else ObservedClient(parse_uri("wss://127.0.0.1/"), state=OPEN))
    record = ConnectionRecord(protocol, Recorder(timeline, ACTOR, "c1"))
    step = chunk or len(wire) or 1
    for at in range(0, len(wire), step):
        protocol.receive_data(wire[at:at + step])
        record.drain()
    protocol.receive_eof()
    record.drain()
    channel = SipChannel(_Conn(), timeline, ACTOR)  # type: ignore[arg-type]
    for message in record.inbox:
        channel._record(message)
    record.close("peer")
    entries = list(timeline)
    kinds = {(e.kind, e.direction) for e in entries}
    for check in (framing.one_sip_message_per_ws_message, framing.frames_masked,
                  framing.text_is_utf8, framing.only_sip_and_keepalives):
        judged = check(entries, ACTOR)
        if judged is None:
            continue
        assert all(1 <= seq <= len(entries) for seq in judged.evidence), judged
        if judged.verdict is Verdict.PASS:
            assert judged.evidence, judged
            _no_junk_passes(check.__name__, entries, kinds)
    json.dumps(timeline.to_json())
    return timeline


def _no_junk_passes(name: str, entries: list[ev.Entry], kinds: set[tuple[str, str]]) -> None:
    rx = [e for e in entries if e.direction == "rx"]
    if name == "frames_masked":
        assert all(ev.ws_frame.of(e)["masked"] for e in rx if e.kind == ev.WS_FRAME), name
    if name == "text_is_utf8":
        assert not any(ev.ws_error.of(e)["code"] == 1007 for e in rx if e.kind == ev.WS_ERROR)
    if name == "one_sip_message_per_ws_message":
        assert (ev.SIP_ERROR, "rx") not in kinds, name


def one_input(data: bytes) -> None:
    if not data:
        return
    judge(data[1:], server=bool(data[0] & 1), chunk=data[0] >> 1)


def seeds() -> list[bytes]:
    sip = (b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/WSS h;branch=z9hG4bK1\r\nFrom: <sip:a@b>"
           b";tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    frames = [
        raw_frame(opcode=1, payload=sip, mask=True),
        raw_frame(opcode=1, payload=sip[:40], fin=False, mask=True)
        + raw_frame(opcode=9, payload=b"p", mask=True)
        + raw_frame(opcode=0, payload=sip[40:], mask=True),
        raw_frame(opcode=2, payload=sip + b"junk", mask=True),
        raw_frame(opcode=1, payload=b"ok \xff", mask=True),
        raw_frame(opcode=1, payload=b"\r\n\r\n", mask=False),
        raw_frame(opcode=8, payload=b"\x03\xe8bye", mask=True),
    ]
    return [bytes([side]) + wire for wire in frames for side in (1, 0)]


# -- hypothesis: sequences of frames, valid and not ---------------------------------------

_PAYLOADS = st.sampled_from([s[1:] for s in seeds()]) | st.binary(max_size=200) | st.text(
    max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass"))


@st.composite
def frames(draw: st.DrawFn) -> tuple[bytes, bool, int]:
    server = draw(st.booleans())
    parts = []
    for _ in range(draw(st.integers(0, 8))):
        parts.append(raw_frame(
            opcode=draw(st.sampled_from([0, 1, 2, 8, 9, 10]) | st.integers(0, 15)),
            payload=draw(_PAYLOADS), fin=draw(st.booleans()),
            rsv1=draw(st.booleans()) and draw(st.booleans()), rsv2=False,
            rsv3=draw(st.booleans()) and draw(st.booleans()),
            mask=server if draw(st.integers(0, 9)) else not server,
        ))
    wire = b"".join(parts)
    cut = draw(st.integers(0, len(wire)))
    return wire[:cut] if draw(st.booleans()) else wire, server, draw(st.integers(0, 64))


PROPERTIES: list[Property] = [
    (st.binary(max_size=1024), one_input),
    (frames(), lambda t: judge(t[0], server=t[1], chunk=t[2]) and None),
]

if __name__ == "__main__":
    sys.exit(main(NAME, one_input, seeds, PROPERTIES))
