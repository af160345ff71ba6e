"""Deliberately wrong messages for stimuli (pure): what a conforming peer must survive."""

from __future__ import annotations

from harness.sip.message import SipMessage


def content_length_stimulus(message: SipMessage, mode: str) -> SipMessage:
    """RFC 3261 §18.3 stimuli on a message: omit, or declare more or fewer bytes."""
    if mode == "omit":
        return message.remove_header("Content-Length")
    if mode == "larger":
        return message.replace_header("Content-Length", str(len(message.body) + 20))
    if mode == "smaller":
        return message.replace_header("Content-Length", str(max(0, len(message.body) - 6)))
    return message
