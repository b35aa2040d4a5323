"""The HTML report without a browser: self-contained, complete, escaped; the graph payload it
draws from; and --format html on the CLI subcommands."""

from __future__ import annotations

import json
import re
from importlib import resources

import onnx
import pytest

import analyzer
from analyzer.report.graph import CHUNK, MAX_CHILDREN
from analyzer.report.html import render_html
from analyzer.report.html_graph import STATUSES, view_data
from tests.fixtures.cli import cli
from tests.fixtures.html_page import PageTags
from tests.fixtures.onnx_models import parse
from tests.fixtures.report_models import FALLBACK, HOSTILE, UNSUPPORTED, chain_model, problem_model


@pytest.fixture(scope="module")
def report():
    return analyzer.analyze(problem_model(), providers=("cuda", "cpu"))


@pytest.fixture(scope="module")
def page(report) -> str:
    text = report.to_html()
    assert text == render_html(report)  # the method and the renderer are one thing
    return text


@pytest.fixture(scope="module")
def tags(page) -> PageTags:
    parser = PageTags()
    parser.feed(page)
    return parser


def _island(tags: PageTags) -> dict:
    index = next(i for i, (t, a) in enumerate(t for t in tags.tags if t[0] == "script")
                 if a.get("id") == "preflight-graph-data")
    return json.loads(tags.scripts[index])


def test_the_page_is_self_contained(page, tags):
    for tag, attrs in tags.tags:
        for key in ("src", "href", "action", "data", "poster"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "ftp:")), (tag, key, value)
        assert tag not in ("link", "iframe", "img", "object", "embed"), tag
        if tag == "script":
            assert "src" not in attrs
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    assert "@import" not in page
    # the layout library and the page script are inline: dagre's layout() is in a script body
    assert any("dagre" in s and "graphlib" in s for s in tags.scripts)
    assert "default-src 'none'" in page  # the page also forbids fetching anything


def test_the_vendored_library_ships_with_its_license():
    assets = resources.files("analyzer.report") / "assets"
    js = (assets / "dagre.min.js").read_text(encoding="utf-8")
    license_text = (assets / "dagre.LICENSE.txt").read_text(encoding="utf-8")
    assert "@dagrejs/dagre 3.1.3" in js and "Permission is hereby granted" in license_text
    assert "//# sourceMappingURL" not in js  # no request for a source map either


def test_findings_fixes_and_ops_are_in_the_page(report, page):
    assert report.findings
    for f in report.findings:
        assert f'data-id="{f.id}"' in page
        assert json.dumps(f.message)[1:-1].replace("<", "\\u003c") in page or \
            f.message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page
    fixes = [fix for f in report.findings for fix in f.fixes]
    for fix in fixes:
        if fix.kind == "rewrite":
            assert f"apply rewrite {fix.rule}" in page
        elif fix.kind == "opset":
            assert f"use opset &gt;= {fix.min}" in page
    for op in report.ops:
        assert f"<code>{op.op}</code>" in page
    assert f'class="verdict {report.verdict}"' in page


def test_a_hostile_node_name_cannot_inject(page, tags):
    assert HOSTILE not in page  # nowhere raw: not in markup, not in the JSON island
    scripts = [a for t, a in tags.tags if t == "script"]
    assert len(scripts) == 3  # the JSON island, dagre, the page script: nothing injected
    data = _island(tags)
    assert HOSTILE in data["names"]  # and the name survives, exactly, for the page to show


def test_statuses_follow_placement_and_schemas(report, tags):
    data = _island(tags)
    status = {name: STATUSES[code] for name, code in zip(data["names"], data["status"],
                                                          strict=True)}
    op = {o.op: o for o in report.ops}
    assert op["Frobnicate"].onnx["status"] == "unknown_op"
    assert status[UNSUPPORTED] == "unsupported"
    assert op["Celu"].providers["CUDAExecutionProvider"]["status"] == "fallback"
    assert status[FALLBACK] == "fallback"
    assert status["relu_ok"] == "ok"


def _names(report, graph) -> list[str]:
    """Node names through each node's reference into the op table."""
    return [report.ops[op].nodes[node].name for op, node, _ in graph["nodes"]]


def test_edges_are_the_models_producer_consumer_pairs(report):
    model = problem_model()
    graph = report.graph_payload()
    names = _names(report, graph)
    assert names == [n.name for n in model.graph.node]  # graph order, each ref its own row
    produced = {o: node.name for node in model.graph.node for o in node.output}
    expected = {(produced[i], node.name) for node in model.graph.node for i in node.input
                if i in produced}
    assert {(names[a], names[b]) for a, b in graph["edges"]} == expected
    for (op, _, _), node in zip(graph["nodes"], model.graph.node, strict=True):
        assert report.ops[op].op == node.op_type
    # Built when drawn; the JSON carries it only when the analysis was asked for it (issue 16).
    assert "graph" not in json.loads(report.to_json())
    eager = analyzer.analyze(model, providers=("cuda", "cpu"), graph=True)
    assert json.loads(eager.to_json())["graph"] == graph


