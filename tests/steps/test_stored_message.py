"""`harness.steps.peer.stored_message`: the one reader of a SipMessage a step stored under
a name (`expect.response`'s `to`, `wic.cancel`/`wic.ack_failure`'s `of`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.cases.context import CaseContext
from harness.sip import build_request, new_branch, new_call_id, new_tag
from harness.steps.epcscf.calls import _invite
from harness.steps.peer import _request, stored_message


def _ctx(**stored: Any) -> CaseContext:
    return cast(CaseContext, SimpleNamespace(vars=stored))


def _invite_message() -> Any:
    return build_request("INVITE", "sip:bob@ims.example.test", [
        ("Via", f"SIP/2.0/WSS a.invalid;branch={new_branch()}"), ("Max-Forwards", "70"),
        ("From", f"<sip:a@ims.example.test>;tag={new_tag()}"), ("To", "<sip:bob@ims.example.test>"),
        ("Call-ID", new_call_id()), ("CSeq", "1 INVITE")], b"", None)


def test_the_named_message_or_the_default() -> None:
    invite, other = _invite_message(), _invite_message()
    ctx = _ctx(invite=invite, last=other, mine=invite)
    assert _invite(ctx, {}) is invite and _invite(ctx, {"of": "mine"}) is invite
    assert _request(ctx, {}) is other and _request(ctx, {"to": "invite"}) is invite
    assert stored_message(ctx, {"x": "last"}, "x") is other


@pytest.mark.parametrize("stored", [{}, {"invite": "not a message"}])
def test_nothing_stored_is_a_wicct_error_naming_it(stored: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match="no INVITE stored as 'invite'"):
        _invite(_ctx(**stored), {})
    with pytest.raises(RuntimeError, match="no request stored as 'gone'"):
        _request(_ctx(**stored), {"to": "gone"})
