"""The browser WIC driver (JsSIP in Chromium) against a minimal eP-CSCF (websockets server).

Proves what the WIC cases rely on: the page's WebSocket handshake carries
`Origin == driver.origin` (WIC-HS-02) and offers `sip` (WIC-HS-01), JsSIP registers with
digest credentials from the profile, the verbs call/answer/hangup work against a peer that
speaks SDP (aiortc), and certificate checking is on (WIC-HS-03).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import re
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.suts.base import DriverError, WicEnv
from harness.suts.browser.driver import BrowserWicDriver, missing_prerequisites

from . import sipmini
from .conftest import PROFILES

MISSING = missing_prerequisites()
pytestmark = [
    pytest.mark.realpeer,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"REAL PEER MISSING: {', '.join(MISSING)} (run scripts/install-real-peers.sh)",
    ),
]

REALM = "ims.example.test"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class MiniEpcscf:
    """A WSS server that answers REGISTER with a digest challenge, then 200; queues the rest."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.handshakes: list[dict[str, list[str]]] = []
        self.inbox: asyncio.Queue[sipmini.Msg] = asyncio.Queue()
        self.registered = asyncio.Event()
        self.connection: ServerConnection | None = None
        self.nonce = secrets.token_hex(8)
        self.digest_ok: bool | None = None
        self.register_raw = ""

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        headers: dict[str, list[str]] = {}
        for name, value in ws.request.headers.raw_items():
            headers.setdefault(name.lower(), []).append(value)
        self.handshakes.append(headers)
        self.connection = ws
        async for data in ws:
            assert isinstance(data, str), "JsSIP sends text frames"
            msg = sipmini.parse(data)
            if msg.is_request and msg.method == "REGISTER":
                await ws.send(self._answer_register(msg))
            else:
                self.inbox.put_nowait(msg)

    def _answer_register(self, msg: sipmini.Msg) -> str:
        auth = msg.get("Authorization")
        if not auth:
            self.register_raw = sipmini.serialise(msg.start, msg.headers, msg.body)
            challenge = f'Digest realm="{REALM}", nonce="{self.nonce}", algorithm=MD5, qop="auth"'
            return sipmini.response(msg, 401, "Unauthorized", [("WWW-Authenticate", challenge)])
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', auth))
        ha1 = _md5(f"{params['username']}:{REALM}:{self.password}")
        ha2 = _md5(f"REGISTER:{params['uri']}")
        expected = _md5(f"{ha1}:{self.nonce}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        self.digest_ok = (
            params.get("response") == expected and params["username"] == "alice@ims.example.test"
        )
        if not self.digest_ok:
            return sipmini.response(msg, 403, "Forbidden")
        self.registered.set()
        contact = msg.get("Contact")
        return sipmini.response(msg, 200, "OK", [("Contact", f"{contact};expires=600")])

    async def send(self, text: str) -> None:
        assert self.connection is not None
        await self.connection.send(text)

    async def next(self, timeout: float = 5.0) -> sipmini.Msg:
        return await asyncio.wait_for(self.inbox.get(), timeout)


