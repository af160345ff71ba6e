"""report.json's evidence is bounded for the whole run (issue 11: under 10 MB whatever a SUT
sent): past the budget a case keeps the entries its findings cite (harness.results)."""

from harness.report.rejudge import NOT_REJUDGEABLE, rejudge_case
from harness.results import cut_note, within_run_budget


def _case(name: str, entries: int, cited: list[int]) -> dict:
    return {
        "id": name, "profile": "p",
        "findings": [{"requirement": "R-1", "verdict": "FAIL", "evidence": cited, "check": {"name": "x"}}],
        "evidence": [{"seq": i, "kind": "ws.frame", "summary": "x" * 100, "data": {}} for i in range(1, entries + 1)],
    }


def test_cases_within_the_budget_keep_everything_and_later_ones_their_cited_entries():
    cases = [_case("A", 50, [3]), _case("B", 50, [7, 9]), _case("C", 40, [1])]
    one = len(str(cases[0]["evidence"]))  # about the JSON size of one case's evidence
    kept, cut = within_run_budget(cases, budget=int(one * 1.5))
    assert cut == 2
    assert len(kept[0]["evidence"]) == 50 and "evidence_cut" not in kept[0]
    assert [e["seq"] for e in kept[1]["evidence"]] == [7, 9]
    assert kept[1]["evidence_cut"]["kept"] == 2 and kept[1]["evidence_cut"]["dropped"] == 48
    assert [e["seq"] for e in kept[2]["evidence"]] == [1]
    assert "2 case(s) keep only their cited evidence" in cut_note(cut)


def test_nothing_is_cut_within_the_budget():
    cases = [_case("A", 10, [1]), _case("B", 10, [2])]
    kept, cut = within_run_budget(cases, budget=10**9)
    assert cut == 0 and all(len(c["evidence"]) == 10 and "evidence_cut" not in c for c in kept)


def test_a_cut_case_is_not_rejudged_on_evidence_it_no_longer_has():
    kept, _ = within_run_budget([_case("A", 50, [3])], budget=10)
    outcomes = rejudge_case(kept[0])
    assert [o.status for o in outcomes] == [NOT_REJUDGEABLE] and "cut" in outcomes[0].detail
