"""`wicct diff` over two report dicts (issue 10 item 5): each verdict change, tied to what
changed in the inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harness.report.diff import NOT_RUN, ReportNotFound, diff_reports, find_report, render_text

from .sample import EPC, WIC


def _case(report: dict[str, Any], profile: str, prefix: str) -> dict[str, Any]:
    return next(c for c in report["cases"] if c["profile"] == profile and c["id"].startswith(prefix))


def test_same_report_has_no_change(report: dict[str, Any]) -> None:
    diff = diff_reports(report, copy.deepcopy(report))
    assert diff["changed"] is False and diff["cases"] == [] and diff["requirements"] == []
    assert diff["inputs_changed"] == []
    assert render_text(diff).endswith("no verdict changed")


def test_each_change_is_listed_and_tied_to_its_inputs(report: dict[str, Any]) -> None:
    new = copy.deepcopy(report)
    case = _case(new, EPC, "EPC-HS-01")
    case["verdict"] = "FAIL"
    row = next(r for r in new["requirements"] if r["profile"] == EPC and r["id"] == "EPC-HS-01")
    row["verdict"] = "FAIL"
    sut = next(s for s in new["suts"] if s["profile"] == EPC)
    sut["faults"] = ["accept_any_origin"]
    sut["implementation"] = {"product": "X", "version": "2"}
    new["harness"]["version"] = "9.9.9"
    diff = diff_reports(report, new)
    assert diff["changed"] is True
    assert [(c["profile"], c["case"], c["old"], c["new"]) for c in diff["cases"]] == [
        (EPC, case["id"], "PASS", "FAIL")
    ]
    assert [(r["profile"], r["id"]) for r in diff["requirements"]] == [(EPC, "EPC-HS-01")]
    because = diff["cases"][0]["because"]
    assert "run: wicct version" in because
    assert f"profile {EPC}: faults" in because and f"profile {EPC}: implementation.version" in because
    text = render_text(diff)
    assert f"{EPC}  {case['id']}  PASS -> FAIL" in text and "9.9.9" in text


def test_a_change_on_one_profile_is_not_blamed_on_another(report: dict[str, Any]) -> None:
    new = copy.deepcopy(report)
    next(s for s in new["suts"] if s["profile"] == EPC)["pics"] = ["calls"]
    case = _case(new, WIC, "WIC-")
    case["verdict"] = "PASS" if case["verdict"] != "PASS" else "FAIL"
    diff = diff_reports(report, new)
    assert diff["cases"][0]["profile"] == WIC and diff["cases"][0]["because"] == []
    assert "no recorded input changed" in render_text(diff)


def test_a_case_in_one_report_only_is_a_change(report: dict[str, Any]) -> None:
    new = copy.deepcopy(report)
    gone = new["cases"].pop(0)
    diff = diff_reports(report, new)
    assert any(c["case"] == gone["id"] and c["new"] == NOT_RUN for c in diff["cases"])


def test_old_format_reports_are_read(report: dict[str, Any]) -> None:
    old = {k: v for k, v in copy.deepcopy(report).items() if k not in ("report", "suite", "not_tested")}
    old["format"] = "wicct-report/1"
    diff = diff_reports(old, report)
    assert {"scope": "run", "what": "format", "old": "wicct-report/1", "new": "wicct-report/2"} in diff["inputs_changed"]
    assert diff["old"]["report_id"] is None and "(no report id)" in render_text(diff)


def test_find_report_in_a_directory(tmp_path: Path, report: dict[str, Any]) -> None:
    nested = tmp_path / "bundle" / "inner"
    nested.mkdir(parents=True)
    (nested / "report.json").write_text(json.dumps(report))
    assert find_report(tmp_path / "bundle") == nested / "report.json"
    (tmp_path / "bundle" / "other").mkdir()
    (tmp_path / "bundle" / "other" / "report.json").write_text("{}")
    with pytest.raises(ReportNotFound, match="2 report.json files"):
        find_report(tmp_path / "bundle")
    with pytest.raises(ReportNotFound, match="no such file"):
        find_report(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportNotFound, match="no report.json"):
        find_report(tmp_path / "empty")
