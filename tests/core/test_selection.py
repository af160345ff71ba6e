"""`--select`: pytest -k's language over a case's own names only (harness.selection)."""

import pytest

from harness.selection import SelectionError, case_names, compile_selection


def test_matches_the_case_id_its_requirement_ids_and_profile_only():
    names = case_names("EPC-KA-04-core-releases", ["EPC-SES-02", "EPC-KA-04"], "reference-epcscf")
    assert compile_selection("SES-02").matches(names)  # a requirement the case verifies
    assert compile_selection("core-releases and reference").matches(names)
    assert not compile_selection("SES-01").matches(names)
    # a parent node's name (the `testcases` folder) is not among the names
    assert not compile_selection("testcases").matches(names)


def test_the_language_is_pytest_k_and_or_not_parentheses_case_insensitive():
    names = case_names("EPC-HS-01-reconnect", ["EPC-HS-01"], "kamailio-epcscf")
    assert compile_selection("hs-01").matches(names)
    assert not compile_selection("HS-01 and not reconnect").matches(names)
    assert compile_selection("(ORIGIN or HS-01) and kamailio").matches(names)


def test_an_expression_that_does_not_parse_names_itself():
    with pytest.raises(SelectionError, match=r"--select 'HS-01 and'"):
        compile_selection("HS-01 and")
