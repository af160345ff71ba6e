#!/usr/bin/env python3
"""Print the PICS feature table of docs/cases.md from harness.features and the built-in
cases' `requires:` (tests/core/test_features.py fails when the docs differ from it)."""

from __future__ import annotations

from pathlib import Path

from harness import builtin, features
from harness.cases.files import discover_all
from harness.cases.model import load_case


def gated_cases(folder: Path) -> dict[str, list[str]]:
    """Feature name → ids of the cases under `folder` whose `requires:` names it."""
    gated: dict[str, list[str]] = {}
    for path in discover_all([folder]):
        case = load_case(path)
        for name in case.requires:
            gated.setdefault(name, []).append(case.id)
    return {name: sorted(ids) for name, ids in sorted(gated.items())}


if __name__ == "__main__":
    print(features.markdown_table(gated_cases(builtin.cases_dir())), end="")
