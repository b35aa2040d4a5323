"""The file checks every source reader shares: a file that changes between its check and its read
is refused, and the TensorFlow / TFLite readers apply the same size limit as the ONNX loader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analyzer.errors import InputError
from analyzer.sources.tf_graph import read_checkpoint, read_frozen_graph, read_saved_model
from analyzer.sources.tflite_graph import read_tflite
from analyzer.sources.untrusted_file import (
    read_bounded,
    read_head,
    read_untrusted_file,
    stat_regular_file,
)

WHAT = "a test file"


def _file(tmp_path: Path, data: bytes = b"0123456789") -> Path:
    path = tmp_path / "model.bin"
    path.write_bytes(data)
    return path


def _code(excinfo: pytest.ExceptionInfo[InputError]) -> str:
    return excinfo.value.code


def test_reads_a_file_that_fits(tmp_path: Path) -> None:
    path = _file(tmp_path)
    assert read_untrusted_file(path, WHAT, 10) == b"0123456789"
    assert read_untrusted_file(path, WHAT, None) == b"0123456789"
    assert read_head(path, 4, stat_regular_file(path, WHAT)) == b"0123"


def test_growth_after_the_check_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path)
    identity = stat_regular_file(path, WHAT)
    with path.open("ab") as handle:
        handle.write(b"more")
    with pytest.raises(InputError) as caught:
        read_bounded(path, None, identity)
    assert _code(caught) == "UNREADABLE" and "changed while being read" in caught.value.message


def test_growth_past_the_limit_says_so(tmp_path: Path) -> None:
    path = _file(tmp_path)
    identity = stat_regular_file(path, WHAT)
    with path.open("ab") as handle:
        handle.write(b"more")
    with pytest.raises(InputError) as caught:
        read_bounded(path, 10, identity)
    assert _code(caught) == "FILE_TOO_LARGE" and "grew past the limit" in caught.value.message


def test_a_rewrite_of_the_same_size_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path)
    identity = stat_regular_file(path, WHAT)
    path.write_bytes(b"9876543210")
    os.utime(path, ns=(identity.mtime_ns + 10**9, identity.mtime_ns + 10**9))
    with pytest.raises(InputError) as caught:
        read_bounded(path, None, identity)
    assert _code(caught) == "UNREADABLE" and "changed while being read" in caught.value.message


def test_a_replaced_file_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path)
    identity = stat_regular_file(path, WHAT)
    other = tmp_path / "other.bin"
    other.write_bytes(b"0123456789")
    os.replace(other, path)
    with pytest.raises(InputError) as caught:
        read_bounded(path, None, identity)
    assert _code(caught) == "UNREADABLE" and "replaced" in caught.value.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_swapped_in_after_the_check_does_not_block(tmp_path: Path) -> None:
    path = _file(tmp_path)
    identity = stat_regular_file(path, WHAT)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(InputError) as caught:
        read_bounded(path, None, identity)
    assert _code(caught) == "UNREADABLE"


@pytest.mark.parametrize("reader", [read_tflite, read_frozen_graph, read_checkpoint])
def test_tf_readers_apply_the_size_limit(tmp_path: Path, reader: object) -> None:
    path = _file(tmp_path, b"x" * 200)
    with pytest.raises(InputError) as caught:
        reader(path, max_file_bytes=100)  # type: ignore[operator]
    assert _code(caught) == "FILE_TOO_LARGE"
    assert "over the limit of 100 bytes" in caught.value.message
    assert "--max-file-size" in caught.value.message


def test_saved_model_limit_names_saved_model_pb(tmp_path: Path) -> None:
    (tmp_path / "saved_model.pb").write_bytes(b"x" * 200)
    with pytest.raises(InputError) as caught:
        read_saved_model(tmp_path, max_file_bytes=100)
    assert _code(caught) == "FILE_TOO_LARGE"
    assert caught.value.path == str(tmp_path / "saved_model.pb")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_tf_readers_refuse_a_pipe_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "graph.pb"
    os.mkfifo(path)
    with pytest.raises(InputError) as caught:
        read_frozen_graph(path)
    assert _code(caught) == "NOT_A_FILE" and "named pipe" in caught.value.message
