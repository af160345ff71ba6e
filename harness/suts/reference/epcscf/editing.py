"""Header list editing for a proxy (RFC 3261 §7.3.1: a list header may hold several values,
in one header line or several): replace or drop the top value, insert above, rewrite all."""

from __future__ import annotations

from harness.sip import SipMessage
from harness.sip.headers import split_header_list
from harness.sip.message import canonical_name

__all__ = ["framed", "insert_top", "replace_top_value", "set_values"]


def _first_index(msg: SipMessage, name: str) -> int | None:
    key = canonical_name(name)
    return next((i for i, (n, _) in enumerate(msg.headers) if canonical_name(n) == key), None)


def replace_top_value(msg: SipMessage, name: str, value: str | None) -> SipMessage:
    """Replace (or, with None, remove) the first value of list header `name`."""
    index = _first_index(msg, name)
    if index is None:
        return msg
    header_name, line = msg.headers[index]
    values = split_header_list(line)
    values = ([value] if value is not None else []) + values[1:]
    headers = list(msg.headers)
    if values:
        headers[index] = (header_name, ", ".join(values))
    else:
        del headers[index]
    return SipMessage(msg.start_line, tuple(headers), msg.body)


def insert_top(msg: SipMessage, name: str, value: str, *, after: str = "via") -> SipMessage:
    """`name: value` above the first `name` header, or after the last `after` header."""
    headers = list(msg.headers)
    index = _first_index(msg, name)
    if index is None:
        last = [i for i, (n, _) in enumerate(headers) if canonical_name(n) == after]
        index = last[-1] + 1 if last else 0
    headers.insert(index, (name, value))
    return SipMessage(msg.start_line, tuple(headers), msg.body)


def set_values(msg: SipMessage, name: str, values: list[str]) -> SipMessage:
    """Every `name` header replaced by one header per value, where the first one was."""
    index = _first_index(msg, name)
    key = canonical_name(name)
    headers = [(n, v) for n, v in msg.headers if canonical_name(n) != key]
    at = index if index is not None else len(headers)
    headers[at:at] = [(name, v) for v in values]
    return SipMessage(msg.start_line, tuple(headers), msg.body)


def framed(msg: SipMessage) -> SipMessage:
    """A correct Content-Length for the body being forwarded (RFC 3261 §20.14)."""
    return msg.with_body(msg.body)
