"""The one exception type that user-facing code raises for bad input.

Every message is a single line that names the bad value and what is allowed, so the CLI
can print it as-is and exit with status 2 (issue #2).
"""

from __future__ import annotations


class CostModelError(ValueError):
    """Bad input: a one-line message naming the value and what is allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class RowErrors(CostModelError):
    """Bad input of many rows (an imported file): a one-line summary, then one line per bad row,
    each naming the row, the bad value and what is allowed (issue #13)."""

    def __init__(self, message: str, rows: list[str]) -> None:
        super().__init__(message)
        self.rows = [" ".join(r.split()) for r in rows]

    def __str__(self) -> str:
        return "\n".join([super().__str__(), *self.rows])
