"""docs/architecture.md is the map the code cites: every citation names a real section,
and every package of `harness` appears in it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"


def headings() -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", DOC.read_text(), re.M)}


def test_every_cited_section_exists():
    cited = []
    for path in (ROOT / "harness").rglob("*.py"):
        for match in re.finditer(r'docs/architecture\.md[, ]*"([^"]+)"', path.read_text()):
            cited.append((path.relative_to(ROOT), match.group(1)))
    assert cited, "the code cites sections of docs/architecture.md"
    missing = [f"{p}: {name}" for p, name in cited if name not in headings()]
    assert not missing, missing


def test_every_markdown_file_the_code_cites_is_in_the_repository():
    """Code cites the project's own docs: a cited `X.md` (a design card, a shared spec)
    that is not in the repository is a dangling reference."""
    cited = set()
    for path in (ROOT / "harness").rglob("*.py"):
        cited |= {m.group(0) for m in re.finditer(r"[\w./-]+\.md\b", path.read_text())}
    present = {str(p.relative_to(ROOT)) for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    names = {Path(p).name for p in present}
    dangling = sorted(c for c in cited if c.lstrip("./") not in present and Path(c).name not in names)
    assert dangling == []


def test_every_package_is_on_the_map():
    text = DOC.read_text()
    packages = sorted(p.name for p in (ROOT / "harness").iterdir()
                      if p.is_dir() and (p / "__init__.py").exists())
    assert [p for p in packages if f"harness/{p}/" not in text] == []
