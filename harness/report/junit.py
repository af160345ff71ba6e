"""`junit.xml` written from the canonical report (docs/architecture.md principle 5).

The layout CI tools read (Jenkins' JUnit plugin, GitLab's test reports, junitparser): a
`<testsuites>` root holding one `<testsuite>` per profile, named after the profile id and
with its own counts; in it one `<testcase>` per case, `classname="wicct.<role>.<profile>"`
and `name="<case id>"`. The verdict is the case's child:

| verdict | element |
|---|---|
| PASS | none (a passed test) |
| FAIL | `<failure type="FAIL" message="reason">`: body = findings, clauses, cited evidence |
| ERROR | `<error type="ERROR" message="reason">`, the same body |
| INCONCLUSIVE | `<skipped type="INCONCLUSIVE" message="INCONCLUSIVE: reason">`; with `strict` (`wicct run --strict`) `<failure type="INCONCLUSIVE">` |
| NOT-APPLICABLE | `<skipped type="NOT-APPLICABLE" message="NOT-APPLICABLE: reason">` |

Every test case carries `<property>`s: `wicct.verdict`, `wicct.profile`, `wicct.title`,
`wicct.requirements`, `wicct.clauses`, `wicct.duration_s`, one `wicct.requirement.<ID>`
per id it verifies (strength and clause) and one `wicct.finding.<ID>` per non-PASS
finding. Each suite carries the report id (`wicct.report_id`) and the profile's SUT (name,
role, driver, faults, vendor, product, version, conformance status). Text comes
from report.json, whose evidence the timeline has already redacted.
"""

from __future__ import annotations

import os
import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.report.text import case_text, clean, one_line
from harness.requirements import catalogue

JUNIT_NAME = "junit.xml"
NO_PROFILE = "case-files"  # the suite of case files that could not be loaded (profile "-")

_SKIPPED = ("INCONCLUSIVE", "NOT-APPLICABLE")


def suite_name(profile: str) -> str:
    return NO_PROFILE if profile in ("", "-") else profile


def classname(case: Mapping[str, Any]) -> str:
    """`wicct.<role>.<profile>`: dots in a profile id would read as packages, so they
    become underscores."""
    profile = suite_name(str(case.get("profile", ""))).replace(".", "_")
    return f"wicct.{one_line(case.get('sut_role', ''))}.{one_line(profile)}"


