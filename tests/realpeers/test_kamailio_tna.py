"""Kamailio as a TNA eP-CSCF (issue 8 item 5) against wicct's token issuer, a minimal WIC
(websockets client) and a UDP "core": what the section-5 cases rely on, proven on the
driver alone.

- A valid bearer token is introspected (RFC 7662) and replaced by the Trusted Node
  Authentication header (TS 33.203 Annex U); the Bearer never reaches the core.
- Every bad token is refused with the preferred form and never relayed, including a token
  the issuer reports active without an IMPI sent right after a valid one (Kamailio's `$var`
  values survive between messages: the config resets them).
- An issuer that is down, answers garbage or stalls gets 503 and nothing is relayed.
- `token_validation: false` (the misconfigured variant) relays an expired token.
- Without an issuer (digest), `integrity-protected` follows the flow's state, a client's own
  value is stripped, and a registered IMPU is bound to its WebSocket (TS 33.203 Q.1).

"Nothing reached the core" is proven by order, not by waiting: Kamailio handles one
WebSocket's messages one after another, so when the next good request is the next thing
the core receives, the refused one was not relayed before it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from harness.actors.token_issuer import TokenIssuer
from harness.evidence import Timeline
from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.suts.base import EpcscfEnv
from harness.suts.kamailio.config import ConfigError, EpcscfConfig, TnaConfig, render_cfg
from harness.suts.kamailio.driver import KamailioEpcscfDriver, find_kamailio

from . import sipmini
from .conftest import PROFILES, UdpPeer

pytestmark = [
    pytest.mark.realpeer,
    pytest.mark.skipif(
        find_kamailio() is None,
        reason="REAL PEER MISSING: kamailio not installed (run scripts/install-real-peers.sh)",
    ),
]

TRUSTED = "https://wwsf.example.test"
IMPI = "alice@ims.example.test"
IMPU = "sip:alice@ims.example.test"
CONTACT = "sip:x7k2p9@abc123.invalid;transport=ws"


def _profile(name: str, **options: object) -> Profile:
    profile = load_profile(PROFILES / f"{name}.yaml")
    return dataclasses.replace(profile, driver_options={**profile.driver_options, **options})


@asynccontextmanager
async def _kamailio(
    profile: Profile, pki: Pki, core: UdpPeer, workdir: Path, issuer: TokenIssuer | None
) -> AsyncIterator[KamailioEpcscfDriver]:
    driver = KamailioEpcscfDriver()
    env = EpcscfEnv(
        profile=profile, pki=pki, core_host="127.0.0.1", core_port=core.port,
        core_transport="udp", workdir=workdir, log=print,
        issuer=issuer.endpoint() if issuer is not None else None,
    )
    await driver.start(env)
    ok = False
    try:
        yield driver
        ok = True
    finally:
        await driver.stop()
        if not ok:
            print(driver.log_text()[-8000:])


@asynccontextmanager
async def _issuer(pki: Pki, profile: Profile) -> AsyncIterator[TokenIssuer]:
    issuer = TokenIssuer(Timeline(), profile.auth.tokens, pki)
    await issuer.start()
    try:
        yield issuer
    finally:
        await issuer.stop()


@asynccontextmanager
async def _ws(driver: KamailioEpcscfDriver, pki: Pki) -> AsyncIterator[ClientConnection]:
    assert driver.endpoint is not None
    async with connect(
        driver.endpoint.ws_url, ssl=pki.client_context(), origin=Origin(TRUSTED),
        subprotocols=["sip"], compression=None, open_timeout=3,
    ) as ws:  # type: ignore[arg-type]
        yield ws


class Wic:
    """One registration dialog over one WebSocket (Call-ID kept, CSeq counting)."""

    def __init__(self, ws: ClientConnection, user: str = "alice") -> None:
        self.ws = ws
        self.user = user
        self.call_id = secrets.token_hex(8)
        self.tag = sipmini.new_tag()
        self.cseq = 0

    async def register(self, *auth: tuple[str, str], expires: int = 600) -> None:
        self.cseq += 1
        await self.ws.send(sipmini.serialise(
            "REGISTER sip:ims.example.test SIP/2.0",
            [
                ("Via", f"SIP/2.0/WSS abc123.invalid;branch={sipmini.new_branch()}"),
                ("Max-Forwards", "70"),
                ("To", f"<sip:{self.user}@ims.example.test>"),
                ("From", f"<sip:{self.user}@ims.example.test>;tag={self.tag}"),
                ("Call-ID", self.call_id),
                ("CSeq", f"{self.cseq} REGISTER"),
                ("Contact", f"<{CONTACT}>;+sip.ice;reg-id=1;"
                 '+sip.instance="<urn:uuid:00000000-0000-4000-8000-000000000001>"'),
                ("Supported", "path, outbound"),
                ("Expires", str(expires)),
                *auth,
            ],
        ))

    async def request(self, method: str, *extra: tuple[str, str], user: str | None = None) -> str:
        call_id = secrets.token_hex(8)
        await self.ws.send(sipmini.serialise(
            f"{method} sip:bob@ims.example.test SIP/2.0",
            [
                ("Via", f"SIP/2.0/WSS abc123.invalid;branch={sipmini.new_branch()}"),
                ("Max-Forwards", "70"),
                ("To", "<sip:bob@ims.example.test>"),
                ("From", f"<sip:{user or self.user}@ims.example.test>;tag={sipmini.new_tag()}"),
                ("Call-ID", call_id),
                ("CSeq", f"1 {method}"),
                ("Contact", f"<{CONTACT}>"),
                *extra,
            ],
            "hello" if method == "MESSAGE" else "",
        ))
        return call_id

    async def answer(self, timeout: float = 5.0) -> sipmini.Msg:
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(data, str)
        return sipmini.parse(data)


async def _at_core(core: UdpPeer, timeout: float = 5.0) -> tuple[sipmini.Msg, tuple[str, int]]:
    data, addr = await core.receive(timeout)
    return sipmini.parse(data), addr


def _bearer(token: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token}")


def _params(value: str) -> dict[str, str]:
    return {k.lower(): v for k, v in re.findall(r'([A-Za-z-]+)\s*=\s*"?([^",]*)"?', value)}


async def _accepted(wic: Wic, core: UdpPeer, *auth: tuple[str, str], **ok_extra: str) -> sipmini.Msg:
    """REGISTER, the core's 200, the 200 back at the WIC: the REGISTER the core got."""
    await wic.register(*auth)
    register, addr = await _at_core(core)
    assert register.method == "REGISTER" and register.get("Call-ID") == wic.call_id
    extra = [("Contact", f"<{CONTACT}>;expires=600"), *ok_extra.items()]
    core.send(sipmini.response(register, 200, "OK", [(k.replace("_", "-"), v) for k, v in extra]), addr)
    ok = await wic.answer()
    assert ok.status == 200, ok.start
    return register


async def _refused(wic: Wic, *auth: tuple[str, str]) -> sipmini.Msg:
    await wic.register(*auth)
    answer = await wic.answer()
    assert 400 <= answer.status < 600, answer.start
    return answer


async def test_kamailio_validates_bearer_tokens_and_sends_tna(tmp_path: Path, pki: Pki, udp_core: UdpPeer) -> None:
    profile = _profile("kamailio-tna-epcscf")
    async with _issuer(pki, profile) as issuer, _kamailio(profile, pki, udp_core, tmp_path, issuer) as driver:
        async with _ws(driver, pki) as ws:
            wic = Wic(ws)
            valid = issuer.mint("valid", impi=IMPI, impus=(IMPU,))
            register = await _accepted(wic, udp_core, _bearer(valid.token))
            auths = register.get_all("Authorization")
            assert len(auths) == 1, auths
            assert auths[0].startswith("Digest "), auths
            fields = _params(auths[0])
            assert fields["username"] == IMPI and fields["integrity-protected"] == "auth-done"
            assert fields["realm"] == "ims.example.test" and fields["uri"] == "sip:ims.example.test"
            assert 'nonce=""' in auths[0] and 'response=""' in auths[0]
            assert valid.token not in "\r\n".join(v for _, v in register.headers)
            assert register.get_all("Path"), "Path still added"

            # The active-but-no-IMPI token right after a valid one, twice (different tokens).
            for _ in range(2):
                no_impi = issuer.mint("no-impi", impi=IMPI)
                answer = await _refused(wic, _bearer(no_impi.token))
                assert answer.status == 401 and 'error="invalid_token"' in answer.get("WWW-Authenticate")

            for kind in ("expired", "bad-signature", "wrong-audience"):
                answer = await _refused(wic, _bearer(issuer.mint(kind, impi=IMPI).token))
                assert answer.status == 401, (kind, answer.start)
                assert 'error="invalid_token"' in answer.get("WWW-Authenticate"), kind

            answer = await _refused(wic, _bearer(issuer.mint("insufficient-scope", impi=IMPI).token))
            assert answer.status == 403 and 'error="insufficient_scope"' in answer.get("WWW-Authenticate")

            answer = await _refused(wic, _bearer(issuer.mint("malformed", impi=IMPI).token))
            assert answer.status == 400 and 'error="invalid_request"' in answer.get("WWW-Authenticate")

            answer = await _refused(wic, _bearer(valid.token), _bearer(valid.token))
            assert answer.status == 400 and 'error="invalid_request"' in answer.get("WWW-Authenticate")

            answer = await _refused(wic)
            challenge = answer.get("WWW-Authenticate")
            assert answer.status == 401 and challenge.startswith("Bearer ") and "error=" not in challenge
            assert f'authz_server="{issuer.base_url}"' in challenge

            forged = f'Digest username="{IMPI}", realm="ims.example.test", uri="sip:ims.example.test", nonce="", response=""'
            for value in ("auth-done", "tls-yes"):
                answer = await _refused(wic, ("Authorization", f'{forged}, integrity-protected="{value}"'))
                assert answer.status == 401, answer.start

            # None of the refused REGISTERs went on: the next thing the core sees is this one,
            # whose forged Digest next to the Bearer is replaced and whose forged
            # Proxy-Authorization integrity-protected is stripped.
            again = issuer.mint("valid", impi=IMPI, impus=(IMPU,))
            register = await _accepted(
                wic, udp_core, ("Authorization", f'{forged.replace(IMPI, "bob@ims.example.test")}, '
                                'integrity-protected="auth-done"'),
                _bearer(again.token), ("Proxy-Authorization", f'{forged}, integrity-protected="yes"'),
            )
            assert len(register.get_all("Authorization")) == 1
            assert _params(register.get("Authorization"))["username"] == IMPI
            assert "integrity-protected" not in register.get("Proxy-Authorization")

            # Later requests carry the Bearer too (TS 24.371 7.2.1): it stays here.
            await wic.request("MESSAGE", _bearer(again.token), ("Content-Type", "text/plain"))
            message, addr = await _at_core(udp_core)
            assert message.method == "MESSAGE" and not message.get_all("Authorization")
            udp_core.send(sipmini.response(message, 200, "OK"), addr)
            assert (await wic.answer()).status == 200
        assert issuer.requests == 8  # the tokens that were well-formed b64tokens
        log = driver.log_text()
        assert "token accepted for alice@ims.example.test" in log
        assert not [m.kind for m in issuer.issuers.minted if m.token in log], "no token in Kamailio's log"


