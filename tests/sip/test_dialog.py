"""Tests for harness.sip.dialog: dialog state, ACK/CANCEL/in-dialog requests, matching."""

from __future__ import annotations

import pytest

from harness.sip.dialog import (
    Dialog,
    ack_for_2xx,
    ack_for_failure,
    cancel_for,
    cancelled_transaction_key,
    client_transaction_key,
    next_request,
    same_server_transaction,
    same_transaction,
    server_transaction_key,
    uac_dialog,
    uas_dialog,
)
from harness.sip.message import SipMessage, build_response, parse

from .rfc4475 import wire

# An INVITE as a WIC sends it through its eP-CSCF (Service-Route as Route), and the INVITE
# as the callee receives it after two proxies record-routed it.
INVITE = wire(
    """INVITE sip:bob@ims.example.test SIP/2.0
Via: SIP/2.0/WSS wic.invalid;branch=z9hG4bKinv1
Max-Forwards: 70
Route: <sip:orig@pcscf.example.test;lr>
To: <sip:bob@ims.example.test>
From: "Alice" <sip:alice@ims.example.test>;tag=alice1
Call-ID: call-1
CSeq: 7 INVITE
Contact: <sip:alice@wic.invalid;transport=ws;ob>
Content-Length: 0

"""
)
AT_CALLEE = wire(
    """INVITE sip:bob@callee.example.test SIP/2.0
Via: SIP/2.0/UDP p2.example.test;branch=z9hG4bKp2
Via: SIP/2.0/UDP p1.example.test;branch=z9hG4bKp1
Via: SIP/2.0/WSS wic.invalid;branch=z9hG4bKinv1
Max-Forwards: 68
Record-Route: <sip:p2.example.test;lr>
Record-Route: <sip:p1.example.test;lr>, <sip:p1ws.example.test;transport=ws;lr>
To: <sip:bob@ims.example.test>
From: "Alice" <sip:alice@ims.example.test>;tag=alice1
Call-ID: call-1
CSeq: 7 INVITE
Contact: <sip:alice@wic.invalid;transport=ws;ob>
Content-Length: 0

"""
)
NEW_VIA = "SIP/2.0/WSS wic.invalid;branch=z9hG4bKnew"
RECORD_ROUTE = [
    "<sip:p2.example.test;lr>",
    "<sip:p1.example.test;lr>",
    "<sip:p1ws.example.test;transport=ws;lr>",
]


def msg(data: bytes) -> SipMessage:
    return parse(data).message


def ok_at_uac() -> SipMessage:
    """The callee's 200 as it reaches the UAC: Record-Route copied, To tagged, Contact."""
    ok = build_response(msg(AT_CALLEE), 200, to_tag="bob9", headers=[("Contact", "<sip:bob@callee.example.test>")])
    return ok.remove_header("Via").add_header("Via", "SIP/2.0/WSS wic.invalid;branch=z9hG4bKinv1")


class TestRFC3261Section12_1Dialogs:
    def test_uac_route_set_is_record_route_reversed(self) -> None:
        dialog = uac_dialog(msg(INVITE), ok_at_uac())
        assert dialog.route_set == tuple(reversed(RECORD_ROUTE))
        assert dialog.remote_target == "sip:bob@callee.example.test"
        assert dialog.id == ("call-1", "alice1", "bob9")
        assert dialog.local == '"Alice" <sip:alice@ims.example.test>;tag=alice1'
        assert dialog.remote == "<sip:bob@ims.example.test>;tag=bob9"
        assert dialog.local_seq == 7 and dialog.remote_seq is None and not dialog.secure

    def test_uas_route_set_is_record_route_in_order(self) -> None:
        request = msg(AT_CALLEE)
        ringing = build_response(request, 180, to_tag="bob9")
        dialog = uas_dialog(request, ringing)
        assert dialog.route_set == tuple(RECORD_ROUTE)
        assert dialog.remote_target == "sip:alice@wic.invalid;transport=ws;ob"
        assert dialog.id == ("call-1", "bob9", "alice1")
        assert dialog.local == "<sip:bob@ims.example.test>;tag=bob9"
        assert dialog.remote == '"Alice" <sip:alice@ims.example.test>;tag=alice1'
        assert dialog.local_seq is None and dialog.remote_seq == 7

    def test_uas_without_contact_targets_the_from_uri(self) -> None:
        request = msg(AT_CALLEE).remove_header("Contact")
        dialog = uas_dialog(request, build_response(request, 200, to_tag="t"))
        assert dialog.remote_target == "sip:alice@ims.example.test"

    def test_uac_before_any_response(self) -> None:
        dialog = uac_dialog(msg(INVITE))
        assert dialog.remote_tag is None and dialog.route_set == ()
        assert dialog.remote_target == "sip:bob@ims.example.test"
        assert dialog.remote == "<sip:bob@ims.example.test>"

    def test_uac_without_contact_keeps_the_request_uri(self) -> None:
        dialog = uac_dialog(msg(INVITE), ok_at_uac().remove_header("Contact"))
        assert dialog.remote_target == "sip:bob@ims.example.test"

    def test_sips_request_uri_sets_the_secure_flag(self) -> None:
        invite = msg(INVITE).with_start_line("INVITE sips:bob@ims.example.test SIP/2.0")
        assert uac_dialog(invite).secure


