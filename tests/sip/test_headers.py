"""Tests for harness.sip.headers: URIs, addresses, Via, CSeq, parameters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.sip.errors import SipParseError
from harness.sip.headers import (
    CSeq,
    NameAddr,
    SipUri,
    Via,
    format_params,
    parse_params,
    quote,
    split_header_list,
    unquote,
)


def assert_invalid(parser, text: str, reason: str) -> SipParseError:  # noqa: ANN001
    """`parser(text)` raises SipParseError whose reason contains `reason`."""
    with pytest.raises(SipParseError) as info:
        parser(text)
    assert reason in info.value.reason
    assert 0 <= info.value.offset <= len(info.value.data)
    return info.value


class TestRFC3261Section19_1SipUri:
    def test_user_host_port_params_headers(self):
        uri = SipUri.parse("sip:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=x")
        assert uri.scheme == "sip"
        assert (uri.user, uri.password) == ("alice", "secret")
        assert (uri.host, uri.port) == ("atlanta.example.com", 5061)
        assert uri.params == (("transport", "tcp"), ("lr", None))
        assert uri.headers == "subject=x"

    def test_sips_scheme_is_case_insensitive(self):
        assert SipUri.parse("SIPS:bob@biloxi.example.com").scheme == "sips"

    def test_ipv6_reference_keeps_brackets(self):
        uri = SipUri.parse("sip:[2001:db8::10]:5060;transport=ws")
        assert (uri.host, uri.port, uri.user) == ("[2001:db8::10]", 5060, None)
        assert uri.host_port == "[2001:db8::10]:5060"

    def test_param_lookup_is_case_insensitive(self):
        uri = SipUri.parse("sip:ims.example.test;Transport=WS;lr")
        assert uri.param("transport") == "WS"
        assert uri.has_param("LR") and uri.param("lr") is None
        assert not uri.has_param("maddr")

    def test_with_and_without_param(self):
        uri = SipUri.parse("sip:pcscf.example.test;lr")
        assert str(uri.with_param("transport", "ws")) == "sip:pcscf.example.test;lr;transport=ws"
        assert str(uri.with_param("LR", "on")) == "sip:pcscf.example.test;lr=on"
        assert str(uri.without_param("lr")) == "sip:pcscf.example.test"

    @pytest.mark.parametrize(
        "text",
        [
            "sip:alice@atlanta.example.com",
            "sips:alice:pw@[2001:db8::1]:5061;transport=tls?to=bob%40b.example",
            "sip:+12125551212@gw.example.com;user=phone",
            "sip:ims.example.test;lr",
        ],
    )
    def test_str_round_trip(self, text: str):
        assert str(SipUri.parse(text)) == text
        assert SipUri.parse(str(SipUri.parse(text))) == SipUri.parse(text)

    def test_user_may_hold_semicolons_and_escapes(self):
        # RFC 4475 §3.1.1.9: the user part is "user;par=u%40example.net".
        uri = SipUri.parse("sip:user;par=u%40example.net@example.com")
        assert (uri.user, uri.host, uri.params) == ("user;par=u%40example.net", "example.com", ())

    def test_tel_uri_keeps_number_and_params(self):
        uri = SipUri.parse("tel:+1-201-555-0123;phone-context=ims.example.test")
        assert (uri.scheme, uri.user, uri.host) == ("tel", "+1-201-555-0123", "")
        assert uri.param("phone-context") == "ims.example.test"
        assert not uri.is_sip
        assert str(uri) == "tel:+1-201-555-0123;phone-context=ims.example.test"

    def test_other_schemes_are_opaque(self):
        uri = SipUri.parse("urn:service:sos")
        assert (uri.scheme, uri.opaque, str(uri)) == ("urn", "service:sos", "urn:service:sos")

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("", "bad uri scheme"),
            ("alice@example.com", "bad uri scheme"),
            ("sip:", "empty uri"),
            ("sip:alice@", "missing host"),
            ("sip:@example.com", "empty user"),
            ("sip:example.com:99999", "bad port"),
            ("sip:example.com:", "bad port"),
            ("sip:example.com;;lr", "empty uri parameter"),
            ("sip:example.com;lr=", "empty uri parameter value"),
            ("sip:example.com;lr ", "bad character in uri"),
            ("sip:al ice@example.com", "bad character in uri"),
            ("sip:alice%2@example.com", "bad escape in user"),
            ("sip:[2001:db8::1", "unterminated ipv6 reference"),
            ("sip:[zz]", "bad ipv6 reference"),
            ("sip:example.com?", "empty uri headers"),
            ("sip:example.com/path", "unexpected character after host"),
        ],
    )
    def test_malformed_uris_are_rejected(self, text: str, reason: str):
        assert_invalid(SipUri.parse, text, reason)

    def test_error_offset_points_at_the_problem(self):
        err = assert_invalid(SipUri.parse, "sip:example.com:99999", "bad port")
        assert err.offset == len("sip:example.com:")
        assert str(err) == "at byte 16: bad port"


class TestRFC3261Section20_10NameAddr:
    def test_quoted_display_name_is_unquoted(self):
        addr = NameAddr.parse('"Alice \\"A\\" Liddell" <sip:alice@atlanta.example.com>;tag=9fx')
        assert addr.display_name == 'Alice "A" Liddell'
        assert addr.uri.user == "alice"
        assert addr.tag == "9fx"

    def test_token_display_name(self):
        addr = NameAddr.parse("Bob Smith <sip:bob@biloxi.example.com>")
        assert addr.display_name == "Bob Smith"

    def test_empty_quoted_display_name_differs_from_none(self):
        assert NameAddr.parse('"" <sip:a@b.example>').display_name == ""
        assert NameAddr.parse("<sip:a@b.example>").display_name is None

    def test_bare_addr_spec_params_are_header_params(self):
        # RFC 3261 §20: parameters after a bare URI belong to the header field.
        addr = NameAddr.parse("sip:alice@atlanta.example.com;tag=88sja8x")
        assert addr.uri.params == ()
        assert addr.params == (("tag", "88sja8x"),)

    def test_bracketed_uri_params_stay_in_the_uri(self):
        addr = NameAddr.parse("<sip:alice@192.0.2.4;transport=ws>;expires=600")
        assert addr.uri.param("transport") == "ws"
        assert addr.param("expires") == "600"

    def test_outbound_contact_params_keep_their_quotes(self):
        # RFC 5626 §4.2 / RFC 7118 §8: +sip.instance is a quoted "<urn:...>".
        addr = NameAddr.parse(
            "<sip:alice@df7jal23ls0d.invalid;transport=ws;ob>;reg-id=1;"
            '+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"'
        )
        assert addr.param("+sip.instance") == '"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"'
        assert (
            unquote(addr.param("+sip.instance"))
            == "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"
        )
        assert addr.param("reg-id") == "1"
        assert addr.uri.has_param("ob")

    def test_lws_around_separators(self):
        addr = NameAddr.parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n")
        assert addr.tag == "1918181833n"

    def test_str_is_canonical_and_reparses(self):
        addr = NameAddr.parse("caller<sip:caller@example.com>;tag=323")
        assert str(addr) == "caller <sip:caller@example.com>;tag=323"
        odd = NameAddr.parse('"a, b" <sip:x@example.com>')
        assert str(odd) == '"a, b" <sip:x@example.com>'
        assert NameAddr.parse(str(odd)) == odd

    def test_with_and_without_param(self):
        addr = NameAddr.parse("<sip:bob@biloxi.example.com>")
        tagged = addr.with_param("tag", "314159")
        assert tagged.tag == "314159"
        assert tagged.without_param("TAG").tag is None

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("", "empty address"),
            ('"Mr. J. User <sip:j.user@example.com>', "unterminated quoted string"),
            ('"Joe" sip:joe@example.org', "expected '<' after display name"),
            ("Bell, Alexander <sip:a.g.bell@example.com>", "bad display name"),
            ("<sip:joe@example.org", "unterminated '<'"),
            ("< sip:t.watson@example.org >", "bad uri scheme"),
            ("<sip:joe@example.org>;;", "empty parameter"),
            ("<sip:joe@example.org> junk", "expected ';' before parameter"),
            ("sip:user@example.com?Route=%3Csip:sip.example.com%3E", "needs angle brackets"),
            ("<sip:joe@example.org>;tag=", "missing parameter value"),
        ],
    )
    def test_malformed_addresses_are_rejected(self, text: str, reason: str):
        assert_invalid(NameAddr.parse, text, reason)


class TestRFC3261Section20_42Via:
    def test_rfc7118_websocket_via(self):
        # RFC 7118 §8.1: the client's Via uses the WSS transport and an .invalid host.
        via = Via.parse("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks")
        assert (via.protocol, via.transport) == ("SIP/2.0/WSS", "WSS")
        assert (via.host, via.port, via.sent_by) == (
            "df7jal23ls0d.invalid",
            None,
            "df7jal23ls0d.invalid",
        )
        assert via.branch == "z9hG4bK56sdasks"

    def test_transport_is_upper_cased_protocol_as_written(self):
        via = Via.parse("SIP/2.0/wss proxy.example.test:443")
        assert (via.protocol, via.transport, via.port) == ("SIP/2.0/wss", "WSS", 443)

    def test_rport_received(self):
        # RFC 3581 §4: rport without a value in requests, with one in responses.
        assert Via.parse("SIP/2.0/UDP a.example;rport").rport == ""
        assert Via.parse("SIP/2.0/UDP a.example").rport is None
        via = Via.parse("SIP/2.0/UDP a.example;received=192.0.2.1;rport=5061")
        assert (via.received, via.rport) == ("192.0.2.1", "5061")

    def test_ipv6_sent_by_and_received(self):
        via = Via.parse("SIP/2.0/TCP [2001:db8::9]:5060;received=2001:db8::9;branch=z9hG4bKx")
        assert (via.host, via.port, via.received) == ("[2001:db8::9]", 5060, "2001:db8::9")

    def test_lws_everywhere(self):
        via = Via.parse("SIP  /   2.0 /UDP 192.0.2.2 : 5060 ; branch = z9hG4bKab")
        assert str(via) == "SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKab"

    def test_with_and_without_param(self):
        via = Via.parse("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKx;rport")
        answered = via.with_param("received", "192.0.2.7").with_param("rport", "50123")
        assert str(answered) == (
            "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKx;rport=50123;received=192.0.2.7"
        )
        assert answered.without_param("rport").rport is None

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("", "bad sent-protocol"),
            ("SIP/2.0 host.example", "bad sent-protocol"),
            ("SIP/2.0/UDP", "missing lws after sent-protocol"),
            ("SIP/2.0/UDP ", "missing sent-by"),
            ("SIP/2.0/UDPhost", "missing lws after sent-protocol"),
            ("SIP/2.0/UDP 192.0.2.15;;", "empty parameter"),
            ("SIP/2.0/UDP host:x50", "bad sent-by port"),
            ("SIP/2.0/UDP host:5060x", "expected ';' before parameter"),
            ("SIP/2.0/UDP []", "bad sent-by host"),
            ("SIP/2.0/UDP host;branch=", "missing parameter value"),
        ],
    )
    def test_malformed_vias_are_rejected(self, text: str, reason: str):
        assert_invalid(Via.parse, text, reason)


class TestRFC3261Section20_16CSeq:
    def test_parse_and_str(self):
        assert CSeq.parse("4711 REGISTER") == CSeq(4711, "REGISTER")
        assert str(CSeq(1, "INVITE")) == "1 INVITE"

    def test_leading_zeros_and_lws(self):
        # RFC 4475 §3.1.1.1: "cseq: 0009\r\n  INVITE" is well-formed.
        assert CSeq.parse("0009   INVITE") == CSeq(9, "INVITE")

    def test_largest_32_bit_value(self):
        assert CSeq.parse("4294967295 ACK").number == 2**32 - 1

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("INVITE", "bad cseq number"),
            ("4294967296 INVITE", "cseq number out of range"),
            ("36893488147419103232 REGISTER", "cseq number out of range"),
            ("1INVITE", "missing lws in cseq"),
            ("1 ", "bad cseq method"),
            ("1 INVITE extra", "trailing characters in cseq"),
        ],
    )
    def test_malformed_cseq_is_rejected(self, text: str, reason: str):
        assert_invalid(CSeq.parse, text, reason)


class TestRFC3261Section7_3_1ListsAndParameters:
    def test_split_respects_quotes_and_brackets(self):
        value = '"Bell, A." <sip:a@x.example>;q=0.5, <sip:b,c@y.example>, sip:d@z.example'
        assert split_header_list(value) == [
            '"Bell, A." <sip:a@x.example>;q=0.5',
            "<sip:b,c@y.example>",
            "sip:d@z.example",
        ]

    def test_split_keeps_empty_elements_but_not_blank_values(self):
        assert split_header_list("a,,b") == ["a", "", "b"]
        assert split_header_list("   ") == []

    def test_parse_params_with_lws_and_quotes(self):
        params = parse_params(' ; newparam =\t newvalue ; secondparam ; q = 0.33;x="a;b"')
        assert params == (
            ("newparam", "newvalue"),
            ("secondparam", None),
            ("q", "0.33"),
            ("x", '"a;b"'),
        )
        assert format_params(params) == ';newparam=newvalue;secondparam;q=0.33;x="a;b"'

    def test_quote_unquote(self):
        assert quote('say "hi" \\o/') == '"say \\"hi\\" \\\\o/"'
        assert unquote(quote('say "hi" \\o/')) == 'say "hi" \\o/'
        assert unquote("token") == "token"


_uri_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
_host = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)
_token = st.from_regex(r"[A-Za-z0-9][-A-Za-z0-9.!*_+`'~]{0,8}", fullmatch=True)
_user = st.from_regex(r"[-A-Za-z0-9_.!~*'()&=+$,;?/]{1,12}|%[0-9A-F]{2}", fullmatch=True)
_param = st.from_regex(r"[-A-Za-z0-9_.!~*'()\[\]/:&+$]{1,8}", fullmatch=True)


class TestParsersNeverCrash:
    @given(_uri_text)
    def test_text_parsers_raise_only_sip_parse_error(self, text: str):
        for parser in (SipUri.parse, NameAddr.parse, Via.parse, CSeq.parse, parse_params):
            try:
                parser(text)
            except SipParseError as err:
                assert err.reason and err.reason == err.reason.lower()

    @given(
        st.sampled_from(["sip", "sips"]),
        st.none() | _user,
        _host,
        st.none() | st.integers(0, 65535),
        st.lists(st.tuples(_param, st.none() | _param), max_size=3),
    )
    def test_built_uris_round_trip(self, scheme, user, host, port, params):  # noqa: ANN001
        uri = SipUri(scheme, user, None, host, port, tuple(params))
        assert SipUri.parse(str(uri)) == uri
