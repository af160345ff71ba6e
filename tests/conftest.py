"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.pki import Pki


@pytest.fixture(scope="session")
def pki() -> Iterator[Pki]:
    """One run CA for the whole test session, as `wicct run` has one per run."""
    run_pki = Pki()
    yield run_pki
    run_pki.close()
