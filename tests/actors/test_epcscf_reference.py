"""The reference eP-CSCF's building blocks, the driver registry and the external driver."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from harness.actors.core import CoreStub
from harness.actors.wic_emulator import WicEmulator
from harness.evidence import Timeline
from harness.pki import Pki, client_context
from harness.profiles import Profile, load_profile
from harness.sip import SipMessage, parse
from harness.sipstream import read_sip_stream
from harness.suts import registry
from harness.suts.base import EpcscfEnv, SutUnavailable
from harness.suts.reference import active_faults, origin_key, origin_trusted
from harness.suts.reference.epcscf import (
    ReferenceEpcscfDriver,
    insert_top,
    replace_top_value,
    set_values,
)

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "reference-epcscf.yaml"
TRUSTED = ("https://wwsf.example.test",)



@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


def env(profile: Profile, pki: Pki, tmp_path: Path, port: int = 5060, transport: str = "udp") -> EpcscfEnv:
    return EpcscfEnv(profile=profile, pki=pki, core_host="127.0.0.1", core_port=port,
                     core_transport=transport, workdir=tmp_path, log=lambda _: None)


class TestOrigin:
    """SEED 5.Y.1.1 with RFC 6454 origin comparison."""

    @pytest.mark.parametrize(
        "origin",
        ["https://wwsf.example.test", "https://WWSF.example.test", "https://wwsf.example.test:443",
         "https://wwsf.example.test/"],
    )
    def test_same_origin(self, origin: str) -> None:
        assert origin_trusted(origin, TRUSTED)

    @pytest.mark.parametrize(
        "origin",
        ["https://wwsf.example.test.evil", "http://wwsf.example.test", "https://wwsf.example.test:8443",
         "null", "", "https://attacker.example.net", "wwsf.example.test", "https://wwsf.example.test/x"],
    )
    def test_other_origin(self, origin: str) -> None:
        assert not origin_trusted(origin, TRUSTED)

    def test_key(self) -> None:
        assert origin_key("http://a.example:80") == ("http", "a.example", 80)
        assert origin_key("null") is None


class TestFaults:
    def test_unknown_fault_is_refused(self, profile: Profile) -> None:
        with pytest.raises(ValueError, match="no_such_fault"):
            active_faults(dataclasses.replace(profile, faults=("no_such_fault",)), "epcscf")
        with pytest.raises(ValueError):
            active_faults(dataclasses.replace(profile, faults=("no_origin",)), "epcscf")  # a WIC fault

    async def test_driver_turns_it_into_sut_unavailable(self, profile: Profile, pki: Pki, tmp_path: Path) -> None:
        driver = ReferenceEpcscfDriver()
        with pytest.raises(SutUnavailable, match="unknown fault"):
            await driver.start(env(dataclasses.replace(profile, faults=("bogus",)), pki, tmp_path))


class TestHeaders:
    MSG = parse(
        b"OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1, SIP/2.0/UDP h;branch=z9hG4bK2\r\n"
        b"Route: <sip:me@127.0.0.1:1;lr>, <sip:core@127.0.0.2;lr>\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
        b"Call-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).message

    def test_replace_and_pop_the_top_value(self) -> None:
        popped = replace_top_value(self.MSG, "Via", None)
        assert [v.host for v in popped.vias] == ["h"]
        marked = replace_top_value(self.MSG, "Via", "SIP/2.0/WSS a.invalid;branch=z9hG4bK1;received=127.0.0.1")
        assert marked.vias[0].received == "127.0.0.1" and marked.vias[1].host == "h"

    def test_insert_top_and_set_values(self) -> None:
        with_path = insert_top(self.MSG, "Path", "<sip:p@127.0.0.1;lr>")
        names = [n for n, _ in with_path.headers]
        assert names.index("Path") == names.index("Via") + 1
        routes = set_values(self.MSG, "Route", ["<sip:core@127.0.0.2;lr>"])
        assert routes.header_values("Route") == ["<sip:core@127.0.0.2;lr>"]
        assert set_values(self.MSG, "Route", []).header("Route") is None

    async def test_stream_framing(self) -> None:
        reader = asyncio.StreamReader()
        body = SipMessage("OPTIONS sip:b@x SIP/2.0", (("Content-Length", "3"),), b"abc").to_bytes()
        reader.feed_data(b"\r\n\r\n" + body + body)
        reader.feed_eof()
        assert await read_sip_stream(reader) == b""
        assert await read_sip_stream(reader) == body
        assert await read_sip_stream(reader) == body
        assert await read_sip_stream(reader) is None


class TestCoreOverTcp:
    async def test_register_reaches_a_tcp_core(self, profile: Profile, pki: Pki, tmp_path: Path) -> None:
        timeline = Timeline()
        tcp_profile = dataclasses.replace(profile, core_listen="tcp://127.0.0.1:0")
        core = CoreStub(timeline, tcp_profile)
        await core.start()
        driver = ReferenceEpcscfDriver()
        endpoint = await driver.start(env(tcp_profile, pki, tmp_path, core.port, "tcp"))
        wic = WicEmulator(timeline, tcp_profile, endpoint.ws_url, client_context(endpoint.ca_pem))
        try:
            await wic.connect()
            chan = wic.channel()
            assert chan is not None
            request = await wic.register(chan)
            ok = await chan.response_to(request, 2.0)
            assert ok is not None and ok.message.status == 200
            at_core = core.received("REGISTER")[0]
            assert at_core.source.transport == "tcp" and "transport=tcp" in at_core.message.header("Path")
            message = core.send_request("MESSAGE")
            answered = await core.wait_response(message, 2.0)
            assert answered is not None and answered.message.status == 200
        finally:
            await wic.stop()
            await driver.stop()
            await core.stop()
        assert "flow" in driver.log_text()


class TestRegistry:
    def test_known_drivers(self) -> None:
        assert registry.driver_class("epcscf", "reference") is ReferenceEpcscfDriver
        assert registry.driver_class("epcscf", "external").__name__ == "ExternalEpcscfDriver"

    def test_unknown_and_unloadable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(SutUnavailable, match="no epcscf driver 'teleport'"):
            registry.driver_class("epcscf", "teleport")
        monkeypatch.setitem(registry.DRIVERS, ("epcscf", "ghost"), "harness.suts.no_such_module:Driver")
        with pytest.raises(SutUnavailable, match="cannot be loaded"):
            registry.driver_class("epcscf", "ghost")
        monkeypatch.setitem(registry.DRIVERS, ("epcscf", "typo"), "harness.suts.registry:NoSuchClass")
        with pytest.raises(SutUnavailable, match="has no NoSuchClass"):
            registry.driver_class("epcscf", "typo")

    def test_make_driver(self, profile: Profile) -> None:
        assert isinstance(registry.make_driver(profile), ReferenceEpcscfDriver)
