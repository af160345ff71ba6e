"""The tables the runner reads: step kinds, monitors and per-role environments.

The runner does not know every step (docs/architecture.md, "From a YAML case to a verdict"). Step
providers are modules that register rows here when imported: wicct's own live in
`harness/steps/`, and a vendor package adds its own by declaring an entry point in the
group `wicct.steps` (as pytest plugins use `pytest11`). Each step declares the SUT roles
it serves (a case for another role is refused when it is loaded, naming the line), a JSON
Schema for its arguments, and what a timeout means by default (FAIL when the SUT was
obliged to act, INCONCLUSIVE when a precondition did not happen).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.cases.context import CaseContext
    from harness.cases.model import Step
    from harness.verdicts import Finding

StepFn = Callable[["CaseContext", dict[str, Any], "Step"], Awaitable[None]]
MonitorFn = Callable[["CaseContext"], Sequence["Finding"]]
EnvironmentFn = Callable[["CaseContext"], AbstractAsyncContextManager[None]]

ROLES = ("epcscf", "wic")  # the SUT roles a case can target
ENTRY_POINT_GROUP = "wicct.steps"
# wicct's own providers, in the order they register. They are also declared as entry
# points; this list is used when wicct's distribution metadata is not installed (a source
# tree on PYTHONPATH), so a stale or missing install never leaves the table empty.
BUILTIN_PROVIDERS = (
    "harness.steps.common",
    "harness.steps.peer",
    "harness.steps.epcscf",
    "harness.steps.wic",
    "harness.steps.monitors",
)
ON_TIMEOUT = ("fail", "inconclusive")

# Arguments every step accepts (the runner or the context interprets them).
COMMON_ARGS: dict[str, Any] = {
    "on_timeout": {"enum": list(ON_TIMEOUT)},
    "requirement": {"type": "string"},
    "within": {"type": ["string", "number"]},
    "note": {"type": "string"},
    "strength": {"enum": ["shall", "should", "may"]},  # this step's findings' own strength
}


class ProviderError(ImportError):
    """A step provider (built-in or a vendor's entry point) could not be imported."""


@dataclass(frozen=True)
class StepKind:
    name: str
    fn: StepFn
    args: dict[str, Any]  # JSON Schema properties of the argument mapping
    roles: tuple[str, ...]  # the SUT roles whose cases may use this step
    required: tuple[str, ...] = ()
    on_timeout: str = "fail"
    doc: str = ""
    provider: str = ""  # the module that registered it
    # (argument, timer) of a window the step watches by protocol: the argument's value,
    # else the profile timer; the case's time budget grows by it (runner.budget)
    window: tuple[str, str] | None = None

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {**COMMON_ARGS, **self.args},
            "required": list(self.required),
        }


@dataclass(frozen=True)
class Monitor:
    name: str
    fn: MonitorFn
    requirements: tuple[str, ...]
    doc: str = ""
    provider: str = ""
    always: bool = False  # judged in every case of the roles its ids bind (see model.monitors_for)


@dataclass
class Registry:
    steps: dict[str, StepKind] = field(default_factory=dict)
    monitors: dict[str, Monitor] = field(default_factory=dict)
    environments: dict[str, EnvironmentFn] = field(default_factory=dict)
    providers: list[str] = field(default_factory=list)


REGISTRY = Registry()
_loaded = False


def provider_modules() -> list[str]:
    """Every provider module: the entry points of `wicct.steps`, wicct's own first."""
    found: list[str] = []
    own = False
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        module = ep.value.split(":", 1)[0]
        if ep.dist is not None and ep.dist.name == "wicct":
            own = True
        if module not in found:
            found.append(module)
    builtins = [m for m in BUILTIN_PROVIDERS if m not in found] if not own else []
    ordered = [m for m in BUILTIN_PROVIDERS if m in found or m in builtins]
    return ordered + [m for m in found if m not in ordered]


def load_providers() -> Registry:
    """Import every provider module once (they register into REGISTRY).

    A provider that fails to import is an error naming it, never a silently smaller
    table: a case using one of its steps would otherwise be refused as "unknown step"."""
    global _loaded
    if not _loaded:
        for module in provider_modules():
            try:
                importlib.import_module(module)
            except Exception as exc:
                raise ProviderError(
                    f"step provider {module!r} (entry point group {ENTRY_POINT_GROUP!r}) "
                    f"failed to import: {exc!r}"
                ) from exc
            REGISTRY.providers.append(module)
        _loaded = True
    return REGISTRY


def step(
    name: str,
    *,
    roles: Sequence[str],
    args: dict[str, Any] | None = None,
    required: Sequence[str] = (),
    on_timeout: str = "fail",
    window: tuple[str, str] | None = None,
) -> Callable[[StepFn], StepFn]:
    """Register a step kind serving cases of the SUT `roles`; `window` names the argument
    and the profile timer of a window it watches by protocol (see StepKind.window)."""
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise ValueError(f"step {name!r}: roles must be some of {ROLES}, got {list(roles)}")
    if on_timeout not in ON_TIMEOUT:
        raise ValueError(f"step {name!r}: on_timeout must be one of {ON_TIMEOUT}")

    def register(fn: StepFn) -> StepFn:
        if name in REGISTRY.steps:
            raise ValueError(f"step {name!r} registered twice")
        REGISTRY.steps[name] = StepKind(
            name, fn, dict(args or {}), tuple(roles), tuple(required), on_timeout,
            (fn.__doc__ or "").strip(), fn.__module__, window,
        )
        return fn

    return register


def monitor(
    name: str, *, requirements: Sequence[str], always: bool = False
) -> Callable[[MonitorFn], MonitorFn]:
    """Register a monitor judging `requirements` over a case's whole timeline.

    With `always`, it judges every case whose SUT role its ids bind (a requirement that
    holds on every message is judged on every message), not only the cases that list it.
    A monitor records its findings with `ctx.judge` (like a step) and returns them for
    its caller to inspect; the runner does not record them a second time."""

    def register(fn: MonitorFn) -> MonitorFn:
        if name in REGISTRY.monitors:
            raise ValueError(f"monitor {name!r} registered twice")
        REGISTRY.monitors[name] = Monitor(
            name, fn, tuple(requirements), (fn.__doc__ or "").strip(), fn.__module__, always
        )
        return fn

    return register


def environment(role: str) -> Callable[[EnvironmentFn], EnvironmentFn]:
    """Register the async context manager that sets up wicct's side for a SUT role."""
    if role not in ROLES:
        raise ValueError(f"environment for unknown SUT role {role!r}")

    def register(fn: EnvironmentFn) -> EnvironmentFn:
        REGISTRY.environments[role] = fn
        return fn

    return register


__all__ = [
    "BUILTIN_PROVIDERS",
    "ENTRY_POINT_GROUP",
    "REGISTRY",
    "ROLES",
    "ProviderError",
    "environment",
    "load_providers",
    "monitor",
    "step",
]
