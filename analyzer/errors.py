"""The one error type that reaches the user as a single line.

Every loader and the CLI raise or catch `InputError`: it names the file, a stable code, and the
problem, so the CLI can print one line and exit 2 without a traceback.
"""

from __future__ import annotations

from pathlib import Path

from analyzer.error_codes import ErrorCode, error_code


class InputError(Exception):
    """Bad input: a file that cannot be analyzed, or an argument that makes no sense.

    `code` is stable (registered in `analyzer.error_codes`, documented in docs/errors.md) so
    that CI scripts can match on it; an unregistered code raises `UnknownErrorCode` here.
    `code` may be given as the registry's `ErrorCode` or as its string.
    """

    def __init__(self, path: str | Path | None, code: ErrorCode | str, message: str) -> None:
        self.path = str(path) if path is not None else None
        self.code = code.code if isinstance(code, ErrorCode) else error_code(code).code
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message} [{self.code}]"
