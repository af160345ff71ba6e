"""Dialogs and transactions, sans-I/O (RFC 3261 §9.1, §12, §13.2.2.4, §17.1.1.3, §17.1.3, §17.2.3).

Pure functions over `SipMessage`: dialog state from an INVITE and its response, the ACK
for a 2xx (a new transaction inside the dialog) and for a failure (part of the INVITE
transaction), CANCEL, other requests inside a dialog, and which transaction a message
belongs to. Whatever needs randomness or a transport stays with the caller: it passes
the Via of a new request, with a fresh branch (`harness.sip.new_branch()`).

Header values the peer wrote (its tag in To/From, Record-Route) are kept as written, not
re-serialised: a UA repeats them, and RFC 3261 §12.2.1.1 only asks for the same URI and
tag. Requests are laid out as Via, Max-Forwards, Route..., From, To, Call-ID, CSeq, then
the caller's headers; `to_first` writes To above From, as JsSIP does (the relative order
of different header fields is not significant, RFC 3261 §7.3.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from harness.sip.errors import SipParseError
from harness.sip.headers import Via
from harness.sip.message import SipMessage, build_request

__all__ = [
    "MAGIC_COOKIE",
    "Dialog",
    "ack_for_2xx",
    "ack_for_failure",
    "cancel_for",
    "cancelled_transaction_key",
    "client_transaction_key",
    "next_request",
    "same_server_transaction",
    "same_transaction",
    "server_transaction_key",
    "uac_dialog",
    "uas_dialog",
]

MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 §8.1.1.7
MAX_FORWARDS = 70  # RFC 3261 §8.1.1.6
Fields = Sequence[tuple[str, str]]
ServerKey = tuple[str | int, ...]


# --- dialog state (RFC 3261 §12.1) ---------------------------------------------------------


@dataclass(frozen=True)
class Dialog:
    """The state of one dialog (RFC 3261 §12): its ID, sequence numbers, URIs, route set.

    `local` and `remote` are the From and To header field values of the requests this UA
    sends in the dialog (local URI and tag; remote URI and, once known, tag), as written
    in the messages that set up the dialog. `local_seq` is None until the UAS sends its
    first request (§12.1.1); `route_set` is in the order the Route headers take.
    """

    call_id: str
    local_tag: str | None
    remote_tag: str | None
    local: str
    remote: str
    remote_target: str
    route_set: tuple[str, ...] = ()
    local_seq: int | None = None
    remote_seq: int | None = None
    secure: bool = False

    @property
    def id(self) -> tuple[str, str | None, str | None]:
        """The dialog ID: Call-ID, local tag, remote tag (RFC 3261 §12)."""
        return (self.call_id, self.local_tag, self.remote_tag)


def uac_dialog(invite: SipMessage, response: SipMessage | None = None) -> Dialog:
    """The UAC's dialog from its INVITE and a 2xx or tagged 1xx (RFC 3261 §12.1.2).

    Route set = the response's Record-Route reversed; remote target = its first Contact
    (the Request-URI if it has none); local sequence number = the INVITE's CSeq. Without
    a response, the state the INVITE alone fixes: no remote tag, the Request-URI as
    target, no route set. Raises `SipParseError` for a malformed From, To or Contact.
    """
    uri = invite.request_uri or ""
    answer = response if response is not None else invite
    contacts = response.contacts if response is not None else []
    record_route = response.header_values("Record-Route") if response is not None else []
    return Dialog(
        call_id=invite.call_id,
        local_tag=invite.from_.tag,
        remote_tag=response.to.tag if response is not None else None,
        local=invite.header("From") or "",
        remote=answer.header("To") or "",
        remote_target=str(contacts[0].uri) if contacts else uri,
        route_set=tuple(reversed(record_route)),
        local_seq=invite.cseq.number,
        secure=_is_sips(uri),
    )


def uas_dialog(request: SipMessage, response: SipMessage) -> Dialog:
    """The UAS's dialog from the request and its own 2xx or tagged 1xx (RFC 3261 §12.1.1).

    Route set = the request's Record-Route in order; remote target = its first Contact
    (the From URI if it has none); remote sequence number = its CSeq; local sequence
    number empty. Raises `SipParseError` for a malformed From, To or Contact.
    """
    contacts = request.contacts
    uri = request.request_uri or ""
    return Dialog(
        call_id=request.call_id,
        local_tag=response.to.tag,
        remote_tag=request.from_.tag,
        local=response.header("To") or "",
        remote=request.header("From") or "",
        remote_target=str(contacts[0].uri) if contacts else str(request.from_.uri),
        route_set=tuple(request.header_values("Record-Route")),
        local_seq=None,
        remote_seq=request.cseq.number,
        secure=_is_sips(uri),
    )


def _is_sips(uri: str) -> bool:
    return uri[:5].lower() == "sips:"


# --- requests inside a dialog (RFC 3261 §12.2.1.1, §13.2.2.4) -------------------------------


def next_request(
    dialog: Dialog,
    method: str,
    via: str,
    *,
    headers: Fields = (),
    body: bytes = b"",
    content_type: str | None = None,
    to_first: bool = False,
) -> tuple[Dialog, SipMessage]:
    """A new request inside `dialog` (BYE, re-INVITE, INFO...; RFC 3261 §12.2.1.1).

    Request-URI = remote target, Route = route set, From/To = local/remote, CSeq = the
    local sequence number plus one (1 when it was empty). Returns the dialog with that
    number and the request. ACK and CANCEL are not new requests of the dialog: use
    `ack_for_2xx`, `ack_for_failure` or `cancel_for` (ValueError).
    """
    if method in ("ACK", "CANCEL"):
        raise ValueError(f"{method} is not built by next_request (RFC 3261 §13.2.2.4, §9.1)")
    number = (dialog.local_seq or 0) + 1
    request = _request(
        method, dialog.remote_target, via, dialog.route_set, dialog.local, dialog.remote,
        dialog.call_id, number, headers, to_first, body, content_type,
    )
    return replace(dialog, local_seq=number), request


def ack_for_2xx(
    dialog: Dialog,
    invite: SipMessage,
    via: str,
    *,
    headers: Fields = (),
    to_first: bool = False,
) -> SipMessage:
    """The ACK for a 2xx to `invite` (RFC 3261 §13.2.2.4): a request of the dialog.

    Built like any request inside the dialog, but its CSeq number is the INVITE's and it
    is a transaction of its own: `via` must carry a new branch (ValueError if it repeats
    the INVITE's). The local sequence number does not move.
    """
    branch = _branch(via)
    if branch is not None and branch == _top_branch(invite):
        raise ValueError("the ACK for a 2xx needs a new branch (RFC 3261 §13.2.2.4)")
    return _request(
        "ACK", dialog.remote_target, via, dialog.route_set, dialog.local, dialog.remote,
        dialog.call_id, invite.cseq.number, headers, to_first,
    )


def ack_for_failure(
    invite: SipMessage,
    response: SipMessage,
    *,
    headers: Fields = (),
    to_first: bool = False,
) -> SipMessage:
    """The ACK for a 300-699 final response (RFC 3261 §17.1.1.3): part of the INVITE's
    transaction, so the INVITE's Request-URI, top Via (same branch), From, Call-ID, CSeq
    number and Route headers; To from the response (with its tag)."""
    return _request(
        "ACK", invite.request_uri or "", _top_via(invite), tuple(invite.header_values("Route")),
        invite.header("From") or "", response.header("To") or "", invite.call_id,
        invite.cseq.number, headers, to_first,
    )


def cancel_for(invite: SipMessage, *, headers: Fields = (), to_first: bool = False) -> SipMessage:
    """The CANCEL of a pending INVITE (RFC 3261 §9.1): the INVITE's Request-URI, top Via,
    Route headers, From, To, Call-ID and CSeq number, method CANCEL."""
    return _request(
        "CANCEL", invite.request_uri or "", _top_via(invite), tuple(invite.header_values("Route")),
        invite.header("From") or "", invite.header("To") or "", invite.call_id,
        invite.cseq.number, headers, to_first,
    )


def _request(
    method: str,
    uri: str,
    via: str,
    routes: Sequence[str],
    local: str,
    remote: str,
    call_id: str,
    number: int,
    headers: Fields,
    to_first: bool,
    body: bytes = b"",
    content_type: str | None = None,
) -> SipMessage:
    parties = [("To", remote), ("From", local)] if to_first else [("From", local), ("To", remote)]
    fields: list[tuple[str, str]] = [
        ("Via", via),
        ("Max-Forwards", str(MAX_FORWARDS)),
        *(("Route", r) for r in routes),
        *parties,
        ("Call-ID", call_id),
        ("CSeq", f"{number} {method}"),
        *headers,
    ]
    return build_request(method, uri, fields, body, content_type)


def _top_via(message: SipMessage) -> str:
    values = message.header_values("Via")
    return values[0] if values else ""


def _branch(via: str) -> str | None:
    try:
        return Via.parse(via).branch
    except SipParseError:
        return None


def _top_branch(message: SipMessage) -> str | None:
    try:
        via = message.top_via
    except SipParseError:
        return None
    return via.branch if via is not None else None


# --- transactions (RFC 3261 §17.1.3, §17.2.3) ---------------------------------------------


def same_transaction(response: SipMessage, request: SipMessage) -> bool:
    """RFC 3261 §17.1.3: `response` belongs to the client transaction of `request`: the
    same top Via branch and the same CSeq method.

    The Call-ID must match too: redundant for a peer that keeps branches unique
    (§8.1.1.7), it keeps a mangled response from counting as an answer. False (never an
    exception) for a message whose Via, CSeq or Call-ID does not parse (a
    `SipParseError.partial` from the SUT).
    """
    try:
        req_via, resp_via = request.top_via, response.top_via
        if req_via is None or resp_via is None:
            return False
        return (
            resp_via.branch == req_via.branch
            and response.cseq.method == request.cseq.method
            and response.call_id == request.call_id
        )
    except SipParseError:
        return False


def client_transaction_key(message: SipMessage) -> tuple[str, str] | None:
    """The client transaction a request creates, or a response belongs to (RFC 3261
    §17.1.3): top Via branch (`""` if none) and CSeq method. None without a top Via or
    when the Via or CSeq does not parse."""
    try:
        via = message.top_via
        if via is None:
            return None
        return (via.branch or "", message.cseq.method)
    except SipParseError:
        return None


def server_transaction_key(request: SipMessage) -> ServerKey:
    """The server transaction `request` belongs to (RFC 3261 §17.2.3).

    With a branch starting with the magic cookie: branch, top Via sent-by and method,
    an ACK counting as INVITE (so the ACK of a failure finds the INVITE's transaction,
    while the ACK of a 2xx, with a new branch, finds none). Otherwise the RFC 2543 rules:
    Request-URI, From tag, Call-ID, CSeq number, top Via and method (the To tag, which an
    ACK takes from the response, is left out). Raises `SipParseError` for a malformed
    Via, From or CSeq.
    """
    return _server_key(request, request.method)


def cancelled_transaction_key(cancel: SipMessage) -> ServerKey:
    """The INVITE server transaction a CANCEL is for (RFC 3261 §9.2: the §17.2.3 rules
    with the method taken as INVITE)."""
    return _server_key(cancel, "INVITE")


def same_server_transaction(request: SipMessage, original: SipMessage) -> bool:
    """RFC 3261 §17.2.3: `request` (a retransmission, or the ACK of a non-2xx final
    response) matches the server transaction `original` created. False, never an
    exception, when either does not parse."""
    try:
        return server_transaction_key(request) == server_transaction_key(original)
    except SipParseError:
        return False


def _server_key(request: SipMessage, method: str) -> ServerKey:
    if method == "ACK":
        method = "INVITE"
    via = request.top_via
    branch = via.branch if via is not None else None
    if via is not None and branch is not None and branch.startswith(MAGIC_COOKIE):
        return ("rfc3261", branch, via.sent_by.lower(), method)
    return (
        "rfc2543",
        request.request_uri or "",
        request.from_.tag or "",
        request.call_id,
        request.cseq.number,
        str(via) if via is not None else "",
        method,
    )
