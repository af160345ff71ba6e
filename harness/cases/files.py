"""Which files are wicct cases: decided by content, not by the folder they are in.

A case file is a `.yaml`/`.yml` file (not `*.expected.yaml`) whose top-level mapping has both
an `id` and a `verifies` key. The check reads the text once and looks only at unindented
`key:` lines, without parsing YAML: profiles (`name`, `role`, `driver`), expected-results
files (`profile`, `cases`) and other YAML (CI configs, compose files) are not cases. A file
that passes this check is then loaded and validated in full, so a case with a missing or
misspelt key other than these two is reported as malformed, not silently skipped. Cases
must use block style at the top level (`id: X` on its own line), as every built-in case does.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.builtin import EXPECTED_SUFFIX, PROFILE_SUFFIXES

CASE_KEYS = frozenset({"id", "verifies"})
MAX_CASE_BYTES = 1 << 20  # bigger YAML is data, not a case: not even read

_TOP_KEY = re.compile(
    r"""^(?:"([^"]+)"|'([^']+)'|([A-Za-z_][\w-]*))[ \t]*:(?:[ \t]|$)""", re.MULTILINE
)


def top_level_keys(text: str) -> set[str]:
    """Keys of unindented `key:` lines (plain or quoted); comments and indented lines skipped."""
    return {next(g for g in m.groups() if g) for m in _TOP_KEY.finditer(text)}


def is_case_file(path: Path) -> bool:
    """True when `path` looks like a wicct case (see the module docstring)."""
    if path.suffix not in PROFILE_SUFFIXES or path.name.endswith(EXPECTED_SUFFIX):
        return False
    try:
        if path.stat().st_size > MAX_CASE_BYTES:
            return False
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return False
    return CASE_KEYS.issubset(top_level_keys(text))


def discover(root: Path) -> list[Path]:
    """Case files under `root`, sorted for a stable order."""
    found = (p for suffix in PROFILE_SUFFIXES for p in root.rglob(f"*{suffix}"))
    return sorted(p for p in found if p.is_file() and is_case_file(p))


def discover_all(roots: list[Path]) -> list[Path]:
    """Case files under each root in turn, each real file once (roots may overlap)."""
    seen: set[Path] = set()
    result = []
    for root in roots:
        for path in discover(root):
            real = path.resolve()
            if real not in seen:
                seen.add(real)
                result.append(path)
    return result
