"""The plain-text views of a report.json case (harness.report.text) that JUnit, Allure and
the terminal share."""

from __future__ import annotations

from harness.report import text


def test_case_line_columns(report):
    cases = report["cases"]
    id_width, profile_width = text.widths(cases)
    assert id_width == len("WIC-FR-01-one-per-message")
    lines = [text.case_line(c, id_width, profile_width) for c in cases]
    assert lines[1].split() == ["WIC-FR-01-one-per-message", "reference-wic", "FAIL", "0.43", "s"]
    assert len({line.index(" 0.43 s") for line in lines}) == 1  # the times line up


def test_indented_keeps_every_word_and_cuts_none():
    words = " ".join(f"w{i:03d}" for i in range(60)) + " " + "x" * 90
    lines = text.indented(words, width=60)
    assert all(line.startswith("    ") for line in lines)
    assert " ".join(line.strip() for line in lines) == words
    assert lines[-1].strip() == "x" * 90  # a word longer than the line stays whole
    assert text.indented(words, width=10**6) == ["    " + words]


def test_entry_line_does_not_repeat_the_direction():
    entry = {"seq": 7, "t": 0.0584, "actor": "wic", "conn": "c1", "direction": "rx",
             "summary": "rx 101 Switching Protocols"}
    assert text.entry_line(entry) == "#7 0.058 s wic c1 rx 101 Switching Protocols"
    entry["summary"] = "tcp connect 127.0.0.1:5061"
    assert text.entry_line(entry) == "#7 0.058 s wic c1 rx tcp connect 127.0.0.1:5061"


def test_control_characters_are_shown_not_sent():
    assert text.one_line("a\x1b[2J\nb\x00") == "a\\x1b[2J b\\x00"


def test_case_text_cites_only_the_findings_entries(report):
    body = text.case_text(report["cases"][1], cited=1)
    assert body.splitlines()[0] == (
        "WIC-FR-01-one-per-message [reference-wic] FAIL: title of WIC-FR-01-one-per-message"
    )
    assert "#2 " in body and "#3 " not in body and "… 1 more cited entries in report.html" in body
    assert "#1 " not in body  # not cited by any finding
