"""Test cases: YAML files mapped to requirement ids and clauses.

A case says what it verifies (`verifies`), against which role (`sut`), when it applies
(`requires`: profile features, else NOT-APPLICABLE), which monitors judge every message
(`monitors`), and its steps. Everything is validated before anything runs; errors name the
file, the line and the key (yamlmarks.DocumentError).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import requirements, yamlmarks
from harness.cases import files
from harness.cases.registry import load_providers

CASE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "wicct test case",
    "type": "object",
    "required": ["id", "title", "sut", "verifies", "steps"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "sut": {"enum": ["wic", "epcscf"]},
        "verifies": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string"},
            "uniqueItems": True,
        },
        "requires": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "monitors": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "timeout": {"type": ["string", "number"]},
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": {"type": ["object", "null"]},
            },
        },
    },
}


@dataclass(frozen=True, kw_only=True)
class Step:
    index: int
    kind: str
    args: dict[str, Any]
    line: int

    @property
    def where(self) -> str:
        return f"step {self.index + 1} ({self.kind}, line {self.line})"


@dataclass(frozen=True, kw_only=True)
class Case:
    id: str
    title: str
    description: str
    sut: str
    verifies: tuple[str, ...]
    requires: tuple[str, ...]
    monitors: tuple[str, ...]
    timeout: float
    steps: tuple[Step, ...]
    path: Path
    line: int

    @property
    def clauses(self) -> tuple[str, ...]:
        return tuple(requirements.get(r).clause for r in self.verifies)

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}"



def monitors_for(sut: str, verifies: list[str], listed: list[str]) -> tuple[str, ...]:
    """The monitors a case runs: those it lists, then every `always` monitor whose ids all
    bind the case's role, except one judging an id the case verifies (such a case judges
    that id with its own steps, or lists the monitor)."""
    registry = load_providers()
    catalogue = requirements.catalogue()
    chosen = list(listed)
    for name, mon in sorted(registry.monitors.items()):
        if not mon.always or name in chosen:
            continue
        ids = [r for r in mon.requirements if r in catalogue]
        if ids and all(sut in catalogue[r].roles for r in ids) and not set(ids) & set(verifies):
            chosen.append(name)
    return tuple(chosen)


def load_case(path: Path) -> Case:
    """Load, validate and resolve one case file; raises DocumentError."""
    from harness.profiles import parse_duration

    document = yamlmarks.load(path)
    yamlmarks.validate(document, CASE_SCHEMA, path)
    registry = load_providers()
    catalogue = requirements.catalogue()
    for i, rid in enumerate(document["verifies"]):
        line = yamlmarks.line_of(document, ["verifies", i])
        if rid not in catalogue:
            raise yamlmarks.DocumentError(path, line, f"verifies.{i}", f"unknown requirement id {rid!r}")
        if document["sut"] not in catalogue[rid].roles:
            raise yamlmarks.DocumentError(
                path, line, f"verifies.{i}", f"{rid} does not bind a {document['sut']} SUT"
            )
    for i, name in enumerate(document.get("monitors", [])):
        if name not in registry.monitors:
            raise yamlmarks.DocumentError(
                path,
                yamlmarks.line_of(document, ["monitors", i]),
                f"monitors.{i}",
                f"unknown monitor {name!r} (known: {', '.join(sorted(registry.monitors))})",
            )
        # A monitor judges what the SUT sent against its own ids: on a SUT those ids do
        # not bind (e.g. `masking` on an eP-CSCF, whose frames are unmasked by rule) it
        # would FAIL a conforming SUT.
        unbound = [r for r in registry.monitors[name].requirements
                   if r in catalogue and document["sut"] not in catalogue[r].roles]
        if unbound:
            raise yamlmarks.DocumentError(
                path,
                yamlmarks.line_of(document, ["monitors", i]),
                f"monitors.{i}",
                f"monitor {name!r} judges {', '.join(unbound)}, which does not bind a {document['sut']} SUT",
            )
    steps = []
    for i, item in enumerate(document["steps"]):
        (kind, args), = item.items()
        line = yamlmarks.line_of(document, ["steps", i])
        if kind not in registry.steps:
            raise yamlmarks.DocumentError(path, line, f"steps.{i}", f"unknown step kind {kind!r}")
        if document["sut"] not in registry.steps[kind].roles:
            serves = " and ".join(registry.steps[kind].roles)
            raise yamlmarks.DocumentError(
                path, line, f"steps.{i}",
                f"step {kind!r} serves cases whose SUT is {serves}, not {document['sut']}",
            )
        args = args if args is not None else yamlmarks.MarkedDict()
        if not hasattr(args, "line"):
            args = yamlmarks.MarkedDict(args)
        try:
            yamlmarks.validate(args, registry.steps[kind].schema(), path)
        except yamlmarks.DocumentError as exc:
            raise yamlmarks.DocumentError(
                path, exc.line or line, f"steps.{i}.{kind}.{exc.key}", exc.message
            ) from None
        rid = args.get("requirement")
        if isinstance(rid, str) and "${" not in rid:  # checked now, not as an ERROR mid-run
            where = yamlmarks.line_of(args, ["requirement"]) or line
            if rid not in catalogue:
                raise yamlmarks.DocumentError(
                    path, where, f"steps.{i}.{kind}.requirement", f"unknown requirement id {rid!r}"
                )
            if document["sut"] not in catalogue[rid].roles:
                raise yamlmarks.DocumentError(
                    path, where, f"steps.{i}.{kind}.requirement",
                    f"{rid} does not bind a {document['sut']} SUT",
                )
        steps.append(Step(index=i, kind=kind, args=yamlmarks.plain(args), line=line))
    timeout = document.get("timeout", 30)
    try:
        case_timeout = parse_duration(timeout)
    except ValueError as exc:
        raise yamlmarks.DocumentError(
            path, yamlmarks.line_of(document, ["timeout"]), "timeout", str(exc)
        ) from None
    return Case(
        id=document["id"],
        title=document["title"],
        description=document.get("description", "").strip(),
        sut=document["sut"],
        verifies=tuple(document["verifies"]),
        requires=tuple(document.get("requires", [])),
        monitors=monitors_for(document["sut"], document["verifies"], document.get("monitors", [])),
        timeout=case_timeout,
        steps=tuple(steps),
        path=path,
        line=document.line,
    )


def discover(root: Path) -> list[Path]:
    """Case files under `root`, sorted for a stable order (harness.cases.files decides
    which YAML files are cases)."""
    return files.discover(root)
