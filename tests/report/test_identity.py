"""Report identity and traceability (issue 10 item 1): report id, case-set hash, commit,
PICS/PIXIT, ids not tested and why, per-SUT conformance status, lab block, 17025 items."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness import yamlmarks
from harness.plugin import sut_identity
from harness.profiles import load_profile
from harness.report import render_html, validate_report
from harness.report.identity import git_commit, new_report_id, suite_hash, suite_hash_of_paths
from harness.report.junit import render_junit
from harness.report.lab import load_lab_info
from harness.requirements import catalogue
from harness.results import RunResult, conformance, not_tested
from harness.verdicts import Strength, SutInfo, Verdict

from .sample import EPC, WIC, build_run, case, finding

ROOT = Path(__file__).resolve().parents[2]
ID = re.compile(r"^WICCT-\d{8}T\d{6}Z-[0-9a-f]{8}$")


def test_report_ids_are_unique_and_shaped() -> None:
    ids = {new_report_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(ID.match(i) for i in ids)


def test_report_id_is_the_same_in_json_html_and_junit(report: dict[str, Any]) -> None:
    rid = report["report"]["id"]
    assert ID.match(rid)
    html = render_html(report)
    assert f'<code id="report-id">{rid}</code>' in html
    assert f"End of report {rid}." in html  # ISO/IEC 17025 §7.8.2.1: a clear end
    suites = render_junit(report).findall("testsuite")
    assert suites and all(
        s.find("properties/property[@name='wicct.report_id']").get("value") == rid  # type: ignore[union-attr]
        for s in suites
    )


def test_report_states_issuer_date_statement_and_the_seed_draft(report: dict[str, Any]) -> None:
    ident = report["report"]
    assert ident["issuer"].startswith("wicct")
    assert ident["issued"] == report["finished"]
    assert "results relate only to the items tested" in ident["statement"]
    seed = next(r for r in ident["references"] if r["cited_as"] == "SEED x")
    assert "seed-webrtc-ims-clauses.txt" in seed["title"] and "TS 24.229" in seed["title"]
    html = render_html(report)
    assert "results relate only to the items tested" in html
    assert "seed-webrtc-ims-clauses.txt" in html


def test_suite_hash_is_over_ids_and_bytes_not_paths(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "X-01.yaml").write_bytes(b"id: X-01\n")
        (d / "X-02.yaml").write_bytes(b"id: X-02\n")
    first = suite_hash_of_paths([a / "X-01.yaml", a / "X-02.yaml"])
    assert first == suite_hash_of_paths([b / "X-02.yaml", b / "X-01.yaml"])
    assert re.match(r"^sha256:[0-9a-f]{64}$", first)
    (b / "X-02.yaml").write_bytes(b"id: X-02\n ")  # one byte more
    assert suite_hash_of_paths([b / "X-01.yaml", b / "X-02.yaml"]) != first
    assert suite_hash([("X-01", b"a")]) != suite_hash([("X-02", b"a")])


def test_commit_from_a_checkout_and_a_note_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    assert git_commit(tmp_path) is None  # not a checkout
    if (ROOT / ".git").exists():
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        commit = git_commit(ROOT / "harness")
        assert commit is not None and commit.removesuffix("-dirty") == head
    run = RunResult(commit=None)
    harness = run.to_json()["harness"]
    assert "commit" not in harness and "not run from a git checkout" in harness["commit_note"]
    validate_report(run.to_json())


def test_sut_identity_pics_and_pixit_of_the_built_in_profiles() -> None:
    kamailio = sut_identity(load_profile(ROOT / "profiles" / "kamailio-rtpengine-epcscf.yaml"))
    assert kamailio["implementation"]["version"] == "5.6.3"
    assert kamailio["implementation"]["components"][0]["version"] == "10.5.3"
    jssip = sut_identity(load_profile(ROOT / "profiles" / "jssip-chromium-wic.yaml"))
    assert jssip["implementation"]["product"] == "JsSIP" and jssip["implementation"]["version"] == "3.13.8"
    reference = sut_identity(load_profile(ROOT / "profiles" / "reference-epcscf-tna.yaml"))
    from harness import __version__

    assert reference["implementation"]["version"] == __version__
    assert "web-credentials" in reference["pics"]
    pixit = reference["pixit"]
    assert pixit["timers"]["t1"] > 0 and pixit["wwsf_origin"].startswith("https://")
    assert pixit["auth"]["integrity_protected"]["challenge_response"] == "tls-pending"
    assert "password" not in str(pixit)


def test_implementation_key_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("name: x\nrole: wic\ndriver: reference\nimplementation:\n  vendr: ACME\n  product: X\n")
    with pytest.raises(yamlmarks.DocumentError, match=r"p.yaml:4: implementation: .*'vendr'"):
        load_profile(bad)


def _run_with(cases: list[Any], collected: dict[str, tuple[str, tuple[str, ...]]]) -> RunResult:
    run = RunResult(commit=None)
    run.suts = [SutInfo(profile=EPC, role="epcscf", name="e", driver="reference")]
    run.collected = collected
    for c in cases:
        run.add(c)
    return run


def test_not_tested_says_why() -> None:
    ran = case("EPC-HS-01-x", EPC, "epcscf", ("EPC-HS-01",),
               (finding("EPC-HS-01", Verdict.PASS, "ok"),))
    na = case("EPC-REG-02-x", EPC, "epcscf", ("EPC-REG-02",), (),
              verdict=(Verdict.NOT_APPLICABLE, "the profile does not claim web-credentials"))
    collected = {"EPC-HS-01-x": ("epcscf", ("EPC-HS-01",)),
                 "EPC-REG-02-x": ("epcscf", ("EPC-REG-02",)),
                 "EPC-HS-02-x": ("epcscf", ("EPC-HS-02",))}
    rows = not_tested([(EPC, "epcscf")], collected, [ran, na])
    why = {(r["id"], r["profile"]): r for r in rows}
    assert ("EPC-HS-01", EPC) not in why  # tested
    assert why[("EPC-HS-02", EPC)]["reason"] == "not-selected"
    assert "EPC-HS-02-x" in why[("EPC-HS-02", EPC)]["detail"]
    assert why[("EPC-REG-02", EPC)]["reason"] == "not-applicable"
    assert "web-credentials" in why[("EPC-REG-02", EPC)]["detail"]
    assert why[("EPC-ORIGIN-01", EPC)]["reason"] == "no-case"
    assert why[("WIC-HS-01", "")]["reason"] == "not-selected"  # no WIC in the run
    # every catalogue id is accounted for: tested, or listed with a reason
    listed = {r["id"] for r in rows}
    assert set(catalogue()) == listed | {"EPC-HS-01"}
    validate_report(_run_with([ran, na], collected).to_json())


@pytest.mark.parametrize(
    ("findings", "verdict", "setup_failed", "status"),
    [
        (((Verdict.PASS, Strength.SHALL),), None, False, "conforming"),
        (((Verdict.FAIL, Strength.SHOULD),), None, False, "conforming with should-level failures"),
        (((Verdict.FAIL, Strength.SHOULD), (Verdict.FAIL, Strength.SHALL)), None, False, "non-conforming"),
        ((), (Verdict.INCONCLUSIVE, "no answer"), False, "undetermined"),
        (((Verdict.PASS, Strength.SHALL),), None, True, "undetermined"),
    ],
)
def test_conformance_status(findings: Any, verdict: Any, setup_failed: bool, status: str) -> None:
    made = tuple(
        finding("EPC-HS-01", v, "r").__class__(
            requirement=rid, clause="c", strength=s, verdict=v, reason="r", evidence=()
        )
        for (v, s), rid in zip(findings, ("EPC-HS-01", "EPC-HS-02"), strict=False)
    )
    result = case("EPC-HS-01-x", EPC, "epcscf", ("EPC-HS-01", "EPC-HS-02"), made, verdict=verdict)
    got = conformance([result], setup_failed)
    assert got["status"] == status
    if status == "non-conforming":
        assert got["shall_failures"] == ["EPC-HS-02"] and got["should_failures"] == ["EPC-HS-01"]


def test_multi_sut_run_has_a_status_per_sut(report: dict[str, Any]) -> None:
    statuses = {s["profile"]: s["conformance"]["status"] for s in report["suts"]}
    assert set(statuses) == {EPC, WIC}
    assert statuses[WIC] == "non-conforming"  # the sample's WIC case has a shall-level FAIL
    html = render_html(report)
    table = html.split('id="conformance"')[1].split("</table>")[0]
    assert EPC in table and WIC in table and "non-conforming" in table


def _lab(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return path


def test_lab_block_validated_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(yamlmarks.DocumentError, match="'scope' is a required property"):
        load_lab_info(_lab(tmp_path, "lab: {name: L}\n"))
    with pytest.raises(yamlmarks.DocumentError, match=r"lab.yaml:3: customer.nmae: unknown key"):
        load_lab_info(_lab(tmp_path, "lab: {name: L}\nscope: s\ncustomer: {name: C, nmae: D}\n"))
    with pytest.raises(yamlmarks.DocumentError, match="empty"):
        load_lab_info(_lab(tmp_path, ""))


def test_a_bad_lab_file_names_every_problem(tmp_path: Path) -> None:
    from harness.report.lab import LabInfoError

    text = ("lab:\n  name: L\n  adress: x\ncustomer: {nmae: C}\nauthorizer: {name: X}\n"
            "scope: ''\nreport_title: 3\n")
    with pytest.raises(LabInfoError) as caught:
        load_lab_info(_lab(tmp_path, text))
    found = [(p.line, p.key) for p in caught.value.problems]
    assert found == [(3, "lab.adress"), (4, "customer.name"), (4, "customer.nmae"), (5, "authorizer"),
                     (6, "scope"), (7, "report_title")]
    shown = str(caught.value)
    assert shown.startswith(f"{tmp_path / 'lab.yaml'}: 6 problems:")
    assert all(f"lab.yaml:{line}: {key}: " in shown for line, key in found)
    # other content, other problems: none left out, none invented
    with pytest.raises(LabInfoError) as caught:
        load_lab_info(_lab(tmp_path, "customer: {name: C, phone: 1}\nlab: {}\n"))
    assert [(p.line, p.key) for p in caught.value.problems] == [
        (1, "customer.phone"), (1, "scope"), (2, "lab.name")]  # a missing key: its parent's line


def test_lab_block_in_json_and_html(tmp_path: Path) -> None:
    lab = load_lab_info(_lab(tmp_path, (
        "lab: {name: Example Lab, accreditation: ISO/IEC 17025 no. 123}\n"
        "customer: {name: ACME <Networks>}\nauthoriser: {name: J. Doe, function: Head}\n"
        "scope: Origin enforcement only\n")))
    run = build_run()
    run.lab = lab
    report = run.to_json()
    validate_report(report)
    assert report["lab"]["customer"]["name"] == "ACME <Networks>"
    html = render_html(report)
    assert "Example Lab" in html and "ISO/IEC 17025 no. 123" in html
    assert "ACME &lt;Networks&gt;" in html and "J. Doe, Head" in html
    assert "Origin enforcement only" in html


def test_html_names_sut_implementation_pics_and_selection() -> None:
    run = build_run()
    run.identities = {EPC: {"implementation": {"vendor": "V", "product": "P", "version": "9.9"},
                            "pics": ["calls", "outbound"], "pixit": {"timers": {"t1": 0.05}}}}
    run.select = "ORIGIN and not 02"
    run.suite_hash = "sha256:" + "ab" * 32
    report = run.to_json()
    validate_report(report)
    html = render_html(report)
    assert "V P 9.9" in html and "calls, outbound" in html and "&#34;t1&#34;: 0.05" in html
    assert "--select ORIGIN and not 02" in html and "ab" * 32 in html


def test_html_shows_a_read_version_that_differs_from_the_stated_one() -> None:
    run = build_run()
    run.identities = {EPC: {"implementation": {
        "product": "P", "version": "9.9", "read_version": "9.8",
        "components": [{"product": "C", "version": "1.0", "read_version": "1.0"}]}, "pics": []}}
    report = run.to_json()
    validate_report(report)
    html = render_html(report)
    assert "P 9.9 (the running binary reads 9.8) with C 1.0" in html
    assert "reads 1.0" not in html  # the same version is not repeated


def test_junit_suite_carries_sut_identity() -> None:
    run = build_run()
    run.identities = {EPC: {"implementation": {"product": "P", "version": "9.9"}, "pics": []}}
    report = run.to_json()
    suite = next(s for s in render_junit(report).findall("testsuite") if s.get("name") == EPC)
    props = {p.get("name"): p.get("value") for p in suite.iter("property")
             if p.get("name", "").startswith("wicct.sut.")}
    status = next(s["conformance"]["status"] for s in report["suts"] if s["profile"] == EPC)
    assert props["wicct.sut.version"] == "9.9" and props["wicct.sut.conformance"] == status
    ET.tostring(suite)  # serialisable


def test_chromium_version_is_read_from_the_binary_at_run_time() -> None:
    from harness.suts.browser.driver import CHROMIUM

    profile = load_profile(ROOT / "profiles" / "jssip-chromium-wic.yaml")
    if not Path(CHROMIUM).is_file():
        message = f"REAL PEER MISSING: chromium ({CHROMIUM}; run scripts/install-real-peers.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    stated = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                            check=True).stdout
    chromium = sut_identity(profile)["implementation"]["components"][0]
    assert chromium["product"] == "Chromium" and chromium["version"] in stated
    assert re.match(r"^\d+(\.\d+)+$", chromium["version"])
    missing = dataclasses.replace(profile, driver_options={**profile.driver_options,
                                                           "executable": "/nonexistent/chromium"})
    assert "version" not in sut_identity(missing)["implementation"]["components"][0]


def test_an_id_listed_as_not_tested_with_a_verdict_is_refused(report: dict[str, Any]) -> None:
    from harness.report import ReportValidationError

    row = next(r for r in report["requirements"] if r["verdict"] == "PASS")
    report["not_tested"].append({"id": row["id"], "profile": row["profile"], "sut_role": row["sut_role"],
                                 "reason": "no-case", "detail": "x"})
    with pytest.raises(ReportValidationError, match=f"{row['id']} is listed as no-case"):
        validate_report(report)


def test_an_id_judged_by_a_monitor_in_another_case_is_tested() -> None:
    # EPC-HS-01-x verifies EPC-HS-01 only, but an always-on monitor judged BOTH-FR-04 in it
    ran = case("EPC-HS-01-x", EPC, "epcscf", ("EPC-HS-01",),
               (finding("EPC-HS-01", Verdict.PASS, "ok"), finding("BOTH-FR-04", Verdict.PASS, "ok")))
    collected = {"EPC-HS-01-x": ("epcscf", ("EPC-HS-01",)),
                 "BOTH-FR-04-epcscf": ("epcscf", ("BOTH-FR-04",))}
    rows = not_tested([(EPC, "epcscf")], collected, [ran])
    assert ("BOTH-FR-04", EPC) not in {(r["id"], r["profile"]) for r in rows}
    validate_report(_run_with([ran], collected).to_json())