def render_junit(report: Mapping[str, Any], *, strict: bool = False) -> ET.Element:
    """The `<testsuites>` element for `report` (a `RunResult.to_json()` dict)."""
    cases = [c for c in report.get("cases") or [] if isinstance(c, Mapping)]
    suts = {str(s.get("profile")): s for s in report.get("suts") or [] if isinstance(s, Mapping)}
    order = [suite_name(p) for p in suts]
    by_suite: dict[str, list[Mapping[str, Any]]] = {}
    for case in cases:
        name = suite_name(str(case.get("profile", "")))
        by_suite.setdefault(name, []).append(case)
        if name not in order:
            order.append(name)
    root = ET.Element("testsuites", name="wicct")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for name in order:
        suite = _suite(name, by_suite.get(name, []), suts.get(name), report, strict)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        total_time += float(suite.get("time", "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    return root


def _suite(
    name: str,
    cases: list[Mapping[str, Any]],
    sut: Mapping[str, Any] | None,
    report: Mapping[str, Any],
    strict: bool,
) -> ET.Element:
    suite = ET.Element("testsuite", name=one_line(name))
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    elapsed = 0.0
    properties = _suite_properties(sut, report)
    if len(properties):
        suite.append(properties)
    for case in cases:
        testcase, outcome = _testcase(case, strict)
        suite.append(testcase)
        if outcome:
            counts[outcome] += 1
        elapsed += float(testcase.get("time", "0"))
    if sut is not None and isinstance(sut.get("setup_failure"), Mapping):
        failure = sut["setup_failure"]
        err = ET.SubElement(suite, "system-err")
        err.text = clean(
            f"set-up failure of profile {name} ({failure.get('kind')}): {failure.get('reason')}; "
            f"{failure.get('not_tried')} case(s) not tried"
        )
    suite.set("tests", str(len(cases)))
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{elapsed:.3f}")
    suite.set("timestamp", one_line(report.get("started", "")))
    suite.set("hostname", socket.gethostname())
    return suite


def _suite_properties(sut: Mapping[str, Any] | None, report: Mapping[str, Any]) -> ET.Element:
    properties = ET.Element("properties")
    identity = report.get("report")
    if isinstance(identity, Mapping) and identity.get("id"):
        _property(properties, "wicct.report_id", identity["id"])
    if sut is None:
        return properties
    for key in ("profile", "role", "name", "driver"):
        _property(properties, f"wicct.sut.{key}", sut.get(key, ""))
    _property(properties, "wicct.sut.faults", " ".join(map(str, sut.get("faults") or [])))
    if sut.get("tls_insecure"):
        _property(properties, "wicct.sut.tls_insecure", "true")
    implementation = sut.get("implementation")
    if isinstance(implementation, Mapping):
        for key in ("vendor", "product", "version"):
            if implementation.get(key):
                _property(properties, f"wicct.sut.{key}", implementation[key])
    conformance = sut.get("conformance")
    if isinstance(conformance, Mapping) and conformance.get("status"):
        _property(properties, "wicct.sut.conformance", conformance["status"])
    return properties


def _testcase(case: Mapping[str, Any], strict: bool) -> tuple[ET.Element, str]:
    """The `<testcase>` and which suite counter it adds to ("" for a pass)."""
    source = str(case.get("source", ""))
    path, _, line = source.rpartition(":")
    testcase = ET.Element(
        "testcase",
        classname=classname(case),
        name=one_line(case.get("id", "")),
        time=f"{float(case.get('duration_s') or 0):.3f}",
    )
    if path and line.isdigit():
        testcase.set("file", clean(path))
        testcase.set("line", line)
    testcase.append(_case_properties(case))
    verdict = str(case.get("verdict", ""))
    reason = one_line(case.get("reason", ""))
    outcome = ""
    if verdict == "FAIL" or (verdict == "INCONCLUSIVE" and strict):
        child = ET.SubElement(testcase, "failure", type=verdict, message=reason)
        child.text = clean(case_text(case))
        outcome = "failures"
    elif verdict == "ERROR":
        child = ET.SubElement(testcase, "error", type=verdict, message=reason)
        child.text = clean(case_text(case))
        outcome = "errors"
    elif verdict in _SKIPPED:
        ET.SubElement(testcase, "skipped", type=verdict, message=f"{verdict}: {reason}")
        outcome = "skipped"
    return testcase, outcome


def _case_properties(case: Mapping[str, Any]) -> ET.Element:
    properties = ET.Element("properties")
    verifies = [str(r) for r in case.get("verifies") or []]
    _property(properties, "wicct.verdict", case.get("verdict", ""))
    _property(properties, "wicct.profile", case.get("profile", ""))
    _property(properties, "wicct.title", case.get("title", ""))
    _property(properties, "wicct.requirements", " ".join(verifies))
    _property(properties, "wicct.clauses", " ; ".join(map(str, case.get("clauses") or [])))
    _property(properties, "wicct.duration_s", f"{float(case.get('duration_s') or 0):.3f}")
    rows = catalogue()
    for rid in verifies:
        row = rows.get(rid)
        if row is not None:
            _property(properties, f"wicct.requirement.{rid}", f"{row.strength}: {row.clause}")
    for finding in case.get("findings") or []:
        if isinstance(finding, Mapping) and finding.get("verdict") != "PASS":
            _property(
                properties,
                f"wicct.finding.{one_line(finding.get('requirement', ''))}",
                f"{one_line(finding.get('verdict', ''))}: {one_line(finding.get('reason', ''))}",
            )
    return properties


def _property(parent: ET.Element, name: str, value: Any) -> None:
    ET.SubElement(parent, "property", name=one_line(name), value=one_line(value))


def write_junit(report: Mapping[str, Any], path: str | Path, *, strict: bool = False) -> Path:
    """Write `render_junit(report)` to `path` (atomically: a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(render_junit(report, strict=strict))
    ET.indent(tree)
    tmp = target.with_name(target.name + ".tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, target)
    return target
