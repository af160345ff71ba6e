"""JSON Schema pieces shared by the step kinds' argument declarations."""

from __future__ import annotations

from typing import Any

CONN: dict[str, Any] = {"type": "string"}  # a named WebSocket connection, default "main"
DURATION: dict[str, Any] = {"type": ["string", "number"]}  # "500ms", "2s", 1.5, "${timers.t1}"
ACTION: dict[str, Any] = {"type": ["string", "integer"]}  # auto | withhold | a status code
STATUS: dict[str, Any] = {"type": ["integer", "string", "array"]}  # see checks.status
ON_ERROR: dict[str, Any] = {"enum": ["fail", "inconclusive"]}  # a driver verb that fails
NAME: dict[str, Any] = {"type": "string"}  # a variable name (`as:`, `to:`)
HEADERS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
