"""The fault table of the reference SUTs (harness/suts/faults.py) against the catalogue.

The suite self-tests (tests/suite) prove that each switch breaks exactly its ids; this
proves the switches reach far enough: every shall-level requirement of sections 1-4
(handshake and Origin, framing, transport identifiers, keep-alive) that a role's suite
verifies is broken by at least one switch of that role's reference SUT, so a check that
could never FAIL would be noticed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import requirements
from harness.cases.model import discover, load_case
from harness.cases.registry import load_providers
from harness.suts.faults import FAULTS, for_role
from harness.verdicts import Strength

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("1.", "2.", "3.", "4.")
ROLES = ("epcscf", "wic")

# Ids of sections 1-4 no switch needs to break, with the reason. Each must stay true:
# the test below fails once such an id becomes shall-level with a case.
EXCLUDED = {
    "EPC-KA-03": "may-level, informational: the eP-CSCF's own ping and close policy (RFC 7118 §6)",
}


def _verified(role: str) -> set[str]:
    load_providers()
    return {rid for path in discover(ROOT / "testcases" / role) for rid in load_case(path).verifies}


def _shall_ids(role: str) -> set[str]:
    return {
        r.id
        for r in requirements.catalogue().values()
        if role in r.roles and r.strength is Strength.SHALL and r.section.startswith(SECTIONS)
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_shall_id_of_sections_1_to_4_is_broken_by_a_switch(role: str) -> None:
    wanted = (_shall_ids(role) & _verified(role)) - set(EXCLUDED)
    broken = {rid for fault in for_role(role).values() for rid in fault.breaks}
    assert wanted - broken == set(), f"no {role} fault switch breaks these ids"


@pytest.mark.parametrize("role", ROLES)
def test_exclusions_still_hold(role: str) -> None:
    """An excluded id is not shall-level or has no case in the role: once it gets one,
    it needs a switch too (and leaves EXCLUDED)."""
    verified = _verified(role)
    catalogue = requirements.catalogue()
    for rid in EXCLUDED:
        assert rid in catalogue, rid
        if role in catalogue[rid].roles:
            assert rid not in _shall_ids(role) or rid not in verified, (rid, EXCLUDED[rid])


def test_each_switch_is_described_once_per_role() -> None:
    seen: set[tuple[str, str]] = set()
    for fault in FAULTS:
        assert fault.role in ROLES, fault.name
        assert (fault.role, fault.name) not in seen, fault.name
        seen.add((fault.role, fault.name))
        assert fault.description and "\n" not in fault.description, fault.name
        assert all(rid in requirements.catalogue() for rid in fault.breaks), fault.name
