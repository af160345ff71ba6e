"""What the SDP checker says: findings that name their rule, strength, requirement and line.

A finding is one SDP line judged against one rule. `level` is the rule's strength (shall,
should, or informational for the soft checks); a shall- or should-level finding is a
failure, an informational one is recorded only. `verdict` and `strength` map a finding onto
wicct's result model (harness/verdicts.py) for the step that records it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from harness.verdicts import Strength, Verdict


class Level(enum.StrEnum):
    SHALL = "shall"
    SHOULD = "should"
    INFORMATIONAL = "informational"


@dataclass(frozen=True)
class SdpFinding:
    """One rule broken (or, when informational, one fact noted) on one SDP line.

    `line` is 1-based; 0 means the body as a whole (it is empty). `text` is that line.
    """

    rule: str
    level: Level
    requirement: str
    clause: str
    line: int
    text: str
    reason: str

    @property
    def failed(self) -> bool:
        return self.level is not Level.INFORMATIONAL

    @property
    def verdict(self) -> Verdict:
        return Verdict.FAIL if self.failed else Verdict.INFORMATIONAL

    @property
    def strength(self) -> Strength:
        """The catalogue strength; informational findings are may-level."""
        return {
            Level.SHALL: Strength.SHALL,
            Level.SHOULD: Strength.SHOULD,
            Level.INFORMATIONAL: Strength.MAY,
        }[self.level]

    def __str__(self) -> str:
        return f"line {self.line} [{self.rule}, {self.level}]: {self.reason}"


@dataclass(frozen=True)
class SdpJudgement:
    """Everything the checker found in one offer, one answer, or one offer/answer pair.

    `what` says what was judged ("offer", "answer", "answer to offer"); `media` lists the m=
    sections seen (kind, port, protocol) so a PASS can cite what it rests on.
    """

    what: str
    findings: tuple[SdpFinding, ...]
    media: tuple[str, ...]

    @property
    def failures(self) -> tuple[SdpFinding, ...]:
        return tuple(f for f in self.findings if f.failed)

    @property
    def notes(self) -> tuple[SdpFinding, ...]:
        return tuple(f for f in self.findings if not f.failed)

    @property
    def passed(self) -> bool:
        return not self.failures

    def rules(self, line: int | None = None) -> set[str]:
        """The rules of the findings (on `line`, when given)."""
        return {f.rule for f in self.findings if line is None or f.line == line}

    def summary(self) -> str:
        """One line: what was judged, on which m= sections, with what outcome."""
        sections = "; ".join(self.media) or "no m= section"
        if self.passed:
            notes = f", {len(self.notes)} informational" if self.notes else ""
            return f"{self.what} conforms ({sections}){notes}"
        first = self.failures[0]
        more = f" (+{len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        return f"{self.what}: {first}{more}"


def judgement(what: str, findings: Iterable[SdpFinding], media: Iterable[str]) -> SdpJudgement:
    ordered = sorted(findings, key=lambda f: (f.line, f.rule))
    return SdpJudgement(what, tuple(ordered), tuple(media))
