"""The JSEP checker: judges an SDP offer or answer, and whether an answer fits its offer.

Catalogue rows WIC-SES-01 (the WIC's offer), WIC-SES-02 (its answer, and that the answer
fits wicct's offer) and WIC-SES-03 (its answer to an IMS-style offer). The hard checks
(shall, or should where the catalogue says so) FAIL; the soft ones are INFORMATIONAL.

- Body: every line is `<type>=<value>` (RFC 8866 §5), aiortc can parse it (a body it
  refuses is a FAIL naming the first line it cannot take, never an exception), `v=0`
  first, `o=` and `s=`, `t=0 0` (RFC 9429 §5.2.1), at least one m= section.
- Each m= section: a DTLS-SRTP protocol (`UDP/TLS/RTP/SAVPF`, `UDP/TLS/RTP/SAVP`,
  `TCP/DTLS/RTP/SAVPF`, `TCP/DTLS/RTP/SAVP`; data channels `UDP/DTLS/SCTP`,
  `TCP/DTLS/SCTP`) (RFC 9429 §5.1.2, TS 24.371 7.2.1). Sections that are not rejected
  (port 0 without bundle-only) carry `a=mid` (unique), a direction, and an `a=rtpmap` for
  every payload type without a static RTP/AVP assignment (RFC 3551 §6).
- Transport attributes, on every section that carries its own transport: `ice-ufrag` of 4 to
  256 and `ice-pwd` of 22 to 256 ice-chars (RFC 8839 §5.4; a session-level value applies to
  every section), a fingerprint, and `setup` (offer `actpass`; answer `active` or `passive`,
  RFC 8842 §5). Across the body one value per hash function: one certificate (RFC 8122 §5,
  RFC 8842). A section carries its own transport unless it is `bundle-only`, rejected, or
  (in an answer or a subsequent offer) a bundled section other than the group's tagged
  first one (RFC 8843 §7.3.1, §7.5.1); values present there are judged all the same.
- BUNDLE: every mid a group names exists (RFC 5888 §5); the group itself is INFORMATIONAL
  (JSEP always adds it; TS 23.228 U.1 says the WIC should not multiplex): a `bundle-only`
  section is a should-level FAIL in an offer (our reading of U.1), a shall-level one in an
  answer (RFC 8843 §7.3). No `a=rtcp-mux` is INFORMATIONAL (TS 24.371 7.2.1 allows both).
- Forbidden everywhere: `a=crypto` (SDES), `a=key-mgmt` (MIKEY) and `k=` (RFC 8827 §6.5:
  DTLS-SRTP keys, never keys in SDP; RFC 8866 §5.12).

`answer_fits` compares an answer with its offer: m= count, order (kinds) and protocol
strings (RFC 3264 §6, RFC 9429 §5.3.1), mids echoed, setup roles (actpass → active or
passive, RFC 4145 §4.1), at least one offered format (RFC 3264 §6.1), directions, rtcp-mux
only if offered (RFC 5761 §5.1.1), BUNDLE only over offered mids (RFC 8843 §7.3). A rejected
m= line (port 0) is always a valid answer. Pure: no I/O, no asyncio.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from harness.sdp.findings import Level, SdpFinding, SdpJudgement, judgement
from harness.sdp.located import Line, Located, Section, Unparsable, locate, numbered

Role = Literal["offer", "answer"]

RTP_PROTOCOLS = frozenset(
    {"UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP", "TCP/DTLS/RTP/SAVPF", "TCP/DTLS/RTP/SAVP"}
)
SCTP_PROTOCOLS = frozenset({"UDP/DTLS/SCTP", "TCP/DTLS/SCTP"})
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
# RFC 3551 Tables 4 and 5: the payload types with a static assignment; any other needs rtpmap
STATIC_PAYLOAD_TYPES = frozenset({0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                  25, 26, 28, 31, 32, 33, 34})
ICE_CHARS = re.compile(r"[A-Za-z0-9+/]+")  # RFC 8839 §5.4 ice-char
SDP_LINE = re.compile(r"[a-z]=")  # RFC 8866 §5: <type>=<value>, type one letter
FINGERPRINT = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})+")  # RFC 8122 §5
SETUP_ANSWERS = {"actpass": ("active", "passive"), "active": ("passive",),
                 "passive": ("active",)}
DIRECTION_ANSWERS = {"sendrecv": DIRECTIONS, "sendonly": ("recvonly", "inactive"),
                     "recvonly": ("sendonly", "inactive"), "inactive": ("inactive",)}

# rule -> (level, clause)
RULES: dict[str, tuple[Level, str]] = {
    "sdp-syntax": (Level.SHALL, "RFC 8866 §5"),
    "sdp-parse": (Level.SHALL, "RFC 8866 §5"),
    "version": (Level.SHALL, "RFC 8866 §5.1; RFC 9429 §5.2.1"),
    "origin": (Level.SHALL, "RFC 8866 §5.2; RFC 9429 §5.2.1"),
    "session-name": (Level.SHALL, "RFC 8866 §5.3; RFC 9429 §5.2.1"),
    "timing": (Level.SHALL, "RFC 9429 §5.2.1 (t=0 0)"),
    "no-media": (Level.SHALL, "RFC 9429 §5.2.1"),
    "media-protocol": (Level.SHALL, "RFC 9429 §5.1.2; TS 24.371 7.2.1 (DTLS-SRTP)"),
    "ice-ufrag": (Level.SHALL, "RFC 8839 §5.4"),
    "ice-pwd": (Level.SHALL, "RFC 8839 §5.4"),
    "fingerprint": (Level.SHALL, "RFC 8122 §5; RFC 8842 §5"),
    "setup": (Level.SHALL, "RFC 8842 §5; RFC 9429 §5.2.1, §5.3.1"),
    "mid": (Level.SHALL, "RFC 9429 §5.2.1; RFC 5888 §4"),
    "direction": (Level.SHALL, "RFC 9429 §5.2.1; RFC 3264 §5.1"),
    "rtpmap": (Level.SHALL, "RFC 9429 §5.2.1; RFC 3551 §6"),
    "bundle-group": (Level.SHALL, "RFC 5888 §5; RFC 8843 §7"),
    "bundle": (Level.INFORMATIONAL, "RFC 9429 §5.2.1; TS 23.228 U.1"),
    "bundle-only": (Level.SHOULD, "TS 23.228 U.1 (our reading); RFC 8843 §6"),
    "rtcp-mux": (Level.INFORMATIONAL, "RFC 5761 §5.1.1; TS 24.371 7.2.1"),
    "crypto": (Level.SHALL, "RFC 8827 §6.5 (no SDES); TS 24.371 7.2.1"),
    "key-mgmt": (Level.SHALL, "RFC 8827 §6.5; TS 24.371 7.2.1"),
    "k-line": (Level.SHALL, "RFC 8866 §5.12; RFC 8827 §6.5"),
    "answer-m-count": (Level.SHALL, "RFC 3264 §6; RFC 9429 §5.3.1"),
    "answer-m-order": (Level.SHALL, "RFC 3264 §6; RFC 9429 §5.3.1"),
    "answer-protocol": (Level.SHALL, "RFC 9429 §5.3.1"),
    "answer-rejected": (Level.SHALL, "RFC 3264 §6"),
    "answer-mid": (Level.SHALL, "RFC 5888 §9.1"),
    "answer-setup": (Level.SHALL, "RFC 4145 §4.1; RFC 8842 §5"),
    "answer-formats": (Level.SHALL, "RFC 3264 §6.1"),
    "answer-direction": (Level.SHALL, "RFC 3264 §6.1"),
    "answer-rtcp-mux": (Level.SHALL, "RFC 5761 §5.1.1"),
    "answer-bundle": (Level.SHALL, "RFC 8843 §7.3"),
    "offer-unparsable": (Level.SHALL, "RFC 8866 §5"),
}


@dataclass(frozen=True)
class _Finder:
    """Makes findings for one requirement."""

    requirement: str

    def __call__(
        self, rule: str, line: Line, reason: str, level: Level | None = None
    ) -> SdpFinding:
        default, clause = RULES[rule]
        if level is Level.SHALL and rule == "bundle-only":
            clause = "RFC 8843 §7.3"
        return SdpFinding(rule, level or default, self.requirement, clause, line.number,
                          line.text, reason)


def check_offer(sdp: str, *, requirement: str = "WIC-SES-01",
                initial: bool = True) -> SdpJudgement:
    """Judge an SDP offer. `initial`: the first offer of the session (every bundled m=
    section then carries its own transport, RFC 8843 §7.2.1); False for a re-offer."""
    return _check(sdp, "offer", requirement, initial=initial)


def check_answer(sdp: str, *, requirement: str = "WIC-SES-02",
                 offer: str | None = None) -> SdpJudgement:
    """Judge an SDP answer; with `offer`, also whether it fits that offer."""
    own = _check(sdp, "answer", requirement, initial=False)
    if offer is None:
        return own
    fits = answer_fits(offer, sdp, requirement=requirement)
    return judgement("answer", {*own.findings, *fits.findings}, own.media)


def answer_fits(offer: str, answer: str, *, requirement: str = "WIC-SES-02") -> SdpJudgement:
    """Judge whether `answer` answers `offer` (RFC 3264 §6, RFC 9429 §5.3.1)."""
    find = _Finder(requirement)
    if not numbered(answer):  # aiortc parses an empty body: nothing to compare
        return judgement("answer to offer", [find("sdp-syntax", Line(0, ""), "the answer is empty")], ())
    offered, answered = locate(offer), locate(answer)
    if isinstance(answered, Unparsable):
        return judgement("answer to offer", [_unparsable(find, answered)], ())
    if isinstance(offered, Unparsable):
        bad = offered.line
        reason = f"the offer does not parse at its line {bad.number} ({offered.error})"
        return judgement("answer to offer", [find("offer-unparsable", bad, reason)],
                         _media(answered))
    return judgement("answer to offer", _fits(find, offered, answered), _media(answered))


# --- one description -----------------------------------------------------------------


def _check(sdp: str, role: Role, requirement: str, *, initial: bool) -> SdpJudgement:
    find = _Finder(requirement)
    lines = numbered(sdp)
    if not lines:
        return judgement(role, [find("sdp-syntax", Line(0, ""), "the body is empty")], ())
    found = list(_syntax(find, lines))
    located = locate(sdp)
    if isinstance(located, Unparsable):
        return judgement(role, [*found, _unparsable(find, located)], ())
    found += _session(find, located)
    found += _forbidden(find, located.lines)
    found += _bundle(find, located, role)
    for section in located.sections:
        found += _section(find, located, section, role, initial=initial)
    found += _fingerprints(find, located)
    found += _unique_mids(find, located)
    return judgement(role, set(found), _media(located))


def _unparsable(find: _Finder, bad: Unparsable) -> SdpFinding:
    return find("sdp-parse", bad.line, f"does not parse ({bad.error})")


def _media(located: Located) -> tuple[str, ...]:
    return tuple(f"{s.media.kind} {s.media.port} {s.media.profile}" for s in located.sections)


def _syntax(find: _Finder, lines: tuple[Line, ...]) -> Iterator[SdpFinding]:
    last_text = max((line.number for line in lines if line.text.strip()), default=0)
    for line in lines:
        if not line.text.strip():
            if line.number < last_text:  # a blank line at the very end is tolerated
                yield find("sdp-syntax", line, "blank line inside the body")
        elif not SDP_LINE.match(line.text):
            yield find("sdp-syntax", line, "not an SDP line (<type>=<value>)")


def _session(find: _Finder, located: Located) -> Iterator[SdpFinding]:
    first = located.lines[0]
    if first.text != "v=0":
        yield find("version", first, "the first line is not v=0")
    for prefix, rule in (("o=", "origin"), ("s=", "session-name")):
        if not any(line.text.startswith(prefix) for line in located.session):
            yield find(rule, first, f"no {prefix} line")
    times = [line for line in located.session if line.text.startswith("t=")]
    if not times:
        yield find("timing", first, "no t= line")
    for line in times:
        if line.text.strip() != "t=0 0":
            yield find("timing", line, "timing is not t=0 0")
    if not located.sections:
        yield find("no-media", located.lines[-1], "no m= section")


def _forbidden(find: _Finder, lines: tuple[Line, ...]) -> Iterator[SdpFinding]:
    for line in lines:
        attr = line.attr()
        if line.text.startswith("k="):
            yield find("k-line", line, "k= carries a key in SDP; DTLS-SRTP only")
        elif attr is not None and attr[0] == "crypto":
            yield find("crypto", line, "SDES a=crypto offered; DTLS-SRTP only")
        elif attr is not None and attr[0] == "key-mgmt":
            yield find("key-mgmt", line, "a=key-mgmt (MIKEY); DTLS-SRTP only")


def _bundle_groups(located: Located) -> list[tuple[Line, list[str]]]:
    groups = []
    for line, value in located.session_attrs("group"):
        words = (value or "").split()
        if words and words[0] == "BUNDLE":
            groups.append((line, words[1:]))
    return groups


def _bundle(find: _Finder, located: Located, role: Role) -> Iterator[SdpFinding]:
    mids = {s.media.rtp.muxId for s in located.sections}
    for line, tags in _bundle_groups(located):
        yield find("bundle", line, f"BUNDLE group of {len(tags)} m= section(s): multiplexing "
                   f"in the {role} (JSEP adds it; TS 23.228 U.1: the WIC should not use it)")
        for tag in tags:
            if tag not in mids:
                yield find("bundle-group", line, f"BUNDLE names mid {tag!r}: no m= section has it")
    for section in located.sections:
        for line, _ in section.attrs("bundle-only"):
            if role == "offer":
                yield find("bundle-only", line, "bundle-only m= section: the WIC should not "
                           "rely on multiplexing (TS 23.228 U.1)")
            else:
                yield find("bundle-only", line, "bundle-only in an answer", Level.SHALL)


def _rejected(section: Section) -> bool:
    return section.media.port == 0 and not section.has("bundle-only")


def _own_transport(located: Located, section: Section, *, initial: bool) -> bool:
    """Whether `section` must carry its own ICE and DTLS attributes."""
    if _rejected(section) or section.has("bundle-only"):
        return False
    if initial:
        return True
    # a section bundled behind its group's tagged (first) one may leave transport to it
    return all(section.media.rtp.muxId not in tags[1:] for _, tags in _bundle_groups(located))


def _section(find: _Finder, located: Located, section: Section, role: Role,
             *, initial: bool) -> Iterator[SdpFinding]:
    media, mline = section.media, section.mline
    allowed = SCTP_PROTOCOLS if media.kind == "application" else RTP_PROTOCOLS
    if media.profile not in allowed:
        yield find("media-protocol", mline,
                   f"{media.kind} on {media.profile}, not on DTLS-SRTP ({' or '.join(sorted(allowed))})")
    if _rejected(section):
        return
    yield from _media_rules(find, located, section)
    if media.profile in allowed:  # ICE and DTLS judged on DTLS protocols only
        required = _own_transport(located, section, initial=initial)
        yield from _ice(find, located, section, required)
        yield from _setup(find, located, section, role, required)


def _media_rules(find: _Finder, located: Located, section: Section) -> Iterator[SdpFinding]:
    media, mline = section.media, section.mline
    if not media.rtp.muxId:
        yield find("mid", mline, "no a=mid")
    directions = _directions(located, section)
    if not directions:
        yield find("direction", mline, "no direction attribute (sendrecv, sendonly, ...)")
    for line, name in directions[1:]:
        yield find("direction", line, f"a second direction attribute ({name})")
    if media.kind in ("audio", "video"):
        mapped = {codec.payloadType for codec in media.rtp.codecs}
        for pt in media.fmt:
            if pt not in STATIC_PAYLOAD_TYPES and pt not in mapped:
                yield find("rtpmap", mline, f"payload type {pt} has no a=rtpmap")
    if media.kind in ("audio", "video") and not section.has("rtcp-mux"):
        yield find("rtcp-mux", mline, "no a=rtcp-mux: RTP and RTCP on separate ports")


def _directions(located: Located, section: Section) -> list[tuple[Line, str]]:
    """The direction attributes that apply to `section`, in line order: its own, else the
    session's (one media-level direction overrides a session-level one)."""
    def named(lines: tuple[Line, ...]) -> list[tuple[Line, str]]:
        return [(line, attr[0]) for line in lines
                if (attr := line.attr()) is not None and attr[0] in DIRECTIONS]

    return named(section.lines[1:]) or named(located.session)


