"""Which YAML files are cases: by their top-level keys, not by the folder they are in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness import builtin
from harness.cases.files import discover, discover_all, is_case_file, top_level_keys

CASE = """\
# a vendor's own case
id: ACME-HS-01
title: ACME eP-CSCF answers the handshake
sut: epcscf
verifies: [EPC-HS-01]
steps:
  - wic.handshake: {subprotocols: [sip]}
  - expect.handshake_accepted: {subprotocol: sip}
"""


def test_top_level_keys_skip_indented_lines_and_comments():
    text = "# id: no\nname: x\nsut:\n  id: nested\n  verifies: nested\n'quoted': 1\n\"dq\" : 2\n"
    assert top_level_keys(text) == {"name", "sut", "quoted", "dq"}


def test_every_builtin_case_is_a_case_and_no_profile_is(tmp_path):
    for path in sorted(builtin.cases_dir().rglob("*.yaml")):
        assert is_case_file(path), path
    for path in builtin.profiles_dir().iterdir():
        assert not is_case_file(path), path


def test_other_yaml_is_not_a_case(tmp_path):
    ci = tmp_path / "ci.yml"
    ci.write_text("name: ci\non: push\njobs:\n  t:\n    steps:\n      - {id: x, verifies: y}\n")
    expected = tmp_path / "x.expected.yaml"
    expected.write_text("id: x\nverifies: [EPC-HS-01]\nprofile: x\ncases: {}\n")
    text = tmp_path / "notes.txt"
    text.write_text(CASE)
    assert not any(is_case_file(p) for p in (ci, expected, text, tmp_path / "missing.yaml"))


def test_discover_all_lists_each_real_file_once(tmp_path):
    own = tmp_path / "mine"
    own.mkdir()
    (own / "ACME-HS-01.yml").write_text(CASE)
    (own / "acme.yaml").write_text("name: ACME\nrole: epcscf\ndriver: external\n")
    assert discover(own) == [own / "ACME-HS-01.yml"]
    both = discover_all([builtin.cases_dir(), own, builtin.cases_dir() / "wic"])
    builtins = len(list(builtin.cases_dir().rglob("*.yaml")))
    assert len(both) == builtins + 1 and both[-1] == own / "ACME-HS-01.yml"


def collect(tmp_path: Path, suite: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`pytest --collect-only` over `suite`, from outside the checkout (plugin by entry point)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(suite), "--collect-only", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), *options],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )


def test_plugin_collects_a_case_outside_a_testcases_folder(tmp_path):
    """pytest over a folder not named `testcases`: the case is collected, the profile
    next to it and other YAML are not."""
    suite = tmp_path / "acme-suite"
    suite.mkdir()
    (suite / "ACME-HS-01.yaml").write_text(CASE)
    (suite / "acme-epcscf.yaml").write_text(
        (builtin.profiles_dir() / "reference-epcscf.yaml").read_text("utf-8")
    )
    (suite / "acme-epcscf.expected.yaml").write_text("profile: acme-epcscf\ncases: {}\n")
    (suite / "compose.yaml").write_text("services:\n  app:\n    image: x\n")
    proc = collect(tmp_path, suite, "--profile", str(suite / "acme-epcscf.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    collected = [line for line in proc.stdout.splitlines() if "::" in line]
    assert collected == ["acme-suite/ACME-HS-01.yaml::ACME-HS-01[acme-epcscf]"], proc.stdout


def test_a_case_with_a_missing_key_is_reported_not_skipped(tmp_path):
    """id + verifies make a file a case; the loader then names what else is wrong."""
    suite = tmp_path / "acme-suite"
    suite.mkdir()
    (suite / "ACME-BROKEN.yaml").write_text(CASE.split("steps:")[0])
    proc = collect(tmp_path, suite, "--profile", "reference-epcscf")
    assert proc.returncode != 0
    assert "ACME-BROKEN.yaml" in proc.stdout and "'steps' is a required property" in proc.stdout


def test_two_cases_with_one_id_are_a_collection_error(tmp_path):
    suite = tmp_path / "acme-suite"
    suite.mkdir()
    (suite / "one.yaml").write_text(CASE)
    (suite / "two.yaml").write_text(CASE)
    proc = collect(tmp_path, suite, "--profile", "reference-epcscf")
    assert proc.returncode != 0
    assert "case id 'ACME-HS-01' is already the id of" in proc.stdout, proc.stdout
