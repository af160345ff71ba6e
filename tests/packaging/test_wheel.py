"""A wheel that works: built from the tree, installed outside it, run from a temp directory.

The wheel is built offline (`pip wheel --no-build-isolation` with the installed setuptools)
from a copy of the sources it needs, so nothing is written into the checkout. It is then
installed with `--no-deps` into a fresh venv outside the tree. The dependencies come from the
running interpreter's site-packages through a `.pth` line: Python appends such paths to
sys.path but does not run the `.pth` files inside them, so the editable install's finder
(which maps `harness` to the checkout) stays inactive, and the fresh venv's own
site-packages, where the wheel went, comes first. The test checks that `harness` is imported
from there before trusting any result.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from harness import builtin
from harness.cases.model import discover

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def build_wheel(tmp: Path) -> Path:
    """Copy pyproject.toml, README.md and harness/ (no caches, no node_modules) and build."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "*.egg-info")
    shutil.copytree(ROOT / "harness", src / "harness", ignore=junk)
    dist = tmp / "dist"
    has_bdist_wheel = any(
        importlib.util.find_spec(m) for m in ("setuptools.command.bdist_wheel", "wheel")
    )
    assert has_bdist_wheel, "building offline needs setuptools>=70.1 (the dev extra) or wheel"
    proc = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
               "--no-index", "-w", dist, src, cwd=tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = dist.glob("wicct-*.whl")
    return wheel


def fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A venv outside the tree with only the wheel installed; deps seen through a .pth."""
    venv = tmp / "venv"
    proc = run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    python = venv / "bin" / "python"
    proc = run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
               "--no-index", wheel, cwd=tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                       cwd=tmp).stdout.strip())
    deps = [*site.getsitepackages(), site.getusersitepackages()]
    (purelib / "zz-test-deps.pth").write_text("".join(f"{d}\n" for d in deps if Path(d).is_dir()))
    return venv


def test_installed_wheel_runs_from_any_directory(tmp_path):
    wheel = build_wheel(tmp_path)
    venv = fresh_venv(tmp_path, wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()
    python, wicct = venv / "bin" / "python", venv / "bin" / "wicct"

    where = run(python, "-c", "import harness; print(harness.__file__)", cwd=work)
    assert where.returncode == 0, where.stderr
    installed = Path(where.stdout.strip()).resolve()
    assert installed.is_relative_to(venv.resolve()), f"not the wheel's harness: {installed}"

    listed = run(wicct, "list", "--json", cwd=work)
    assert listed.returncode == 0, listed.stderr
    cases = json.loads(listed.stdout)["cases"]
    assert len(cases) == len(discover(builtin.cases_dir())) > 0
    assert all(Path(c["file"]).resolve().is_relative_to(venv.resolve()) for c in cases)

    out = work / "X"
    ran = run(wicct, "run", "-q", "--select", "ORIGIN", "--out", "X", cwd=work)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["cases"] and all(c["verdict"] == "PASS" for c in report["cases"])
    assert {s["profile"] for s in report["suts"]} == {
        "reference-epcscf", "reference-epcscf-tna", "reference-wic", "reference-wic-bearer"}
    assert (out / "report.html").is_file() and (out / "junit.xml").is_file()
    assert not (work / "reports").exists()  # --out given: nothing else written in cwd