def _ice(find: _Finder, located: Located, section: Section,
         required: bool) -> Iterator[SdpFinding]:
    for rule, low in (("ice-ufrag", 4), ("ice-pwd", 22)):
        found = located.effective(section, rule)
        if not found:
            if required:
                yield find(rule, section.mline, f"no a={rule} (in the section or the session)")
            continue
        line, value = found[-1]  # aiortc keeps the last one
        value = value or ""
        if not low <= len(value) <= 256:
            yield find(rule, line, f"{rule} is {len(value)} characters, not {low} to 256")
        elif not ICE_CHARS.fullmatch(value):
            yield find(rule, line, f"{rule} has characters outside ALPHA / DIGIT / + / /")


def _setup(find: _Finder, located: Located, section: Section, role: Role,
           required: bool) -> Iterator[SdpFinding]:
    if required and not located.effective(section, "fingerprint"):
        yield find("fingerprint", section.mline, "no a=fingerprint (in the section or the session)")
    found = located.effective(section, "setup")
    if not found:
        if required:
            yield find("setup", section.mline, "no a=setup")
        return
    line, value = found[-1]
    wanted = ("actpass",) if role == "offer" else ("active", "passive")
    if value not in wanted:
        yield find("setup", line, f"setup:{value} in an {role}; wanted {' or '.join(wanted)}")


