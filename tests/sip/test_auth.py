"""Tests for harness.sip.auth: challenges, credentials, Digest computation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.sip.auth import (
    Challenge,
    Credentials,
    build_digest_authorization,
    build_digest_challenge,
    digest_response,
    parse_challenge,
    parse_credentials,
    verify_digest,
)
from harness.sip.errors import SipParseError

RFC7616 = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "qop": "auth",
    "nc": "00000001",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
}

IMS = {
    "username": "alice@ims.example.test",
    "realm": "ims.example.test",
    "password": "s3cr3t",
    "method": "REGISTER",
    "uri": "sip:ims.example.test",
    "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
}


class TestRFC2617Section3_5DigestExample:
    def test_qop_auth_response(self):
        response = digest_response(
            username="Mufasa",
            realm="testrealm@host.com",
            password="Circle Of Life",
            method="GET",
            uri="/dir/index.html",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop="auth",
            nc="00000001",
            cnonce="0a4f113b",
        )
        assert response == "6629fae49393a05397450978507c4ef1"

    def test_nc_as_int_is_eight_hex_digits(self):
        by_int = digest_response(**{**RFC7616, "nc": 1})
        assert by_int == digest_response(**RFC7616)


class TestRFC7616Section3_9_1Examples:
    def test_md5(self):
        assert digest_response(**RFC7616) == "8ca523f5e9506fed4657c9700eebdbec"

    def test_sha256(self):
        response = digest_response(**RFC7616, algorithm="SHA-256")
        assert response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


class TestRFC3261Section22_4Digest:
    def test_rfc2069_form_without_qop(self):
        ha1 = hashlib.md5(b"alice@ims.example.test:ims.example.test:s3cr3t").hexdigest()
        ha2 = hashlib.md5(b"REGISTER:sip:ims.example.test").hexdigest()
        expected = hashlib.md5(f"{ha1}:{IMS['nonce']}:{ha2}".encode()).hexdigest()
        assert digest_response(**IMS) == expected

    def test_auth_int_hashes_the_body(self):
        a = digest_response(**IMS, qop="auth-int", nc=1, cnonce="c", body=b"v=0\r\n")
        b = digest_response(**IMS, qop="auth-int", nc=1, cnonce="c", body=b"")
        assert a != b

    def test_sess_algorithm_differs(self):
        plain = digest_response(**IMS, qop="auth", nc=1, cnonce="c")
        sess = digest_response(**IMS, qop="auth", nc=1, cnonce="c", algorithm="MD5-sess")
        assert plain != sess

    def test_akav1_md5_uses_res_as_password(self):
        # RFC 3310 §3.4: AKAv1-MD5 is Digest MD5 with the binary RES as password.
        res = bytes.fromhex("a54211d5e3ba50bf")
        aka = digest_response(**{**IMS, "password": res}, algorithm="AKAv1-MD5")
        assert aka == digest_response(**{**IMS, "password": res}, algorithm="MD5")

    def test_unsupported_algorithm_and_missing_cnonce(self):
        with pytest.raises(ValueError, match="unsupported digest algorithm"):
            digest_response(**IMS, algorithm="SHA-1")
        with pytest.raises(ValueError, match="qop needs nc and cnonce"):
            digest_response(**IMS, qop="auth")

    def test_build_then_verify(self):
        value = build_digest_authorization(**IMS, qop="auth", opaque="op")
        creds = parse_credentials(value)
        assert creds.scheme == "Digest"
        assert creds.param("nc") == "00000001" and creds.param("opaque") == "op"
        assert creds.quoted["response"] and not creds.quoted["qop"] and not creds.quoted["nc"]
        assert verify_digest(creds, password="s3cr3t", method="REGISTER")
        assert verify_digest(value, password="s3cr3t", method="REGISTER", nonce=IMS["nonce"])
        assert not verify_digest(creds, password="wrong", method="REGISTER")
        assert not verify_digest(creds, password="s3cr3t", method="INVITE")
        assert not verify_digest(creds, password="s3cr3t", method="REGISTER", realm="other")
        assert not verify_digest(creds, password="s3cr3t", method="REGISTER", nonce="stale")

    def test_build_without_qop_and_sha256(self):
        value = build_digest_authorization(**IMS, algorithm="SHA-256")
        assert "qop=" not in value and "cnonce=" not in value and "algorithm=SHA-256" in value
        assert verify_digest(value, password="s3cr3t", method="REGISTER")

    @pytest.mark.parametrize(
        "value",
        [
            'Digest username="a", realm="r", nonce="n", uri="sip:x"',  # no response
            'Digest username="a", realm="r", nonce="n", uri="sip:x", response="x", qop=auth',
            'Digest username="a", realm="r", nonce="n", uri="sip:x", response="x", algorithm=SHA-1',
            "Bearer abc.def",
            "Digest =broken",
            "",
        ],
    )
    def test_malformed_or_unsupported_credentials_do_not_verify(self, value: str):
        assert not verify_digest(value, password="p", method="REGISTER")

    def test_challenge_builder(self):
        value = build_digest_challenge("ims.example.test", "abc", opaque="o", stale=True)
        assert value == (
            'Digest realm="ims.example.test", nonce="abc", algorithm=MD5, qop="auth", '
            'opaque="o", stale=TRUE'
        )
        challenge = parse_challenge(value)
        assert challenge.param("QOP") == "auth" and challenge.quoted["qop"]
        assert not challenge.quoted["algorithm"]

    def test_challenge_without_qop(self):
        assert "qop" not in build_digest_challenge("r", "n", qop=None)


class TestRFC3261Section20_44Challenges:
    def test_digest_challenge_with_quoted_commas(self):
        challenge = parse_challenge(
            'Digest realm="atlanta.example.com", qop="auth,auth-int",\r\n '
            'nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", stale=FALSE, algorithm=MD5'
        )
        assert challenge.scheme == "Digest"
        assert challenge.params == {
            "realm": "atlanta.example.com",
            "qop": "auth,auth-int",
            "nonce": "ea9c8e88df84f1cec4341ae6cbe5a359",
            "opaque": "",
            "stale": "FALSE",
            "algorithm": "MD5",
        }

    def test_escaped_quotes_are_resolved(self):
        assert parse_challenge('Digest realm="a \\"b\\""').param("realm") == 'a "b"'

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("", "missing auth scheme"),
            ('Digest, realm="x"', "bad auth scheme"),
            ('Digest realm"x"', "missing '=' in auth parameter"),
            ('Digest realm="x', "unterminated quoted string"),
            ('Digest realm="x" nonce="y"', "expected ',' between auth parameters"),
            ('Digest realm="x", realm="y"', "duplicate auth parameter"),
            ('Digest realm="x",', "trailing comma"),
            ("Digest realm=", "missing auth parameter value"),
            ('Digest ="x"', "bad auth parameter"),
        ],
    )
    def test_malformed_challenges(self, value: str, reason: str):
        with pytest.raises(SipParseError) as info:
            parse_challenge(value)
        assert info.value.reason == reason


class TestRFC6750Section3Bearer:
    def test_bearer_challenge(self):
        challenge = parse_challenge(
            'Bearer realm="ims.example.test", error="invalid_token", '
            'error_description="The access token expired"'
        )
        assert challenge == Challenge(
            "Bearer",
            {
                "realm": "ims.example.test",
                "error": "invalid_token",
                "error_description": "The access token expired",
            },
            {"realm": True, "error": True, "error_description": True},
        )

    def test_bare_bearer_challenge(self):
        assert parse_challenge("Bearer") == Challenge("Bearer", {}, {})

    def test_bearer_token_credentials(self):
        # RFC 6750 §2.1 / RFC 8898 §2.2: "Bearer" 1*SP b64token.
        creds = parse_credentials("Bearer mF_9.B5f-4.1JqM/+==")
        assert creds == Credentials("Bearer", {}, "mF_9.B5f-4.1JqM/+==", {})


class TestCredentialsQuoting:
    def test_integrity_protected_unquoted_vs_quoted(self):
        # 3GPP TS 24.229 §5.2.2.3: the P-CSCF adds integrity-protected as a token.
        base = 'Digest username="alice@ims", realm="ims", nonce="", uri="sip:ims", response=""'
        unquoted = parse_credentials(base + ", integrity-protected=auth-done")
        quoted = parse_credentials(base + ', integrity-protected="auth-done"')
        assert unquoted.param("integrity-protected") == quoted.param("integrity-protected")
        assert unquoted.quoted["integrity-protected"] is False
        assert quoted.quoted["integrity-protected"] is True
        assert unquoted.params["nonce"] == "" and unquoted.quoted["nonce"]

    def test_values_are_hashable_dataclasses_by_scheme(self):
        assert hash(parse_credentials("Bearer abc")) == hash(Credentials("Bearer", token="abc"))


class TestAuthParsersNeverCrash:
    @given(st.text(max_size=80))
    def test_only_sip_parse_error(self, text: str):
        for parser in (parse_challenge, parse_credentials):
            try:
                parser(text)
            except SipParseError as err:
                assert err.reason == err.reason.lower()
        assert verify_digest(text, password="p", method="REGISTER") in (True, False)
