"""Fixtures: the sample run of `sample.py` as a RunResult and as its report dict."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.results import RunResult

from .sample import build_run


@pytest.fixture
def run() -> RunResult:
    return build_run()


@pytest.fixture
def report(run: RunResult) -> dict[str, Any]:
    return run.to_json()


@pytest.fixture
def insecure_report() -> dict[str, Any]:
    return build_run(insecure=True).to_json()


@pytest.fixture
def tamper(report: dict[str, Any]) -> Any:
    """A deep copy of the report, for tests that break it."""
    return lambda: copy.deepcopy(report)


def require_chromium() -> str:
    """The Chromium report.pdf and the screenshots use: skipped loudly when absent, a failure
    under CI=true (`.ci/run` installs it with scripts/install-real-peers.sh)."""
    import os
    from pathlib import Path

    from harness.suts.browser.driver import CHROMIUM

    if not Path(CHROMIUM).is_file():
        message = f"CHROMIUM MISSING: {CHROMIUM} (run scripts/install-real-peers.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM
