"""wicct's token issuer (harness.actors.token_issuer) and the pure token authority
(harness.tokens): every token kind introspects as the cases need, JWKS verifies the valid
ones, the token never reaches evidence, and a misbehaving issuer fails as configured."""

from __future__ import annotations

import json

import jwt
import pytest

from harness import evidence as ev
from harness.actors.token_issuer import TokenIssuer, http_request
from harness.evidence import Timeline
from harness.pki import Pki
from harness.tokens import TOKEN_KINDS, Issuers, TokenSettings

IMPI = "alice@ims.example.test"
IMPU = "sip:alice@ims.example.test"


def test_each_kind_introspects_as_documented():
    issuers = Issuers(TokenSettings())
    answers = {k: issuers.introspect(issuers.mint(k, impi=IMPI, impus=(IMPU,)).token) for k in TOKEN_KINDS}
    assert answers["valid"]["active"] and answers["valid"]["username"] == IMPI
    assert answers["valid"]["aud"] == "ims.example.test" and answers["valid"]["scope"] == "sip"
    assert answers["valid"]["impus"] == [IMPU]
    for dead in ("expired", "bad-signature", "malformed"):
        assert answers[dead] == {"active": False}, dead
    assert answers["wrong-audience"]["active"] and answers["wrong-audience"]["aud"] != "ims.example.test"
    assert answers["insufficient-scope"]["active"] and "sip" not in answers["insufficient-scope"]["scope"].split()
    assert answers["no-impi"]["active"] and "username" not in answers["no-impi"] and "sub" not in answers["no-impi"]
    foreign = answers["foreign"]
    assert foreign["active"] and foreign["iss"] == TokenSettings().foreign_issuer
    assert not TokenSettings().inside(foreign["iss"]) and TokenSettings().inside(TokenSettings().issuer)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown token kind"):
        Issuers(TokenSettings()).mint("forged", impi=IMPI)


async def test_issuer_serves_jwks_and_introspection_over_https(tmp_path):
    pki = Pki(tmp_path)
    timeline = Timeline()
    issuer = TokenIssuer(timeline, TokenSettings(), pki)
    await issuer.start()
    try:
        valid = issuer.mint("valid", impi=IMPI, impus=(IMPU,))
        expired = issuer.mint("expired", impi=IMPI)
        end = issuer.endpoint()
        keys = json.loads((await http_request(end.jwks_url, ca_pem=pki.ca_pem)).body)
        jwk = next(k for k in keys["keys"] if k["kid"] == jwt.get_unverified_header(valid.token)["kid"])
        key = jwt.PyJWK(jwk).key
        claims = jwt.decode(valid.token, key, algorithms=["ES256"], audience=end.audience)
        assert claims["sub"] == IMPI and claims["iss"] == end.issuer
        for minted, active in ((valid, True), (expired, False)):
            answer = await http_request(end.introspection_url, method="POST",
                                        body=f"token={minted.token}".encode(), ca_pem=pki.ca_pem)
            assert answer.status == 200 and json.loads(answer.body)["active"] is active
        text = json.dumps([e.to_json(timeline.redactor) for e in timeline], default=str)
        assert valid.token not in text and expired.token not in text
        assert f"sha256:{valid.fingerprint}" in text
        events = [ev.token.of(e)["event"] for e in timeline if e.kind == ev.TOKEN]
        assert events.count("introspection") == 2 and "jwks" in events and events.count("minted") == 2
    finally:
        await issuer.stop()


@pytest.mark.parametrize("mode", ["garbage", "error", "stall", "down"])
async def test_a_misbehaving_issuer_fails_as_configured(tmp_path, mode):
    pki = Pki(tmp_path)
    issuer = TokenIssuer(Timeline(), TokenSettings(), pki)
    await issuer.start()
    try:
        token = issuer.mint("valid", impi=IMPI).token
        await issuer.set_mode(mode)
        url = issuer.endpoint().introspection_url
        if mode in ("stall", "down"):
            with pytest.raises((OSError, TimeoutError)):
                await http_request(url, method="POST", body=f"token={token}".encode(),
                                   ca_pem=pki.ca_pem, timeout=0.5)
            return
        answer = await http_request(url, method="POST", body=f"token={token}".encode(), ca_pem=pki.ca_pem)
        if mode == "error":
            assert answer.status == 500
        else:
            assert answer.status == 200
            with pytest.raises(ValueError):
                json.loads(answer.body)
    finally:
        await issuer.stop()


async def test_an_issuer_that_keeps_counts_only_stays_bounded_under_many_introspections(tmp_path):
    """The load host's issuer (record=False): every answer counted, the timeline not grown."""
    pki = Pki(tmp_path)
    timeline = Timeline()
    issuer = TokenIssuer(timeline, TokenSettings(), pki, record=False)
    await issuer.start()
    try:
        started = len(timeline)
        valid = issuer.mint("valid", impi=IMPI).token
        expired = issuer.mint("expired", impi=IMPI).token
        url = issuer.endpoint().introspection_url
        for token in (valid, expired) * 15:
            answer = await http_request(url, method="POST", body=f"token={token}".encode(),
                                        ca_pem=pki.ca_pem)
            assert answer.status == 200
        await http_request(issuer.endpoint().jwks_url, ca_pem=pki.ca_pem)
        assert len(timeline) == started
        assert issuer.counts == {"minted": 2, "introspection active=True": 15,
                                 "introspection active=False": 15, "jwks 200": 1}
    finally:
        await issuer.stop()
