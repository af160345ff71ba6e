"""Whatever the SUT sent, report.html stays a few MB (harness.report.html CASE_ROWS,
PAGE_DATA) and validation reads every evidence entry cheaply (harness.report.validate)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.report.html import CASE_ROWS, PAGE_DATA, build_context, render_html
from harness.report.validate import SCHEMA_ENTRIES, ReportValidationError, validate_report


def _flooded(report: dict[str, Any], entries: int = 2000, cases: int = 30) -> dict[str, Any]:
    """`report` with `cases` copies of its first case, each with `entries` entries of 1 KiB."""
    big = copy.deepcopy(report)
    template = big["cases"][0]
    flood = [
        {"seq": i, "t": i / 1000, "actor": "wic", "kind": "ws.frame", "direction": "rx", "conn": "c1",
         "summary": f"rx binary {i}", "data": {"payload": {"hex": (b"\x80" * 512).hex()}, "opcode": "binary"}}
        for i in range(1, entries + 1)
    ]
    copies = []
    for n in range(cases):
        case = copy.deepcopy(template)
        case["id"] = f"FLOOD-{n}"
        case["evidence"] = flood
        for finding in case["findings"]:
            finding["evidence"] = [entries]  # cites its last entry
        copies.append(case)
    big["cases"] = copies
    return big


def test_the_page_of_a_flooded_run_stays_small_and_says_what_it_left_out(report):
    flooded = _flooded(report)
    page = render_html(flooded)
    assert len(page.encode()) < 8 * 1024 * 1024  # 30 cases x 2 MB of evidence in report.json
    context = build_context(flooded)
    views = [c for group in context["profiles"] for c in group["cases"]]
    first = views[0]
    assert len(first["evidence"]) == CASE_ROWS + 1  # its first rows and the cited one
    assert first["evidence"][-1]["cited"] and first["evidence"][-1]["blocks"]
    assert first["rows_omitted"] == 2000 - CASE_ROWS - 1
    shown = sum(len(b["text"]) for v in views for e in v["evidence"] for b in e["blocks"])
    assert shown <= PAGE_DATA + 30 * 4000  # the budget, and the cited entries' first blocks
    assert "this page&#39;s size limit" in page or "this page's size limit" in page


def test_every_entry_is_validated_past_the_schema_sample(report):
    flooded = copy.deepcopy(report)
    for case in flooded["cases"][:2]:
        start = max(e["seq"] for e in case["evidence"]) + 1
        case["evidence"] += [
            {"seq": start + i, "t": 1.0, "actor": "wic", "kind": "ws.frame", "direction": "rx",
             "conn": "c1", "summary": "rx ping", "data": {"opcode": "ping"}}
            for i in range(SCHEMA_ENTRIES + 20)
        ]
    validate_report(flooded)
    broken = copy.deepcopy(flooded)
    del broken["cases"][1]["evidence"][SCHEMA_ENTRIES + 5]["conn"]
    broken["cases"][0]["evidence"][SCHEMA_ENTRIES + 7]["t"] = "late"
    with pytest.raises(ReportValidationError) as err:
        validate_report(broken)
    text = "\n".join(err.value.problems)
    assert f"cases[1].evidence[{SCHEMA_ENTRIES + 5}]: not an evidence entry" in text
    assert f"cases[0].evidence[{SCHEMA_ENTRIES + 7}]: wrong type of t" in text


def test_indentation_is_dropped_between_tags_only():
    from harness.report.html import _compact

    page = "<div>\n    <p>x</p>\n</div><pre>a>\n   <b</pre><script>if (a>\n  <b) {}</script>"
    assert _compact(page) == "<div>\n<p>x</p>\n</div><pre>a>\n   <b</pre><script>if (a>\n  <b) {}</script>"
