"""An SDP body with every line numbered, parsed by aiortc's own SDP module.

aiortc (`aiortc.sdp`) is the parser: `grouplines` splits the body into the session part
and one group per m= section, `parse_attr` splits an `a=` line, `SessionDescription.parse`
gives the semantic model. This module only numbers the lines those helpers return (1-based,
as a reader counts them; `grouplines` keeps every line, in order) and, when aiortc refuses
the body, finds the first line it refuses. Pure: no I/O, no asyncio (docs/architecture.md,
"Principles" 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiortc.sdp import MediaDescription, SessionDescription, grouplines, parse_attr

# What aiortc's parser raises on input it cannot read: its own asserts (or, under -O, the
# AttributeError of the match they guard), int()/unpacking errors, unknown setup roles
# (KeyError), a:fmtp for a payload type with no rtpmap (StopIteration), a:x with no value.
PARSE_ERRORS: tuple[type[Exception], ...] = (
    AssertionError,
    AttributeError,
    IndexError,
    KeyError,
    StopIteration,
    TypeError,
    ValueError,
)


@dataclass(frozen=True)
class Line:
    """One SDP line and its 1-based number in the body."""

    number: int
    text: str

    def attr(self) -> tuple[str, str | None] | None:
        """(name, value) of an `a=` line (aiortc's `parse_attr`), None for other lines."""
        return parse_attr(self.text) if self.text.startswith("a=") else None


@dataclass(frozen=True)
class Section:
    """One m= section: its lines (the m= line first) and aiortc's model of it."""

    index: int  # 0-based position among the m= sections
    lines: tuple[Line, ...]
    media: MediaDescription

    @property
    def mline(self) -> Line:
        return self.lines[0]

    def attrs(self, name: str) -> list[tuple[Line, str | None]]:
        return attrs_named(self.lines[1:], name)

    def has(self, name: str) -> bool:
        return bool(self.attrs(name))


@dataclass(frozen=True)
class Located:
    """A parsed SDP body: all lines, the session-level lines, the m= sections, the model."""

    lines: tuple[Line, ...]
    session: tuple[Line, ...]
    sections: tuple[Section, ...]
    model: SessionDescription

    def session_attrs(self, name: str) -> list[tuple[Line, str | None]]:
        return attrs_named(self.session, name)

    def effective(self, section: Section, name: str) -> list[tuple[Line, str | None]]:
        """The `a=name` lines that apply to `section`: its own, else the session's (RFC 8866
        §5.13: a media-level attribute overrides the session-level one)."""
        return section.attrs(name) or self.session_attrs(name)


@dataclass(frozen=True)
class Unparsable:
    """aiortc refused the body: the first line whose addition makes it refuse, and why."""

    line: Line
    error: str


def attrs_named(lines: Iterable[Line], name: str) -> list[tuple[Line, str | None]]:
    found = []
    for line in lines:
        attr = line.attr()
        if attr is not None and attr[0] == name:
            found.append((line, attr[1]))
    return found


def numbered(sdp: str) -> tuple[Line, ...]:
    """Every line of the body, numbered from 1, split as aiortc's `grouplines` splits."""
    session, media = grouplines(sdp)
    texts = [*session, *(text for group in media for text in group)]
    return tuple(Line(number, text) for number, text in enumerate(texts, start=1))


def locate(sdp: str) -> Located | Unparsable:
    """Parse `sdp` with aiortc; on failure name the first line aiortc cannot take."""
    lines = numbered(sdp)
    session_texts, groups = grouplines(sdp)
    try:
        model = SessionDescription.parse(sdp)
    except PARSE_ERRORS as exc:
        return _first_refused(lines, len(session_texts), [len(g) for g in groups], exc)
    session = lines[: len(session_texts)]
    sections = []
    start = len(session_texts)
    for index, group in enumerate(groups):
        sections.append(Section(index, lines[start : start + len(group)], model.media[index]))
        start += len(group)
    return Located(lines, session, tuple(sections), model)


# A section longer than this is searched by halves (fuzzing, issue 11: trying every prefix
# of a hostile body of 10^4 lines took minutes)
SCAN_LINES = 256


def _refusal(lines: tuple[Line, ...]) -> Exception | None:
    try:
        SessionDescription.parse("\r\n".join(line.text for line in lines))
    except PARSE_ERRORS as exc:
        return exc
    return None


def _first_refused(lines: tuple[Line, ...], session_count: int, sizes: list[int],
                   exc: Exception) -> Unparsable:
    """The shortest prefix of the body aiortc refuses ends on the line it cannot take.

    aiortc reads the session lines one by one, then each m= section on its own (a section
    never depends on another, nor on the session lines beyond their own parse), so the
    refused line is in the session part if that part alone is refused, else in the first
    section refused alone; each is searched on its own lines, not the whole body's.
    aiortc reads a:fmtp after the rest of its m= section, so a prefix that ends on one
    without its rtpmap is refused there too: that is the line naming a payload type the
    section does not (yet) define. A section of more than `SCAN_LINES` lines is searched
    by halves: the line named is one whose addition makes aiortc refuse.
    """
    session = lines[:session_count]
    if _refusal(session) is not None:
        # session lines are refused one by one: a refused prefix stays refused
        return _by_halves(session)
    start = session_count
    for size in sizes:
        section = lines[start : start + size]
        start += size
        if _refusal(section) is None:
            continue
        if size > SCAN_LINES:
            return _by_halves(section)
        for end in range(1, size + 1):
            if (prefix_exc := _refusal(section[:end])) is not None:
                return Unparsable(section[end - 1], _describe(prefix_exc))
    # only the whole body fails (never seen): blame its last line, with the whole's error
    last = lines[-1] if lines else Line(0, "")
    return Unparsable(last, _describe(exc))


def _by_halves(lines: tuple[Line, ...]) -> Unparsable:
    """The line `end` with lines[:end - 1] taken and lines[:end] refused (`lines` refused)."""
    low, high = 0, len(lines)  # lines[:low] is taken (the empty body is), lines[:high] not
    while high - low > 1:
        middle = (low + high) // 2
        if _refusal(lines[:middle]) is None:
            low = middle
        else:
            high = middle
    refused = _refusal(lines[:high])
    assert refused is not None
    return Unparsable(lines[high - 1], _describe(refused))


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
