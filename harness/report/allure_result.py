"""What a case's Allure result holds, read from the case as report.json has it.

harness.plugin gives these to allure-pytest (`allure.dynamic`, `allure.attach`); this
module decides them, from the one result model (docs/architecture.md principle 5), so the
evidence attached is the report's, secrets already redacted. Status (set by the plugin
through the outcome it raises): PASS passed, FAIL failed, ERROR broken, INCONCLUSIVE and
NOT-APPLICABLE skipped with a message starting with the verdict (INCONCLUSIVE failed
under --strict). `CATEGORIES` sorts them in Allure's Categories tab.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.report.text import case_text, cited_entries, one_line
from harness.requirements import catalogue

# Allure's severity from the strongest requirement a case verifies
SEVERITY = {"shall": "critical", "should": "normal", "may": "minor"}
_RFC = re.compile(r"RFC\s*(\d+)((?:\s*,?\s*§\s*[\d.]*\d)*)")
_SECTION = re.compile(r"§\s*([\d.]*\d)")


@dataclass(frozen=True, kw_only=True)
class AllureFields:
    title: str
    description: str  # Markdown
    parameters: tuple[tuple[str, str, bool], ...]  # (name, value, excluded from history)
    labels: tuple[tuple[str, str], ...]  # (label type, value)
    links: tuple[tuple[str, str], ...]  # (url, name)
    attachments: tuple[tuple[str, str, str], ...]  # (name, body, "text" | "json")


def clause_links(clause: str) -> list[tuple[str, str]]:
    """(url, name) for every RFC section a clause cites: `RFC 6455 §4.2.2, §10.2` gives
    two links into the RFC Editor's copy; a bare `RFC 7118` links the RFC."""
    links = []
    for match in _RFC.finditer(clause):
        number, sections = match.group(1), _SECTION.findall(match.group(2))
        base = f"https://www.rfc-editor.org/rfc/rfc{number}"
        if not sections:
            links.append((base, f"RFC {number}"))
        links += [(f"{base}#section-{s}", f"RFC {number} §{s}") for s in sections]
    return links


def allure_fields(case: Mapping[str, Any], sut: Mapping[str, Any] | None = None) -> AllureFields:
    """Title, Markdown description (the case's words, its verdict and each requirement
    with its strength, clause and pass condition), parameters, labels, clause links and
    attachments (the case as text with its cited evidence, and the cited entries as JSON)."""
    rows = catalogue()
    verifies = [str(r) for r in case.get("verifies") or []]
    profile = one_line(case.get("profile", ""))
    role = one_line(case.get("sut_role", ""))
    lines = [str(case.get("description") or "").strip(), ""]
    lines.append(f"**Verdict:** {one_line(case.get('verdict', ''))}: {one_line(case.get('reason', ''))}")
    lines += ["", "**Requirements**", ""]
    strengths = []
    sections = []
    links: list[tuple[str, str]] = []
    for rid in verifies:
        row = rows.get(rid)
        if row is None:
            lines.append(f"- `{rid}` (not in the catalogue)")
            continue
        strengths.append(str(row.strength))
        sections.append(row.section)
        lines.append(f"- `{rid}` ({row.strength}), {row.clause}: {' '.join(row.pass_when.split())}")
    clauses = [*(case.get("clauses") or []), *(f.get("clause", "") for f in case.get("findings") or [])]
    for clause in clauses:
        links += [link for link in clause_links(str(clause)) if link not in links]
    severity = next((SEVERITY[s] for s in ("shall", "should", "may") if s in strengths), "normal")
    labels = [
        ("parentSuite", profile),
        ("suite", sections[0] if sections else role),
        ("epic", f"{role} SUT"),
        ("severity", severity),
    ]
    for rid, section in zip(verifies, sections, strict=False):
        labels.append(("feature", section))
        labels.append(("story", rid))
    for rid in verifies:
        labels += [("requirement", rid), ("tag", rid)]
    parameters = [("profile", profile, False), ("SUT role", role, True)]
    if sut is not None:
        parameters.append(("SUT", one_line(sut.get("name", "")), True))
        if sut.get("faults"):
            parameters.append(("faults", " ".join(map(str, sut["faults"])), True))
    entries = cited_entries(case)
    attachments = [("evidence (cited)", case_text(case, cited=len(case.get("evidence") or [])), "text")]
    if entries:
        attachments.append(
            ("evidence entries (cited, JSON)", json.dumps(entries, indent=2, ensure_ascii=False), "json")
        )
    return AllureFields(
        title=f"{one_line(case.get('id', ''))} [{profile}]: {one_line(case.get('title', ''))}",
        description="\n".join(lines).strip() + "\n",
        parameters=tuple(parameters),
        labels=tuple(dict.fromkeys(labels)),
        links=tuple(links),
        attachments=tuple(attachments),
    )


CATEGORIES: list[dict[str, Any]] = [  # Allure puts a result in the first category it matches
    {"name": "INCONCLUSIVE under --strict", "matchedStatuses": ["failed"],
     "messageRegex": r"(?s)(\w+: )?INCONCLUSIVE: .*"},
    {"name": "FAIL: the SUT broke a requirement", "matchedStatuses": ["failed"]},
    {"name": "INCONCLUSIVE: could not decide", "matchedStatuses": ["skipped"],
     "messageRegex": r"(?s)(\w+: )?INCONCLUSIVE: .*"},
    {"name": "NOT-APPLICABLE: feature not claimed", "matchedStatuses": ["skipped"],
     "messageRegex": r"(?s)(\w+: )?NOT-APPLICABLE: .*"},
    {"name": "ERROR: wicct itself failed", "matchedStatuses": ["broken"]},
]
