"""Report identity, `wicct diff` and `wicct matrix` on real runs (issue 10 items 1 and 5):
a clean reference run and the same run with a fault switch on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.suts.faults import FAULTS

ROOT = Path(__file__).resolve().parents[2]


def wicct(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


FAULT = "accept_any_origin"
SELECT = "ORIGIN or EPC-HS-01"


def _run(out: Path, profile: Path, *extra: str) -> dict[str, Any]:
    proc = wicct("run", "-q", "--profile", str(profile), "--select", SELECT, "--jobs", "2",
                 "--out", str(out), *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads((out / "report.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("diff")
    clean_profile = ROOT / "profiles" / "reference-epcscf.yaml"
    faulty = base / "faulty-profile"
    faulty.mkdir()
    text = clean_profile.read_text("utf-8")
    assert "faults: []" in text
    # the same profile id (file stem), one fault switch on
    (faulty / "reference-epcscf.yaml").write_text(text.replace("faults: []", f"faults: [{FAULT}]"))
    lab = base / "lab.yaml"
    lab.write_text("lab: {name: Example Lab}\ncustomer: {name: ACME}\nscope: Origin checks\n")
    return {
        "base": base,
        "clean": _run(base / "clean", clean_profile, "--lab-info", str(lab)),
        "again": _run(base / "again", clean_profile),
        "faulty": _run(base / "faulty", faulty / "reference-epcscf.yaml"),
    }


def test_report_id_in_json_html_and_junit(runs: dict[str, Any]) -> None:
    ids = {runs[k]["report"]["id"] for k in ("clean", "again", "faulty")}
    assert len(ids) == 3  # unique per run
    out = runs["base"] / "clean"
    rid = runs["clean"]["report"]["id"]
    assert re.match(r"^WICCT-\d{8}T\d{6}Z-[0-9a-f]{8}$", rid)
    assert f'<code id="report-id">{rid}</code>' in (out / "report.html").read_text("utf-8")
    junit = ET.parse(out / "junit.xml").getroot()
    values = {p.get("value") for p in junit.iter("property") if p.get("name") == "wicct.report_id"}
    assert values == {rid}


def test_run_records_selection_suite_hash_identity_and_lab(runs: dict[str, Any]) -> None:
    clean, faulty = runs["clean"], runs["faulty"]
    assert clean["suite"]["select"] == SELECT
    assert clean["suite"]["hash"] == faulty["suite"]["hash"]  # the same case set
    assert clean["suite"]["cases"] > len(clean["cases"])  # collected, then selected
    sut = clean["suts"][0]
    assert sut["implementation"]["vendor"] == "wicct" and sut["pics"]
    assert sut["conformance"]["status"] == "conforming"
    assert faulty["suts"][0]["conformance"]["status"] == "non-conforming"
    assert faulty["suts"][0]["conformance"]["shall_failures"] == ["EPC-ORIGIN-02"]
    assert clean["lab"]["customer"]["name"] == "ACME" and "lab" not in faulty
    reasons = {r["reason"] for r in clean["not_tested"]}
    assert "not-selected" in reasons


def test_bad_lab_info_exits_2_naming_the_key(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("lab: {name: L}\nscope: s\nauthorizer: {name: X}\n")
    proc = wicct("run", "--profile", "reference-epcscf", "--lab-info", str(lab), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "bad lab info" in proc.stderr and "authorizer" in proc.stderr
    assert not (tmp_path / "o" / "report.json").exists()


def test_diff_lists_exactly_the_changed_verdicts(runs: dict[str, Any]) -> None:
    base = runs["base"]
    proc = wicct("diff", "--json", str(base / "clean"), str(base / "faulty" / "report.json"))
    assert proc.returncode == 1, proc.stderr
    diff = json.loads(proc.stdout)
    breaks = next(f.breaks for f in FAULTS if f.name == FAULT)
    old = {(c["profile"], c["id"]): c for c in runs["clean"]["cases"]}
    new = {(c["profile"], c["id"]): c for c in runs["faulty"]["cases"]}
    assert set(old) == set(new)
    # what the fault switch breaks, read from the faulty run's findings, not from the diff
    broken = {k for k, c in new.items()
              if any(f["verdict"] == "FAIL" and f["requirement"] in breaks for f in c["findings"])}
    assert broken and all(old[k]["verdict"] == "PASS" for k in broken)
    listed = {(c["profile"], c["case"]): (c["old"], c["new"]) for c in diff["cases"]}
    assert set(listed) == broken
    assert all(v == ("PASS", "FAIL") for v in listed.values())
    assert {(r["id"], r["old"], r["new"]) for r in diff["requirements"]} == {
        (rid, "PASS", "FAIL") for rid in breaks
    }
    assert all("profile reference-epcscf: faults" in c["because"] for c in diff["cases"])
    text = wicct("diff", str(base / "clean"), str(base / "faulty"))
    assert text.returncode == 1
    assert f'faults: [] -> ["{FAULT}"]' in text.stdout
    assert len([line for line in text.stdout.splitlines() if "PASS -> FAIL" in line]) == len(broken) + len(breaks)


def test_diff_of_two_clean_runs_exits_0(runs: dict[str, Any]) -> None:
    base = runs["base"]
    proc = wicct("diff", str(base / "clean"), str(base / "again"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("no verdict changed")
    assert wicct("diff", str(base / "clean"), str(base / "nowhere")).returncode == 2


def test_matrix_of_the_runs_renders(runs: dict[str, Any]) -> None:
    base = runs["base"]
    out = base / "m" / "matrix.html"
    proc = wicct("matrix", str(base / "clean"), str(base / "faulty"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text("utf-8")
    row = page.split('id="row-EPC-ORIGIN-02"')[1].split("</tr>")[0]
    cells = re.findall(r'<td class="(v-[a-z]+)"[^>]*><a href="([^"]+)">([A-Z-]+)</a></td>', row)
    assert [c[2] for c in cells] == ["PASS", "FAIL"]
    assert cells[0][1].startswith("../clean/report.html#case-reference-epcscf--EPC-ORIGIN-02")
    assert cells[1][1].startswith("../faulty/report.html#case-reference-epcscf--EPC-ORIGIN-02")
    anchor = cells[1][1].split("#")[1]
    assert f'id="{anchor}"' in (base / "faulty" / "report.html").read_text("utf-8")
