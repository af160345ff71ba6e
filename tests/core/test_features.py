"""The PICS vocabulary (harness.features): every case's `requires:` is declared, the table
in docs/cases.md is the generated one, and an unknown claim is a profile error (exit 2)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from harness import builtin, features, yamlmarks
from harness.cases.files import discover_all
from harness.cases.model import load_case
from harness.profiles import load_profile

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cases.md"
BEGIN, END = "<!-- features:begin", "<!-- features:end -->"


def _table_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("features_table", ROOT / "scripts" / "features-table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_builtin_requires_entry_is_declared() -> None:
    undeclared = {
        (case.id, name)
        for path in discover_all([builtin.cases_dir()])
        for case in [load_case(path)]
        for name in case.requires
        if name not in features.BY_NAME
    }
    assert not undeclared, f"declare these in harness/features.py: {sorted(undeclared)}"


def test_every_builtin_profile_claims_only_declared_features() -> None:
    for name in builtin.profile_names():
        profile = load_profile(builtin.profiles_dir() / f"{name}.yaml")
        assert set(profile.features) <= set(features.BY_NAME), name


def test_docs_table_is_the_generated_one() -> None:
    gated = _table_script().gated_cases(builtin.cases_dir())
    expected = features.markdown_table(gated)
    text = DOC.read_text("utf-8")
    start = text.index("\n", text.index(BEGIN)) + 1
    actual = text[start : text.index(END)]
    assert actual == expected, (
        "docs/cases.md's feature table is stale: replace it with the output of "
        f"scripts/features-table.py:\n{expected}"
    )
    for feature in features.FEATURES:
        assert f"| `{feature.name}` |" in actual
        for case_id in gated.get(feature.name, []):
            assert f"`{case_id}`" in actual.split(f"| `{feature.name}` |")[1].split("\n")[0]


def test_declared_names_are_unique_and_described() -> None:
    assert len(features.names()) == len(set(features.names()))
    for feature in features.FEATURES:
        assert feature.meaning.endswith(".") and feature.roles
        assert set(feature.roles) <= {"wic", "epcscf"}


def _profile(tmp_path: Path, claims: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: x\nrole: epcscf\ndriver: reference\nfeatures:\n{claims}")
    return path


def test_unknown_feature_names_file_line_and_nearest(tmp_path: Path) -> None:
    path = _profile(tmp_path, "  - calls\n  - outbond\n")
    with pytest.raises(yamlmarks.DocumentError) as err:
        load_profile(path)
    assert err.value.line == 6 and err.value.key == "features"
    assert str(err.value).startswith(f"{path}:6: features: unknown feature 'outbond'")
    assert "did you mean outbound?" in str(err.value)


def test_unknown_feature_without_a_near_name_lists_them_all(tmp_path: Path) -> None:
    with pytest.raises(yamlmarks.DocumentError, match="known: calls, digest, web-credentials, wwsf-identity, outbound"):
        load_profile(_profile(tmp_path, "  - teleportation\n"))


def test_vendor_features_are_accepted(tmp_path: Path) -> None:
    profile = load_profile(_profile(tmp_path, "  - x-acme-video\n  - calls\n"))
    assert profile.features == {"x-acme-video", "calls"}


def test_cli_exits_2_on_an_unknown_feature(tmp_path: Path) -> None:
    path = _profile(tmp_path, "  - crlf-pong\n")
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--profile", str(path),
         "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"wicct: bad profile: {path}:5: features: unknown feature 'crlf-pong'" in proc.stderr
    assert "did you mean crlf_pong?" in proc.stderr
    assert not (tmp_path / "out" / "report.json").exists()
