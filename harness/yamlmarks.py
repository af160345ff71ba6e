"""YAML safe loading that keeps line marks, and schema errors that name file, line and key.

Cases and profiles are validated against a JSON Schema before anything runs (docs/architecture.md
principle 4); an error points at the offending line, as Tavern's loader does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class MarkedDict(dict):
    """A mapping that remembers the (1-based) line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class MarkedList(list):
    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


class DocumentError(Exception):
    """A case or profile file that cannot be used: names the file, the line and the key."""

    def __init__(self, path: Path | str, line: int, key: str, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.key = key
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")


def load(path: Path) -> Any:
    """Safe-load one YAML document keeping marks; syntax errors become DocumentError."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(path, 0, "", f"cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(path, line, "", f"YAML syntax: {problem}") from None


def plain(value: Any) -> Any:
    """Marked mappings and lists back to plain dicts and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def line_of(document: Any, path: Iterable[Any]) -> int:
    """The line of the deepest node along a JSON path that carries a mark."""
    line = getattr(document, "line", 0)
    node = document
    for part in path:
        if isinstance(node, MarkedDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, MarkedList) and isinstance(part, int) and part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


def validate(document: Any, schema: dict[str, Any], path: Path) -> None:
    """Raise DocumentError for the first (best) schema violation."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(document))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    key = ".".join(str(p) for p in error.absolute_path) or "(document)"
    raise DocumentError(path, line_of(document, error.absolute_path), key, error.message)
