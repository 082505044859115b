"""Exception types of the pure core."""

from __future__ import annotations


class CoreError(Exception):
    """Base of every error the pure core raises on purpose."""


class InvalidInput(CoreError, ValueError):  # noqa: N818 - reads better at call sites
    """An input was missing, of the wrong type, not finite, or out of range.

    ``field`` names the offending input; ``problem`` says what is wrong with it.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")
