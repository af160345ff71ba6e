"""`wicct matrix` (issue 10 item 5): a requirement × SUT matrix whose cells are the
reports' verdicts and link to the deciding case in each report's own HTML."""

from __future__ import annotations

import copy
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from harness.report import write_reports
from harness.report.matrix import Source, write_matrix

from .sample import EPC


class Cells(HTMLParser):
    """The matrix table's body rows: [(row id, [(class, text, href), ...])]."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[tuple[str, str, str]]]] = []
        self.cell: list[str] | None = None
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "tr" and str(a.get("id", "")).startswith("row-"):
            self.rows.append((str(a["id"])[4:], []))
        elif tag == "td" and self.rows and "req" not in str(a.get("class")):
            self.cell = [str(a.get("class")), "", ""]
        elif tag == "a" and self.cell is not None:
            self.cell[2] = str(a.get("href"))

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell[1] += data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None:
            self.rows[-1][1].append((self.cell[0], self.cell[1], self.cell[2]))
            self.cell = None


def _parse(path: Path) -> Cells:
    parser = Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_matrix_cells_are_the_reports_verdicts_and_link_to_cases(
    tmp_path: Path, report: dict[str, Any]
) -> None:
    second = copy.deepcopy(report)
    second["report"]["id"] = "WICCT-20250102T030405Z-00000002"
    row = next(r for r in second["requirements"] if r["profile"] == EPC and r["verdict"] == "PASS")
    row["verdict"] = "FAIL"  # a verdict only the second report has
    sources = []
    for name, rep in (("one", report), ("two", second)):
        paths = write_reports(rep, tmp_path / "runs" / name)
        sources.append(Source(rep, paths["json"]))
    out = write_matrix(sources, tmp_path / "matrix" / "m.html")
    page = _parse(out)
    columns = [(i, s["profile"]) for i, rep in enumerate((report, second)) for s in rep["suts"]]
    assert len(columns) == 4
    by_id = dict(page.rows)
    judged = {r["id"] for r in report["requirements"]}
    assert set(by_id) == judged
    for rid, cells in by_id.items():
        assert len(cells) == len(columns), rid
        for (which, profile), (css, text, href) in zip(columns, cells, strict=True):
            rep = (report, second)[which]
            rows = [r for r in rep["requirements"] if r["profile"] == profile and r["id"] == rid]
            if not rows:
                assert not href and text in ("–", "not-selected", "no-case", "not-applicable")
                continue
            assert text == rows[0]["verdict"], (rid, profile)
            assert css == "v-" + {"NOT-APPLICABLE": "na"}.get(text, text.lower())
            target, _, anchor = href.partition("#")
            assert not target.startswith("/")  # relative: the directories can move together
            html = (out.parent / urllib.parse.unquote(target)).resolve()
            assert html == (tmp_path / "runs" / ("one", "two")[which] / "report.html").resolve()
            assert anchor in _parse(html).ids
    changed = by_id[row["id"]]
    assert [c[1] for c in changed][2 + [s["profile"] for s in second["suts"]].index(EPC)] == "FAIL"
    text = out.read_text(encoding="utf-8")
    assert report["report"]["id"] in text and second["report"]["id"] in text
    assert "default-src &#39;none&#39;" in text and "<script" not in text