@contextlib.asynccontextmanager
async def _epcscf(
    pki: Pki, password: str, names: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> AsyncIterator[tuple[MiniEpcscf, Server, str]]:
    peer = MiniEpcscf(password)
    async with serve(
        peer.handler, "127.0.0.1", 0, ssl=pki.server_context(*names),
        subprotocols=["sip"], compression=None,
    ) as server:  # fmt: skip
        port = next(iter(server.sockets)).getsockname()[1]
        yield peer, server, f"wss://127.0.0.1:{port}/"


def _profile(**changes: object) -> Profile:
    profile = load_profile(PROFILES / "jssip-chromium-wic.yaml")
    return dataclasses.replace(profile, **changes)  # type: ignore[arg-type]


async def _start_wic(profile: Profile, pki: Pki, url: str, workdir: Path) -> BrowserWicDriver:
    driver = BrowserWicDriver()
    env = WicEnv(profile=profile, pki=pki, epcscf_url=url, ca_pem=pki.ca_pem, workdir=workdir)
    t0 = time.monotonic()
    await driver.start(env)
    timings = ", ".join(f"{k} {v:.3f} s" for k, v in driver.timings.items())
    print(f"\nChromium start-up: {time.monotonic() - t0:.3f} s total ({timings})")
    return driver


async def _offer_from_aiortc() -> tuple[object, str]:
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def _answer_from_aiortc(offer: str) -> tuple[object, str]:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    pc = RTCPeerConnection()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    return pc, pc.localDescription.sdp


async def test_browser_registers_with_page_origin(tmp_path: Path, pki: Pki) -> None:
    profile = _profile()
    async with _epcscf(pki, profile.password) as (peer, _server, url):
        driver = await _start_wic(profile, pki, url, tmp_path)
        try:
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", driver.origin), driver.origin
            assert (await driver.state()).registered is False
            t0 = time.monotonic()
            await driver.register()
            await asyncio.wait_for(peer.registered.wait(), 10)
            state = await driver.wait_for(lambda s: s.registered, what="registration")
            print(f"register() to registered: {time.monotonic() - t0:.3f} s")
            assert state.connected and state.registered, state
            assert peer.digest_ok is True

            handshake = peer.handshakes[0]
            assert handshake["origin"] == [driver.origin], handshake.get("origin")
            offered = [p.strip() for v in handshake["sec-websocket-protocol"] for p in v.split(",")]
            assert "sip" in offered, offered
            print(
                f"handshake Origin {handshake['origin'][0]}, protocols {offered}, "
                f"extensions {handshake.get('sec-websocket-extensions')}"
            )
            register = sipmini.parse(peer.register_raw)
            assert register.get("Via").startswith("SIP/2.0/WSS "), register.get("Via")
            assert "transport=ws" in register.get("Contact"), register.get("Contact")
            assert register.get("To").find("sip:alice@ims.example.test") >= 0

            with pytest.raises(DriverError, match="no call to hang up"):
                await driver.hangup()
        finally:
            await driver.stop()
    log = driver.log_text()
    assert "registered (200)" in log, log[-3000:]
    assert profile.password not in log, "JsSIP's debug log must not show the password"


async def test_browser_call_answer_hangup(tmp_path: Path, pki: Pki) -> None:
    """Outgoing call (JSEP offer → aiortc answer), then an incoming one: 180, answer, BYE."""
    profile = _profile()
    peers: list[object] = []
    async with _epcscf(pki, profile.password) as (peer, _server, url):
        driver = await _start_wic(profile, pki, url, tmp_path)
        try:
            await driver.register()
            await driver.wait_for(lambda s: s.registered, what="registration")

            # -- outgoing call ---------------------------------------------------------------
            await driver.call(profile.callee)
            invite = await peer.next()
            assert invite.method == "INVITE" and invite.ruri == profile.callee, invite.start
            assert "UDP/TLS/RTP/SAVPF" in invite.body and "a=fingerprint:sha-256" in invite.body
            pc, answer_sdp = await _answer_from_aiortc(invite.body)
            peers.append(pc)
            tag = sipmini.new_tag()
            contact = [("Contact", "<sip:bob@127.0.0.1:5099;transport=ws>")]
            await peer.send(sipmini.response(invite, 180, "Ringing", contact, to_tag=tag))
            sdp_type = ("Content-Type", "application/sdp")
            await peer.send(
                sipmini.response(
                    invite, 200, "OK", [*contact, sdp_type], to_tag=tag, body=answer_sdp
                )
            )
            ack = await peer.next()
            assert ack.method == "ACK", ack.start
            await driver.wait_for(lambda s: s.in_call, what="call confirmed")
            await driver.hangup()
            bye = await peer.next()
            assert bye.method == "BYE", bye.start
            await peer.send(sipmini.response(bye, 200, "OK"))
            await driver.wait_for(lambda s: not s.in_call, what="call ended")

            # -- incoming call ---------------------------------------------------------------
            register_contact = sipmini.uri_of(sipmini.parse(peer.register_raw).get("Contact"))
            pc2, offer = await _offer_from_aiortc()
            peers.append(pc2)
            call_id, from_tag = secrets.token_hex(8), sipmini.new_tag()
            via = f"SIP/2.0/WSS 127.0.0.1:5099;branch={sipmini.new_branch()}"
            incoming = sipmini.serialise(
                f"INVITE {register_contact} SIP/2.0",
                [("Via", via), ("Max-Forwards", "70"),
                 ("From", f"<sip:bob@ims.example.test>;tag={from_tag}"),
                 ("To", "<sip:alice@ims.example.test>"), ("Call-ID", call_id), ("CSeq", "1 INVITE"),
                 ("Contact", "<sip:bob@127.0.0.1:5099;transport=ws>"),
                 ("Content-Type", "application/sdp")],
                offer,
            )  # fmt: skip
            await peer.send(incoming)
            ringing = await peer.next()
            while ringing.status == 100:
                ringing = await peer.next()
            assert ringing.status == 180, ringing.start  # JsSIP rings on its own
            await driver.answer()
            answered = await peer.next()
            while answered.status == 180:
                answered = await peer.next()
            assert answered.status == 200 and "a=fingerprint" in answered.body, answered.start
            to = answered.get("To")
            ack2 = sipmini.serialise(
                f"ACK {sipmini.uri_of(answered.get('Contact'))} SIP/2.0",
                [("Via", f"SIP/2.0/WSS 127.0.0.1:5099;branch={sipmini.new_branch()}"),
                 ("Max-Forwards", "70"), ("From", f"<sip:bob@ims.example.test>;tag={from_tag}"),
                 ("To", to), ("Call-ID", call_id), ("CSeq", "1 ACK")],
            )  # fmt: skip
            await peer.send(ack2)
            await driver.wait_for(lambda s: s.in_call, what="incoming call confirmed")
            await driver.hangup()
            bye2 = await peer.next()
            assert bye2.method == "BYE" and bye2.get("Call-ID") == call_id
            await peer.send(sipmini.response(bye2, 200, "OK"))
            state = await driver.wait_for(lambda s: not s.in_call, what="incoming call ended")
            assert state.connected, "JsSIP keeps the WebSocket open after BYE"

            with pytest.raises(DriverError, match="waiting for an incoming call"):
                await driver.answer()
        finally:
            await driver.stop()
            for pc in peers:
                await pc.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("wwsf_origin", "expected"),
    [
        ("https://wwsf.example.test", r"https://wwsf\.example\.test"),  # routed in the browser
        ("https://127.0.0.1:${page_port}", r"https://127\.0\.0\.1:\d+"),  # served over TLS
    ],
)
async def test_browser_other_origins(
    tmp_path: Path, pki: Pki, wwsf_origin: str, expected: str
) -> None:
    """Other WWSF origins: the handshake's Origin is exactly the page's effective origin."""
    profile = _profile(wwsf_origin=wwsf_origin)
    async with _epcscf(pki, profile.password) as (peer, _server, url):
        driver = await _start_wic(profile, pki, url, tmp_path)
        try:
            assert re.fullmatch(expected, driver.origin), driver.origin
            await driver.register()
            try:
                await driver.wait_for(lambda s: s.registered, what="registration")
            except DriverError:
                print(driver.log_text()[-5000:])
                raise
            assert peer.handshakes[0]["origin"] == [driver.origin]
        finally:
            await driver.stop()