def _fingerprints(find: _Finder, located: Located) -> Iterator[SdpFinding]:
    first: dict[str, tuple[Line, str]] = {}
    everywhere = [*located.session_attrs("fingerprint"),
                  *(hit for s in located.sections for hit in s.attrs("fingerprint"))]
    for line, value in sorted(everywhere, key=lambda hit: hit[0].number):
        words = (value or "").split()
        if len(words) != 2 or not FINGERPRINT.fullmatch(words[1]):
            yield find("fingerprint", line, "not a fingerprint (<hash-func> XX:XX:...)")
            continue
        algorithm, digest = words[0].lower(), words[1].upper()
        seen = first.setdefault(algorithm, (line, digest))
        if seen[1] != digest:
            yield find("fingerprint", line, f"a second {algorithm} fingerprint, not line "
                       f"{seen[0].number}'s: more than one certificate")


def _unique_mids(find: _Finder, located: Located) -> Iterator[SdpFinding]:
    seen: dict[str, Line] = {}
    for section in located.sections:
        for line, value in section.attrs("mid"):
            if value in seen:
                yield find("mid", line, f"mid {value!r} already used on line {seen[value].number}")
            elif value is not None:
                seen[value] = line


# --- answer against offer ---------------------------------------------------------------


def _setup_of(located: Located, section: Section) -> tuple[Line, str | None]:
    """The setup value that applies to `section` (the last one), on its line."""
    hits = located.effective(section, "setup")
    return hits[-1] if hits else (section.mline, None)


