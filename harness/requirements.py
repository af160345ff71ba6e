"""The requirement catalogue (`harness/data/requirements.md`, a copy of the shared spec).

Each table row of the catalogue is one requirement with a stable id. Cases cite the ids;
reports roll verdicts up by them. Strength is read from the row's own words: "(should)"
or a should-level clause gives SHOULD, "informational" gives MAY, anything else SHALL.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

from harness.verdicts import Strength

_ID = re.compile(r"^[A-Z]{3,4}-[A-Z]+-\d{2}$")


@dataclass(frozen=True, kw_only=True)
class Requirement:
    id: str
    clause: str
    sut: str  # "WIC", "eP-CSCF", "both"...
    stimulus: str
    pass_when: str
    strength: Strength
    section: str

    @property
    def roles(self) -> tuple[str, ...]:
        """SUT roles this id binds: BOTH-* ids bind both."""
        if self.id.startswith("BOTH-"):
            return ("wic", "epcscf")
        return ("wic",) if self.id.startswith("WIC-") else ("epcscf",)


def _strength(sut: str, clause: str, pass_when: str) -> Strength:
    words = f"{sut} {clause}".lower()
    if "(should)" in words:
        return Strength.SHOULD
    text = pass_when.lower().strip()
    # "(informational)" qualifying the whole row, not one qualifier inside a longer rule
    whole_row = text.rstrip(")").endswith("informational") or text.startswith("informational")
    if whole_row and "(shall)" not in words:
        return Strength.MAY
    return Strength.SHALL


def parse_catalogue(text: str) -> dict[str, Requirement]:
    """Parse the markdown tables; ids like `WIC-KA-04 / EPC-KA-04` give two rows."""
    result: dict[str, Requirement] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| id"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5:
            continue
        ids = [i.strip() for i in cells[0].split("/")]
        if not all(_ID.match(i) for i in ids):
            continue
        clause, sut, stimulus, pass_when = cells[1], cells[2], cells[3], " | ".join(cells[4:])
        for rid in ids:
            result[rid] = Requirement(
                id=rid,
                clause=clause,
                sut=sut,
                stimulus=stimulus,
                pass_when=pass_when,
                strength=_strength(sut, clause, pass_when),
                section=section,
            )
    return result


@functools.cache
def catalogue() -> dict[str, Requirement]:
    text = resources.files("harness").joinpath("data/requirements.md").read_text("utf-8")
    return parse_catalogue(text)


def get(requirement_id: str) -> Requirement:
    try:
        return catalogue()[requirement_id]
    except KeyError:
        raise KeyError(f"unknown requirement id {requirement_id!r}") from None
