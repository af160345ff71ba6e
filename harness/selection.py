"""`wicct run --select EXPR`: which cases run, judged on the case's own names only.

pytest's `-k` matches the names of an item's parents too, so `-k SES` selected every case
(the collector `testcases` contains "ses"). A selection here is the same expression language
(`and`, `or`, `not`, parentheses, case-insensitive substrings) evaluated over a case's id,
the requirement ids it verifies and the profile's id, nothing else. The expression grammar is
pytest's own (`_pytest.mark.expression`, not public API: tests/core/test_selection.py pins
its behaviour), so `--select` reads exactly as `-k` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from _pytest.mark.expression import Expression


class SelectionError(ValueError):
    """The `--select` expression does not parse; the message shows it and where."""


@dataclass(frozen=True)
class Selection:
    """A compiled `--select` expression."""

    text: str
    expression: Expression

    def matches(self, names: Iterable[str]) -> bool:
        """True when the expression holds, each identifier being true when it is a
        case-insensitive substring of one of `names`."""
        lowered = [name.lower() for name in names]

        def matcher(word: str, /, **_: str | int | bool | None) -> bool:
            return any(word.lower() in name for name in lowered)

        return bool(self.expression.evaluate(matcher))


def compile_selection(text: str) -> Selection:
    """Compile `text`, or raise `SelectionError` naming the expression and the column."""
    try:
        return Selection(text, Expression.compile(text))
    except Exception as error:  # a parse error: SyntaxError in pytest 9, ParseError in pytest 8
        raise SelectionError(f"--select {text!r}: {error}") from None


def case_names(case_id: str, verifies: Iterable[str], profile_id: str) -> tuple[str, ...]:
    """The names a selection is matched against: the case id, its requirement ids, the profile."""
    return (case_id, *verifies, profile_id)


__all__ = ["Selection", "SelectionError", "case_names", "compile_selection"]