async def test_browser_refuses_untrusted_certificate(tmp_path: Path, pki: Pki) -> None:
    """Certificate checking is on: a server certificate from another CA gets no handshake."""
    profile = _profile()
    other = Pki(tmp_path / "other-ca", name="not the run CA")
    try:
        async with _epcscf(other, profile.password) as (peer, _server, url):
            driver = await _start_wic(profile, pki, url, tmp_path)
            try:
                await driver.register()
                with pytest.raises(DriverError, match="waiting for registration"):
                    await driver.wait_for(lambda s: s.registered, what="registration", timeout=1.5)
                assert peer.handshakes == []
                assert (await driver.state()).connected is False
            finally:
                await driver.stop()
    finally:
        other.close()


async def test_browser_unavailable_without_bundle(tmp_path: Path, pki: Pki, monkeypatch) -> None:
    from harness.suts.base import SutUnavailable
    from harness.suts.browser import driver as module

    monkeypatch.setattr(module, "BUNDLE", tmp_path / "missing.js")
    with pytest.raises(SutUnavailable, match="install-real-peers"):
        await BrowserWicDriver().start(
            WicEnv(
                profile=_profile(),
                pki=pki,
                epcscf_url="wss://127.0.0.1:1/",
                ca_pem=pki.ca_pem,
                workdir=tmp_path,
            )  # fmt: skip
        )
