"""The layering docs/architecture.md draws, asserted on the imports of every module.

Each package of `harness` may import only from the layers at or below its own. The walk
reads every `import` and `from ... import` (at module level or inside a function) with
`ast`, so a lazy import cannot hide a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import harness

ROOT = Path(harness.__file__).parent

# layer of each top-level unit of `harness` (a package or a module), lowest first
LAYERS: dict[str, int] = {
    # 0: the sans-I/O core and shared models
    "sip": 0, "sdp": 0, "verdicts": 0, "evidence": 0, "yamlmarks": 0, "requirements": 0,
    "profiles": 0, "pki": 0, "sipstream": 0, "ws": 0, "builtin": 0, "features": 0,
    "tokens": 0,
    # 1: pure checks over the timeline
    "checks": 1,
    # 2: actors (asyncio shells that move bytes and record evidence)
    "actors": 2,
    # 3: SUTs: drivers and the reference SUTs with their fault switches
    "suts": 3,
    # 4: the case language (model, registry, context, runner)
    "cases": 4,
    # 5: step kinds and monitors (they call actors, checks and drivers)
    "steps": 5,
    # 6: results and reports, then the front ends
    "results": 6, "expected": 6, "report": 6, "schedule": 6, "selection": 6,
    "plugin": 7, "cli": 7,
}
# units that must never import the case layer (`cases`, `steps`): the contract
NEVER_CASES = ("actors", "checks", "sip", "ws")


def unit_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "harness" or len(parts) < 2:
        return None
    return parts[1]


def imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every import in `path`; `package` resolves relative imports."""
    tree = ast.parse(path.read_text(), str(path))
    if package is None:
        package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            if module == "harness":  # `from harness import evidence`
                found += [(node.lineno, f"harness.{a.name}") for a in node.names]
    return found


def modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "node_modules" not in p.parts)


def test_every_unit_has_a_layer():
    units = {unit_of(".".join(p.relative_to(ROOT.parent).with_suffix("").parts)) for p in modules()}
    units.discard(None)
    units.discard("__init__")
    assert units <= set(LAYERS), f"give these a layer in LAYERS and docs: {units - set(LAYERS)}"


def test_no_module_imports_a_higher_layer():
    problems = []
    for path in modules():
        own = unit_of(".".join(path.relative_to(ROOT.parent).with_suffix("").parts))
        if own is None or own == "__init__":
            continue
        for line, module in imports(path):
            other = unit_of(module)
            if other is None or other == own or other not in LAYERS:
                continue
            if LAYERS[other] > LAYERS[own]:
                problems.append(f"{path.relative_to(ROOT.parent)}:{line}: {own} imports {module}")
    assert not problems, "\n".join(problems)


def test_actors_checks_sip_ws_never_import_the_case_layer():
    problems = []
    for path in modules():
        own = unit_of(".".join(path.relative_to(ROOT.parent).with_suffix("").parts))
        if own not in NEVER_CASES:
            continue
        for line, module in imports(path):
            if unit_of(module) in ("cases", "steps"):
                problems.append(f"{path.relative_to(ROOT.parent)}:{line}: imports {module}")
    assert not problems, "\n".join(problems)


def test_the_walk_sees_lazy_relative_and_package_imports(tmp_path):
    """The checker itself: imports inside functions, relative ones and `from harness import`
    are all found (a walk that missed them would pass a layering it cannot see)."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import harness.sip\n"
        "from harness import evidence\n"
        "def f():\n    from harness.cases.context import CaseContext\n"
        "def g():\n    from ..steps import peer\n"
    )
    found = {m for _, m in imports(probe, package="harness.actors")}
    assert {"harness.sip", "harness.evidence", "harness.cases.context", "harness.steps"} <= found
