"""Read a model file the user named without trusting it: the checks every source reader shares.

A path may name nothing, a directory, a named pipe that would block the reader forever, a file
too large to hold in memory, or a file that another process is still writing. Each becomes one
`InputError` with the file-level codes of docs/errors.md (FILE_NOT_FOUND, IS_DIRECTORY,
NOT_A_FILE, UNREADABLE, FILE_TOO_LARGE, EMPTY_FILE) before a parser sees a byte. The order is
always: `stat_regular_file` (never opens the path), `check_size` and `check_not_empty` (from the
stat), then `read_bounded`, which reads at most the limit and refuses a file that changed between
the stat and the end of the read (so the bytes parsed are the bytes that were checked).
"""

from __future__ import annotations

import io
import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analyzer.error_codes import (
    EMPTY_FILE,
    FILE_NOT_FOUND,
    FILE_TOO_LARGE,
    IS_DIRECTORY,
    NOT_A_FILE,
    UNREADABLE,
)
from analyzer.errors import InputError
from analyzer.limits import raise_hint

#: Open flags: a named pipe swapped in after the stat must not block the open (O_NONBLOCK has no
#: effect on regular files), and Windows must not translate line ends.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class FileIdentity:
    """What stat said about a regular file: enough to tell that it changed or was replaced."""

    size: int
    mtime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)

    def same_file(self, other: FileIdentity) -> bool:
        return (self.inode, self.device) == (other.inode, other.device)


def stat_regular_file(
    path: Path,
    what: str,
    *,
    suggest_suffix: str | None = None,
    describe_directory: Callable[[Path], str] | None = None,
) -> FileIdentity:
    """Stat the path (following links) and require a regular file; the path is never opened.

    `what` names the expected content in messages ('an ONNX model'). `suggest_suffix` ('.onnx')
    lets a missing suffix-less path point at the file the user probably meant;
    `describe_directory` explains a directory argument (default: 'is a directory, not ...').
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(path, FILE_NOT_FOUND, _not_found_message(path, suggest_suffix)
                         ) from None
    except OSError as exc:
        raise InputError(
            path, UNREADABLE, f"cannot access the file ({exc.strerror or exc})"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        message = describe_directory(path) if describe_directory else f"is a directory, not {what}"
        raise InputError(path, IS_DIRECTORY, message)
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            path,
            NOT_A_FILE,
            f"is a {special_file_kind(st.st_mode)}, not a regular file; {what} must be a file",
        )
    return FileIdentity.of(st)


def check_size(path: Path, size: int, max_bytes: int | None) -> None:
    """Refuse a file over the --max-file-size limit (None: no limit) before reading it."""
    if max_bytes is not None and size > max_bytes:
        raise InputError(
            path,
            FILE_TOO_LARGE,
            f"file is {format_size(size)}, over the limit of {format_size(max_bytes)} "
            f"(file size); {raise_hint('file size')}",
        )


def check_not_empty(path: Path, size: int, what: str) -> None:
    """A 0-byte file is refused: protobuf, for one, would parse it as an empty message."""
    if size == 0:
        raise InputError(path, EMPTY_FILE, f"file is empty (0 bytes), not {what}")


def read_bounded(path: Path, max_bytes: int | None, expected: FileIdentity) -> bytes:
    """Read the whole file that `stat_regular_file` returned `expected` for, never more than
    `max_bytes` (None: no limit); refuse it when it changed between that stat and the end of
    the read (replaced, grown, cut short or rewritten)."""
    # One byte past what stat promised tells a file that grew from one that fits.
    want = expected.size if max_bytes is None else min(expected.size, max_bytes)
    with _open(path, expected) as handle:
        try:
            data = handle.read(want + 1)
            after = FileIdentity.of(os.fstat(handle.fileno()))
        except OSError as exc:
            raise _unreadable(path, exc) from None
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(
            path,
            FILE_TOO_LARGE,
            f"file grew past the limit of {format_size(max_bytes)} while being read",
        )
    if len(data) != expected.size or after != expected:
        raise _changed(path, expected, after, len(data))
    return data


def read_head(path: Path, count: int, expected: FileIdentity) -> bytes:
    """The first `count` bytes of the file `expected` describes (to name a format that is too
    large to read whole)."""
    with _open(path, expected) as handle:
        try:
            return handle.read(count)
        except OSError as exc:
            raise _unreadable(path, exc) from None


def read_untrusted_file(path: Path, what: str, max_bytes: int | None) -> bytes:
    """All the checks in order, then the bytes: for readers that need nothing more specific."""
    identity = stat_regular_file(path, what)
    check_size(path, identity.size, max_bytes)
    check_not_empty(path, identity.size, what)
    return read_bounded(path, max_bytes, identity)


def special_file_kind(mode: int) -> str:
    """'named pipe (FIFO)', 'socket', ...: what a path that is not a regular file is."""
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    return "special file"


def format_size(size: int) -> str:
    """'100 bytes', or '1.2 KiB (1223 bytes)': readable, and exact for scripts."""
    if size < 1024:
        return f"{size} bytes"
    exponent = min(int(math.log(size, 1024)), 4)
    unit = ("bytes", "KiB", "MiB", "GiB", "TiB")[exponent]
    return f"{size / 1024**exponent:.1f} {unit} ({size} bytes)"


def _open(path: Path, expected: FileIdentity) -> io.BufferedReader:
    """Open the path read-only and make sure it is still the regular file that was stat'ed."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise _unreadable(path, exc) from None
    opened = FileIdentity.of(st)
    if not stat.S_ISREG(st.st_mode) or not opened.same_file(expected):
        os.close(fd)
        raise InputError(
            path,
            UNREADABLE,
            "the file was replaced by another between its check and its read; "
            "try again once nothing writes to it",
        )
    return os.fdopen(fd, "rb")


def _unreadable(path: Path, exc: OSError) -> InputError:
    return InputError(
        path, UNREADABLE, f"cannot read the file ({exc.strerror or 'permission denied'})"
    )


def _changed(path: Path, before: FileIdentity, after: FileIdentity, read: int) -> InputError:
    if after.size != before.size or read != before.size:
        detail = f"{before.size} bytes when checked, {after.size} bytes after {read} were read"
    else:
        detail = "it was written to meanwhile"
    return InputError(
        path,
        UNREADABLE,
        f"the file changed while being read ({detail}); try again once nothing writes to it",
    )


def _not_found_message(path: Path, suggest_suffix: str | None) -> str:
    """Say the file is missing, and point at the likely intended one."""
    if path.is_symlink():
        return f"is a broken symlink to '{os.readlink(path)}'"
    if suggest_suffix and not path.suffix:
        guess = path.with_suffix(suggest_suffix)
        if guess.is_file():
            return f"no such file; did you mean {guess}?"
    if not path.parent.exists():
        return f"no such file (its folder '{path.parent}' does not exist either)"
    return "no such file"
