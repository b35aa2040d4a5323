"""Every file the tool writes goes through here: a temporary name in the target's folder, then
one rename, so a crash or a full disk never leaves a partial file under the real name; and the
target is never one of the user's input files, however it is reached (same path, a symlink, a
hard link: compared by device and inode).

ONNX models with external data are written the same way: the model and its data file are
written into a temporary folder beside the target and renamed into place, data first, so the
data file always sits beside the model that names it and never anywhere else.

The file that lands has the permissions `cp` or `onnx.save` would give it: an existing target's
mode is kept, a new file gets 0666 less the umask (a temporary file is created 0600, which no CI
artifact upload or other user could read).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from analyzer.error_codes import OUTPUT_IS_INPUT, OUTPUT_PATH
from analyzer.errors import InputError

__all__ = ["refuse_overwrite", "save_figure_atomically", "save_onnx_atomically",
           "save_onnx_stream_atomically", "write_atomically"]

PathLike = str | os.PathLike[str]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they would resolve
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwrite(target: PathLike, protect: Iterable[PathLike]) -> None:
    """Raise OUTPUT_IS_INPUT when `target` is (or links to) one of the files in `protect`."""
    out = Path(os.fspath(target))
    for item in protect:
        src = Path(os.fspath(item))
        if str(src) and _same_file(out, src):
            raise InputError(out, OUTPUT_IS_INPUT,
                             f"refusing to overwrite the input file {src}; choose another output "
                             "path")


def output_folder(target: str | os.PathLike[str]) -> Path:
    """The folder an output file will be written into, checked before any work is done: the
    target is not a directory and its folder exists (OUTPUT_PATH otherwise)."""
    return _folder_of(Path(os.fspath(target)))


def _folder_of(target: Path) -> Path:
    if target.is_dir():
        raise InputError(target, OUTPUT_PATH, "output path is a directory")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(target, OUTPUT_PATH, f"output folder {folder} does not exist")
    return folder


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask. Linux shows it in /proc/self/status; elsewhere it can only be read
    by setting it, which is done under a lock and undone at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def final_mode(target: Path) -> int:
    """The permission bits `cp` would leave on `target`: an existing file's own, else 0666 less
    the umask."""
    try:
        info = os.stat(target)
        if stat.S_ISREG(info.st_mode):
            return stat.S_IMODE(info.st_mode)
    except OSError:
        pass
    return 0o666 & ~current_umask()


def _write_via_temp(target: Path, write: Callable[[Path], None]) -> None:
    """Call write(temp path) for a temp file beside target, then rename it onto target."""
    folder = _folder_of(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, final_mode(target))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: PathLike, data: str | bytes, *,
                     protect: Iterable[PathLike] = ()) -> None:
    """Write text (UTF-8) or bytes to `path` via a temporary file and a rename."""
    target = Path(os.fspath(path))
    refuse_overwrite(target, protect)

    def write(tmp: Path) -> None:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")

    _write_via_temp(target, write)


def save_figure_atomically(figure: Any, path: PathLike, *, protect: Iterable[PathLike] = (),
                           **savefig: Any) -> None:
    """matplotlib's Figure.savefig through a temporary file (the format must be given, since
    the temporary name's suffix says nothing)."""
    target = Path(os.fspath(path))
    refuse_overwrite(target, protect)
    _write_via_temp(target, lambda tmp: figure.savefig(os.fspath(tmp), **savefig))


def save_onnx_atomically(model: Any, path: PathLike, *, protect: Iterable[PathLike] = (),
                         external_data: bool = False, size_threshold: int = 1024,
                         check: Callable[[Path], None] | None = None) -> Path | None:
    """onnx.save_model via a temporary folder beside `path`. With external_data, the weights
    (tensors of `size_threshold` bytes or more) go to `<name>.data` beside the model (never
    elsewhere: the location is a bare file name). `check(staged model path)` runs on the staged
    pair before anything is renamed (a read-back); if it raises, nothing lands. The data file
    is renamed first and removed again if the model's rename fails: never a partial pair.
    Returns the data file written, or None."""
    import onnx  # onnx is not needed by the other writers here

    def stage(staged: Path, data_name: str) -> None:
        if external_data:
            # onnx.save_model marks the tensors external in the proto it is given: save a copy.
            copy = onnx.ModelProto()
            copy.CopyFrom(model)
            onnx.save_model(copy, staged, save_as_external_data=True,
                            all_tensors_to_one_file=True, location=data_name,
                            size_threshold=size_threshold)
            del copy
        else:
            onnx.save_model(model, staged)

    return _save_pair(path, stage, protect=protect, external_data=external_data, check=check)


def save_onnx_stream_atomically(path: PathLike, model: Callable[[str], bytes],
                                data: Iterable[bytes] | None, *,
                                protect: Iterable[PathLike] = (),
                                check: Callable[[Path], None] | None = None) -> Path | None:
    """An ONNX model and its data file written as save_onnx_atomically writes them, from bytes:
    `data` (chunks, in order; None: no data file) is streamed to `<name>.data`, then
    `model(data file name)` gives the model file's bytes (its tensors name that file). For a
    writer that copies the weights from another file a chunk at a time instead of holding them
    (analyzer.onnx_weights.write_model). Returns the data file written, or None."""

    def stage(staged: Path, data_name: str) -> None:
        if data is not None:
            with open(staged.parent / data_name, "wb") as out:
                for chunk in data:
                    out.write(chunk)
        staged.write_bytes(model(data_name))

    return _save_pair(path, stage, protect=protect, external_data=data is not None,
                      check=check)


def _save_pair(path: PathLike, stage: Callable[[Path, str], None], *,
               protect: Iterable[PathLike] = (), external_data: bool = True,
               check: Callable[[Path], None] | None = None) -> Path | None:
    """`stage(staged model path, data file name)` writes the model, and its data file (a bare
    name, beside it) when there is one, into a temporary folder beside `path`;
    `check(staged model path)` reads them back; then the data file and the model are renamed
    into place (never a partial pair, never over a file in `protect`). Returns the data file
    written, or None."""
    target = Path(os.fspath(path))
    protected = list(protect)
    refuse_overwrite(target, protected)
    data_name = f"{target.name}.data"
    data_target = target.with_name(data_name)
    if external_data:
        refuse_overwrite(data_target, protected)
    folder = _folder_of(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=folder))
    try:
        staged = tmp / target.name
        stage(staged, data_name)
        if check is not None:
            check(staged)
        written = None
        if (tmp / data_name).exists():
            os.chmod(tmp / data_name, final_mode(data_target))
            os.replace(tmp / data_name, data_target)
            written = data_target
        os.chmod(staged, final_mode(target))
        try:
            os.replace(staged, target)
        except BaseException:
            if written is not None:
                written.unlink(missing_ok=True)
            raise
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