def _fits(find: _Finder, offered: Located, answered: Located) -> Iterator[SdpFinding]:
    offer_n, answer_n = len(offered.sections), len(answered.sections)
    if offer_n != answer_n:
        where = (answered.sections[offer_n].mline if answer_n > offer_n
                 else answered.lines[-1])
        yield find("answer-m-count", where,
                   f"the answer has {answer_n} m= section(s), the offer {offer_n}")
    for o_sec, a_sec in zip(offered.sections, answered.sections, strict=False):
        yield from _fits_section(find, offered, o_sec, answered, a_sec)
    offered_tags = {tag for _, tags in _bundle_groups(offered) for tag in tags}
    for line, tags in _bundle_groups(answered):
        for tag in tags:
            if tag not in offered_tags:
                yield find("answer-bundle", line, f"the answer bundles mid {tag!r}, which the "
                           "offer did not bundle")


def _fits_section(find: _Finder, offered: Located, o_sec: Section, answered: Located,
                  a_sec: Section) -> Iterator[SdpFinding]:
    o, a, mline = o_sec.media, a_sec.media, a_sec.mline
    where = f"m= section {a_sec.index + 1}"
    if o.kind != a.kind:
        yield find("answer-m-order", mline, f"{where} is {a.kind}, the offer's (line "
                   f"{o_sec.mline.number}) is {o.kind}: m= lines reordered or replaced")
        return
    if o.profile != a.profile:
        yield find("answer-protocol", mline,
                   f"{where} answers {o.profile} with {a.profile}")
    if _rejected(o_sec) and a.port != 0:
        yield find("answer-rejected", mline, f"{where} was disabled in the offer (port 0) "
                   "but the answer accepts it")
    if a.port == 0:
        return  # rejecting an offered m= line is always a valid answer
    if o.rtp.muxId and a.rtp.muxId and o.rtp.muxId != a.rtp.muxId:
        line = a_sec.attrs("mid")[-1][0]
        yield find("answer-mid", line, f"mid {a.rtp.muxId!r} answers mid {o.rtp.muxId!r}")
    o_line, o_setup = _setup_of(offered, o_sec)
    a_line, a_setup = _setup_of(answered, a_sec)
    if o_setup in SETUP_ANSWERS and a_setup is not None and a_setup not in SETUP_ANSWERS[o_setup]:
        yield find("answer-setup", a_line, f"setup:{a_setup} answers setup:{o_setup} (line "
                   f"{o_line.number}); wanted {' or '.join(SETUP_ANSWERS[o_setup])}")
    if not {str(f) for f in a.fmt} & {str(f) for f in o.fmt}:
        yield find("answer-formats", mline, f"{where} lists none of the offered formats")
    o_dirs, a_dirs = _directions(offered, o_sec), _directions(answered, a_sec)
    o_dir = o_dirs[-1][1] if o_dirs else "sendrecv"  # RFC 8866 §6.7: the default
    d_line, a_dir = a_dirs[-1] if a_dirs else (mline, "sendrecv")
    if o_dir in DIRECTION_ANSWERS and a_dir not in DIRECTION_ANSWERS[o_dir]:
        yield find("answer-direction", d_line, f"{a_dir} answers {o_dir}")
    mux = a_sec.attrs("rtcp-mux")
    if mux and not o_sec.has("rtcp-mux"):
        yield find("answer-rtcp-mux", mux[0][0], "rtcp-mux in the answer, not in the offer")
