"""The Kamailio eP-CSCF driver against a minimal WIC (websockets client) and core (UDP).

Proves what the eP-CSCF cases rely on: the WSS handshake is accepted only from a trusted
Origin (SEED 5.Y.1.1), REGISTER reaches the core with Path and Via added (RFC 3327), the
200 comes back over the same WebSocket, and a terminating request the core routes with
`Route: <Path URI>` reaches the WIC's connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import socket
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.suts.base import EpcscfEndpoint, EpcscfEnv, SutUnavailable
from harness.suts.kamailio.config import ConfigError, EpcscfConfig, render_cfg
from harness.suts.kamailio.driver import KamailioEpcscfDriver, find_kamailio

from . import sipmini
from .conftest import PROFILES, UdpPeer

pytestmark = pytest.mark.realpeer
needs_kamailio = pytest.mark.skipif(
    find_kamailio() is None,
    reason="REAL PEER MISSING: kamailio not installed (run scripts/install-real-peers.sh)",
)

TRUSTED = "https://wwsf.example.test"


def _profile(**options: object) -> Profile:
    profile = load_profile(PROFILES / "kamailio-epcscf.yaml")
    return dataclasses.replace(profile, driver_options={**profile.driver_options, **options})


async def _start(profile: Profile, pki: Pki, core: UdpPeer, workdir: Path):
    driver = KamailioEpcscfDriver()
    env = EpcscfEnv(
        profile=profile,
        pki=pki,
        core_host="127.0.0.1",
        core_port=core.port,
        core_transport="udp",
        workdir=workdir,
        log=lambda line: print(line),
    )
    t0 = time.monotonic()
    endpoint = await driver.start(env)
    print(
        f"\nKamailio start-up: {time.monotonic() - t0:.3f} s total "
        f"(spawn to TLS ready {driver.startup_seconds:.3f} s)"
    )
    return driver, endpoint


async def _refused(
    endpoint: EpcscfEndpoint, pki: Pki, subprotocols: tuple[str, ...] = ("sip",), **kwargs: object
) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with connect(
            endpoint.ws_url,
            ssl=pki.client_context(),
            open_timeout=3,
            subprotocols=[*subprotocols],
            **kwargs,
        ):  # type: ignore[arg-type]
            pass
    return info.value.response.status_code


def _register(contact: str, call_id: str) -> str:
    return sipmini.serialise(
        "REGISTER sip:ims.example.test SIP/2.0",
        [
            ("Via", f"SIP/2.0/WSS abc123.invalid;branch={sipmini.new_branch()}"),
            ("Max-Forwards", "70"),
            ("To", "<sip:alice@ims.example.test>"),
            ("From", f"<sip:alice@ims.example.test>;tag={sipmini.new_tag()}"),
            ("Call-ID", call_id),
            ("CSeq", "1 REGISTER"),
            (
                "Contact",
                f"<{contact}>;+sip.ice;reg-id=1;"
                '+sip.instance="<urn:uuid:00000000-0000-4000-8000-000000000001>";expires=600',
            ),
            ("Supported", "path, outbound"),
            ("Expires", "600"),
        ],
    )


async def _recv_sip(ws: ClientConnection, timeout: float = 3.0) -> sipmini.Msg:
    data = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(data, str), "SIP over WebSocket comes in text frames here"
    return sipmini.parse(data)


@needs_kamailio
async def test_kamailio_origin_register_and_terminating_request(
    tmp_path: Path, pki: Pki, udp_core: UdpPeer
) -> None:
    driver, endpoint = await _start(_profile(), pki, udp_core, tmp_path)
    ok = False
    try:
        assert endpoint.ws_url.startswith("wss://127.0.0.1:")
        assert endpoint.ca_pem == pki.ca_pem

        # Foreign, look-alike, absent and duplicated Origins are refused at HTTP level.
        assert await _refused(endpoint, pki, origin=Origin("https://attacker.example")) == 403
        assert await _refused(endpoint, pki, origin=Origin(TRUSTED + ".evil")) == 403
        assert await _refused(endpoint, pki) == 403
        duplicated = [("Origin", TRUSTED), ("Origin", "https://attacker.example")]
        assert await _refused(endpoint, pki, additional_headers=duplicated) in (400, 403)

        async with connect(
            endpoint.ws_url,
            ssl=pki.client_context(),
            origin=Origin(TRUSTED),
            subprotocols=["sip"],
            compression=None,
            open_timeout=3,
        ) as ws:
            assert ws.subprotocol == "sip"
            contact = "sip:x7k2p9@abc123.invalid;transport=ws"
            call_id = secrets.token_hex(8)
            await ws.send(_register(contact, call_id))

            data, kamailio_addr = await udp_core.receive()
            register = sipmini.parse(data)
            assert register.method == "REGISTER"
            vias = register.get_all("Via")
            assert len(vias) == 2, vias
            assert vias[0].startswith("SIP/2.0/UDP 127.0.0.1:"), vias
            assert vias[1].startswith("SIP/2.0/WSS abc123.invalid"), vias
            paths = register.get_all("Path")
            assert len(paths) == 1, register.headers
            path_uri = sipmini.uri_of(paths[0])
            assert path_uri.startswith(f"sip:pcscf@127.0.0.1:{kamailio_addr[1]}"), path_uri
            assert ";lr" in path_uri and "received=" in path_uri, path_uri
            print(f"REGISTER at the core: Via {vias[0]!r}\n  Path {paths[0]!r}")

            udp_core.send(
                sipmini.response(
                    register,
                    200,
                    "OK",
                    [
                        ("Path", paths[0]),
                        ("Contact", f"<{contact}>;expires=600"),
                        ("Service-Route", "<sip:orig@scscf.ims.example.test;lr>"),
                    ],
                ),
                kamailio_addr,
            )
            ok200 = await _recv_sip(ws)
            assert ok200.status == 200 and ok200.cseq_method == "REGISTER"
            assert len(ok200.get_all("Via")) == 1, "Kamailio must strip its own Via"

            # Terminating request: the core routes by the Path URI to the WIC's Contact.
            message = sipmini.serialise(
                f"MESSAGE {contact} SIP/2.0",
                [
                    ("Via", f"SIP/2.0/UDP 127.0.0.1:{udp_core.port};branch={sipmini.new_branch()}"),
                    ("Max-Forwards", "70"),
                    ("Route", f"<{path_uri}>"),
                    ("From", f"<sip:bob@ims.example.test>;tag={sipmini.new_tag()}"),
                    ("To", "<sip:alice@ims.example.test>"),
                    ("Call-ID", secrets.token_hex(8)),
                    ("CSeq", "1 MESSAGE"),
                    ("Content-Type", "text/plain"),
                ],
                "hello over the Path",
            )
            udp_core.send(message, kamailio_addr)
            incoming = await _recv_sip(ws)
            assert incoming.method == "MESSAGE", incoming.start
            assert incoming.ruri == contact
            assert incoming.body == "hello over the Path"
            top_via = incoming.get_all("Via")[0]
            assert top_via.startswith(f"SIP/2.0/WSS 127.0.0.1:{endpoint.port}"), top_via
            await ws.send(sipmini.response(incoming, 200, "OK"))
            data, _ = await udp_core.receive()
            answer = sipmini.parse(data)
            assert answer.status == 200 and answer.cseq_method == "MESSAGE"
        ok = True
    finally:
        await driver.stop()
        if not ok:
            print(driver.log_text()[-6000:])
    assert "ws handshake" in driver.log_text()


@needs_kamailio
async def test_kamailio_without_origin_check_accepts_foreign_origin(
    tmp_path: Path, pki: Pki, udp_core: UdpPeer
) -> None:
    """The misconfigured variant (`origins_check: false`) must let a foreign Origin in."""
    driver, endpoint = await _start(_profile(origins_check=False), pki, udp_core, tmp_path)
    try:
        async with connect(
            endpoint.ws_url,
            ssl=pki.client_context(),
            origin=Origin("https://attacker.example"),
            subprotocols=["sip"],
            open_timeout=3,
        ) as ws:
            assert ws.subprotocol == "sip"
        # the sub-protocol restriction stays: no "sip" offered → 400 from the module
        assert await _refused(endpoint, pki, origin=Origin(TRUSTED), subprotocols=("foo",)) == 400
    finally:
        await driver.stop()


@needs_kamailio
async def test_kamailio_stop_is_prompt(tmp_path: Path, pki: Pki, udp_core: UdpPeer) -> None:
    driver, _ = await _start(_profile(), pki, udp_core, tmp_path)
    process = driver.process
    assert process is not None
    t0 = time.monotonic()
    await driver.stop()
    print(f"Kamailio stop: {time.monotonic() - t0:.3f} s")
    assert process.returncode is not None
    await driver.stop()  # idempotent


async def _recv_final(ws: ClientConnection) -> sipmini.Msg:
    while (msg := await _recv_sip(ws)).status == 100:
        pass
    return msg


async def _core_final(core: UdpPeer) -> sipmini.Msg:
    while (msg := sipmini.parse((await core.receive())[0])).status == 100:
        pass
    return msg


def _invite(
    ruri: str, via: str, from_uri: str, to_uri: str, contact: str, routes: list[str]
) -> str:
    headers = [("Via", via), ("Max-Forwards", "70")]
    headers += [("Route", route) for route in routes]
    headers += [
        ("From", f"<{from_uri}>;tag={sipmini.new_tag()}"),
        ("To", f"<{to_uri}>"),
        ("Call-ID", secrets.token_hex(8)),
        ("CSeq", "1 INVITE"),
        ("Contact", f"<{contact}>"),
        ("Content-Type", "application/sdp"),
    ]
    return sipmini.serialise(f"INVITE {ruri} SIP/2.0", headers, "v=0\r\n")


def _in_dialog(
    method: str,
    invite: sipmini.Msg,
    answer: sipmini.Msg,
    via: str,
    cseq: int,
    *,
    by_caller: bool,
    route_set: list[str],
    target: str,
) -> str:
    """A request inside the dialog set up by `invite` and its 2xx `answer`."""
    if by_caller:
        from_, to = invite.get("From"), answer.get("To")
    else:
        from_, to = answer.get("To"), invite.get("From")
    headers = [("Via", via), ("Max-Forwards", "70")]
    headers += [("Route", route) for route in route_set]
    headers += [
        ("From", from_),
        ("To", to),
        ("Call-ID", invite.get("Call-ID")),
        ("CSeq", f"{cseq} {method}"),
    ]
    return sipmini.serialise(f"{method} {target} SIP/2.0", headers)


@needs_kamailio
async def test_kamailio_dialogs_both_ways(tmp_path: Path, pki: Pki, udp_core: UdpPeer) -> None:
    """Originating and terminating INVITE dialogs: Record-Route both sides, BYE both ways."""
    driver, endpoint = await _start(_profile(), pki, udp_core, tmp_path)
    ok = False
    core_contact = f"sip:bob@127.0.0.1:{udp_core.port}"

    def core_via() -> str:
        return f"SIP/2.0/UDP 127.0.0.1:{udp_core.port};branch={sipmini.new_branch()}"

    def wic_via() -> str:
        return f"SIP/2.0/WSS def456.invalid;branch={sipmini.new_branch()}"

    try:
        async with connect(
            endpoint.ws_url,
            ssl=pki.client_context(),
            origin=Origin(TRUSTED),
            subprotocols=["sip"],
            compression=None,
            open_timeout=3,
        ) as ws:
            contact = "sip:q1w2e3@def456.invalid;transport=ws"
            await ws.send(_register(contact, secrets.token_hex(8)))
            data, k_addr = await udp_core.receive()
            register = sipmini.parse(data)
            path = register.get("Path")
            udp_core.send(sipmini.response(register, 200, "OK", [("Path", path)]), k_addr)
            assert (await _recv_final(ws)).status == 200

            # -- originating: WIC -> core, then ACK and BYE from the WIC -----------------------
            await ws.send(
                _invite(
                    "sip:bob@ims.example.test",
                    wic_via(),
                    "sip:alice@ims.example.test",
                    "sip:bob@ims.example.test",
                    contact,
                    [],
                )
            )
            invite = sipmini.parse((await udp_core.receive())[0])
            assert invite.method == "INVITE"
            rr = invite.get_all("Record-Route")
            assert len(rr) == 2, rr  # double Record-Route: core side, then WebSocket side
            assert "transport=ws" in rr[1], rr
            assert "alias=" in invite.get("Contact"), invite.get("Contact")
            udp_core.send(
                sipmini.response(
                    invite,
                    200,
                    "OK",
                    [*(("Record-Route", r) for r in rr), ("Contact", f"<{core_contact}>")],
                ),
                k_addr,
            )
            answer = await _recv_final(ws)
            assert answer.status == 200 and answer.cseq_method == "INVITE"
            uac_routes = list(reversed(answer.get_all("Record-Route")))
            target = sipmini.uri_of(answer.get("Contact"))
            for cseq, method in ((1, "ACK"), (2, "BYE")):
                await ws.send(
                    _in_dialog(
                        method,
                        invite,
                        answer,
                        wic_via(),
                        cseq,
                        by_caller=True,
                        route_set=uac_routes,
                        target=target,
                    )
                )
            seen = []
            for _ in range(2):
                got = sipmini.parse((await udp_core.receive())[0])
                seen.append(got.method)
                assert got.ruri == core_contact, got.start
                if got.method == "BYE":
                    udp_core.send(sipmini.response(got, 200, "OK"), k_addr)
            assert sorted(seen) == ["ACK", "BYE"], seen
            bye_ok = await _recv_final(ws)
            assert bye_ok.status == 200 and bye_ok.cseq_method == "BYE"

            # -- terminating: core -> WIC by Route = Path URI, then ACK and BYE from the core --
            udp_core.send(
                _invite(
                    contact,
                    core_via(),
                    "sip:bob@ims.example.test",
                    "sip:alice@ims.example.test",
                    core_contact,
                    [f"<{sipmini.uri_of(path)}>"],
                ),
                k_addr,
            )
            t_invite = await _recv_sip(ws)
            assert t_invite.method == "INVITE" and t_invite.ruri == contact, t_invite.start
            t_rr = t_invite.get_all("Record-Route")
            assert len(t_rr) == 2, t_rr
            tag = sipmini.new_tag()
            await ws.send(
                sipmini.response(
                    t_invite, 180, "Ringing", [("Contact", f"<{contact}>")], to_tag=tag
                )
            )
            assert (await _core_final(udp_core)).status == 180
            await ws.send(
                sipmini.response(
                    t_invite,
                    200,
                    "OK",
                    [*(("Record-Route", r) for r in t_rr), ("Contact", f"<{contact}>")],
                    to_tag=tag,
                )
            )
            t_answer = await _core_final(udp_core)
            assert t_answer.status == 200
            wic_target = sipmini.uri_of(t_answer.get("Contact"))
            assert "alias=" in wic_target, wic_target  # nathelper's way back to the flow
            routes = t_answer.get_all("Record-Route")  # the core is the UAC here: in order
            for cseq, method in ((1, "ACK"), (2, "BYE")):
                udp_core.send(
                    _in_dialog(
                        method,
                        t_invite,
                        t_answer,
                        core_via(),
                        cseq,
                        by_caller=True,
                        route_set=routes,
                        target=wic_target,
                    ),
                    k_addr,
                )
                got = await _recv_sip(ws)
                assert got.method == method and got.ruri == contact, got.start
            await ws.send(sipmini.response(got, 200, "OK"))
            assert (await _core_final(udp_core)).status == 200
        ok = True
    finally:
        await driver.stop()
        if not ok:
            print(driver.log_text()[-8000:])


async def test_kamailio_missing_is_sut_unavailable(
    tmp_path: Path, pki: Pki, udp_core: UdpPeer
) -> None:
    profile = _profile(binary="/nonexistent/kamailio")
    with pytest.raises(
        SutUnavailable, match="kamailio not installed: run scripts/install-real-peers.sh"
    ):
        await _start(profile, pki, udp_core, tmp_path)


@pytest.mark.parametrize(
    "origin",
    ['https://a.example" || $hdr(Origin) != "', "https://a.example\nlisten=udp:0.0.0.0:5060", ""],
)
def test_config_refuses_origins_that_would_escape(origin: str) -> None:
    with pytest.raises(ConfigError):
        EpcscfConfig(
            host="127.0.0.1",
            wss_port=5061,
            sip_port=5060,
            core_host="127.0.0.1",
            core_port=5070,
            trusted_origins=(origin,),
        )


def test_config_refuses_non_loopback() -> None:
    with pytest.raises(ConfigError, match="loopback"):
        EpcscfConfig(
            host="0.0.0.0", wss_port=5061, sip_port=5060, core_host="127.0.0.1", core_port=5070
        )


def test_config_switches_origin_block() -> None:
    base = dict(
        host="127.0.0.1", wss_port=5061, sip_port=5060, core_host="127.0.0.1", core_port=5070
    )
    strict = render_cfg(EpcscfConfig(**base, trusted_origins=("https://a.example", "null")))
    assert "#!define WITH_ORIGIN_CHECK" in strict
    assert '$hdr(Origin) == "https://a.example" || $hdr(Origin) == "null"' in strict
    assert "@@" not in strict.replace("double at-signs", "")
    loose = render_cfg(EpcscfConfig(**base, origins_check=False))
    assert "#!define WITH_ORIGIN_CHECK" not in loose


async def test_rtpengine_child_answers_an_ng_ping_and_stops() -> None:
    """rtpengine as the eIMS-AGW: started in user space, ready on an ng ping, stopped."""
    from harness.suts.kamailio.driver import free_port
    from harness.suts.kamailio.rtpengine import (
        Rtpengine,
        RtpengineSettings,
        find_rtpengine,
        ng_ping,
        port_window,
    )

    binary = find_rtpengine()
    if binary is None:
        pytest.skip("rtpengine not installed: run scripts/install-real-peers.sh")
    ng = free_port(kind=socket.SOCK_DGRAM)
    child = Rtpengine(RtpengineSettings(binary, ng, *port_window(ng)))
    try:
        await child.start(time.monotonic() + 10)
        assert child.ready_seconds is not None
        assert await ng_ping(ng, 1.0)
    finally:
        await child.stop()
    assert not await ng_ping(ng, 0.3)
