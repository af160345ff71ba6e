"""Load the fuzz targets of bench/fuzz/ (scripts, not a package) by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FUZZ = Path(__file__).resolve().parents[2] / "bench" / "fuzz"
TARGETS = ("sip", "sipstream", "framing", "evidence", "report", "sdp")


def runner() -> ModuleType:
    """bench/fuzz/_runner.py, the targets' shared command line."""
    target("sip")
    return sys.modules["_runner"]


def target(name: str) -> ModuleType:
    """bench/fuzz/fuzz_<name>.py as a module (its `_runner` importable beside it)."""
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    module_name = f"wicct_fuzz_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, FUZZ / f"fuzz_{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
