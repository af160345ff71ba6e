"""External drivers: an eP-CSCF or WIC wicct neither starts nor drives (real loopback sockets)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from harness.pki import Pki
from harness.profiles import Profile
from harness.suts.base import DriverError, EpcscfEnv, SutUnavailable, WicEnv, WicState
from harness.suts.external import ExternalEpcscfDriver, ExternalWicDriver

from .conftest import HOST, Listener


def _env(
    profile: Profile, pki: Pki, tmp_path: Path, *, core_port: int = 5060
) -> tuple[EpcscfEnv, list[str]]:
    lines: list[str] = []
    env = EpcscfEnv(
        profile=profile,
        pki=pki,
        core_host=HOST,
        core_port=core_port,
        core_transport="udp",
        workdir=tmp_path,
        log=lines.append,
    )
    return env, lines


def _epcscf(
    write_profile, url: str, *, ca: str = "", core: str = "udp://127.0.0.1:5060", **timers: str
) -> Profile:
    return write_profile(
        "epcscf",
        "external",
        sut={"url": url, "ca": ca, "domain": "ims.example.test"},
        core={"listen": core},
        timers=timers or {"start_timeout": "2s"},
    )


async def _accepted(listener: Listener, at_least: int = 1) -> int:
    deadline = time.monotonic() + 1.0
    while listener.accepted < at_least and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return listener.accepted


# -- eP-CSCF ---------------------------------------------------------------------------------
async def test_reachable_epcscf_gives_its_endpoint(write_profile, pki, tmp_path, listener):
    url = f"wss://{HOST}:{listener.port}/"
    profile = _epcscf(write_profile, url, ca=str(pki.ca_pem))
    env, lines = _env(profile, pki, tmp_path)

    endpoint = await ExternalEpcscfDriver().start(env)

    assert await _accepted(listener) == 1  # the check really connected
    assert endpoint.ws_url == url
    assert (endpoint.host, endpoint.port) == (HOST, listener.port)
    assert endpoint.ca_pem == pki.ca_pem
    assert endpoint.domain == "ims.example.test"
    assert any(url in line for line in lines)


async def test_closed_port_is_unavailable_naming_the_url(write_profile, pki, tmp_path, closed_port):
    url = f"wss://{HOST}:{closed_port}/"
    env, _ = _env(_epcscf(write_profile, url, ca=str(pki.ca_pem)), pki, tmp_path)
    started = time.monotonic()
    with pytest.raises(SutUnavailable) as info:
        await ExternalEpcscfDriver().start(env)
    assert str(info.value) == f"cannot reach {url}: connection refused"
    assert time.monotonic() - started < 1.5  # refused is final: no waiting out start_timeout


async def test_connect_that_hangs_is_bounded_by_start_timeout(
    write_profile, pki, tmp_path, listener, monkeypatch
):
    async def never(*_args, **_kwargs):
        await asyncio.sleep(3600)

    monkeypatch.setattr(asyncio, "open_connection", never)
    url = f"wss://{HOST}:{listener.port}/"
    profile = _epcscf(write_profile, url, ca=str(pki.ca_pem), start_timeout="200ms")
    env, _ = _env(profile, pki, tmp_path)
    started = time.monotonic()
    with pytest.raises(SutUnavailable, match=r"cannot reach .*: no TCP connection within 0.2 s"):
        await ExternalEpcscfDriver().start(env)
    assert time.monotonic() - started < 1.0


async def test_generated_ca_makes_no_sense_for_an_external_epcscf(
    write_profile, pki, tmp_path, listener
):
    env, _ = _env(
        _epcscf(write_profile, f"wss://{HOST}:{listener.port}/", ca="generated"), pki, tmp_path
    )
    with pytest.raises(SutUnavailable, match="generated.*run's CA is made at run time"):
        await ExternalEpcscfDriver().start(env)
    assert listener.accepted == 0


async def test_system_trust_store_gives_no_ca_file(write_profile, pki, tmp_path, listener):
    env, _ = _env(
        _epcscf(write_profile, f"wss://{HOST}:{listener.port}/", ca="system"), pki, tmp_path
    )
    endpoint = await ExternalEpcscfDriver().start(env)
    assert endpoint.ca_pem is None


async def test_relative_ca_path_is_taken_beside_the_profile(write_profile, pki, tmp_path, listener):
    (tmp_path / "sut-ca.pem").write_bytes(pki.ca_pem.read_bytes())
    env, _ = _env(
        _epcscf(write_profile, f"wss://{HOST}:{listener.port}/", ca="sut-ca.pem"), pki, tmp_path
    )
    endpoint = await ExternalEpcscfDriver().start(env)
    assert endpoint.ca_pem == tmp_path / "sut-ca.pem"


@pytest.mark.parametrize(
    ("content", "match"),
    [(None, "no such file"), (b"not a certificate\n", "not a usable PEM CA")],
)
async def test_bad_ca_file_is_unavailable(write_profile, pki, tmp_path, listener, content, match):
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_bytes(content)
    env, _ = _env(
        _epcscf(write_profile, f"wss://{HOST}:{listener.port}/", ca=str(ca)), pki, tmp_path
    )
    with pytest.raises(SutUnavailable, match=match):
        await ExternalEpcscfDriver().start(env)


@pytest.mark.parametrize(
    ("url", "match"),
    [("wss://127.0.0.1:99999/", "does not parse"), ("wss:///", "names no host")],
)
async def test_unusable_url_is_unavailable(write_profile, pki, tmp_path, url, match):
    env, _ = _env(_epcscf(write_profile, url, ca="system"), pki, tmp_path)
    with pytest.raises(SutUnavailable, match=match):
        await ExternalEpcscfDriver().start(env)


async def test_core_stub_elsewhere_than_core_listen_is_unavailable(
    write_profile, pki, tmp_path, listener
):
    profile = _epcscf(
        write_profile, f"wss://{HOST}:{listener.port}/", ca="system", core="udp://127.0.0.1:5060"
    )
    env, _ = _env(profile, pki, tmp_path, core_port=5070)
    with pytest.raises(SutUnavailable, match=r"core.listen udp://127.0.0.1:5060.*:5070"):
        await ExternalEpcscfDriver().start(env)


async def test_core_transport_must_match_core_listen(write_profile, pki, tmp_path, listener):
    profile = _epcscf(
        write_profile, f"wss://{HOST}:{listener.port}/", ca="system", core="tcp://127.0.0.1:5060"
    )
    env, _ = _env(profile, pki, tmp_path, core_port=5060)  # the stub is on udp
    with pytest.raises(SutUnavailable, match="core.listen tcp://"):
        await ExternalEpcscfDriver().start(env)


async def test_free_core_port_only_warns(write_profile, pki, tmp_path, listener):
    profile = _epcscf(
        write_profile, f"wss://{HOST}:{listener.port}/", ca="system", core="udp://127.0.0.1:0"
    )
    env, lines = _env(profile, pki, tmp_path, core_port=40123)
    await ExternalEpcscfDriver().start(env)
    warnings = [line for line in lines if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "udp://127.0.0.1:40123" in warnings[0] and "fixed port" in warnings[0]


# -- WIC -------------------------------------------------------------------------------------
def _wic_env(write_profile, pki, tmp_path, url: str, **options: object) -> tuple[WicEnv, list[str]]:
    profile = write_profile("wic", "external", driver_options=options)
    lines: list[str] = []
    env = WicEnv(
        profile=profile,
        pki=pki,
        epcscf_url=url,
        ca_pem=pki.ca_pem,
        workdir=tmp_path,
        log=lines.append,
    )
    return env, lines


async def test_external_wic_waits_for_the_wic_and_cannot_command_it(write_profile, pki, tmp_path):
    env, lines = _wic_env(write_profile, pki, tmp_path, "wss://127.0.0.1:7443/", listen_port=7443)
    driver = ExternalWicDriver()
    await driver.start(env)
    assert any("wss://127.0.0.1:7443/" in line and str(pki.ca_pem) in line for line in lines)

    await driver.register()  # only waits: the WIC registers by itself
    for verb, call in (
        ("call", lambda: driver.call("sip:bob@ims.example.test")),
        ("answer", driver.answer),
        ("hang up", driver.hangup),
        ("unregister", driver.unregister),
    ):
        with pytest.raises(DriverError) as info:
            await call()
        assert str(info.value) == (
            f"the external driver cannot make the WIC {verb}: use the manual or http driver"
        )
    assert await driver.state() == WicState(detail="unknown (external)")
    await driver.stop()


async def test_external_wic_register_waits_register_wait(write_profile, pki, tmp_path):
    env, _ = _wic_env(
        write_profile, pki, tmp_path, "wss://127.0.0.1:7443/", listen_port=7443, register_wait=0.2
    )
    driver = ExternalWicDriver()
    await driver.start(env)
    started = time.monotonic()
    await driver.register()
    assert 0.2 <= time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({}, "needs driver_options.listen_port"),
        ({"listen_port": "seven"}, "not a port number"),
        ({"listen_port": 7444}, r"pointed at port 7444 .* wss://127.0.0.1:7443/"),
        ({"listen_port": 7443, "register_wait": "later"}, "register_wait 'later' is not a number"),
    ],
)
async def test_external_wic_needs_the_emulator_on_its_fixed_port(
    write_profile, pki, tmp_path, options, match
):
    env, _ = _wic_env(write_profile, pki, tmp_path, "wss://127.0.0.1:7443/", **options)
    with pytest.raises(SutUnavailable, match=match):
        await ExternalWicDriver().start(env)


async def test_emulator_listens_on_the_port_an_external_wic_was_given(pki, tmp_path):
    """An external WIC was pointed at a fixed port: wicct's eP-CSCF emulator must be there."""
    import dataclasses
    import socket

    from harness.actors.epcscf_emulator import EpcscfEmulator
    from harness.evidence import Timeline
    from harness.profiles import load_profile

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = load_profile(Path(__file__).resolve().parents[2] / "profiles" / "reference-wic.yaml")
    profile = dataclasses.replace(base, driver="external", driver_options={"listen_port": port})
    emulator = EpcscfEmulator(timeline=Timeline(), profile=profile, pki=pki, workdir=tmp_path)
    try:
        assert await emulator.start() == f"wss://127.0.0.1:{port}/"
    finally:
        await emulator.stop()