def test_large_flat_graphs_are_chunked_and_module_paths_grouped():
    flat = analyzer.analyze(chain_model(1000)).graph_payload()
    per_group: dict[int, int] = {}
    for _, _, group in flat["nodes"]:
        per_group[group] = per_group.get(group, 0) + 1
    assert max(per_group.values()) <= CHUNK and -1 not in per_group
    kids: dict[int, int] = {}
    for g in flat["groups"]:
        kids[g["parent"]] = kids.get(g["parent"], 0) + 1
    assert max(kids.values()) <= MAX_CHILDREN
    report = analyzer.analyze(chain_model(200, scoped=True))
    scoped = report.graph_payload()
    names = {g["name"] for g in scoped["groups"]}
    assert {"layers", "layers.0", "layers.3"} <= names  # /layers/layers.3/Relu_150 -> layers.3
    layer3 = next(i for i, g in enumerate(scoped["groups"]) if g["name"] == "layers.3")
    inside = [name for name, (_, _, group) in zip(_names(report, scoped), scoped["nodes"],
                                                   strict=True) if group == layer3]
    assert len(inside) == 50 and all(n.startswith("/layers/layers.3/") for n in inside)


def test_torch_preflight_reports_draw_without_edges():
    report = analyzer.analyze(problem_model())
    report.graph_source = None  # like a source-level pre-flight, which has no ONNX graph
    data = view_data(report)
    assert data["edges"] == [] and sorted(data["names"]) == sorted(
        n.name for n in problem_model().graph.node)


def test_cli_analyze_and_verify_write_html(tmp_path):
    model = tmp_path / "problems.onnx"
    onnx.save_model(problem_model(), model)
    out = tmp_path / "report.html"
    res = cli("analyze", str(model), "--providers", "cuda,cpu", "--format", "html", "-o",
              str(out))
    assert res.returncode == 1, res.stderr  # an unsupported node: the verdict fails
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "EP301" in text
    ok = tmp_path / "ok.onnx"
    onnx.save_model(parse("""<ir_version: 8, opset_import: ["" : 17]>
        g (float[2,3] x) => (float[2,3] y) { a = Relu(x)
        y = Sigmoid(a) }"""), ok)
    verified = tmp_path / "verify.html"
    res = cli("verify", str(ok), "--samples", "1", "--format", "html", "-o", str(verified))
    assert res.returncode == 0, res.stderr
    page = verified.read_text(encoding="utf-8")
    parity = page[page.index('<section id="parity">'):]
    parity = parity[:parity.index("</section>")]
    assert '<span class="pill pass">pass</span>' in parity  # the verdict of the parity run
    assert "<code>y</code>" in parity  # one row per output compared


def test_cli_rewrite_marks_inserted_nodes(tmp_path):
    src, out = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save_model(parse("""<ir_version: 8, opset_import: ["" : 14]>
        g (float[2,8] x) => (float[2,8] y) { h = HardSwish(x)
        y = Relu(h) }"""), src)
    res = cli("rewrite", str(src), "-o", str(out), "--format", "html")
    assert res.returncode == 0, res.stderr
    parser = PageTags()
    parser.feed(res.stdout)
    data = _island(parser)
    before = {n.name for n in onnx.load(src).graph.node}
    inserted = {n.name for n in onnx.load(out).graph.node} - before
    assert inserted
    marked = {name for name, code in zip(data["names"], data["status"], strict=True)
              if STATUSES[code] == "rewritten"}
    assert marked == inserted
    assert 'id="rewrite"' in res.stdout and "onnx:expand-function" in res.stdout


def test_dynamo_metadata_gives_module_groups_and_source_lines():
    """Nodes as torch.onnx's dynamo exporter writes them: name scopes and a stack trace."""
    model = chain_model(4)
    scopes = ["['', 'blocks', 'blocks.0', 'blocks.0.attn', 'linear']",
              "['', 'blocks', 'blocks.0', 'blocks.0.attn', 'view']",
              "['', 'blocks', 'blocks.0', 'blocks.0.mlp', 'gelu']",
              "['', 'head', 'linear_1']"]
    stack = ('File "/src/app/model.py", line 41, in forward\n    x = self.attn(x)\n'
             'File "/venv/lib/python3.11/site-packages/torch/nn/modules/linear.py", line 134, '
             "in forward\n    return F.linear(input, self.weight, self.bias)")
    for node, scope in zip(model.graph.node, scopes, strict=True):
        onnx.helper.set_metadata_props(node, {"pkg.torch.onnx.name_scopes": scope,
                                              "pkg.torch.onnx.stack_trace": stack})
    report = analyzer.analyze(model)
    graph = report.graph_payload()
    groups = [g["name"] for g in graph["groups"]]
    attn = groups.index("blocks.0.attn")
    assert [group for _, _, group in graph["nodes"][:2]] == [attn, attn]
    # one-node groups fold into their parent and keep the module name
    assert graph["nodes"][2][2] == groups.index("blocks.0")
    assert [2, "blocks.0.mlp"] in graph["modules"] and [3, "head"] in graph["modules"]
    assert graph["locations"] == [[i, "model.py:41"] for i in range(4)]
