"""Built-in cases and profiles as package data, and how a `--profile` argument is resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import builtin, yamlmarks
from harness.cases.model import discover
from harness.profiles import load_profile

ROOT = Path(__file__).resolve().parents[2]


def test_builtin_data_lives_in_the_package():
    package = Path(builtin.__file__).resolve().parent
    assert builtin.cases_dir() == package / "data" / "testcases"
    assert builtin.profiles_dir() == package / "data" / "profiles"
    on_disk = list((package / "data" / "testcases").rglob("*.yaml"))
    assert on_disk and len(discover(builtin.cases_dir())) == len(on_disk)


def test_checkout_symlinks_point_at_the_package_data():
    """Documented paths (`profiles/...`, `pytest testcases`) keep working from a checkout."""
    for name in ("testcases", "profiles"):
        link = ROOT / name
        assert link.is_symlink() and not Path(link.readlink()).is_absolute()
        assert link.resolve() == (ROOT / "harness" / "data" / name).resolve()


def test_profile_names_leave_expected_files_out():
    names = builtin.profile_names()
    assert names == [
        "jssip-chromium-wic", "jssip-chromium-wic-bearer", "kamailio-epcscf", "kamailio-rtpengine-epcscf",
        "kamailio-tna-epcscf", "reference-epcscf", "reference-epcscf-tna", "reference-wic", "reference-wic-bearer",
    ]
    for path in builtin.default_profiles():
        assert path.is_file()


@pytest.mark.parametrize(
    "argument", ["reference-wic", "reference-wic.yaml", "profiles/reference-wic.yaml"]
)
def test_a_builtin_name_resolves_when_no_such_file(tmp_path, monkeypatch, argument):
    monkeypatch.chdir(tmp_path)
    path, fallback = builtin.resolve_profile(argument)
    assert fallback
    assert path == builtin.profiles_dir() / "reference-wic.yaml"


def test_an_existing_file_wins_over_a_builtin_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "profiles").mkdir()
    own = tmp_path / "profiles" / "reference-wic.yaml"
    own.write_text("name: mine\nrole: wic\ndriver: reference\n")
    found = builtin.resolve_profile("profiles/reference-wic.yaml")
    assert found == (Path("profiles/reference-wic.yaml"), False)


@pytest.mark.parametrize(
    "argument", ["nosuch", "elsewhere/reference-wic.yaml", "/abs/reference-wic.yaml", "a/b/c.yaml"]
)
def test_an_unknown_profile_lists_the_builtin_ones(tmp_path, monkeypatch, argument):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(yamlmarks.DocumentError) as info:
        builtin.resolve_profile(argument)
    message = str(info.value)
    assert argument in message and "no such file" in message
    assert "reference-epcscf" in message and "kamailio-epcscf" in message


def test_relative_references_resolve_beside_the_profile(tmp_path, monkeypatch):
    """`expected_results:` names a file next to the profile, wherever the run starts."""
    from harness.expected import expected_path, load_expected

    monkeypatch.chdir(tmp_path)
    path, _ = builtin.resolve_profile("kamailio-epcscf")
    profile = load_profile(path)
    expected = expected_path(path, profile.expected_results)
    assert expected.parent == builtin.profiles_dir().resolve()
    assert load_expected(expected)
