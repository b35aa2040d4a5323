"""Source expansion and content hashes: what a scan runs over and what its cache keys on
(no cell runs here)."""

from __future__ import annotations

import sys

import pytest

from analyzer.errors import InputError
from analyzer.workflows.scan.manifest import load_manifest
from analyzer.workflows.scan.plan import ScanPlan, cells
from analyzer.workflows.scan.sources import Source, content_hash, dedupe, expand, with_hashes
from tests.fixtures.onnx_models import save_relu


def test_a_folder_gives_its_models_and_keeps_a_saved_model_whole(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zoo").mkdir()
    save_relu(tmp_path / "zoo", "a.onnx")
    (tmp_path / "zoo" / "deep").mkdir()
    save_relu(tmp_path / "zoo" / "deep", "b.onnx")
    (tmp_path / "zoo" / "m.tflite").write_bytes(b"TFL3")
    saved = tmp_path / "zoo" / "sm"
    (saved / "variables").mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"")
    (saved / "variables" / "inner.onnx").write_bytes(b"")  # part of the SavedModel, not a model
    (tmp_path / "zoo" / "notes.txt").write_text("x")
    found = expand("zoo")
    assert [(s.id, s.kind) for s in found] == [
        ("zoo/a.onnx", "onnx"), ("zoo/m.tflite", "tflite"), ("zoo/deep/b.onnx", "onnx"),
        ("zoo/sm", "tensorflow")]


def test_ids_are_unique_and_repeats_are_dropped(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    save_relu(tmp_path, "a.onnx")
    sources = dedupe(expand("a.onnx") + expand("./a.onnx") + [
        Source("a.onnx", "torch", "pkg.m:f", inputs=("x:float32[1]",))])
    assert [s.id for s in sources] == ["a.onnx", "a.onnx#2"]


def test_a_factory_hash_follows_its_module_file_inputs_and_weights(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "zoo_mod_for_hash.py").write_text("def f():\n    return 1\n")
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"1")
    base = Source("f", "torch", "zoo_mod_for_hash:f", inputs=("x:float32[1]",),
                  weights=str(weights))
    first = content_hash(base)
    assert content_hash(base) == first
    assert content_hash(Source("f", "torch", "zoo_mod_for_hash:f", inputs=("x:float32[2]",),
                               weights=str(weights))) != first
    weights.write_bytes(b"2")
    second = content_hash(base)
    assert second != first
    (tmp_path / "zoo_mod_for_hash.py").write_text("def f():\n    return 2\n")
    assert content_hash(base) != second
    sys.modules.pop("zoo_mod_for_hash", None)


def test_cells_and_keys(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    save_relu(tmp_path, "a.onnx")
    sources = with_hashes(expand("a.onnx") + [Source("f", "torch", "pkg.m:f")] + [
        Source("k", "keras", str(tmp_path / "a.onnx"))])
    plan = ScanPlan(tuple(sources), (13, 17), ("dynamo", "torchscript"))
    planned = cells(plan, {"t": {"version": "1"}})
    assert [(c.source.id, c.opset, c.exporter) for c in planned] == [
        ("a.onnx", None, None), ("f", 13, "dynamo"), ("f", 13, "torchscript"),
        ("f", 17, "dynamo"), ("f", 17, "torchscript"), ("k", 13, "tf2onnx"),
        ("k", 17, "tf2onnx")]
    assert len({c.key for c in planned}) == len(planned)
    again = cells(plan, {"t": {"version": "1"}})
    assert [c.key for c in again] == [c.key for c in planned]
    newer = cells(plan, {"t": {"version": "2"}})  # a new table version: every key changes
    assert not {c.key for c in newer} & {c.key for c in planned}


def test_manifest_paths_are_relative_to_it(tmp_path) -> None:
    (tmp_path / "m").mkdir()
    save_relu(tmp_path / "m", "a.onnx")
    manifest = tmp_path / "m" / "zoo.toml"
    manifest.write_text('[defaults]\nopsets = [18]\n\n[[source]]\nsource = "a.onnx"\n'
                        'tags = ["t"]\n\n[[source]]\nsource = "pkg.m:f"\nweights = "w.pt"\n'
                        'inputs = ["x:float32[1]"]\nexporters = ["torchscript"]\n')
    loaded = load_manifest(manifest)
    assert loaded.defaults == {"opsets": [18]}
    onnx_source, torch_source = loaded.sources
    assert onnx_source.id == "a.onnx" and onnx_source.tags == ("t",)
    assert torch_source.weights == str(tmp_path / "m" / "w.pt")
    assert torch_source.exporters == ("torchscript",)
    with pytest.raises(InputError, match="--weights: no such file"):
        with_hashes([torch_source])


def test_ids_of_files_outside_the_working_folder_drop_their_common_folder(
        tmp_path, monkeypatch) -> None:
    (tmp_path / "zoo" / "vision").mkdir(parents=True)
    (tmp_path / "zoo" / "text").mkdir()
    save_relu(tmp_path / "zoo" / "vision", "r.onnx")
    save_relu(tmp_path / "zoo" / "text", "t.onnx")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    sources = dedupe(expand(str(tmp_path / "zoo" / "vision" / "r.onnx"))
                     + expand(str(tmp_path / "zoo" / "text" / "t.onnx"))
                     + [Source("pkg.m:f", "torch", "pkg.m:f", inputs=("x:float32[1]",))])
    assert [s.id for s in sources] == ["vision/r.onnx", "text/t.onnx", "pkg.m:f"]
    assert sources[0].location == str(tmp_path / "zoo" / "vision" / "r.onnx")
    single = dedupe(expand(str(tmp_path / "zoo" / "text" / "t.onnx")))
    assert [s.id for s in single] == ["t.onnx"]
