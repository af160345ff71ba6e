"""The one status matcher of the case language: `403`, `"4xx"`, `"403"` or a list of those."""

from __future__ import annotations

from typing import Any


def status_matches(status: int, wanted: Any) -> bool:
    """True when `status` is what `wanted` asks for; `None` accepts any status.

    `wanted` is an integer, a three-digit string, a class such as `"4xx"` (any case), or a
    list of those (any of them)."""
    if wanted is None:
        return True
    if isinstance(wanted, list | tuple):
        return any(status_matches(status, w) for w in wanted)
    text = str(wanted).strip().lower()
    if len(text) == 3 and text.endswith("xx"):
        return str(status)[0] == text[0]
    return text == str(status)
