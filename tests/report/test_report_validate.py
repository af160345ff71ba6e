"""report.json against schema.json (wicct-report/2) and its own counts."""

from __future__ import annotations

import json

import jsonschema
import pytest

from harness.report import ReportValidationError, validate_report
from harness.report.validate import schema
from harness.results import VERDICTS
from harness.verdicts import Strength, Verdict


def problems_of(report: dict) -> list[str]:
    with pytest.raises(ReportValidationError) as info:
        validate_report(report)
    return info.value.problems


class TestSchema:
    def test_schema_is_valid_draft_2020_12(self) -> None:
        assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema())

    def test_enums_follow_the_verdict_model(self) -> None:
        defs = schema()["$defs"]
        assert defs["caseVerdict"]["enum"] == VERDICTS
        assert defs["findingVerdict"]["enum"] == [v.value for v in Verdict]
        assert defs["strength"]["enum"] == [s.value for s in Strength]
        assert set(defs["summary"]["required"]) >= set(VERDICTS)


class TestValidReport:
    def test_run_result_validates(self, report: dict) -> None:
        validate_report(report)

    def test_json_round_trip_validates(self, report: dict) -> None:
        validate_report(json.loads(json.dumps(report)))

    def test_sample_covers_every_case_verdict(self, report: dict) -> None:
        # otherwise the tests below would prove less than they claim
        seen = {c["verdict"] for c in report["cases"]}
        assert seen == {"PASS", "FAIL", "NOT-APPLICABLE", "ERROR"}
        assert report["summary"]["should_failures"] == 1
        assert report["summary"]["informational_findings"] == 1
        assert any(
            isinstance(e["data"].get("payload"), dict)
            for c in report["cases"]
            for e in c["evidence"]
        )


class TestTampered:
    def test_bad_case_verdict(self, tamper) -> None:
        report = tamper()
        report["cases"][1]["verdict"] = "MOSTLY-PASS"
        problems = problems_of(report)
        assert any(p.startswith("cases[1].verdict:") and "MOSTLY-PASS" in p for p in problems), (
            problems
        )

    def test_informational_is_not_a_case_verdict(self, tamper) -> None:
        report = tamper()
        report["cases"][0]["verdict"] = "INFORMATIONAL"
        assert any(p.startswith("cases[0].verdict:") for p in problems_of(report))

    def test_bad_finding_strength_and_missing_reason(self, tamper) -> None:
        report = tamper()
        report["cases"][1]["findings"][0]["strength"] = "must"
        del report["cases"][1]["findings"][1]["reason"]
        problems = problems_of(report)
        assert any(p.startswith("cases[1].findings[0].strength:") for p in problems), problems
        assert any(p.startswith("cases[1].findings[1]:") and "'reason'" in p for p in problems), (
            problems
        )

    def test_evidence_seq_must_be_int(self, tamper) -> None:
        report = tamper()
        report["cases"][1]["findings"][0]["evidence"] = ["2"]
        assert any(p.startswith("cases[1].findings[0].evidence[0]:") for p in problems_of(report))

    def test_unknown_field_is_caught(self, tamper) -> None:
        report = tamper()
        report["cases"][0]["verdit"] = "PASS"
        assert any("verdit" in p for p in problems_of(report))

    def test_other_format_is_named(self, tamper) -> None:
        report = tamper()
        report["format"] = "wicct-report/1"
        assert problems_of(report) == [
            "format: unsupported format 'wicct-report/1', this writer reads 'wicct-report/2'"
        ]

    def test_not_an_object(self) -> None:
        assert problems_of([]) == ["(root): expected an object, got list"]  # type: ignore[arg-type]

    def test_message_lists_every_problem(self, tamper) -> None:
        report = tamper()
        report["cases"][0]["verdict"] = "X"
        report["suts"][0]["tls_insecure"] = "no"
        with pytest.raises(ReportValidationError) as info:
            validate_report(report)
        message = str(info.value)
        assert message.startswith("report does not conform to wicct-report/2 (2 problems):")
        assert "cases[0].verdict" in message and "suts[0].tls_insecure" in message


class TestConsistency:
    def test_summary_must_match_cases(self, tamper) -> None:
        report = tamper()
        report["summary"]["FAIL"] = 0
        report["summary"]["PASS"] += 1
        problems = problems_of(report)
        assert "summary.FAIL: says 0, the cases give 1" in problems
        assert "summary.PASS: says 3, the cases give 2" in problems

    def test_finding_must_cite_existing_evidence(self, tamper) -> None:
        report = tamper()
        report["cases"][1]["findings"][0]["evidence"] = [2, 99]
        problems = problems_of(report)
        assert any(p.startswith("cases[1].findings[0].evidence: cites [99]") for p in problems), (
            problems
        )

    def test_requirement_rows_name_cases_of_the_run(self, tamper) -> None:
        report = tamper()
        report["requirements"][0]["cases"].append("NO-SUCH-CASE")
        assert any(p.startswith("requirements[0].cases:") for p in problems_of(report))
