"""The lab block of a report (`wicct run --lab-info FILE`): who issues it, for whom, who
authorised it and what it covers (ISO/IEC 17025 §7.8.2.1 b, d, f, o; ISO/IEC 9646-5
PCTR "identification of the test laboratory" and "client").

The file is YAML validated by `LAB_SCHEMA` before any case runs; a bad file is a
`LabInfoError` that names every problem (jsonschema's `iter_errors`), each with file, line
and key: every unknown key on its own line, every missing one at its parent's
(`wicct run` exits 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from harness import yamlmarks

_TEXT = {"type": "string", "minLength": 1}

LAB_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "wicct lab information (wicct run --lab-info)",
    "type": "object",
    "required": ["lab", "scope"],
    "additionalProperties": False,
    "properties": {
        "lab": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            # the lab's Ed25519 key (PEM) that signs `wicct run --bundle` when no
            # --signing-key is given; a path relative to this file; never in the report
            "properties": {"name": _TEXT, "address": _TEXT, "accreditation": _TEXT, "signing_key": _TEXT},
        },
        "customer": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": _TEXT, "address": _TEXT, "contact": _TEXT},
        },
        "authoriser": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": _TEXT, "function": _TEXT},
        },
        # the statement of scope: what was asked to be tested, and what was not
        "scope": _TEXT,
        "report_title": _TEXT,
    },
}


class LabInfoError(yamlmarks.DocumentError):
    """Every problem of a lab file (`problems`, by line); reads as the first when it is the
    only one, else as "N problems:" and one line per problem."""

    def __init__(self, problems: list[yamlmarks.DocumentError]) -> None:
        first = problems[0]
        super().__init__(first.path, first.line, first.key, first.message)
        self.problems = tuple(problems)
        if len(problems) > 1:
            self.args = (f"{first.path}: {len(problems)} problems:\n"
                         + "\n".join(f"  {problem}" for problem in problems),)


def _join(path: list[Any]) -> str:
    return ".".join(str(p) for p in path) or "(document)"


def problems(document: Any, path: Path) -> list[yamlmarks.DocumentError]:
    """Every violation of `LAB_SCHEMA` in `document` (a marked YAML tree), by line then key."""
    found = []
    for error in jsonschema.Draft202012Validator(LAB_SCHEMA).iter_errors(document):
        where = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            for extra in sorted(str(k) for k in error.instance if k not in known):
                found.append(yamlmarks.DocumentError(
                    path, yamlmarks.line_of(document, [*where, extra]), _join([*where, extra]),
                    "unknown key (known: " + ", ".join(sorted(known)) + ")"))
            continue
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [str(k) for k in error.validator_value if k not in error.instance]
            for key in missing:
                found.append(yamlmarks.DocumentError(
                    path, yamlmarks.line_of(document, where), _join([*where, key]),
                    f"missing: {error.message}" if len(missing) == 1 else "missing: a required key"))
            continue
        found.append(yamlmarks.DocumentError(path, yamlmarks.line_of(document, where), _join(where),
                                             error.message))
    return sorted(found, key=lambda e: (e.line, e.key))


def load_lab_info(path: Path) -> dict[str, Any]:
    """The validated lab block of `path`, as plain dicts; raises yamlmarks.DocumentError
    (a LabInfoError naming every problem when the file is YAML that breaks the schema)."""
    document = yamlmarks.load(path)
    if document is None:
        raise yamlmarks.DocumentError(path, 0, "(document)", "empty file: a mapping with lab and scope is needed")
    found = problems(document, path)
    if found:
        raise LabInfoError(found)
    plain: dict[str, Any] = yamlmarks.plain(document)
    return plain


def signing_key_path(lab_info: dict[str, Any], path: Path) -> Path | None:
    """The lab's signing key named in the lab file at `path` (relative to it), or None."""
    name = (lab_info.get("lab") or {}).get("signing_key")
    return (path.parent / name) if name else None


def for_report(lab_info: dict[str, Any]) -> dict[str, Any]:
    """The lab block as report.json holds it: without where the lab keeps its key."""
    lab = {k: v for k, v in (lab_info.get("lab") or {}).items() if k != "signing_key"}
    return {**lab_info, "lab": lab}