class TestRFC3261Section12_2RequestsInADialog:
    def test_bye_goes_to_the_remote_target_through_the_route_set(self) -> None:
        dialog = uac_dialog(msg(INVITE), ok_at_uac())
        after, bye = next_request(dialog, "BYE", NEW_VIA, headers=[("User-Agent", "x")])
        assert bye.method == "BYE" and bye.request_uri == "sip:bob@callee.example.test"
        assert bye.header_values("Route") == list(reversed(RECORD_ROUTE))
        assert bye.header("From") == dialog.local and bye.header("To") == dialog.remote
        assert bye.call_id == "call-1" and str(bye.cseq) == "8 BYE"
        assert after.local_seq == 8 and dialog.local_seq == 7  # frozen: a new state
        assert [n for n, _ in bye.headers] == [
            "Via", "Max-Forwards", "Route", "Route", "Route", "From", "To", "Call-ID", "CSeq",
            "User-Agent", "Content-Length",
        ]
        assert bye.header("Content-Length") == "0" and bye.max_forwards == 70

    def test_cseq_increments_per_request(self) -> None:
        dialog = uac_dialog(msg(INVITE), ok_at_uac())
        dialog, info = next_request(dialog, "INFO", NEW_VIA)
        dialog, reinvite = next_request(dialog, "INVITE", NEW_VIA, body=b"v=0\r\n",
                                        content_type="application/sdp")
        dialog, bye = next_request(dialog, "BYE", NEW_VIA)
        assert [m.cseq.number for m in (info, reinvite, bye)] == [8, 9, 10]
        assert reinvite.header("Content-Type") == "application/sdp" and reinvite.body == b"v=0\r\n"

    def test_uas_first_request_starts_at_one(self) -> None:
        request = msg(AT_CALLEE)
        dialog = uas_dialog(request, build_response(request, 200, to_tag="bob9"))
        dialog, bye = next_request(dialog, "BYE", "SIP/2.0/UDP callee.example.test;branch=z9hG4bKb")
        assert str(bye.cseq) == "1 BYE" and dialog.local_seq == 1
        assert bye.request_uri == "sip:alice@wic.invalid;transport=ws;ob"
        assert bye.header_values("Route") == RECORD_ROUTE
        assert bye.header("From") == "<sip:bob@ims.example.test>;tag=bob9"

    def test_to_first_only_changes_the_order(self) -> None:
        dialog = uac_dialog(msg(INVITE), ok_at_uac())
        _, plain = next_request(dialog, "BYE", NEW_VIA)
        _, jssip = next_request(dialog, "BYE", NEW_VIA, to_first=True)
        names = [n for n, _ in jssip.headers]
        assert names.index("To") < names.index("From")
        assert sorted(plain.headers) == sorted(jssip.headers)

    @pytest.mark.parametrize("method", ["ACK", "CANCEL"])
    def test_ack_and_cancel_are_not_new_requests(self, method: str) -> None:
        with pytest.raises(ValueError):
            next_request(uac_dialog(msg(INVITE)), method, NEW_VIA)


class TestRFC3261Section13_2_2_4AckFor2xx:
    def test_in_dialog_with_a_new_branch_and_the_invite_cseq(self) -> None:
        invite, ok = msg(INVITE), ok_at_uac()
        dialog = uac_dialog(invite, ok)
        ack = ack_for_2xx(dialog, invite, NEW_VIA)
        assert ack.method == "ACK" and ack.request_uri == "sip:bob@callee.example.test"
        assert ack.top_via is not None and ack.top_via.branch == "z9hG4bKnew"
        assert str(ack.cseq) == "7 ACK"
        assert ack.header_values("Route") == list(reversed(RECORD_ROUTE))
        assert ack.header("To") == "<sip:bob@ims.example.test>;tag=bob9"

    def test_does_not_move_the_local_sequence_number(self) -> None:
        invite = msg(INVITE)
        dialog = uac_dialog(invite, ok_at_uac())
        ack_for_2xx(dialog, invite, NEW_VIA)
        _, bye = next_request(dialog, "BYE", NEW_VIA)
        assert bye.cseq.number == 8

    def test_refuses_the_invite_branch(self) -> None:
        invite = msg(INVITE)
        with pytest.raises(ValueError, match="new branch"):
            ack_for_2xx(uac_dialog(invite, ok_at_uac()), invite, invite.header("Via") or "")


