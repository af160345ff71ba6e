"""The lab block of a report (`wicct run --lab-info FILE`): who issues it, for whom, who
authorised it and what it covers (ISO/IEC 17025 §7.8.2.1 b, d, f, o; ISO/IEC 9646-5
PCTR "identification of the test laboratory" and "client").

The file is YAML validated by `LAB_SCHEMA` before any case runs; an unknown or missing key
is a DocumentError naming file, line and key (`wicct run` exits 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def load_lab_info(path: Path) -> dict[str, Any]:
    """The validated lab block of `path`, as plain dicts; raises yamlmarks.DocumentError."""
    document = yamlmarks.load(path)
    if document is None:
        raise yamlmarks.DocumentError(path, 0, "(document)", "empty file: a mapping with lab and scope is needed")
    yamlmarks.validate(document, LAB_SCHEMA, path)
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
