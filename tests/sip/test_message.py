"""Tests for harness.sip.message: framing, validation, editing, building, torture tests."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.sip.headers import CSeq, unquote
from harness.sip.message import (
    ParseResult,
    SipMessage,
    SipParseError,
    build_request,
    build_response,
    is_keepalive,
    new_branch,
    new_call_id,
    new_tag,
    parse,
)

from . import rfc4475
from .rfc4475 import wire

REGISTER = wire(
    """REGISTER sip:ims.example.test SIP/2.0
Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks;rport
Max-Forwards: 70
From: <sip:alice@ims.example.test>;tag=5dpnvb
To: <sip:alice@ims.example.test>
Call-ID: 3h2qnqb27tpu
CSeq: 1 REGISTER
Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws;ob>;reg-id=1;+sip.instance="<urn:uuid:1>"
Supported: path, outbound, gruu
Content-Length: 0

"""
)


def accepted(data: bytes | str) -> SipMessage:
    """Parse `data` (str goes through `wire()`), expecting it to be well-formed."""
    result = parse(wire(data) if isinstance(data, str) else data)
    assert isinstance(result, ParseResult)
    return result.message


def rejected(data: bytes | str, reason: str, *, partial: bool = True) -> SipParseError:
    """Parse `data`, expecting `SipParseError` with `reason` and (no) partial message."""
    raw = wire(data) if isinstance(data, str) else data
    with pytest.raises(SipParseError) as info:
        parse(raw)
    err = info.value
    assert err.reason == reason
    assert err.data == raw
    assert 0 <= err.offset <= len(raw)
    assert (err.partial is not None) is partial
    return err


def request(**changes: str | None) -> str:
    """A small OPTIONS request; `changes` maps header names to new values or None."""
    headers = {
        "Via": "SIP/2.0/WSS h.invalid;branch=z9hG4bKa1",
        "Max-Forwards": "70",
        "From": "<sip:alice@ims.example.test>;tag=1",
        "To": "<sip:bob@ims.example.test>",
        "Call-ID": "c1",
        "CSeq": "1 OPTIONS",
    }
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    lines = ["OPTIONS sip:bob@ims.example.test SIP/2.0", *(f"{k}: {v}" for k, v in headers.items())]
    return "\n".join(lines) + "\n\n"


class TestRFC3261Section7_5Framing:
    def test_leading_crlf_is_skipped(self):
        result = parse(b"\r\n\r\n" + REGISTER)
        assert result.message.method == "REGISTER"
        assert (result.consumed, result.excess) == (len(REGISTER) + 4, b"")

    def test_bare_lf_line_ends_are_accepted(self):
        msg = accepted(REGISTER.replace(b"\r\n", b"\n"))
        assert msg == accepted(REGISTER)

    def test_empty_input(self):
        rejected(b"", "empty message", partial=False)
        rejected(b"\r\n\r\n", "empty message", partial=False)

    def test_headers_not_terminated_keeps_partial(self):
        err = rejected(REGISTER[:-2], "headers not terminated")
        assert err.partial.call_id == "3h2qnqb27tpu"
        rejected(b"OPTIONS sip:x SIP/2.0", "headers not terminated")

    def test_no_content_length_body_is_the_rest(self):
        # RFC 3261 §18.3 / RFC 7118 §5: Content-Length is optional on message transports.
        result = parse(wire(request()) + b"hello")
        assert (result.message.body, result.declared_length, result.excess) == (b"hello", None, b"")

    def test_smaller_content_length_leaves_excess(self):
        result = parse(wire(request(Content_Length="3")) + b"hello")
        assert (result.message.body, result.excess, result.declared_length) == (b"hel", b"lo", 3)
        assert result.consumed == len(wire(request(Content_Length="3"))) + 3

    def test_larger_content_length_is_an_error_with_partial(self):
        err = rejected(
            wire(request(Content_Length="6")) + b"hello", "content-length larger than body"
        )
        assert err.partial.body == b"hello"
        assert err.partial.cseq == CSeq(1, "OPTIONS")

    @pytest.mark.parametrize("value", ["five", "1 2", "0x10", "+3", ""])
    def test_non_numeric_content_length(self, value: str):
        rejected(request(Content_Length=value), "bad content-length")

    def test_huge_content_length(self):
        rejected(request(Content_Length="9" * 5000), "content-length larger than body")

    def test_leading_zeros_in_content_length(self):
        assert parse(wire(request(Content_Length="0003")) + b"abc").declared_length == 3


class TestRFC3261Section7_1StartLine:
    def test_request_line(self):
        msg = accepted(REGISTER)
        assert (msg.is_request, msg.method, msg.request_uri) == (
            True,
            "REGISTER",
            "sip:ims.example.test",
        )
        assert (msg.status, msg.reason) == (None, None)

    def test_status_line(self):
        msg = accepted(rfc4475.UNREASON)
        assert (msg.is_request, msg.status, msg.request_uri) == (False, 200, None)
        assert msg.reason == rfc4475.UNREASON_PHRASE
        assert msg.method == "INVITE"

    def test_status_without_reason_or_space_is_tolerated(self):
        response = "SIP/2.0 100\n" + request().split("\n", 1)[1]
        assert accepted(response).reason == ""

    @pytest.mark.parametrize(
        "line",
        [
            "OPTIONS sip:bob@ims.example.test",
            "OPTIONS sip:bob@ims.example.test SIP/2.0 extra",
            "OPTIONS bob@ims.example.test SIP/2.0",
            "OPT(ONS sip:bob@ims.example.test SIP/2.0",
            "SIP/2.0 99 Too Low",
            "SIP/2.0 700 Too High",
            "SIP/2.0 2000 OK",
            "SIP/2.0 OK",
            "HTTP/1.1 200 OK",
        ],
    )
    def test_bad_start_lines(self, line: str):
        err = rejected(line + "\n" + request().split("\n", 1)[1], "bad start line", partial=False)
        assert str(err) == "at byte 0: bad start line"

    def test_start_line_error_offset_counts_leading_crlf(self):
        err = rejected(
            b"\r\n" + wire("BAD\n" + request().split("\n", 1)[1]), "bad start line", partial=False
        )
        assert err.offset == 2


class TestRFC3261Section7_3Headers:
    def test_header_names_as_on_the_wire_values_unfolded(self):
        msg = accepted(rfc4475.WSINV)
        assert msg.headers[0] == (
            "TO",
            "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
        )
        assert msg.header("NewFangledHeader") == "newfangled value continued newfangled value"
        assert msg.header("cseq") == "0009 INVITE"

    def test_compact_forms_both_ways(self):
        msg = accepted(rfc4475.WSINV)
        assert msg.header("Subject") == "" and msg.header("s") == ""
        assert msg.header("m") == msg.header("Contact")
        assert msg.header("v") == msg.header("Via")
        assert len(msg.header_values("VIA")) == 3
        assert msg.has_header("l") and not msg.has_header("Expires")

    def test_list_headers_are_split(self):
        msg = accepted(REGISTER)
        assert msg.header_values("k") == ["path", "outbound", "gruu"]

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            (
                "Authorization",
                'Digest username="a", realm="b", nonce="c", uri="sip:x", response="d"',
            ),
            ("WWW-Authenticate", 'Digest realm="b", qop="auth,auth-int", nonce="c"'),
            ("Date", "Sat, 13 Nov 2010 23:29:00 GMT"),
            ("X-Unknown", "a, b, c"),
        ],
    )
    def test_non_list_headers_are_not_split(self, name: str, value: str):
        msg = accepted(request(**{name.replace("-", "_"): value}))
        assert msg.header_values(name) == [value]

    def test_contact_star_gives_no_contacts(self):
        msg = accepted(request(Contact="*", Expires="0"))
        assert (msg.header_values("Contact"), msg.contacts) == (["*"], [])

    def test_bad_header_name(self):
        err = rejected(request(**{"X(bad)": "1"}), "bad header name", partial=False)
        assert wire(request(**{"X(bad)": "1"}))[err.offset :].startswith(b"X(bad)")

    def test_missing_colon(self):
        text = request().replace("Max-Forwards: 70", "Max-Forwards 70")
        err = rejected(text, "missing colon in header", partial=False)
        assert wire(text)[err.offset :].startswith(b"Max-Forwards 70")

    def test_continuation_before_any_header(self):
        text = request().replace("\n", "\n folded\n", 1)
        rejected(text, "unexpected continuation line", partial=False)


class TestRFC3261Section8_1_1MandatoryHeaders:
    @pytest.mark.parametrize("name", ["Via", "From", "To", "Call-ID", "CSeq"])
    def test_missing_mandatory_header_is_named(self, name: str):
        err = rejected(request(**{name.replace("-", "_"): None}), f"missing {name.lower()} header")
        assert err.partial.method == "OPTIONS"

    def test_missing_max_forwards_is_tolerated(self):
        assert accepted(request(Max_Forwards=None)).max_forwards is None

    def test_responses_need_them_too(self):
        response = "SIP/2.0 200 OK\n" + request(CSeq=None).split("\n", 1)[1]
        rejected(response, "missing cseq header")

    def test_cseq_method_must_match(self):
        err = rejected(request(CSeq="1 INVITE"), "cseq method does not match request method")
        assert wire(request(CSeq="1 INVITE"))[err.offset :].startswith(b"CSeq")

    def test_duplicate_call_id(self):
        text = request().replace("Call-ID: c1\n", "Call-ID: c1\ni: c2\n")
        rejected(text, "duplicate call-id header")

    def test_bad_call_id(self):
        rejected(request(Call_ID="a b"), "bad call-id header: bad call-id")

    def test_unsupported_version_keeps_partial_for_505(self):
        err = rejected(rfc4475.BADVERS, "unsupported sip version")
        reply = build_response(err.partial, 505)
        assert reply.start_line == "SIP/2.0 505 Version Not Supported"
        assert reply.header("Via") == "SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw"


class TestMessageEditing:
    def test_add_header_bottom_and_top(self):
        msg = accepted(REGISTER)
        pushed = msg.add_header("Via", "SIP/2.0/TCP p.example.test;branch=z9hG4bKp", top=True)
        assert pushed.top_via.host == "p.example.test"
        assert pushed.headers[0][0] == "Via"
        assert msg.add_header("Path", "<sip:p@x;lr>").headers[-1] == ("Path", "<sip:p@x;lr>")

    def test_top_header_goes_above_its_kind(self):
        msg = (
            accepted(REGISTER)
            .add_header("Route", "<sip:b;lr>")
            .add_header("Route", "<sip:a;lr>", top=True)
        )
        assert msg.header_values("Route") == ["<sip:a;lr>", "<sip:b;lr>"]

    def test_replace_header_keeps_position_and_collapses(self):
        msg = accepted(REGISTER).add_header("m", "<sip:x@y>")
        replaced = msg.replace_header("Contact", "*")
        assert replaced.header_values("Contact") == ["*"]
        assert [n for n, _ in replaced.headers].index("Contact") == [
            n for n, _ in msg.headers
        ].index("Contact")
        assert msg.replace_header("Expires", "600").headers[-1] == ("Expires", "600")

    def test_remove_header_matches_compact_forms(self):
        msg = accepted(rfc4475.WSINV).remove_header("Via")
        assert msg.header_values("v") == []

    def test_with_body_sets_content_length_and_type(self):
        msg = accepted(REGISTER).with_body(b"v=0\r\n", "application/sdp")
        assert (msg.content_length, msg.header("c"), msg.body) == (5, "application/sdp", b"v=0\r\n")
        assert parse(msg.to_bytes()).message == msg

    @pytest.mark.parametrize("content_type", [None, "application/sdp"])
    @pytest.mark.parametrize("headers", [
        (("A", "1"),),
        (("Content-Length", "5"), ("A", "1"), ("content-type", "x"), ("l", "3"), ("c", "y"), ("B", "2")),
        (("c", "y"), ("A", "1")),
    ])
    def test_with_body_places_headers_as_replace_header_does(self, headers, content_type):
        msg = SipMessage("OPTIONS sip:x SIP/2.0", headers)
        expected = SipMessage(msg.start_line, msg.headers, b"abc")
        if content_type is not None:
            expected = expected.replace_header("Content-Type", content_type)
        expected = expected.replace_header("Content-Length", "3")
        assert msg.with_body(b"abc", content_type) == expected

    @pytest.mark.parametrize("text", [rfc4475.WSINV, REGISTER, build_response(
        accepted(REGISTER), 401, to_tag="x").to_bytes()])
    def test_parsed_typed_headers_are_those_a_built_message_parses(self, text):
        parsed = accepted(text)
        built = SipMessage(parsed.start_line, parsed.headers, parsed.body)  # nothing remembered
        assert (parsed.vias, parsed.cseq, parsed.from_, parsed.to, parsed.call_id, parsed.status) == (
            built.vias, built.cseq, built.from_, built.to, built.call_id, built.status)
        assert parsed.vias is not parsed.vias  # a fresh list each time: callers may edit it
        assert parsed.add_header("Via", "SIP/2.0/UDP h;branch=z9hG4bKx", top=True).vias[0].host == "h"

    def test_to_bytes_keeps_a_wrong_content_length(self):
        msg = accepted(REGISTER).replace_header("Content-Length", "99")
        assert b"\r\nContent-Length: 99\r\n" in msg.to_bytes()
        rejected(msg.to_bytes(), "content-length larger than body")

    def test_to_bytes_round_trips_a_canonical_message(self):
        assert accepted(REGISTER).to_bytes() == REGISTER

    def test_headers_given_as_lists_are_normalised(self):
        msg = SipMessage("OPTIONS sip:x SIP/2.0", [["Call-ID", "1"]], bytearray(b"x"))  # type: ignore[arg-type]
        assert msg.headers == (("Call-ID", "1"),) and msg.body == b"x"

    def test_summary(self):
        assert accepted(REGISTER).summary() == "REGISTER sip:ims.example.test CSeq 1 REGISTER"
        response = build_response(accepted(REGISTER), 200)
        assert response.summary() == "200 OK (REGISTER)"
        assert SipMessage("garbage").summary() == "garbage"

    def test_typed_accessors_raise_parse_errors_on_hand_made_messages(self):
        msg = SipMessage("OPTIONS sip:x SIP/2.0", (("Via", "nonsense"), ("Content-Length", "x")))
        for accessor in ("call_id", "cseq", "from_", "to", "vias", "content_length"):
            with pytest.raises(SipParseError):
                getattr(msg, accessor)
        assert msg.method == "OPTIONS" and msg.contacts == []


class TestRFC3261Section8_2_6Responses:
    def test_copies_dialog_headers_in_order(self):
        req = accepted(rfc4475.WSINV)
        resp = build_response(req, 180, to_tag="abc")
        assert resp.start_line == "SIP/2.0 180 Ringing"
        assert resp.header_values("Via") == req.header_values("Via")
        assert [n for n, _ in resp.headers][:3] == ["Via", "Via", "From"]
        assert resp.to.tag == "1918181833n"  # To already had a tag: kept
        assert (resp.call_id, resp.cseq) == (req.call_id, req.cseq)
        assert resp.content_length == 0 and resp.body == b""

    def test_adds_to_tag(self):
        resp = build_response(accepted(REGISTER), 200, to_tag="xyz", headers=[("Expires", "600")])
        assert resp.to.tag == "xyz"
        assert resp.header("Expires") == "600"
        assert parse(resp.to_bytes()).message == resp

    @pytest.mark.parametrize(
        ("method", "status", "copied"),
        [
            ("INVITE", 180, True),
            ("INVITE", 200, True),
            ("INVITE", 100, False),
            ("INVITE", 486, False),
            ("SUBSCRIBE", 200, True),
            ("OPTIONS", 200, False),
        ],
    )
    def test_record_route_only_for_dialog_creating(self, method: str, status: int, copied: bool):
        req = build_request(
            method,
            "sip:bob@ims.example.test",
            [
                ("Record-Route", "<sip:p2.example.test;lr>"),
                ("Via", "SIP/2.0/WSS h.invalid;branch=z9hG4bKa1"),
                ("Record-Route", "<sip:p1.example.test;lr>"),
                ("From", "<sip:alice@ims.example.test>;tag=1"),
                ("To", "<sip:bob@ims.example.test>"),
                ("Call-ID", "c1"),
                ("CSeq", f"1 {method}"),
            ],
        )
        expected = ["<sip:p2.example.test;lr>", "<sip:p1.example.test;lr>"] if copied else []
        assert build_response(req, status).header_values("Record-Route") == expected

    def test_reason_phrases(self):
        req = accepted(REGISTER)
        assert build_response(req, 401).reason == "Unauthorized"
        assert build_response(req, 299).reason == "Success"
        assert build_response(req, 403, "Nope").reason == "Nope"

    def test_body_and_content_type(self):
        resp = build_response(
            accepted(REGISTER), 200, body=b"<xml/>", content_type="application/xml"
        )
        assert (resp.header("Content-Type"), resp.content_length) == ("application/xml", 6)

    def test_answering_a_partial_message(self):
        err = rejected(rfc4475.CLERR, "content-length larger than body")
        resp = build_response(err.partial, 400)
        assert resp.summary() == "400 Bad Request (INVITE)"
        assert resp.to.tag is None


class TestBuildRequest:
    def test_content_length_and_type(self):
        msg = build_request(
            "MESSAGE", "sip:bob@ims.example.test", [("Content-Length", "7")], b"hi", "text/plain"
        )
        assert msg.header_values("Content-Length") == ["2"]
        assert msg.headers[-1] == ("Content-Type", "text/plain")  # the given CL kept its place
        bare = build_request("MESSAGE", "sip:bob@ims.example.test", [], b"hi", "text/plain")
        assert bare.headers == (("Content-Type", "text/plain"), ("Content-Length", "2"))
        assert msg.start_line == "MESSAGE sip:bob@ims.example.test SIP/2.0"


class TestRFC3261Section8_1_1_7Identifiers:
    def test_branch_has_magic_cookie_and_is_unique(self):
        branches = {new_branch() for _ in range(100)}
        assert len(branches) == 100 and all(b.startswith("z9hG4bK") for b in branches)

    def test_tags_and_call_ids_are_unique_tokens(self):
        assert len({new_tag() for _ in range(100)}) == 100
        assert len({new_call_id() for _ in range(100)}) == 100
        assert new_tag().isalnum() and new_call_id().isalnum()


class TestRFC5626Section3_5_1Keepalive:
    def test_ping_and_pong(self):
        assert is_keepalive(b"\r\n\r\n") and is_keepalive(b"\r\n")

    @pytest.mark.parametrize("payload", [b"", b"\n", b"\r\n\r\n\r\n", b" \r\n", REGISTER])
    def test_anything_else(self, payload: bytes):
        assert not is_keepalive(payload)


class TestRFC4475Section3_1_1ValidMessages:
    def test_3_1_1_1_wsinv_short_tortuous_invite(self):
        msg = accepted(rfc4475.WSINV)
        assert (msg.method, msg.request_uri) == (
            "INVITE",
            "sip:vivekg@chair-dnrc.example.com;unknownparam",
        )
        assert msg.to.tag == "1918181833n" and msg.to.display_name is None
        assert msg.from_.display_name == 'J Rosenberg \\"'
        assert msg.from_.tag == "98asjd8"
        assert msg.max_forwards == 68
        assert msg.cseq == CSeq(9, "INVITE")
        assert [(v.transport, v.sent_by, v.branch) for v in msg.vias] == [
            ("UDP", "192.0.2.2", "390skdjuw"),
            ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
            ("UDP", "192.168.255.111", "z9hG4bK30239"),
        ]
        assert msg.top_via.rport == ""
        assert msg.header("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
        [contact] = msg.contacts
        assert contact.display_name == 'Quoted string ""'
        assert contact.params == (("newparam", "newvalue"), ("secondparam", None), ("q", "0.33"))
        assert msg.addresses("Route")[0].uri.param("unknownwith") == "value"
        assert len(msg.body) == msg.content_length == 150

    def test_3_1_1_2_intmeth_wide_range_of_valid_characters(self):
        msg = accepted(rfc4475.INTMETH)
        assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
        uri = msg.to.uri
        assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
        assert msg.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
        assert msg.from_.display_name == "token1~` token2'+_ token3*%!.-"
        assert unquote(msg.from_.param("fromParam''~+*_!.-%") or "") == "работающий"
        assert msg.from_.tag == "_token~1'+`*%!-."
        assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
        assert msg.top_via.branch == "z9hG4bK-.!%66*_+`'~"
        assert msg.header("extensionHeader-!.%*+_`'~") == "\ufeff大停電"
        assert parse(msg.to_bytes()).message == msg

    def test_3_1_1_3_esc01_percent_escaping(self):
        msg = accepted(rfc4475.ESC01)
        assert msg.to.uri.user == "%75se%72"
        assert msg.from_.uri.user == "I%20have%20spaces"
        assert msg.contacts[0].uri.param("n%61me") == "v%61lue%25%34%31"

    def test_3_1_1_4_escnull_escaped_nulls_in_uris(self):
        msg = accepted(rfc4475.ESCNULL)
        assert [c.uri.user for c in msg.contacts] == ["%00", "%00%00"]
        assert msg.to.uri.user == "null-%00-null"

    def test_3_1_1_5_esc02_percent_not_an_escape(self):
        msg = accepted(rfc4475.ESC02)
        assert msg.method == "RE%47IST%45R"
        assert msg.to.display_name == "%Z%45"
        assert [c.uri.user for c in msg.contacts] == ["alias1", "alias3"]
        assert msg.header("C%6Fntact") == "<sip:alias2@host2.example.com>"

    def test_3_1_1_6_lwsdisp_no_lws_between_display_name_and_angle(self):
        msg = accepted(rfc4475.LWSDISP)
        assert (msg.from_.display_name, msg.from_.uri.user, msg.from_.tag) == (
            "caller",
            "caller",
            "323",
        )

    def test_3_1_1_7_longreq_long_values(self):
        msg = accepted(rfc4475.LONGREQ)
        vias = msg.vias
        assert len(vias) == 34
        assert [v.host for v in vias[:3]] == [
            "sip33.example.com",
            "sip32.example.com",
            "sip31.example.com",
        ]
        assert vias[-1].received == "192.0.2.5" and vias[-1].branch.endswith("longbranchvalue")
        assert msg.to.uri.port == 6000 and len(msg.to.uri.params) == 3
        assert msg.from_.tag.startswith("12982982")
        assert len(msg.body) == 150

    def test_3_1_1_8_dblreq_extra_trailing_octets(self):
        result = parse(wire(rfc4475.DBLREQ))
        assert result.message.method == "REGISTER" and result.message.body == b""
        assert result.excess.startswith(b"INVITE sip:joe@example.com SIP/2.0\r\n")
        assert result.consumed + len(result.excess) == len(wire(rfc4475.DBLREQ))

    def test_3_1_1_9_semiuri_semicolon_in_user_part(self):
        msg = accepted(rfc4475.SEMIURI)
        assert msg.request_uri == "sip:user;par=u%40example.net@example.com"
        assert len(msg.header_values("Accept")) == 6

    def test_3_1_1_10_transports_varied_and_unknown(self):
        msg = accepted(rfc4475.TRANSPORTS)
        assert [v.transport for v in msg.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
        assert msg.call_id == "transports.kijh4akdnaqjkwendsasfdj"

    def test_3_1_1_12_unreason_unusual_reason_phrase(self):
        msg = accepted(rfc4475.UNREASON)
        assert msg.reason == rfc4475.UNREASON_PHRASE and len(msg.body) == 154
        assert parse(msg.to_bytes()).message == msg

    def test_3_1_1_13_noreason_empty_reason_phrase(self):
        msg = accepted(rfc4475.NOREASON)
        assert (msg.status, msg.reason, msg.start_line) == (100, "", "SIP/2.0 100 ")

    def test_3_2_1_badbranch_parses(self):
        assert accepted(rfc4475.BADBRANCH).top_via.branch == "z9hG4bK"


class TestRFC4475Section3_1_2InvalidMessages:
    def test_3_1_2_1_badinv01_extraneous_separators(self):
        rejected(rfc4475.BADINV01, "bad via header: empty parameter")

    def test_3_1_2_2_clerr_content_length_larger_than_message(self):
        err = rejected(rfc4475.CLERR, "content-length larger than body")
        assert wire(rfc4475.CLERR)[err.offset :].startswith(b"Content-Length: 9999")
        assert len(err.partial.body) == 154

    def test_3_1_2_3_ncl_negative_content_length(self):
        rejected(rfc4475.NCL, "negative content-length")

    def test_3_1_2_4_scalar02_request_scalar_overlarge(self):
        rejected(rfc4475.SCALAR02, "bad cseq header: cseq number out of range")

    def test_3_1_2_5_scalarlg_response_scalar_overlarge(self):
        rejected(rfc4475.SCALARLG, "bad cseq header: cseq number out of range")

    def test_3_1_2_6_quotbal_unterminated_quote(self):
        rejected(rfc4475.QUOTBAL, "bad to header: unterminated quoted string")

    def test_3_1_2_7_ltgtruri_angle_brackets_around_request_uri(self):
        rejected(rfc4475.LTGTRURI, "bad start line", partial=False)

    def test_3_1_2_8_lwsruri_lws_in_request_uri(self):
        rejected(rfc4475.LWSRURI, "bad start line", partial=False)

    def test_3_1_2_9_lwsstart_multiple_sp_in_request_line(self):
        rejected(rfc4475.LWSSTART, "bad start line", partial=False)

    def test_3_1_2_10_trws_sp_at_end_of_request_line(self):
        rejected(rfc4475.TRWS, "bad start line", partial=False)

    def test_3_1_2_11_escruri_escaped_headers_in_request_uri(self):
        err = rejected(rfc4475.ESCRURI, "headers in request-uri")
        assert err.offset == len("INVITE ")

    def test_3_1_2_14_badaspec_spaces_in_addr_spec(self):
        rejected(rfc4475.BADASPEC, "bad to header: bad uri scheme")

    def test_3_1_2_15_baddn_non_token_display_name(self):
        rejected(rfc4475.BADDN, "bad from header: bad display name")

    def test_3_1_2_16_badvers_unknown_protocol_version(self):
        rejected(rfc4475.BADVERS, "unsupported sip version")

    def test_3_1_2_17_mismatch01_cseq_method_mismatch(self):
        rejected(rfc4475.MISMATCH01, "cseq method does not match request method")

    def test_3_1_2_18_mismatch02_unknown_method_cseq_mismatch(self):
        err = rejected(rfc4475.MISMATCH02, "cseq method does not match request method")
        assert err.partial.method == "NEWMETHOD"

    def test_3_1_2_19_bigcode_overlarge_response_code(self):
        rejected(rfc4475.BIGCODE, "bad start line", partial=False)


class TestRFC4475Section3_3ApplicationLayer:
    def test_3_3_1_insuf_missing_required_headers(self):
        err = rejected(rfc4475.INSUF, "missing from header")
        assert err.partial.top_via.branch == "z9hG4bKkdj.insuf"

    def test_3_3_9_mcl01_multiple_content_length_values(self):
        rejected(rfc4475.MCL01, "conflicting content-length")


# --- properties ------------------------------------------------------------------------

_token = st.from_regex(r"[A-Za-z][-A-Za-z0-9.!%*_+`'~]{0,10}", fullmatch=True)
_word = st.from_regex(r"[A-Za-z0-9][-A-Za-z0-9.]{0,12}", fullmatch=True)
_text_value = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n", exclude_categories=["Cs"]),
    max_size=40,
).map(lambda s: s.strip(" \t"))


@st.composite
def built_requests(draw: st.DrawFn) -> SipMessage:
    method = draw(_token)
    user, host = draw(_word), draw(_word)
    headers = [
        ("Via", f"SIP/2.0/WSS {draw(_word)}.invalid;branch={new_branch()}"),
        ("Max-Forwards", str(draw(st.integers(0, 255)))),
        ("From", f"<sip:{user}@{host}>;tag={draw(_word)}"),
        ("To", f"<sip:{draw(_word)}@{host}>"),
        ("Call-ID", draw(_word)),
        ("CSeq", f"{draw(st.integers(0, 2**32 - 1))} {method}"),
    ]
    extra = draw(st.lists(st.tuples(_token.map(lambda t: "X-" + t), _text_value), max_size=4))
    body = draw(st.binary(max_size=64))
    ctype = draw(st.none() | st.just("application/sdp"))
    return build_request(method, f"sip:{user}@{host}", headers + extra, body, ctype)


def _exercise(msg: SipMessage) -> None:
    """Call every accessor; only SipParseError may come out."""
    msg.summary()
    for name in ("Via", "Contact", "Route", "X"):
        msg.header_values(name)
    for accessor in ("cseq", "vias", "from_", "to", "contacts", "call_id", "content_length"):
        with contextlib.suppress(SipParseError):
            getattr(msg, accessor)
    build_response(msg, 400)


class TestParseProperties:
    @given(built_requests())
    def test_built_messages_round_trip(self, msg: SipMessage):
        data = msg.to_bytes()
        result = parse(data)
        assert result.message == msg
        assert (result.consumed, result.excess, result.declared_length) == (
            len(data),
            b"",
            len(msg.body),
        )

    @given(built_requests())
    def test_responses_to_built_messages_round_trip(self, msg: SipMessage):
        resp = build_response(msg, 200, to_tag=new_tag())
        assert parse(resp.to_bytes()).message == resp

    @settings(max_examples=300)
    @given(st.binary(max_size=400))
    def test_arbitrary_bytes(self, data: bytes):
        try:
            result = parse(data)
        except SipParseError as err:
            assert err.data == data and 0 <= err.offset <= len(data)
            assert err.reason == err.reason.lower()
            if err.partial is not None:
                _exercise(err.partial)
        else:
            assert isinstance(result, ParseResult)
            _exercise(result.message)

    @settings(max_examples=300)
    @given(
        st.sampled_from(
            [REGISTER, wire(rfc4475.WSINV), wire(rfc4475.INTMETH), wire(rfc4475.LONGREQ)]
        ),
        st.lists(
            st.tuples(st.integers(0, 10_000), st.binary(max_size=3), st.integers(0, 3)), max_size=6
        ),
    )
    def test_mutated_messages(self, base: bytes, edits: list[tuple[int, bytes, int]]):
        data = bytearray(base)
        for at, insert, delete in edits:
            at %= len(data) + 1
            data[at : at + delete] = insert
        try:
            result = parse(bytes(data))
        except SipParseError as err:
            if err.partial is not None:
                _exercise(err.partial)
        else:
            _exercise(result.message)
