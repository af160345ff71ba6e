"""What a case's Allure result holds (harness.report.allure_result), from report.json's case."""

from __future__ import annotations

import json

from harness.report.allure_result import allure_fields, clause_links
from harness.requirements import catalogue

from .sample import WIC


def test_rfc_sections_become_links():
    assert clause_links("SEED 5.Y.1.1; RFC 6455 §4.2.2, §10.2") == [
        ("https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2", "RFC 6455 §4.2.2"),
        ("https://www.rfc-editor.org/rfc/rfc6455#section-10.2", "RFC 6455 §10.2"),
    ]
    assert clause_links("RFC 7118 §4.1 and RFC 3261") == [
        ("https://www.rfc-editor.org/rfc/rfc7118#section-4.1", "RFC 7118 §4.1"),
        ("https://www.rfc-editor.org/rfc/rfc3261", "RFC 3261"),
    ]
    assert clause_links("TS 24.229 §5.10.2") == []


def test_fail_case_fields(report):
    case = report["cases"][1]  # WIC-FR-01-one-per-message: FAIL (shall) and FAIL (should)
    fields = allure_fields(case, report["suts"][1])
    assert fields.title == f"WIC-FR-01-one-per-message [{WIC}]: title of WIC-FR-01-one-per-message"
    assert fields.description.startswith("description of WIC-FR-01-one-per-message")
    assert f"**Verdict:** FAIL: {case['reason']}" in fields.description
    for rid in ("WIC-FR-01", "WIC-KA-04"):
        row = catalogue()[rid]
        assert f"- `{rid}` ({row.strength}), {row.clause}: " in fields.description
    assert ("profile", WIC, False) in fields.parameters  # in the history id: one per profile
    assert ("SUT role", "wic", True) in fields.parameters
    assert ("faults", "two-per-frame", True) in fields.parameters
    labels = set(fields.labels)
    assert {("requirement", "WIC-FR-01"), ("requirement", "WIC-KA-04"), ("story", "WIC-FR-01"),
            ("parentSuite", WIC), ("severity", "critical")} <= labels
    text_name, text_body, kind = fields.attachments[0]
    assert kind == "text" and "- WIC-FR-01 (shall) FAIL: two SIP messages" in text_body
    json_name, json_body, kind = fields.attachments[1]
    assert kind == "json"
    assert [e["seq"] for e in json.loads(json_body)] == [2, 3, 4]  # the cited entries only


def test_pass_case_attaches_the_evidence_its_pass_rests_on(report):
    fields = allure_fields(report["cases"][0])  # EPC-HS-01-basic, PASS citing #1 and #2
    body = dict((name, body) for name, body, _ in fields.attachments)
    assert [e["seq"] for e in json.loads(body["evidence entries (cited, JSON)"])] == [1, 2]
    assert "PASS: 101 selecting sip" in body["evidence (cited)"]


def test_case_without_evidence_has_only_the_text(report):
    fields = allure_fields(report["cases"][3])  # NOT-APPLICABLE, no evidence
    assert [kind for _, _, kind in fields.attachments] == ["text"]
    assert "NOT-APPLICABLE" in fields.description
