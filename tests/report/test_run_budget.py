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


def test_past_the_budget_the_largest_cases_keep_their_cited_entries():
    cases = [_case("small", 10, [3]), _case("flood", 200, [7, 9]), _case("medium", 60, [1]), _case("tiny", 5, [2])]
    per_entry = len(str(cases[0]["evidence"])) / 10
    kept, cut = within_run_budget(cases, budget=int(per_entry * 100))  # room for 100 entries
    by_id = {c["id"]: c for c in kept}
    assert cut == 1  # the flood alone: the ordinary cases keep everything
    assert [e["seq"] for e in by_id["flood"]["evidence"]] == [7, 9]
    assert by_id["flood"]["evidence_cut"]["kept"] == 2 and by_id["flood"]["evidence_cut"]["dropped"] == 198
    assert all("evidence_cut" not in by_id[n] for n in ("small", "medium", "tiny"))
    assert len(by_id["medium"]["evidence"]) == 60
    kept, cut = within_run_budget([_case(n, 60, [1]) for n in "abc"], budget=int(per_entry * 70))
    assert cut == 2 and sum("evidence_cut" in c for c in kept) == 2  # cut until the rest fits
    assert "2 case(s) keep only their cited evidence" in cut_note(2)


def test_nothing_is_cut_within_the_budget():
    cases = [_case("A", 10, [1]), _case("B", 10, [2])]
    kept, cut = within_run_budget(cases, budget=10**9)
    assert cut == 0 and all(len(c["evidence"]) == 10 and "evidence_cut" not in c for c in kept)


def test_a_cut_case_is_not_rejudged_on_evidence_it_no_longer_has():
    kept, _ = within_run_budget([_case("A", 50, [3])], budget=10)
    outcomes = rejudge_case(kept[0])
    assert [o.status for o in outcomes] == [NOT_REJUDGEABLE] and "cut" in outcomes[0].detail
