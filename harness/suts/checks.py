"""Profile checks that need the driver: errors stop the run, unused settings are reported.

`check_profile` raises yamlmarks.DocumentError (exit 2, `file:line: key: message`) for what
is clearly a mistake:
  - the driver does not exist for the role, or its `module:Class` does not import (the
    message says to put its folder on PYTHONPATH) or is not a driver class of the role;
  - `faults:` on a driver other than `reference`, or a fault the role does not have;
  - a `driver_options` key that a driver declaring its `options` does not know (a typo
    would otherwise silently fall back to the default), with the nearest known names;
  - a value the driver's own `check_options` refuses (e.g. the browser's page file missing).

`profile_warnings` lists settings that are valid but that nothing reads for this role and
driver (a profile copied from the other role, a `sut.url` for a driver that starts its own
SUT), and claims that mean nothing for the role; a setting that only spells out its default
is not reported. They are warnings, not errors: a shared
profile stays usable. They go into the report (`suts[].warnings`, report.json and HTML) and
the terminal summary of `wicct run`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from harness import features as pics
from harness import yamlmarks
from harness.profiles import Profile
from harness.suts import faults as fault_table
from harness.suts.base import SutUnavailable
from harness.suts.registry import DRIVERS, DriverClass, driver_class

# Profile settings a role never reads (whatever the driver) → why.
ROLE_UNUSED: dict[str, dict[str, str]] = {
    "wic": {
        "trusted_origins": "wicct's eP-CSCF emulator checks no Origin; in the WIC role the "
        "WIC's Origin is compared with wwsf_origin (WIC-HS-02)",
        "core.listen": "the WIC role has no IMS-core stub (wicct's eP-CSCF emulator answers)",
        "sut.url": "the WIC is told the URL of wicct's eP-CSCF emulator",
        "sut.ca": "the WIC is told to trust the run's CA",
        "sut.tls_verify": "wicct is the TLS server in the WIC role; only the eP-CSCF role "
        "verifies the SUT's certificate",
    },
    "epcscf": {},
}
# Read by no role or driver today; kept in the schema for cases (${profile.sut.host}).
NOWHERE_USED: dict[str, str] = {
    "sut.host": "no role or driver reads it (an eP-CSCF's host comes from sut.url or from "
    "its driver)",
}
# driver_options keys wicct itself reads for every driver of a role → meaning.
HARNESS_OPTIONS: dict[str, dict[str, str]] = {
    "wic": {"listen_port": "the fixed port of wicct's eP-CSCF emulator (default: a free one)"},
    "epcscf": {},
}


def _error(profile: Profile, key: str, message: str) -> yamlmarks.DocumentError:
    return yamlmarks.DocumentError(profile.path, profile.line(key), key, message)


# The loader's defaults of the settings below: a profile that spells a default out (as the
# built-in ones do, for the reader) is not warned about it.
_DEFAULTS: dict[str, object] = {
    "sut.ca": "generated",
    "sut.tls_verify": True,
    "sut.host": "127.0.0.1",
    "sut.url": "",
    "core.listen": "udp://127.0.0.1:0",
}


def _has(profile: Profile, dotted: str) -> bool:
    """Whether the profile file itself sets a dotted key to other than its default."""
    node: object = profile.raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    if dotted == "trusted_origins":
        return node != [profile.wwsf_origin]
    return dotted not in _DEFAULTS or node != _DEFAULTS[dotted]


def profile_driver(profile: Profile) -> DriverClass:
    """The profile's driver class; DocumentError at the `driver:` line when there is none."""
    if ":" not in profile.driver and (profile.role, profile.driver) not in DRIVERS:
        known = ", ".join(sorted(name for role, name in DRIVERS if role == profile.role))
        raise _error(profile, "driver", f"no {profile.role} driver {profile.driver!r} (known: {known})")
    try:
        return driver_class(profile.role, profile.driver)
    except SutUnavailable as exc:
        raise _error(profile, "driver", str(exc)) from None


def known_options(profile: Profile, cls: DriverClass) -> Mapping[str, str] | None:
    """The driver_options keys read for this profile (driver's and wicct's); None: unknown."""
    if cls.options is None:
        return None
    return {**HARNESS_OPTIONS.get(profile.role, {}), **cls.options}


def check_profile(profile: Profile) -> None:
    """Raise DocumentError for the first clear mistake (see the module docstring)."""
    cls = profile_driver(profile)
    if profile.faults:
        if profile.driver != "reference":
            raise _error(profile, "faults", "fault switches exist only for the reference driver")
        unknown = fault_table.unknown(profile.role, profile.faults)
        if unknown:
            known = ", ".join(sorted(fault_table.for_role(profile.role)))
            raise _error(
                profile, "faults",
                f"unknown fault(s) {unknown} for role {profile.role} (known: {known})",
            )  # fmt: skip
    options = known_options(profile, cls)
    if options is not None:
        for key in profile.driver_options:
            if key in options:
                continue
            near = difflib.get_close_matches(str(key), list(options), n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(near)}? " if near else ""
            raise _error(
                profile, f"driver_options.{key}",
                f"the {profile.driver} {profile.role} driver has no option {key!r}: {hint}"
                f"known: {', '.join(sorted(options)) or 'none'}",
            )  # fmt: skip
    for key, message in cls.check_options(profile):
        raise _error(profile, key, message)


def profile_warnings(profile: Profile) -> list[str]:
    """Settings nothing reads for this role and driver, and claims that mean nothing for
    the role: `file:line: key: message` lines (empty when all is used)."""
    try:
        cls = driver_class(profile.role, profile.driver)
    except SutUnavailable:
        cls = None
    notes: list[tuple[str, str]] = []
    role_unused = ROLE_UNUSED.get(profile.role, {})
    for key, why in role_unused.items():
        if _has(profile, key):
            notes.append((key, f"not used by a {profile.role} SUT: {why}"))
    for key, why in NOWHERE_USED.items():
        if _has(profile, key):
            notes.append((key, f"not used: {why}"))
    if cls is not None:
        for key, why in cls.ignores.items():
            if _has(profile, key) and key not in role_unused:
                notes.append((key, f"not used by the {profile.driver} driver: {why}"))
    for name in sorted(profile.features):
        feature = pics.BY_NAME.get(name)
        if feature is not None and profile.role not in feature.roles:
            index = profile.raw.get("features", []).index(name)
            notes.append(
                (f"features.{index}", f"{name!r} means nothing for a {profile.role} SUT "
                 f"(a feature of the {' and '.join(feature.roles)} role): no case or check uses it")
            )  # fmt: skip
    if profile.role == "epcscf" and _has(profile, "trusted_origins"):
        trusted = profile.trusted_origins
        if profile.wwsf_origin not in trusted:
            notes.append(
                ("wwsf_origin", f"{profile.wwsf_origin} is not in trusted_origins "
                 f"({', '.join(trusted) or 'empty'}): wicct's WIC emulator presents "
                 "wwsf_origin by default, so the eP-CSCF would rightly refuse it")
            )  # fmt: skip
    return [
        f"{profile.path}:{profile.line(key)}: {key}: {message}"
        if profile.line(key)
        else f"{profile.path}: {key}: {message}"
        for key, message in notes
    ]
