"""Every row of the hostile-SUT matrix against a real `wicct run` (issue 11 item 3).

For each (role, row): `wicct run --strict` on a representative selection of the role's
cases against the built-in hostile peer, in a child process, then the row's expectation
(`harness/suts/hostile/matrix.py`) and the bounds: exit code never 0, the allowed case
verdicts, no PASS where the row forbids one, every case within the deadline the runner
gives it + 1 s (from the durations report.json records, not from a clock here), peak RSS
under 400 MiB (getrusage of the run), report.json written and under 10 MB.
The whole suites against every row: `bench/hostile_matrix.py`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.suts.hostile.matrix import ROLES, rows_for
from tests.hostile.measure import Measured, measure, problems

# cases that reach each stage: the handshake, registration, framing of what the SUT sends
SELECT = {
    "epcscf": "EPC-HS-01 or EPC-REG-01 or BOTH-FR-10-epcscf",
    "wic": "WIC-HS-01 or WIC-FR-01-register or BOTH-FR-10-wic",
}
WORKERS = 3  # runs at once: most rows wait on timeouts; floods are CPU-bound


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], Measured]:
    """Every selected row's run, three at a time (only the rows whose test was selected)."""
    out = tmp_path_factory.mktemp("hostile")
    selected = [
        (str(item.callspec.params["role"]), str(item.callspec.params["name"]))
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_row_keeps_its_verdicts_and_bounds"
    ]

    def one(pair: tuple[str, str]) -> Measured:
        role, name = pair
        return measure(role, name, Path(out) / role / name, SELECT[role])

    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(selected, pool.map(one, selected), strict=True))


def _param(role: str, name: str) -> object:
    expect = next(r for r in rows_for(role) if r.name == name).expect[role]
    if not expect.gap:
        return pytest.param(role, name)
    # strict: once the gap is closed the row's test says so (remove `gap` from the row)
    return pytest.param(role, name, marks=pytest.mark.xfail(reason=expect.gap, strict=True))


@pytest.mark.parametrize(
    ("role", "name"), [_param(r, row.name) for r in ROLES for row in rows_for(r)]
)
def test_row_keeps_its_verdicts_and_bounds(
    runs: dict[tuple[str, str], Measured], role: str, name: str
) -> None:
    measured = runs[(role, name)]
    row = next(r for r in rows_for(role) if r.name == name)
    assert measured.report is not None and measured.report["cases"], measured.output
    assert problems(measured, row.expect[role]) == [], measured.output
