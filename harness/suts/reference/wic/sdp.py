"""The reference WIC's SDP: aiortc's offers and answers (harness/sdp/jsep.py), with what
aiortc leaves to its user done here, and the SDP fault switches applied to what is sent.

- An answer to an offer without a BUNDLE group has none either (RFC 8843 §7.3: the
  answerer only bundles what was offered bundled); aiortc adds one
  (tests/corpus/sdp/README.md), so it is removed.
- A re-offer is answered from the current answer, each direction answering the offered
  one (RFC 3264 §6.1, §8.4: `sendonly` → `recvonly`), o= version one higher (§8).

Fault switches (harness/suts/faults.py): `sdes_crypto_offer`, `bundle_only_m_line`,
`no_fingerprint` (offers and answers), `answer_reordered_m_lines`, `answer_keeps_actpass`.
Pure text edits.
"""

from __future__ import annotations

ANSWER_DIRECTION = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
                    "inactive": "inactive"}
DIRECTIONS = tuple(f"a={d}" for d in ANSWER_DIRECTION)
# an SDES key line (RFC 4568 §9.1): the key is made up, 40 base64 characters
CRYPTO = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:d2ljY3QgcmVmZXJlbmNlIFdJQyBmYXVsdCBrZXk="


def _join(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def _split(sdp: str) -> tuple[list[str], list[list[str]]]:
    """The session lines and each m= section's lines."""
    session: list[str] = []
    sections: list[list[str]] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        elif line:
            session.append(line)
    return session, sections


def offer_kinds(faults: frozenset[str]) -> tuple[str, ...]:
    """The media the WIC offers: audio; audio and video for `bundle_only_m_line`."""
    return ("audio", "video") if "bundle_only_m_line" in faults else ("audio",)


def sent_offer(sdp: str, faults: frozenset[str]) -> str:
    """The offer the WIC sends, from aiortc's."""
    session, sections = _split(sdp)
    if "bundle_only_m_line" in faults:
        for section in sections[1:]:  # RFC 8843 §6: port 0 and a=bundle-only
            words = section[0].split()
            section[0] = " ".join([words[0], "0", *words[2:]])
            section.insert(1, "a=bundle-only")
    if "sdes_crypto_offer" in faults:
        for section in sections:
            section.append(CRYPTO)
    return _faulty(session, sections, faults)


def sent_answer(offer: str, sdp: str, faults: frozenset[str]) -> str:
    """The answer the WIC sends to `offer`, from aiortc's."""
    session, sections = _split(sdp)
    if not any(line.startswith("a=group:BUNDLE") for line in offer.splitlines()):
        session = [line for line in session if not line.startswith("a=group:BUNDLE")]
    if "answer_reordered_m_lines" in faults:
        sections.reverse()
    if "answer_short_ice_pwd_video" in faults:
        # RFC 8839 §5.4 broken on purpose in the second m= section only: 21 characters
        for section in sections[1:]:
            section[:] = [("a=ice-pwd:" + "p" * 21 if line.startswith("a=ice-pwd:") else line)
                          for line in section]
    if "answer_keeps_actpass" in faults:
        sections = [[("a=setup:actpass" if line.startswith("a=setup:") else line)
                     for line in section] for section in sections]
    return _faulty(session, sections, faults)


def _faulty(session: list[str], sections: list[list[str]], faults: frozenset[str]) -> str:
    lines = [*session, *(line for section in sections for line in section)]
    if "no_fingerprint" in faults:
        lines = [line for line in lines if not line.startswith("a=fingerprint:")]
    return _join(lines)


def answer_again(current: str, offer: str) -> str:
    """The answer to a re-offer (a hold): the current answer with each section's direction
    answering the offered one, o= version one higher (RFC 3264 §8)."""
    _, offered = _split(offer)
    session, sections = _split(current)
    for index, section in enumerate(sections):
        theirs = offered[index] if index < len(offered) else []
        wanted = next((line[2:] for line in theirs if line in DIRECTIONS), "sendrecv")
        # the WIC offered first: its actpass becomes the role the first answer left it
        # (RFC 4145 §4.1): passive facing an active offerer, else active
        role = "passive" if "a=setup:active" in theirs else "active"
        section[:] = [f"a={ANSWER_DIRECTION[wanted]}" if line in DIRECTIONS
                      else f"a=setup:{role}" if line == "a=setup:actpass" else line
                      for line in section]
    for index, line in enumerate(session):
        words = line.split()
        if line.startswith("o=") and len(words) >= 3 and words[2].isdigit():
            words[2] = str(int(words[2]) + 1)
            session[index] = " ".join(words)
    return _join([*session, *(line for section in sections for line in section)])