class TestRFC3261Section17_1_1_3AckForFailure:
    def test_same_transaction_as_the_invite(self) -> None:
        invite = msg(INVITE)
        busy = build_response(invite, 486, to_tag="busy1")
        ack = ack_for_failure(invite, busy, headers=[("User-Agent", "x")])
        assert ack.request_uri == invite.request_uri
        assert ack.header_values("Via") == ["SIP/2.0/WSS wic.invalid;branch=z9hG4bKinv1"]
        assert ack.header("From") == invite.header("From") and ack.call_id == invite.call_id
        assert ack.header("To") == "<sip:bob@ims.example.test>;tag=busy1"
        assert str(ack.cseq) == "7 ACK"
        assert ack.header_values("Route") == ["<sip:orig@pcscf.example.test;lr>"]
        assert ack.header("User-Agent") == "x"

    def test_differs_from_the_ack_for_a_2xx(self) -> None:
        invite = msg(INVITE)
        failure = ack_for_failure(invite, build_response(invite, 486, to_tag="b"))
        success = ack_for_2xx(uac_dialog(invite, ok_at_uac()), invite, NEW_VIA)
        assert same_server_transaction(failure, invite)
        assert not same_server_transaction(success, invite)
        assert failure.request_uri != success.request_uri


class TestRFC3261Section9_1Cancel:
    def test_cancel_copies_the_invite(self) -> None:
        invite = msg(INVITE)
        cancel = cancel_for(invite, to_first=True)
        assert cancel.method == "CANCEL" and cancel.request_uri == invite.request_uri
        assert str(cancel.cseq) == "7 CANCEL" and cancel.header("To") == invite.header("To")
        assert cancel.header_values("Route") == invite.header_values("Route")
        assert cancel.top_via == invite.top_via
        assert cancelled_transaction_key(cancel) == server_transaction_key(invite)
        assert server_transaction_key(cancel) != server_transaction_key(invite)


class TestRFC3261Section17_1_3ClientMatching:
    def test_response_matches_its_request(self) -> None:
        invite = msg(INVITE)
        response = build_response(invite, 180, to_tag="t")
        assert same_transaction(response, invite)
        assert client_transaction_key(response) == client_transaction_key(invite)
        assert client_transaction_key(invite) == ("z9hG4bKinv1", "INVITE")

    def test_other_branch_does_not_match(self) -> None:
        invite = msg(INVITE)
        response = build_response(invite, 200, to_tag="t")
        other = response.replace_header("Via", "SIP/2.0/WSS wic.invalid;branch=z9hG4bKother")
        assert not same_transaction(other, invite)
        assert client_transaction_key(other) != client_transaction_key(invite)

    def test_other_method_does_not_match(self) -> None:
        # A CANCEL shares the INVITE's branch: its 200 is not the INVITE's answer.
        invite = msg(INVITE)
        ok_cancel = build_response(cancel_for(invite), 200, to_tag="t")
        assert not same_transaction(ok_cancel, invite)
        assert same_transaction(ok_cancel, cancel_for(invite))
        assert client_transaction_key(ok_cancel) == ("z9hG4bKinv1", "CANCEL")

    def test_other_call_id_does_not_match(self) -> None:
        invite = msg(INVITE)
        response = build_response(invite, 200, to_tag="t").replace_header("Call-ID", "other")
        assert not same_transaction(response, invite)

    def test_unparsable_never_raises(self) -> None:
        invite = msg(INVITE)
        broken = build_response(invite, 200).replace_header("Via", "garbage").replace_header("CSeq", "x")
        assert not same_transaction(broken, invite)
        assert client_transaction_key(broken) is None
        assert client_transaction_key(broken.remove_header("Via")) is None


class TestRFC3261Section17_2_3ServerMatching:
    def test_retransmission_matches(self) -> None:
        assert same_server_transaction(msg(INVITE), msg(INVITE))

    def test_other_branch_method_or_sent_by_does_not_match(self) -> None:
        invite = msg(INVITE)
        other_branch = invite.replace_header("Via", "SIP/2.0/WSS wic.invalid;branch=z9hG4bKx")
        other_host = invite.replace_header("Via", "SIP/2.0/WSS other.invalid;branch=z9hG4bKinv1")
        bye = invite.with_start_line("BYE sip:bob@ims.example.test SIP/2.0").replace_header(
            "CSeq", "7 BYE"
        )
        for other in (other_branch, other_host, bye):
            assert not same_server_transaction(other, invite)

    def test_sent_by_host_compares_case_insensitively(self) -> None:
        invite = msg(INVITE)
        upper = invite.replace_header("Via", "SIP/2.0/WSS WIC.invalid;branch=z9hG4bKinv1")
        assert same_server_transaction(upper, invite)

    def test_rfc2543_branch_falls_back_to_the_old_rules(self) -> None:
        old = msg(INVITE).replace_header("Via", "SIP/2.0/UDP host.example.test;branch=1234")
        key = server_transaction_key(old)
        assert key[0] == "rfc2543" and "call-1" in key and 7 in key
        assert same_server_transaction(old, old)
        ack = ack_for_failure(old, build_response(old, 486, to_tag="t"))
        assert same_server_transaction(ack, old)
        assert not same_server_transaction(old.replace_header("Call-ID", "other"), old)

    def test_unparsable_does_not_match(self) -> None:
        invite = msg(INVITE)
        assert not same_server_transaction(invite.replace_header("Via", "garbage"), invite)


def test_dialog_is_frozen() -> None:
    dialog = uac_dialog(msg(INVITE))
    assert isinstance(dialog, Dialog)
    with pytest.raises(AttributeError):
        dialog.local_seq = 3  # type: ignore[misc]
