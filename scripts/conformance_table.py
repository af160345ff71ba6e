#!/usr/bin/env python3
"""Markdown table of verdicts per requirement, one column per SUT, from wicct report.json files.

    scripts/conformance_table.py REPORT.json... > table.md

Reads each report's `requirements` rollup (one row per requirement and profile: id, clause,
strength, section, cases, verdict). A requirement a SUT's role has no case for shows "—".
Rows keep the catalogue's section order, then the order the reports list them. Standard
library only, so it runs without wicct installed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

NONE = "—"


def _section_key(section: str) -> tuple[int, str]:
    match = re.match(r"\s*(\d+)", section or "")
    return (int(match.group(1)) if match else 999, section or "")


def load(paths: list[Path]) -> tuple[list[tuple[str, str]], dict[str, dict]]:
    """Columns [(profile id, SUT name)] and rows {requirement id: {clause, section, strength,
    verdicts {profile: (verdict, n cases)}}}."""
    columns: list[tuple[str, str]] = []
    rows: dict[str, dict] = {}
    for path in paths:
        report = json.loads(path.read_text(encoding="utf-8"))
        names = {s["profile"]: s.get("name") or s["profile"] for s in report.get("suts", [])}
        for requirement in report["requirements"]:
            profile = requirement["profile"]
            if profile not in [c[0] for c in columns]:
                columns.append((profile, names.get(profile, profile)))
            row = rows.setdefault(
                requirement["id"],
                {
                    "clause": requirement.get("clause", ""),
                    "section": requirement.get("section", ""),
                    "strength": requirement.get("strength", ""),
                    "verdicts": {},
                    "order": len(rows),
                },
            )
            row["verdicts"][profile] = (requirement["verdict"], len(requirement.get("cases", [])))
    return columns, rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(paths: list[Path]) -> str:
    columns, rows = load(paths)
    head = ["Requirement", "Clause", "Strength", *[name for _, name in columns]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ordered = sorted(rows.items(), key=lambda kv: (_section_key(kv[1]["section"]), kv[1]["order"]))
    section = None
    for rid, row in ordered:
        if row["section"] != section:
            section = row["section"]
            lines.append("| **" + _cell(section or "other") + "** |" + " |" * (len(head) - 1))
        cells = [rid, _cell(row["clause"]), row["strength"]]
        for profile, _ in columns:
            verdict = row["verdicts"].get(profile)
            if verdict is None:
                cells.append(NONE)
            else:
                name, n = verdict
                cells.append(name if n <= 1 else f"{name} ({n} cases)")
        lines.append("| " + " | ".join(cells) + " |")
    totals = []
    for profile, name in columns:
        counts: dict[str, int] = {}
        for row in rows.values():
            if profile in row["verdicts"]:
                v = row["verdicts"][profile][0]
                counts[v] = counts.get(v, 0) + 1
        totals.append(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    lines.append("")
    lines.append("Requirements per verdict: " + "; ".join(totals) + ".")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if not argv or any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    sys.stdout.write(table([Path(a) for a in argv]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
