"""The reference eP-CSCF's eIMS-AGW, as far as SDP goes (TS 23.228 U.1: BUNDLE "shall be
removed at the entry of the IMS network"): when the profile claims `edge-media`, the SDP of
a message towards the core loses its `a=group:BUNDLE` and `a=bundle-only` lines (each m=
section keeps its own port). Fault `bundle_to_core` passes BUNDLE through."""

from __future__ import annotations

from harness.sip import SipMessage


def unbundled(sdp: bytes) -> bytes:
    """`sdp` without `a=group:BUNDLE` and `a=bundle-only` lines (RFC 8843 §7.1, §6)."""
    kept = []
    for line in sdp.splitlines(keepends=True):
        text = line.strip().lower()
        if text.startswith(b"a=group:bundle") or text == b"a=bundle-only":
            continue
        kept.append(line)
    return b"".join(kept)


def towards_core(msg: SipMessage, *, edge_media: bool, faults: frozenset[str]) -> SipMessage:
    """The message as the eIMS-AGW lets it into the IMS network."""
    if not edge_media or "bundle_to_core" in faults or b"v=0" not in msg.body:
        return msg
    return msg.with_body(unbundled(msg.body))


__all__ = ["towards_core", "unbundled"]
