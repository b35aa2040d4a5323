"""The ONNX analysis of the analyzer core: `analyze_onnx(model) -> Report`.

It knows nothing of rewrite rules: the rules sit in a layer above (rewrites), so the fixes that
name them are attached by the caller through `attach_fixes` (analyzer.workflows.onnx_preflight
passes the rule registry's). `analyzer.analyze` is that workflow."""

from __future__ import annotations

import contextlib
import gc
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import onnx

from analyzer.checks.host_checks import check_host
from analyzer.checks.placement import STATUS_RANK, Placement, predict_placement
from analyzer.checks.provider_checks import check_providers
from analyzer.checks.schema_checks import check_inference, check_schemas, check_structure
from analyzer.environment import TOOL_NAME, environment, tool_version
from analyzer.findings import SEVERITY_RANK, Finding
from analyzer.inventory import Inventory
from analyzer.limits import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_NODES,
    DEFAULT_MAX_SUBGRAPH_DEPTH,
    check_opset,
)
from analyzer.report.graph import GraphSource, build_graph
from analyzer.report.model import ModelInfo, NodeDetail, OpEntry, Report, Target, TensorInfo
from analyzer.sources.inference_guard import prepare_guarded
from analyzer.sources.onnx_inventory import build_inventory
from analyzer.sources.onnx_loader import load_onnx
from opsets.tables import SchemaTable, load_kernels, load_schemas, normalize_provider

#: attach_fixes(findings, inventory, target_opset): adds fixes to findings in place.
FixAttacher = Callable[[list[Finding], Inventory, "int | None"], None]


def analyze_onnx(
    model: str | os.PathLike[str] | onnx.ModelProto,
    opset: int | None = None,
    providers: Sequence[str] = ("CPUExecutionProvider",),
    *,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    max_subgraph_depth: int = DEFAULT_MAX_SUBGRAPH_DEPTH,
    attach_fixes: FixAttacher | None = None,
    strict: bool = False,
    graph: bool = False,
    graph_source: bool = True,
) -> Report:
    """Analyze an ONNX model against the ONNX schemas and ORT's kernels for `providers` (in
    priority order, "cpu"/"cuda" accepted). Raises InputError for input that cannot be read or
    that exceeds a limit (analyzer.limits; None lifts the file size or node count limit).
    `attach_fixes` adds the fixes of layers above the core (rewrite rules) to the findings.
    `strict` makes the ONNX-spec violations that onnxruntime tolerates errors (SCH204, SCH206),
    for pipelines whose other consumers validate with onnx.checker.
    The node graph of the HTML report is built when it is drawn (`Report.graph_payload()`);
    `graph=True` builds it now into `extras["graph"]`, so that the JSON carries it too;
    `graph_source=False` keeps nothing to draw it from (a caller that will not render HTML: the
    page would then group the nodes by op only)."""
    with collector_paused():
        return _analyze(model, opset, providers,
                        dict(max_file_bytes=max_file_bytes, max_nodes=max_nodes,
                             max_subgraph_depth=max_subgraph_depth), attach_fixes, strict,
                        graph, graph_source)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector for the block and restore its state after.

    The analysis builds millions of small acyclic objects; the collector would rescan the
    growing heap again and again (measured: 1.8 s of 5.3 s on 100k nodes) for nothing it could
    free. Nested uses are free: only the outermost one re-enables it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if not gc.get_freeze_count():
                # Everything the block made sits in the youngest generation, and the collector's
                # first pass after `enable` would scan all of it (0.15-0.2 s on 100k nodes) for
                # nothing: move it to the oldest generation in one step instead (freeze, then
                # unfreeze; skipped when the caller froze objects of its own).
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _analyze(
    model: str | os.PathLike[str] | onnx.ModelProto,
    opset: int | None,
    providers: Sequence[str],
    limits: dict[str, Any],
    attach_fixes: FixAttacher | None,
    strict: bool,
    graph: bool,
    graph_source: bool = True,
) -> Report:
    check_opset(opset)
    provider_names = [normalize_provider(p) for p in providers]
    loaded = load_onnx(model, **limits)
    schemas, kernels = load_schemas(), load_kernels()
    prepared = prepare_guarded(loaded.model, loaded.path, over_2gb=loaded.over_2gb,
                               isolate=loaded.inference_risk is not None)
    inventory = build_inventory(prepared, schemas)
    findings: list[Finding] = []
    findings += check_structure(
        loaded.model, str(loaded.path) if loaded.external_data and loaded.path else None,
        strict=strict,
    )
    findings += check_inference(prepared.inference_errors, strict=strict)
    findings += check_schemas(inventory, schemas, kernels, target_opset=opset)
    findings += check_host(inventory)
    placement = predict_placement(inventory, provider_names, schemas) if provider_names else None
    if placement is not None:
        findings += check_providers(placement, schemas)
    if attach_fixes is not None:
        attach_fixes(findings, inventory, opset)  # e.g. the rewrite rules that answer each one
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.id, f.op or ""))
    ops = _op_entries(inventory, placement, schemas, opset)
    extras: dict[str, Any] = {"loadable": placement.loadable} if placement else {}
    if strict:
        extras["strict"] = True
    # What the HTML graph is drawn from, when it is drawn.
    source = GraphSource.of(inventory) if graph_source or graph else None
    if graph and source is not None:
        extras["graph"] = build_graph(source, ops)  # nodes, module groups, edges
    return Report(
        tool={"name": TOOL_NAME, "version": tool_version()},
        environment=environment(),
        model=_model_info(loaded.path, inventory),
        target=Target(opset if opset is not None else inventory.opset_imports.get(""), None,
                      provider_names),
        ops=ops,
        findings=findings,
        placement={p: s.to_dict() for p, s in placement.summaries.items()} if placement else {},
        extras=extras,
        graph_source=source,
    )


