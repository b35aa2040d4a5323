"""`rewrite --target-opset N` is a promise or a failure (issue 14, item 2), its output is one line
per rule (item 6), and it leaves exactly the files it reports (item 7).

The real case: a dynamo export at opset 20 of a module with Conv + GroupNorm + a mean reduction +
LayerNorm. `rewrite --target-opset 13` used to skip version-convert ("ReduceMean-18 and
ReduceMean-13 differ"), write the model at opset 20 and exit 0. Since the reduce-axes adapter
(issue 14, item 3) it delivers 13 and 11; the unreached target is shown with a blocker that has
no lower form at all (BitwiseAnd-18 in an export of the same kind). The exit status, the file and
the opset read back from it must agree."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import onnx.parser
import pytest

from analyzer.workflows.rewrite_pipeline import TargetNotReached, run_pass
from tests.fixtures.cli import cli


def _opset(path: Path) -> int:
    model = onnx.load(str(path), load_external_data=False)
    return {i.domain: i.version for i in model.opset_import}[""]


@pytest.fixture(scope="module")
def dynamo20(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.group = nn.GroupNorm(2, 8)
            self.norm = nn.LayerNorm(8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.group(self.conv(x)).mean(dim=(2,))  # ReduceMean-18
            return self.norm(y.transpose(1, 2))

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("dynamo") / "block20.onnx"
    torch.onnx.export(Block().eval(), (torch.randn(1, 3, 10, 10),), str(path), dynamo=True,
                      opset_version=20, external_data=False)
    assert _opset(path) == 20
    return path


@pytest.mark.parametrize("target", [13, 11])
def test_dynamo_export_target_is_reached(dynamo20: Path, tmp_path: Path, target: int) -> None:
    # ReduceMean-18 (axes as a constant, noop_with_empty_axes=0) has an exact lower form: the
    # reduce-axes adapter writes it, so the target is delivered, as the file says
    out = tmp_path / "out.onnx"
    res = cli("rewrite", str(dynamo20), "-o", str(out), "--target-opset", str(target),
              "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert _opset(out) == target == report["opset"]["after"]
    assert report["opset"]["reached"] and report["blockers"] == []
    assert report["output"] == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.onnx"]


@pytest.fixture(scope="module")
def dynamo20_bitwise(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of export with an integer bitwise and: BitwiseAnd-18 has no lower form
    (And before 18 takes only bool), so no opset below 18 can be delivered."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Masked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x: torch.Tensor, flags: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return self.conv(x).mean(dim=(2,)), torch.bitwise_and(flags, 6)

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("dynamo") / "bitwise20.onnx"
    torch.onnx.export(Masked().eval(), (torch.randn(1, 3, 10, 10),
                                        torch.tensor([1, 2, 7], dtype=torch.int64)),
                      str(path), dynamo=True, opset_version=20, external_data=False)
    assert _opset(path) == 20
    return path


@pytest.mark.parametrize("target", [13, 11])
def test_dynamo_export_unreachable_target_is_refused(dynamo20_bitwise: Path, tmp_path: Path,
                                                     target: int) -> None:
    out = tmp_path / "out.onnx"
    res = cli("rewrite", str(dynamo20_bitwise), "-o", str(out), "--target-opset", str(target),
              "--format", "json")
    assert res.returncode == 1, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert not out.exists()
    assert report["output"] is None and not report["opset"]["reached"]
    assert report["blockers"], report
    for b in report["blockers"]:
        assert b["cause"] in ("no-lower-form", "rule-declined", "no-adapter",
                              "conversion-failed")
        assert b["reason"]
        if b["node"] != "model":
            assert b["op"] and b["version"]
    named = [b for b in report["blockers"] if b["op"] == "BitwiseAnd"]
    assert named and named[0]["version"] == 18 and named[0]["cause"] == "no-lower-form"
    assert "no model written" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_force_writes_and_reads_the_opset_back(dynamo20_bitwise: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.onnx"
    res = cli("rewrite", str(dynamo20_bitwise), "-o", str(out), "--target-opset", "13",
              "--force", "--format", "json")
    report = json.loads(res.stdout)
    assert out.exists() and report["output"] == str(out)
    assert report["opset"]["after"] == _opset(out) == 20  # read back, not assumed
    assert res.returncode == 1


# A node no rule lowers (DFT exists from opset 17) and a ReduceMean-18 whose axes come from a
# graph input (no attribute form exists): both keep the model from opset 13, for a reason each.
BLOCKED = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[1,8,2] x, int64[1] axes) => (float[1,8,2] y, float[1,1,2] m) {
    y = DFT(x)
    m = ReduceMean(x, axes)
}""")


def test_each_blocking_node_is_named_with_its_cause(tmp_path: Path) -> None:
    src, out = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save_model(BLOCKED, src)
    res = cli("rewrite", str(src), "-o", str(out), "--target-opset", "13")
    assert res.returncode == 1, res.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.onnx"]
    text = res.stdout
    assert "opset 18 -> 18 (target 13, NOT reached)" in text
    assert "(DFT-17): no lower form exists" in text
    assert "no model written" in res.stderr and "--force" in res.stderr


def test_the_api_refuses_unless_forced() -> None:
    with pytest.raises(TargetNotReached) as caught:
        run_pass(BLOCKED, target_opset=13)
    assert "DFT-17" in str(caught.value)
    assert not caught.value.report.reached
    passed = run_pass(BLOCKED, target_opset=13, force=True)
    assert passed.delivered_opset == 18 and passed.target_opset == 13
    causes = {b.op: b.cause for b in passed.blockers}
    assert causes["DFT"] == "no-lower-form"


FUNCTION_OPS = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 20]>
g (float[2,8] x) => (float[2,8] y) {
    h = HardSwish(x)
    y = Gelu(h)
}""")


def test_one_line_per_rule_and_nodes_with_v(tmp_path: Path) -> None:
    src, out = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save_model(FUNCTION_OPS, src)
    res = cli("rewrite", str(src), "-o", str(out), "--target-opset", "13")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "opset 20 -> 13 (target 13, reached)"
    by_rule = [line for line in lines if line.startswith("onnx:")]
    assert len(by_rule) == len({line.split()[0] for line in by_rule})  # one line per rule
    assert any(line.startswith("onnx:expand-function") and " changed" in line
               and "worst error abs" in line for line in by_rule)
    assert any(line.startswith("onnx:version-convert") and "opset 20 -> opset 13" in line
               for line in by_rule)
    assert any(line.startswith("placement CPUExecutionProvider") for line in lines)
    assert "nodes:" not in lines
    assert f"wrote {out} at opset 13" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.onnx", "out.onnx"]
    verbose = cli("rewrite", str(src), "-o", str(tmp_path / "v.onnx"), "--target-opset", "13",
                  "-v")
    assert "nodes:" in verbose.stdout.splitlines()
    assert "HardSwish_0" in verbose.stdout


def test_help_states_exit_and_output_conventions() -> None:
    res = cli("rewrite", "--help")
    assert res.returncode == 0
    assert "Exit status: 0" in res.stdout and "1 the target opset was not reached" in res.stdout
    assert "-o OUT.onnx is the" in res.stdout and "--force" in res.stdout
