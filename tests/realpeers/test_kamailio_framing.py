"""RFC 3261 §18.3 in wicct's Kamailio eP-CSCF config, both ways, on the wire.

A WebSocket message (RFC 7118 §5) and a UDP datagram are message-oriented: octets after the
Content-Length MUST be discarded, a response whose Content-Length is larger than its body
MUST be discarded, and a request like that SHOULD get a 400. Kamailio relays the whole
received buffer and the sanity module's Content-Length check answers 400 to the first case,
so the config does it itself (route DISCARD_EXCESS, core reply_route): see
docs/conformance-notes.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from harness.pki import Pki

from . import sipmini
from .conftest import UdpPeer
from .test_kamailio_driver import TRUSTED, _profile, _recv_sip, _register, _start, needs_kamailio

pytestmark = pytest.mark.realpeer


def _message(body: str, declared: int | None = None) -> str:
    text = sipmini.serialise(
        "MESSAGE sip:bob@ims.example.test SIP/2.0",
        [
            ("Via", f"SIP/2.0/WSS abc123.invalid;branch={sipmini.new_branch()}"),
            ("Max-Forwards", "70"),
            ("To", "<sip:bob@ims.example.test>"),
            ("From", f"<sip:alice@ims.example.test>;tag={sipmini.new_tag()}"),
            ("Call-ID", secrets.token_hex(8)),
            ("CSeq", "1 MESSAGE"),
            ("Content-Type", "text/plain"),
        ],
        body,
    )
    if declared is None:
        return text
    return text.replace(f"Content-Length: {len(body)}\r\n", f"Content-Length: {declared}\r\n")


async def _nothing(ws: ClientConnection, seconds: float) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), seconds)


@needs_kamailio
async def test_kamailio_discards_what_rfc3261_18_3_discards(tmp_path: Path, pki: Pki, udp_core: UdpPeer) -> None:
    driver, endpoint = await _start(_profile(), pki, udp_core, tmp_path)
    ok = False
    try:
        async with connect(
            endpoint.ws_url, ssl=pki.client_context(), origin=Origin(TRUSTED),
            subprotocols=["sip"], compression=None, open_timeout=3,
        ) as ws:  # fmt: skip
            await ws.send(_register("sip:x7k2p9@abc123.invalid;transport=ws", secrets.token_hex(8)))
            data, kamailio = await udp_core.receive()
            register = sipmini.parse(data)
            udp_core.send(sipmini.response(register, 200, "OK", [("Path", register.get("Path"))]), kamailio)
            assert (await _recv_sip(ws)).status == 200

            # WIC → core: the octets after the Content-Length never reach the core.
            await ws.send(_message("kept; gone", declared=4))
            data, _ = await udp_core.receive()
            assert data.endswith(b"\r\n\r\nkept") and b"Content-Length: 4\r\n" in data, data[-120:]
            message = sipmini.parse(data)

            # core → WIC: a reply's excess octets are cut as well.
            reply = sipmini.response(message, 200, "OK", body="abc; gone")
            udp_core.send(reply.replace("Content-Length: 9\r\n", "Content-Length: 3\r\n"), kamailio)
            got = await _recv_sip(ws)
            assert got.status == 200 and got.body == "abc", got
            assert got.get("Content-Length") == "3"

            # core → WIC: a reply whose Content-Length exceeds its body is dropped.
            await ws.send(_message("second"))
            data, _ = await udp_core.receive()
            second = sipmini.parse(data)
            reply = sipmini.response(second, 200, "OK")
            udp_core.send(reply.replace("Content-Length: 0\r\n", "Content-Length: 20\r\n"), kamailio)
            await _nothing(ws, 0.4)
            udp_core.send(sipmini.response(second, 202, "Accepted"), kamailio)
            assert (await _recv_sip(ws)).status == 202

            # WIC → core: a request whose Content-Length exceeds its body gets 400, the core nothing.
            await ws.send(_message("short", declared=25))
            got = await _recv_sip(ws)
            assert got.status == 400, got.start
            seen = []  # tm may still retransmit `second` (its 200 was dropped): nothing else
            with contextlib.suppress(TimeoutError):
                while True:
                    data, _ = await udp_core.receive(timeout=0.4)
                    seen.append(sipmini.parse(data).get("Call-ID"))
            assert set(seen) <= {second.get("Call-ID")}, seen
        ok = True
    finally:
        await driver.stop()
        if not ok:
            print(driver.log_text()[-6000:])
    assert "RFC 3261 18.3: body of 10 octets cut to its Content-Length 4" in driver.log_text()
