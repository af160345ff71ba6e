"""The tables the runner reads: step kinds, monitors and per-role environments.

DESIGN.md principle 4: the runner does not know every step. Actors and checks register
rows here; adding a step is one function and one `@step` line. Each step declares a JSON
Schema for its arguments (validated when the case is loaded, so a typo is a collection
error naming the line) and what a timeout means by default (FAIL when the SUT was
obliged to act, INCONCLUSIVE when a precondition did not happen).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.cases.context import CaseContext
    from harness.cases.model import Step
    from harness.verdicts import Finding

StepFn = Callable[["CaseContext", dict[str, Any], "Step"], Awaitable[None]]
MonitorFn = Callable[["CaseContext"], Sequence["Finding"]]
EnvironmentFn = Callable[["CaseContext"], AbstractAsyncContextManager[None]]

# Arguments every step accepts (the runner or the context interprets them).
COMMON_ARGS: dict[str, Any] = {
    "on_timeout": {"enum": ["fail", "inconclusive"]},
    "requirement": {"type": "string"},
    "within": {"type": ["string", "number"]},
    "note": {"type": "string"},
}


@dataclass(frozen=True)
class StepKind:
    name: str
    fn: StepFn
    args: dict[str, Any]  # JSON Schema properties of the argument mapping
    required: tuple[str, ...] = ()
    on_timeout: str = "fail"
    doc: str = ""

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


@dataclass
class Registry:
    steps: dict[str, StepKind] = field(default_factory=dict)
    monitors: dict[str, Monitor] = field(default_factory=dict)
    environments: dict[str, EnvironmentFn] = field(default_factory=dict)


REGISTRY = Registry()

# Modules that register steps, monitors and environments when imported.
PROVIDERS = (
    "harness.cases.common_steps",
    "harness.cases.peer_steps",
    "harness.actors.epcscf_role",
    "harness.actors.wic_role",
    "harness.checks.monitors",
)
_loaded = False


def load_providers() -> Registry:
    """Import every provider module once (they register into REGISTRY)."""
    global _loaded
    if not _loaded:
        for module in PROVIDERS:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
        _loaded = True
    return REGISTRY


def step(
    name: str,
    *,
    args: dict[str, Any] | None = None,
    required: Sequence[str] = (),
    on_timeout: str = "fail",
) -> Callable[[StepFn], StepFn]:
    def register(fn: StepFn) -> StepFn:
        if name in REGISTRY.steps:
            raise ValueError(f"step {name!r} registered twice")
        REGISTRY.steps[name] = StepKind(
            name, fn, dict(args or {}), tuple(required), on_timeout, (fn.__doc__ or "").strip()
        )
        return fn

    return register


def monitor(name: str, *, requirements: Sequence[str]) -> Callable[[MonitorFn], MonitorFn]:
    def register(fn: MonitorFn) -> MonitorFn:
        REGISTRY.monitors[name] = Monitor(name, fn, tuple(requirements), (fn.__doc__ or "").strip())
        return fn

    return register


def environment(role: str) -> Callable[[EnvironmentFn], EnvironmentFn]:
    """Register the async context manager that sets up wicct's side for a SUT role."""

    def register(fn: EnvironmentFn) -> EnvironmentFn:
        REGISTRY.environments[role] = fn
        return fn

    return register


__all__ = [
    "REGISTRY",
    "AsyncIterator",
    "environment",
    "load_providers",
    "monitor",
    "step",
]
