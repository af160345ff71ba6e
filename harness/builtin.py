"""The built-in cases and profiles: package data under `harness/data/`, found with
importlib.resources, so an installed wheel finds them from any working directory.

In a source checkout the top-level `testcases` and `profiles` are symlinks into
`harness/data/`, so documented paths like `profiles/kamailio-epcscf.yaml` still work there.

A profile named on the command line is a path first; only when no such file exists and the
argument is a bare name (`reference-epcscf`, `reference-epcscf.yaml`) or the documented
`profiles/<name>.yaml` does it fall back to the built-in profile of that name. Anything else
that is not a file is an error that lists the built-in profiles.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path, PurePath

from harness import yamlmarks

PROFILE_SUFFIXES = (".yaml", ".yml")
EXPECTED_SUFFIX = ".expected.yaml"
DEFAULT_PROFILE_NAMES = ("reference-epcscf", "reference-epcscf-tna", "reference-wic")


def data_dir() -> Path:
    """`harness/data` on disk (cases are collected by pytest, which needs real files)."""
    root = resources.files("harness").joinpath("data")
    if not isinstance(root, Path):  # pragma: no cover - e.g. imported from a zip file
        raise RuntimeError(f"wicct's package data is not on the file system: {root}")
    return root


def cases_dir() -> Path:
    """The built-in case folder (`wic/` and `epcscf/` below it)."""
    return data_dir() / "testcases"


def profiles_dir() -> Path:
    """The built-in profile folder (profiles and their `*.expected.yaml` files)."""
    return data_dir() / "profiles"


def profile_names() -> list[str]:
    """Names (file stems) of the built-in profiles, expected-results files left out."""
    return sorted(
        p.stem
        for p in profiles_dir().iterdir()
        if p.suffix in PROFILE_SUFFIXES and not p.name.endswith(EXPECTED_SUFFIX)
    )


def default_profiles() -> tuple[Path, ...]:
    """The profiles `wicct run` uses when none is given: both reference SUTs."""
    return tuple(profiles_dir() / f"{name}.yaml" for name in DEFAULT_PROFILE_NAMES)


def builtin_profile(argument: str) -> Path | None:
    """The built-in profile an argument names, or None.

    Names it: a bare name with or without suffix, or `profiles/<name>.yaml` (the path the
    docs use from a checkout). An absolute path, or one in any other folder, names nothing.
    """
    path = PurePath(argument)
    if path.is_absolute() or len(path.parts) > 2 or not path.parts:
        return None
    if len(path.parts) == 2 and path.parts[0] != "profiles":
        return None
    stem = path.name
    for suffix in PROFILE_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if stem in profile_names():
        return profiles_dir() / f"{stem}.yaml"
    return None


def resolve_profile(argument: str | Path) -> tuple[Path, bool]:
    """The profile file for a command-line argument, and whether it is the built-in one
    found by name. Raises yamlmarks.DocumentError when neither exists."""
    path = Path(argument)
    if path.is_file():
        return path, False
    found = builtin_profile(str(argument))
    if found is not None:
        return found, True
    known = ", ".join(profile_names())
    what = "no such file" if not path.exists() else "not a file"
    raise yamlmarks.DocumentError(
        path, 0, "", f"{what}, and no built-in profile of that name (built-in: {known})"
    )