@pytest.mark.parametrize("mode", ["down", "garbage", "error", "stall"])
async def test_kamailio_answers_503_when_the_issuer_cannot_answer(
    tmp_path: Path, pki: Pki, udp_core: UdpPeer, mode: str
) -> None:
    profile = _profile("kamailio-tna-epcscf", issuer_timeout=1)
    async with _issuer(pki, profile) as issuer, _kamailio(profile, pki, udp_core, tmp_path, issuer) as driver:
        async with _ws(driver, pki) as ws:
            wic = Wic(ws)
            await _accepted(wic, udp_core, _bearer(issuer.mint("valid", impi=IMPI).token))
            await issuer.set_mode(mode)
            answer = await _refused(wic, _bearer(issuer.mint("valid", impi=IMPI).token))
            assert answer.status == 503, answer.start
            await wic.request("MESSAGE", ("Content-Type", "text/plain"))
            message, _ = await _at_core(udp_core)
            assert message.method == "MESSAGE", "the REGISTER was not relayed before it"
        assert "introspection answered status" in driver.log_text() or "not RFC 7662" in driver.log_text()


async def test_kamailio_without_token_validation_relays_any_bearer(tmp_path: Path, pki: Pki, udp_core: UdpPeer) -> None:
    profile = _profile("kamailio-tna-epcscf", token_validation=False)
    async with _issuer(pki, profile) as issuer, _kamailio(profile, pki, udp_core, tmp_path, issuer) as driver:
        async with _ws(driver, pki) as ws:
            register = await _accepted(Wic(ws), udp_core, _bearer(issuer.mint("expired", impi=IMPI).token))
            assert _params(register.get("Authorization"))["integrity-protected"] == "auth-done"
        assert issuer.requests == 0
        assert "token NOT validated" in driver.log_text()


