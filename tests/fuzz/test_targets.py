"""Smoke runs of the fuzz targets in bench/fuzz/ (issue 11, item 4), so they cannot rot.

The long runs (10^6 inputs, atheris) happen outside CI time (bench/fuzz/README.md); here
each target's seeds go through its coverage-guided entry point and each of its hypothesis
properties runs a few dozen examples. A target whose property is broken fails here.
"""

from __future__ import annotations

import pytest

from .conftest import TARGETS, runner, target

EXAMPLES = {"report": 15}  # the report writers render HTML per example: seconds each


@pytest.mark.parametrize("name", TARGETS)
def test_seeds_pass_the_target(name: str) -> None:
    module = target(name)
    seeds = module.seeds()
    assert seeds
    for seed in seeds:
        module.one_input(seed)


@pytest.mark.parametrize("name", TARGETS)
def test_properties_hold_on_a_short_run(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = target(name)
    assert runner().run_properties(name, module.PROPERTIES, EXAMPLES.get(name, 60)) == 0
    out = capsys.readouterr().out
    assert f"[{name}] hypothesis:" in out and "0 crash(es)" in out


def test_a_broken_property_is_reported() -> None:
    """The runner counts a failing property as a crash (a smoke run that cannot fail
    would guard nothing)."""
    from hypothesis import strategies as st

    def broken(data: bytes) -> None:
        assert len(data) < 3

    assert runner().run_properties("broken", [(st.binary(), broken)], 50) == 1
