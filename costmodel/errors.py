"""The one exception type that user-facing code raises for bad input.

Every message is a single line that names the bad value and what is allowed, so the CLI
can print it as-is and exit with status 2 (issue #2).
"""

from __future__ import annotations


class CostModelError(ValueError):
    """Bad input: a one-line message naming the value and what is allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
