"""Which class drives a SUT: (role, driver name) → driver class.

Drivers are imported lazily, by `module:Class` path, so a driver whose module (or whose
own dependencies) cannot be imported makes only its cases INCONCLUSIVE (`SutUnavailable`)
instead of breaking the whole run. A vendor adds a row to `DRIVERS` (or calls
`register`) with a class or a `module:Class` path.
"""

from __future__ import annotations

import importlib

from harness.profiles import Profile
from harness.suts.base import (
    EpcscfDriver,
    SutUnavailable,
    WicDriver,
)

DriverClass = type[EpcscfDriver] | type[WicDriver]

DRIVERS: dict[tuple[str, str], str | DriverClass] = {
    ("epcscf", "reference"): "harness.suts.reference.epcscf:ReferenceEpcscfDriver",
    ("epcscf", "kamailio"): "harness.suts.kamailio.driver:KamailioEpcscfDriver",
    ("epcscf", "external"): "harness.suts.external:ExternalEpcscfDriver",
    ("epcscf", "manual"): "harness.suts.manual:ManualEpcscfDriver",
    ("epcscf", "hostile"): "harness.suts.hostile.epcscf:HostileEpcscfDriver",
    ("wic", "reference"): "harness.suts.reference.wic:ReferenceWicDriver",
    ("wic", "browser"): "harness.suts.browser.driver:BrowserWicDriver",
    ("wic", "external"): "harness.suts.external:ExternalWicDriver",
    ("wic", "manual"): "harness.suts.manual:ManualWicDriver",
    ("wic", "hostile"): "harness.suts.hostile.wic:HostileWicDriver",
}


def register(role: str, name: str, target: str | DriverClass) -> None:
    """Add or replace a driver row."""
    DRIVERS[(role, name)] = target


def driver_class(role: str, name: str) -> DriverClass:
    """The class for (role, name); SutUnavailable when there is none or it cannot load.

    `name` is a registered driver name or, for a vendor's own driver, a `module:Class` path.
    """
    target = name if ":" in name else DRIVERS.get((role, name))
    if target is None:
        known = ", ".join(sorted(n for r, n in DRIVERS if r == role))
        raise SutUnavailable(f"no {role} driver {name!r} (available: {known})")
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SutUnavailable(
            f"{role} driver {name!r} cannot be loaded: {import_problem(module_name, exc)}"
        ) from exc
    try:
        found = getattr(module, attr)
    except AttributeError:
        raise SutUnavailable(f"{role} driver {name!r}: {module_name} has no {attr}") from None
    base = WicDriver if role == "wic" else EpcscfDriver
    if not (isinstance(found, type) and issubclass(found, base)):
        raise SutUnavailable(
            f"{role} driver {name!r}: {module_name}.{attr} is not a subclass of "
            f"harness.suts.base.{base.__name__}"
        )
    return found


def import_problem(module_name: str, exc: ImportError) -> str:
    """Why a driver module did not import, and what to do about it.

    The module itself (or its package) not found: its folder is not on the import path, so
    say to put it on PYTHONPATH. Found, but one of its own imports failed: a dependency of
    the driver is missing, which PYTHONPATH will not fix.
    """
    missing = getattr(exc, "name", None) or ""
    parts = module_name.split(".")
    own = {".".join(parts[: i + 1]) for i in range(len(parts))}
    if isinstance(exc, ModuleNotFoundError) and missing in own:
        top = parts[0]
        return (
            f"no module named {missing!r}: put the folder that holds {top}/ (or {top}.py) on "
            f"PYTHONPATH, e.g. PYTHONPATH=/path/to/that/folder wicct run ..."
        )
    return f"importing {module_name} failed: {exc} (a dependency of the driver: install it)"


def make_driver(profile: Profile) -> EpcscfDriver | WicDriver:
    """A fresh driver instance for the profile's role and driver name."""
    return driver_class(profile.role, profile.driver)()

