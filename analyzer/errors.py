"""The one error type that reaches the user as a single line.

Every loader and the CLI raise or catch `InputError`: it names the file, a stable code, and the
problem, so the CLI can print one line and exit 2 without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: a file that cannot be analyzed, or an argument that makes no sense.

    `code` is stable (documented in docs/errors.md) so that CI scripts can match on it.
    """

    def __init__(self, path: str | Path | None, code: str, message: str) -> None:
        self.path = str(path) if path is not None else None
        self.code = code
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message} [{self.code}]"