async def test_kamailio_digest_integrity_protected_and_impu_binding(tmp_path: Path, pki: Pki, udp_core: UdpPeer) -> None:
    profile = _profile("kamailio-epcscf")
    async with _kamailio(profile, pki, udp_core, tmp_path, None) as driver:  # noqa: SIM117 - the sockets need the driver
        async with _ws(driver, pki) as first, _ws(driver, pki) as second:
            wic = Wic(first)
            empty = f'Digest username="{IMPI}", realm="ims.example.test", uri="sip:ims.example.test", nonce="", response=""'
            # first REGISTER (a forged value is stripped, none added), challenged by the core
            await wic.register(("Authorization", f'{empty}, integrity-protected="yes"'))
            register, addr = await _at_core(udp_core)
            assert "integrity-protected" not in register.get("Authorization"), register.get("Authorization")
            udp_core.send(sipmini.response(register, 401, "Unauthorized", [
                ("WWW-Authenticate", 'Digest realm="ims.example.test", nonce="abc", qop="auth", algorithm=MD5')]), addr)
            assert (await wic.answer()).status == 401
            answered = (f'Digest username="{IMPI}", realm="ims.example.test", uri="sip:ims.example.test", '
                        'nonce="abc", response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, '
                        'cnonce="c1", integrity-protected="tls-yes"')
            register = await _accepted(wic, udp_core, ("Authorization", answered),
                                       P_Associated_URI=f"<{IMPU}>, <sip:alias@ims.example.test>")
            fields = _params(register.get("Authorization"))
            assert fields["integrity-protected"] == "tls-pending", register.get("Authorization")
            assert register.get("Authorization").count("integrity-protected") == 1
            register = await _accepted(wic, udp_core, ("Authorization", answered))
            assert _params(register.get("Authorization"))["integrity-protected"] == "tls-yes"

            # TS 33.203 Q.1: the registered IMPUs belong to the first WebSocket.
            intruder = Wic(second)
            await intruder.request("INVITE", ("P-Preferred-Identity", f"<{IMPU}>"), user="mallory")
            assert (await intruder.answer()).status == 403
            await intruder.request("MESSAGE", ("Content-Type", "text/plain"), user="alias")
            assert (await intruder.answer()).status == 403
            await wic.request("MESSAGE", ("Content-Type", "text/plain"))
            message, addr = await _at_core(udp_core)
            assert message.method == "MESSAGE" and "alice@" in message.get("From")
            udp_core.send(sipmini.response(message, 200, "OK"), addr)
            assert (await wic.answer()).status == 200


_BASE = dict(host="127.0.0.1", wss_port=5061, sip_port=5060, core_host="127.0.0.1", core_port=5070)


def _tna(**changes: object) -> TnaConfig:
    values: dict[str, object] = dict(
        issuer_base="https://127.0.0.1:4443", introspection_path="/introspect",
        ca=Path("/run/ca.pem"), audience="ims.example.test", scope="sip",
    )
    return TnaConfig(**{**values, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"issuer_base": "https://issuer.example.test"},
        {"issuer_base": "http://127.0.0.1:4443"},
        {"audience": 'ims" || 1 == "1'},
        {"scope": "sip openid"},
        {"scope": "sip\nlisten=udp:0.0.0.0:5060"},
        {"introspection_path": "/introspect?x=\""},
        {"ca": Path("relative.pem")},
        {"timeout": 0},
    ],
)
def test_tna_config_refuses_what_would_escape_or_cannot_work(change: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        _tna(**change)


def test_config_switches_tna_blocks_and_integrity_values() -> None:
    digest = render_cfg(EpcscfConfig(**_BASE, integrity_protected={  # type: ignore[arg-type]
        "first": "absent", "challenge_response": "tls-pending", "later": "tls-yes"}))
    assert "#!define WITH_TNA" not in digest and '$var(ip) = "tls-pending";' in digest
    tna = render_cfg(EpcscfConfig(**_BASE, tna=_tna(scope="ims.sip")))  # type: ignore[arg-type]
    assert "#!define WITH_TNA" in tna and "#!define WITH_TOKEN_VALIDATION" in tna
    assert '"issuer=>https://127.0.0.1:4443"' in tna and '"/introspect"' in tna
    assert '=~ " ims[.]sip "' in tna
    assert "@@" not in tna.replace("double at-signs", "")
    trusting = render_cfg(EpcscfConfig(**_BASE, tna=_tna(validate=False)))  # type: ignore[arg-type]
    assert "#!define WITH_TNA" in trusting and "#!define WITH_TOKEN_VALIDATION" not in trusting
    with pytest.raises(ConfigError, match="integrity_protected"):
        EpcscfConfig(**_BASE, integrity_protected={"first": 'x"', "challenge_response": "a", "later": "b"})  # type: ignore[arg-type]
