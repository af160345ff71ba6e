"""The hostile peers' parts, without a whole `wicct run`: the hand-written frame headers as
websockets reads them, and the hostile eP-CSCF's server in its own thread."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from harness.pki import Pki
from harness.profiles import load_profile
from harness.suts.base import EpcscfEndpoint, EpcscfEnv
from harness.suts.hostile.epcscf import HostileEpcscfDriver
from harness.suts.hostile.matrix import profile_text
from harness.suts.hostile.wire import frame_header


def test_a_masked_header_with_the_zero_key_carries_its_payload_as_it_is() -> None:
    server = ServerProtocol(state=State.OPEN)
    server.receive_data(frame_header(Opcode.TEXT.value, 5, masked=True) + b"hello")
    [frame] = server.events_received()
    assert isinstance(frame, Frame)
    assert (frame.opcode, frame.data, frame.fin) == (Opcode.TEXT, b"hello", True)
    long = frame_header(Opcode.BINARY.value, 70000, masked=False)
    assert long[:2] == b"\x82\x7f" and int.from_bytes(long[2:10], "big") == 70000


def test_the_announced_2_to_the_62_is_refused_by_a_bounded_reader() -> None:
    server = ServerProtocol(state=State.OPEN, max_size=1 << 20)
    server.receive_data(frame_header(Opcode.BINARY.value, 1 << 62, masked=True) + b"REG")
    assert server.events_received() == []
    assert server.close_sent is not None and server.close_sent.code == 1009  # RFC 6455 §7.4.1


async def _start(tmp_path: Path, pki: Pki, behaviour: str) -> tuple[HostileEpcscfDriver, EpcscfEndpoint]:
    path = tmp_path / "p.yaml"
    path.write_text(profile_text("epcscf", behaviour))
    env = EpcscfEnv(
        profile=load_profile(path), pki=pki, core_host="127.0.0.1", core_port=9,
        core_transport="udp", workdir=tmp_path, log=lambda _text: None,
    )
    driver = HostileEpcscfDriver()
    return driver, await driver.start(env)


@pytest.mark.parametrize(
    ("behaviour", "why"),
    [("wrong-name-cert", "match"), ("expired-cert", "expired"), ("untrusted-cert", "issuer")],
)
def test_each_certificate_row_fails_verification_for_its_reason(
    tmp_path: Path, pki: Pki, behaviour: str, why: str
) -> None:
    async def scenario() -> str:
        driver, endpoint = await _start(tmp_path, pki, behaviour)
        try:
            with pytest.raises(ssl.SSLCertVerificationError) as caught:
                await asyncio.wait_for(
                    asyncio.open_connection(endpoint.host, endpoint.port, ssl=pki.client_context()),
                    5.0,
                )
            return str(caught.value)
        finally:
            await driver.stop()

    assert why in asyncio.run(scenario())


def test_a_stall_after_tcp_peer_never_answers_tls_and_stops_cleanly(tmp_path: Path, pki: Pki) -> None:
    async def scenario() -> None:
        driver, endpoint = await _start(tmp_path, pki, "stall-after-tcp")
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(
                    asyncio.open_connection(endpoint.host, endpoint.port, ssl=pki.client_context()),
                    0.5,
                )
        finally:
            await driver.stop()
        assert driver.peer is None and "stall-after-tcp" in driver.log_text()

    asyncio.run(scenario())