def _model_info(path: object, inventory: Inventory) -> ModelInfo:
    return ModelInfo(
        path=str(path) if path is not None else None,
        format="onnx",
        ir_version=inventory.ir_version,
        opset_imports=inventory.opset_imports,
        nodes=len(inventory.nodes),
        parameters=inventory.parameters,
        inputs=[TensorInfo(n, t, s) for n, t, s in inventory.graph_inputs],
        outputs=[TensorInfo(n, t, s) for n, t, s in inventory.graph_outputs],
    )


def _onnx_status(
    schemas: SchemaTable, domain: str, op: str, opset: int | None
) -> dict[str, Any]:
    versions = schemas.versions(domain, op)
    if not versions:
        return {"status": "unknown_op", "since_version": None}
    resolved = schemas.resolve(domain, op, opset) if opset else None
    if resolved is None:
        return {"status": "needs_opset", "since_version": None,
                "min_opset": versions[0].since_version}
    status = "deprecated" if resolved.deprecated else "ok"
    return {"status": status, "since_version": resolved.since_version}


def _op_entries(
    inventory: Inventory, placement: Placement | None, schemas: SchemaTable, opset: int | None
) -> list[OpEntry]:
    by_key: dict[tuple[str, str], list[NodeDetail]] = defaultdict(list)
    nodes = placement.nodes if placement else None
    # Nodes with the same statuses share one dict: most nodes of a large model agree.
    shared: dict[tuple[tuple[str, str, str], ...], dict[str, dict[str, str]]] = {}
    by_id: dict[int, dict[str, dict[str, str]]] = {}  # placement shares statuses between nodes
    for i, record in enumerate(inventory.nodes):
        providers: dict[str, dict[str, str]] = {}
        assigned, how = None, "unchecked"
        if nodes is not None:
            np_ = nodes[i]
            statuses = np_.statuses
            providers = by_id.get(id(statuses), {})
            if not providers:
                sig = tuple((p, s.status, s.reason) for p, s in statuses.items())
                providers = shared.get(sig) or shared.setdefault(
                    sig, {p: {"status": st, "reason": r} for p, st, r in sig}
                )
                by_id[id(statuses)] = providers
            assigned, how = np_.provider, np_.how
        by_key[record.key].append(
            NodeDetail(record.name, record.since_version, list(record.input_types), record.graph,
                       providers, assigned, how)
        )
    entries = []
    for (domain, op), details in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        worst: dict[str, dict[str, str]] = {}
        for d in details:
            for p, st in d.providers.items():
                if p not in worst or STATUS_RANK[st["status"]] > STATUS_RANK[worst[p]["status"]]:
                    worst[p] = st
        domain_opset = inventory.opset_imports.get(domain)
        if domain == "" and opset is not None:
            domain_opset = opset
        entries.append(
            OpEntry(op=op, domain=domain, count=len(details),
                    onnx=_onnx_status(schemas, domain, op, domain_opset),
                    providers=worst, nodes=details)
        )
    return entries
