"""`wicct matrix R1 R2 ... --out matrix.html`: a requirement × SUT matrix over several runs.

Autobahn|Testsuite's agent × case table, for wicct: one column per SUT profile of each
report, one row per catalogue requirement any of them judged, in catalogue order; each
cell holds that requirement's roll-up verdict for that SUT and links to the case that
decides it in that report's own report.html (a relative link, so the matrix and the report
directories can be moved together). A requirement a SUT did not test shows why (the
report's `not_tested`). The page is static and self-contained: inline CSS pinned by hash
in a Content-Security-Policy, no script, nothing fetched.
"""

from __future__ import annotations

import base64
import hashlib
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness import requirements
from harness.report.html import case_anchors

TEMPLATES = resources.files("harness.report").joinpath("templates")
_CLASS = {"PASS": "v-pass", "FAIL": "v-fail", "INCONCLUSIVE": "v-inconclusive",
          "NOT-APPLICABLE": "v-na", "ERROR": "v-error"}


@dataclass(frozen=True)
class Source:
    """One report read for the matrix: its dict and where its report.json is."""

    report: Mapping[str, Any]
    json_path: Path


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _link(source: Source, out_dir: Path, anchor: str | None) -> str:
    html = source.json_path.parent / "report.html"
    relative = os.path.relpath(html.resolve(), out_dir.resolve())
    href = urllib.parse.quote(Path(relative).as_posix())
    return f"{href}#{anchor}" if anchor else href


def _deciding_case(row: Mapping[str, Any], case_verdicts: Mapping[tuple[str, str], str]) -> str:
    """The case a cell links to: the first whose verdict is the row's, else the first."""
    profile, verdict = str(row.get("profile", "")), str(row.get("verdict", ""))
    cases = [str(c) for c in row.get("cases") or []]
    for cid in cases:
        if case_verdicts.get((profile, cid)) == verdict:
            return cid
    return cases[0] if cases else ""


def build_matrix(sources: Sequence[Source], out_dir: Path) -> dict[str, Any]:
    """Columns, rows and cells of the matrix (what the template shows)."""
    columns: list[dict[str, Any]] = []
    cells: dict[tuple[int, str], dict[str, Any]] = {}
    seen_ids: set[str] = set()
    for source in sources:
        report = source.report
        report_id = str(_mapping(report.get("report")).get("id", "")) or str(source.json_path)
        anchors = case_anchors(report)
        case_verdicts = {
            (str(c.get("profile", "")), str(c.get("id", ""))): str(c.get("verdict", ""))
            for c in report.get("cases") or [] if isinstance(c, Mapping)
        }
        rows = [r for r in report.get("requirements") or [] if isinstance(r, Mapping)]
        skipped = [r for r in report.get("not_tested") or [] if isinstance(r, Mapping)]
        for sut in report.get("suts") or []:
            if not isinstance(sut, Mapping):
                continue
            profile = str(sut.get("profile", ""))
            implementation = _mapping(sut.get("implementation"))
            column = len(columns)
            columns.append({
                "profile": profile,
                "name": str(sut.get("name", "")),
                "role": str(sut.get("role", "")),
                "implementation": " ".join(
                    str(implementation[k]) for k in ("vendor", "product", "version")
                    if implementation.get(k)),
                "faults": [str(f) for f in sut.get("faults") or []],
                "status": str(_mapping(sut.get("conformance")).get("status", "")),
                "report_id": report_id,
                "report_href": _link(source, out_dir, None),
            })  # fmt: skip
            for row in rows:
                if str(row.get("profile", "")) != profile:
                    continue
                rid, verdict = str(row.get("id", "")), str(row.get("verdict", ""))
                case = _deciding_case(row, case_verdicts)
                seen_ids.add(rid)
                cells[(column, rid)] = {
                    "verdict": verdict,
                    "vclass": _CLASS.get(verdict, "v-unknown"),
                    "case": case,
                    "href": _link(source, out_dir, anchors.get((profile, case))) if case else "",
                    "title": f"{rid} [{profile}]: {verdict}, cases {', '.join(map(str, row.get('cases') or []))}",
                }
            for row in skipped:
                if str(row.get("profile", "")) == profile:
                    rid = str(row.get("id", ""))
                    cells.setdefault((column, rid), {
                        "verdict": "", "vclass": "v-none", "case": "", "href": "",
                        "text": str(row.get("reason", "")),
                        "title": f"{rid} [{profile}]: not tested: {row.get('detail', '')}",
                    })  # fmt: skip
    catalogue = requirements.catalogue()
    order = {rid: i for i, rid in enumerate(catalogue)}
    ids = sorted(seen_ids, key=lambda r: (order.get(r, len(order)), r))
    return {
        "columns": columns,
        "rows": [
            {
                "id": rid,
                "clause": catalogue[rid].clause if rid in catalogue else "",
                "strength": _strength_not_in_clause(catalogue.get(rid)),
                "cells": [cells.get((i, rid)) for i in range(len(columns))],
            }
            for rid in ids
        ],
    }


def _strength_not_in_clause(requirement: requirements.Requirement | None) -> str:
    """The strength, unless the clause already says it ("SEED 5.Y.1.1 (shall)")."""
    if requirement is None:
        return ""
    strength = str(requirement.strength)
    return "" if f"({strength})" in requirement.clause else strength


def render_matrix(sources: Sequence[Source], out: Path) -> str:
    css = (TEMPLATES / "matrix.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    context = build_matrix(sources, out.parent)
    csp = f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    return env.get_template("matrix.html.j2").render(css=Markup(css), csp=csp, **context)


def write_matrix(sources: Sequence[Source], out: Path) -> Path:
    """Write the matrix page to `out` and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_matrix(sources, out), encoding="utf-8")
    return out
