"""Output safety: every write is temp-name-then-rename, never onto an input (by path, symlink
or hard link), and an ONNX model's external data lands only beside the output model."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import onnx
import onnx.parser
import pytest
from onnx import numpy_helper

from analyzer.cli.main import main
from analyzer.errors import InputError
from analyzer.safe_write import (
    refuse_overwrite,
    save_figure_atomically,
    save_onnx_atomically,
    write_atomically,
)
from analyzer.sources.onnx_loader import load_onnx

ROOT = Path(__file__).resolve().parents[2]


def _model() -> onnx.ModelProto:
    model = onnx.parser.parse_model("""<ir_version: 9, opset_import: ["" : 17]>
        g (float[2,64] x) => (float[2,64] y) { y = MatMul(x, w) }""")
    model.graph.initializer.append(
        numpy_helper.from_array(np.arange(64 * 64, dtype=np.float32).reshape(64, 64), "w"))
    return model


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.onnx"
    onnx.save_model(_model(), path)
    return path


def test_write_replaces_via_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    old_inode = target.stat().st_ino
    write_atomically(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_ino != old_inode  # a new file renamed over, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


@pytest.mark.parametrize("how", ["same path", "relative path", "symlink", "hard link"])
def test_refuses_to_overwrite_an_input(how: str, model_file: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = model_file.read_bytes()
    target: Path | str = model_file
    if how == "relative path":
        monkeypatch.chdir(model_file.parent)
        target = "./model.onnx"
    elif how == "symlink":
        target = model_file.parent / "out.json"
        target.symlink_to(model_file)
    elif how == "hard link":
        target = model_file.parent / "out.json"
        os.link(model_file, target)
    with pytest.raises(InputError) as caught:
        write_atomically(target, "report", protect=[str(model_file)])
    assert caught.value.code == "OUTPUT_IS_INPUT"
    assert model_file.read_bytes() == before


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    try:
        with pytest.raises(ValueError):
            save_figure_atomically(fig, tmp_path / "plot.png", format="no-such-format")
        assert list(tmp_path.iterdir()) == []
        save_figure_atomically(fig, tmp_path / "plot.png", format="png")
        assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        plt.close(fig)


def test_external_data_is_written_only_beside_the_output(tmp_path: Path) -> None:
    model = _model()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    save_onnx_atomically(model, out_dir / "m.onnx", external_data=True)
    assert sorted(p.name for p in out_dir.iterdir()) == ["m.onnx", "m.onnx.data"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    loaded = load_onnx(out_dir / "m.onnx")  # the safe loader accepts where the data went
    (ref,) = loaded.external_data
    assert ref.location == "m.onnx.data"
    assert ref.path == (out_dir / "m.onnx.data").resolve()
    # The caller's model is not turned into an external-data model by the save.
    assert model.graph.initializer[0].data_location == onnx.TensorProto.DEFAULT
    full = onnx.load(out_dir / "m.onnx")
    assert np.array_equal(numpy_helper.to_array(full.graph.initializer[0]),
                          numpy_helper.to_array(model.graph.initializer[0]))


def test_external_data_file_may_not_overwrite_an_input(tmp_path: Path) -> None:
    victim = tmp_path / "m.onnx.data"
    victim.write_bytes(b"precious")
    with pytest.raises(InputError) as caught:
        save_onnx_atomically(_model(), tmp_path / "m.onnx", external_data=True,
                             protect=[victim])
    assert caught.value.code == "OUTPUT_IS_INPUT"
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "m.onnx").exists()


def test_refuse_overwrite_lets_other_paths_through(tmp_path: Path, model_file: Path) -> None:
    refuse_overwrite(tmp_path / "other.json", [model_file])
    refuse_overwrite(tmp_path / "missing" / "x.json", [model_file])


@pytest.mark.parametrize("command", ["analyze", "rewrite"])
def test_cli_refuses_to_write_over_its_input_through_a_hard_link(
        command: str, model_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    link = model_file.parent / "copy.onnx"
    os.link(model_file, link)
    before = model_file.read_bytes()
    mtime = model_file.stat().st_mtime_ns
    status = main([command, str(model_file), "-o", str(link)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and err[0].endswith("[OUTPUT_IS_INPUT]"), err
    assert model_file.read_bytes() == before
    assert model_file.stat().st_mtime_ns == mtime


def test_batch_report_may_not_land_on_a_model_of_the_batch(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("a.onnx", "b.onnx"):
        onnx.save_model(_model(), folder / name)
    before = (folder / "b.onnx").read_bytes()
    status = main(["analyze", str(folder), "--jobs", "1", "-o", str(folder / "b.onnx")])
    assert status == 2
    assert capsys.readouterr().err.strip().endswith("[OUTPUT_IS_INPUT]")
    assert (folder / "b.onnx").read_bytes() == before


# Calls that write a file; only analyzer/safe_write.py may make them (the audit of issue 8).
_WRITERS = {"save_model", "save", "savefig", "write_text", "write_bytes", "savez",
            "savez_compressed", "tofile", "mkstemp"}


# Files whose writes only ever land in a private temporary folder that their caller renames
# into place; each entry says why it is safe.
_TEMP_FOLDER_WRITERS = {
    # lowers the exported model inside export_torch's private temp folder (torch_api renames)
    "rewrites/torch/export.py",
    # the checker's scratch copy of a model without its weights (a sparse weights file and the
    # model), in its own TemporaryDirectory, removed once onnx.checker has read it
    "analyzer/sources/weightless.py",
}


def test_every_file_write_in_the_package_goes_through_safe_write() -> None:
    offenders = []
    for path in sorted((ROOT / "analyzer").rglob("*.py")) + sorted((ROOT / "rewrites").rglob(
            "*.py")):
        if path.name == "safe_write.py" or path.name.endswith("_test.py"):
            continue
        if str(path.relative_to(ROOT)) in _TEMP_FOLDER_WRITERS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            mode = ""
            if name == "open" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                mode = str(node.args[1].value)
            for kw in node.keywords:
                if name == "open" and kw.arg == "mode" and isinstance(kw.value, ast.Constant):
                    mode = str(kw.value.value)
            if name in _WRITERS or (name in ("open", "fdopen") and any(c in mode for c in "wax")):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == []
