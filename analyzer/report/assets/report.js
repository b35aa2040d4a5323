/* onnx-preflight HTML report: the interactive graph view.
 *
 * Data: the JSON in #preflight-graph-data (analyzer/report/html_graph.py builds it): per node its
 * name, op, module group, status and details; groups form a tree (module paths, subgraphs, and
 * chunks of long flat runs). Layout: dagre (vendored above this script), a layered DAG layout,
 * run only on what is visible: expanded groups show their members, collapsed ones are one box,
 * so a model of any size lays out a few hundred items at a time. Each layout is cached by the
 * set of expanded groups, so going back to an earlier view costs nothing.
 * Everything from the model reaches the page through textContent / setAttribute, never as HTML.
 */
(function () {
  "use strict";
  var holder = document.getElementById("preflight-graph-data");
  var host = document.getElementById("graph");
  if (!holder || !host) return;
  var D = JSON.parse(holder.textContent);
  var SVG = "http://www.w3.org/2000/svg"; // the SVG namespace name, not a resource
  var STATUS = D.statuses;
  var css = getComputedStyle(document.documentElement);
  var FILL = {}, LINE = {};
  STATUS.forEach(function (s) {
    FILL[s] = css.getPropertyValue("--" + s).trim();
    LINE[s] = css.getPropertyValue("--" + s + "-line").trim();
  });
  var RANK = { ok: 0, rewritten: 1, fallback: 2, unsupported: 3 };
  var SMALL = 200;    // a model this small opens fully expanded
  var BUDGET = 60;    // else: items shown when the page opens (an overview of groups)
  var EXPAND_ALL = 2000;  // most items "Expand all" opens
  var LIMIT = 6000;   // most items one view may hold (beyond it: expand a smaller group)
  var N = D.names.length, G = D.groups.length;

  // ---- the group tree -------------------------------------------------------------------
  var parent = new Int32Array(G), kids = [], members = [], total = new Int32Array(G);
  var counts = [], rootKids = [], rootMembers = [];
  for (var g = 0; g < G; g++) { parent[g] = D.groups[g][1]; kids.push([]); members.push([]); counts.push([0, 0, 0, 0]); }
  for (g = 0; g < G; g++) (parent[g] >= 0 ? kids[parent[g]] : rootKids).push(g);
  for (var n = 0; n < N; n++) {
    var grp = D.group[n];
    (grp >= 0 ? members[grp] : rootMembers).push(n);
    for (var a = grp; a >= 0; a = parent[a]) { total[a]++; counts[a][D.status[n]]++; }
  }
  function worst(g) {
    var c = counts[g];
    return c[1] ? "unsupported" : c[2] ? "fallback" : c[3] ? "rewritten" : "ok";
  }
  function problems(g) { return counts[g][1] + counts[g][2]; }
  // graph order of a group: its first node (ties in what opens first go to the earlier group)
  var firstNode = new Int32Array(G).fill(N);
  for (n = N - 1; n >= 0; n--) for (var f = D.group[n]; f >= 0; f = parent[f]) firstNode[f] = n;

  // findings by node name; producers and consumers per node (built once, on first use)
  var findingsOf = {};
  D.findings.forEach(function (f, i) {
    f.nodes.forEach(function (name) { (findingsOf[name] = findingsOf[name] || []).push(i); });
  });
  var ins = null, outs = null;
  function adjacency() {
    if (ins) return;
    ins = []; outs = [];
    for (var i = 0; i < N; i++) { ins.push([]); outs.push([]); }
    for (var e = 0; e < D.edges.length; e += 2) { outs[D.edges[e]].push(D.edges[e + 1]); ins[D.edges[e + 1]].push(D.edges[e]); }
  }

  // ---- which items are visible ------------------------------------------------------------
  var expanded = new Uint8Array(G);
  // Every change of what is open goes through here: the layouts that depend on it are redone.
  function setOpen(g, open) {
    if (expanded[g] === (open ? 1 : 0)) return;
    expanded[g] = open ? 1 : 0;
    markDirty(parent[g]);
  }
  var memo = new Int32Array(G);
  function resetMemo() { memo.fill(-2); }
  // The collapsed group box that stands for group g, or -1 when g and its ancestors are open.
  function rep(g) {
    if (g < 0) return -1;
    if (memo[g] !== -2) return memo[g];
    var up = rep(parent[g]);
    var r = up >= 0 ? up : (expanded[g] ? -1 : g);
    memo[g] = r;
    return r;
  }
  function itemsIfOpen(g) { return members[g].length + kids[g].length; }
  function visibleItems() {
    var c = 0;
    function walk(list, nodes) {
      c += nodes.length;
      list.forEach(function (g) { if (expanded[g]) walk(kids[g], members[g]); else c += 1; });
    }
    walk(rootKids, rootMembers);
    return c;
  }
  // Open groups breadth first, those holding problems first, while the view stays in budget.
  function openWithin(budget, from) {
    var count = visibleItems();
    var level = (from || rootKids).slice();
    while (level.length) {
      level.sort(function (x, y) { return problems(y) - problems(x) || firstNode[x] - firstNode[y]; });
      var next = [];
      for (var i = 0; i < level.length; i++) {
        var g = level[i];
        if (!expanded[g]) {
          var add = itemsIfOpen(g) - 1;
          if (count + add > budget) continue;
          setOpen(g, true); count += add;
        }
        next = next.concat(kids[g]);
      }
      level = next;
    }
  }

  // ---- layout (dagre), one small layout per open group, cached -----------------------------
  // Each open group is laid out on its own: its direct nodes and its subgroups (a collapsed one
  // is a box; an open one a node of the size of its own layout). So every dagre call sees at
  // most a few dozen items, opening a group lays out only that group and re-places its
  // ancestors, and a group's layout is kept until something inside it opens or closes.
  // An edge is drawn in the innermost group that holds both of its ends, between the items of
  // that group that contain them.
  var PAD = 10, HEAD = 22;
  var depth = new Int32Array(G);
  for (g = 0; g < G; g++) depth[g] = depthOf(g);
  var local = {}, dirty = {};
  function depthOf(g) { var d = 0; for (; g >= 0; g = parent[g]) d++; return d; }
  function markDirty(g) { for (; g >= 0; g = parent[g]) dirty[g] = 1; dirty[-1] = 1; }
  function textWidth(s, px) { return s.length * px * 0.6; }
  function short(s, max) { return s.length > max ? s.slice(0, max - 1) + "…" : s; }
  function boxWidth(g) { return Math.max(130, textWidth(short(D.groups[g][0], 34), 12) + 36); }
  function nodeWidth(n) {
    var op = D.ops[D.op[n]] ? D.ops[D.op[n]][0] : "?";
    return Math.max(86, textWidth(op, 12.5) + 22, textWidth(short(shortName(n), 26), 10.5) + 22);
  }
  function bucketEdges() {
    resetMemo();
    var buckets = {}, seen = {};
    for (var e = 0; e < D.edges.length; e += 2) {
      var s = D.edges[e], t = D.edges[e + 1];
      var rs = rep(D.group[s]), rt = rep(D.group[t]);
      var ka = rs >= 0 ? "g" + rs : "n" + s, kb = rt >= 0 ? "g" + rt : "n" + t;
      if (ka === kb) continue;
      var ca = rs >= 0 ? parent[rs] : D.group[s], cb = rt >= 0 ? parent[rt] : D.group[t];
      while (ca !== cb) {
        if ((ca < 0 ? 0 : depth[ca]) >= (cb < 0 ? 0 : depth[cb])) { ka = "g" + ca; ca = parent[ca]; }
        else { kb = "g" + cb; cb = parent[cb]; }
      }
      if (ka === kb) continue;
      var key = ca + ":" + ka + ">" + kb;
      if (seen[key]) continue;
      seen[key] = 1;
      (buckets[ca] = buckets[ca] || []).push([ka, kb]);
    }
    return buckets;
  }
  function layoutGroup(c, buckets) {
    if (local[c] && !dirty[c]) return local[c];
    var dg = new dagre.graphlib.Graph();
    dg.setGraph({ rankdir: "TB", nodesep: 16, ranksep: 30, edgesep: 6, marginx: 0, marginy: 0 });
    dg.setDefaultEdgeLabel(function () { return {}; });
    (c >= 0 ? members[c] : rootMembers).forEach(function (n) {
      dg.setNode("n" + n, { kind: "node", id: n, width: nodeWidth(n), height: 38 });
    });
    (c >= 0 ? kids[c] : rootKids).forEach(function (g) {
      if (expanded[g]) {
        var inner = layoutGroup(g, buckets);
        dg.setNode("g" + g, { kind: "cluster", id: g, width: Math.max(inner.width + 2 * PAD, boxWidth(g)),
                              height: inner.height + HEAD + PAD });
      } else {
        dg.setNode("g" + g, { kind: "box", id: g, width: boxWidth(g), height: 48 });
      }
    });
    var own = buckets[c] || [];
    own.forEach(function (ed) { dg.setEdge(ed[0], ed[1]); });
    var all = dg.nodes();
    if (!own.length && all.length > 3) {
      // No edges here (a source-level pre-flight, or unconnected parts): a grid, not one long
      // row, by hidden edges from each item to the one a row below it.
      var cols = Math.ceil(Math.sqrt(all.length));
      for (var k = 0; k + cols < all.length; k++) dg.setEdge(all[k], all[k + cols], { hidden: true });
    }
    dagre.layout(dg);
    var out = { items: [], edges: [], width: dg.graph().width || 0, height: dg.graph().height || 0 };
    dg.nodes().forEach(function (v) {
      var d = dg.node(v);
      out.items.push({ kind: d.kind, id: d.id, x: d.x, y: d.y, w: d.width, h: d.height });
    });
    dg.edges().forEach(function (ed) { if (!dg.edge(ed).hidden) out.edges.push(dg.edge(ed).points); });
    local[c] = out;
    dirty[c] = 0;
    return out;
  }
  // Absolute positions of everything visible: [items], [edge point lists], width, height.
  function layout() {
    var buckets = bucketEdges();
    var root = layoutGroup(-1, buckets);
    var M = 24, out = { items: [], edges: [], width: root.width + 2 * M, height: root.height + 2 * M, count: 0 };
    (function place(c, ox, oy) {
      var L = local[c];
      L.items.forEach(function (it) {
        var x = ox + it.x, y = oy + it.y;
        out.items.push({ kind: it.kind, id: it.id, x: x, y: y, w: it.w, h: it.h });
        if (it.kind === "cluster") place(it.id, x - it.w / 2 + (it.w - local[it.id].width) / 2, y - it.h / 2 + HEAD);
        else out.count++;
      });
      L.edges.forEach(function (pts) {
        out.edges.push(pts.map(function (q) { return { x: q.x + ox, y: q.y + oy }; }));
      });
    })(-1, M, M);
    return out;
  }

  // ---- drawing ------------------------------------------------------------------------------
  var svg = document.createElementNS(SVG, "svg");
  var defs = el("defs", {}, svg);
  var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" }, marker);
  var view = el("g", { "class": "viewport" }, svg);
  host.appendChild(svg);
  var note = document.createElement("div");
  note.className = "note";
  host.appendChild(note);
  var panel = document.getElementById("details");
  var current = null, selected = null, tx = 0, ty = 0, scale = 1;

  function el(tag, attrs, parentEl) {
    var x = document.createElementNS(SVG, tag);
    for (var k in attrs) x.setAttribute(k, attrs[k]);
    if (parentEl) parentEl.appendChild(x);
    return x;
  }
  function text(parentEl, x, y, s, cls) {
    var t = el("text", { x: x, y: y }, parentEl);
    if (cls) t.setAttribute("class", cls);
    t.textContent = s;
    return t;
  }
  function statusName(n) { return STATUS[D.status[n]]; }
  // The subtitle of a node box: its name, without the module path the group already shows.
  function shortName(n) {
    var s = D.names[n], cut = s.lastIndexOf("/");
    return /^[\w.:\-\/]+$/.test(s) && cut >= 0 && cut < s.length - 1 ? s.slice(cut + 1) : s;
  }

  function draw() {
    var t0 = performance.now();
    var L = layout();
    var t1 = performance.now();
    current = L;
    while (view.firstChild) view.removeChild(view.firstChild);
    var clusters = el("g", {}, view), edges = el("g", {}, view), items = el("g", {}, view);
    L.items.forEach(function (it) {
      var x0 = it.x - it.w / 2, y0 = it.y - it.h / 2;
      if (it.kind === "cluster") {
        var c = el("g", { "class": "cluster", "data-group": it.id }, clusters);
        el("rect", { "class": "frame", x: x0, y: y0, width: it.w, height: it.h, rx: 8 }, c);
        text(c, x0 + 8, y0 + 15, "▾ " + short(D.groups[it.id][0], Math.max(8, Math.floor(it.w / 7))), "head");
        var hit = el("rect", { "class": "head", x: x0, y: y0, width: it.w, height: HEAD - 2, fill: "transparent" }, c);
        hit.setAttribute("data-group", it.id);
        hit.appendChild(document.createElementNS(SVG, "title")).textContent = "collapse " + D.groups[it.id][0];
      } else if (it.kind === "box") {
        var w = worst(it.id);
        var b = el("g", { "class": "box", "data-group": it.id, "data-status": w, transform: "translate(" + x0 + "," + y0 + ")" }, items);
        el("rect", { "class": "frame", width: it.w, height: it.h, rx: 7, stroke: LINE[w] }, b);
        text(b, 10, 18, "▸ " + short(D.groups[it.id][0], 34));
        var c4 = counts[it.id], bx = 10, bw = it.w - 20;
        text(b, 10, 33, total[it.id] + " nodes" + (c4[1] ? " · " + c4[1] + " unsupported" : "") + (c4[2] ? " · " + c4[2] + " fallback" : ""), "sub");
        [1, 2, 3, 0].forEach(function (s) {
          if (!c4[s]) return;
          var sw = Math.max(2, bw * c4[s] / total[it.id]);
          el("rect", { x: bx, y: 39, width: sw, height: 4, fill: LINE[STATUS[s]] }, b);
          bx += sw;
        });
        b.appendChild(document.createElementNS(SVG, "title")).textContent = D.groups[it.id][0] + " (double-click to expand)";
      } else {
        var st = statusName(it.id);
        var nd = el("g", { "class": "node", "data-node": it.id, "data-status": st, transform: "translate(" + x0 + "," + y0 + ")" }, items);
        el("rect", { width: it.w, height: it.h, rx: 6, fill: FILL[st], stroke: LINE[st] }, nd);
        var op = D.ops[D.op[it.id]] ? D.ops[D.op[it.id]][0] : "?";
        var t1 = text(nd, 10, 16, op);
        t1.setAttribute("font-weight", "600");
        text(nd, 10, 30, short(shortName(it.id), 26), "sub");
        var fs = findingsOf[D.names[it.id]];
        if (fs) {  // a dot for findings on this node, in the colour of the worst severity
          var sev = fs.map(function (i) { return D.findings[i].severity; });
          var dot = sev.indexOf("error") >= 0 ? LINE.unsupported : sev.indexOf("warning") >= 0 ? LINE.fallback : "#8c959f";
          el("circle", { cx: it.w - 7, cy: 7, r: 3.5, fill: dot }, nd);
        }
        nd.appendChild(document.createElementNS(SVG, "title")).textContent = D.names[it.id];
        if (selected === it.id) nd.classList.add("selected");
      }
    });
    L.edges.forEach(function (p) {
      var d = "M" + p[0].x + "," + p[0].y;
      if (p.length === 2) d += " L" + p[1].x + "," + p[1].y;
      for (var i = 1; i + 1 < p.length; i++) {
        var mx = (p[i].x + p[i + 1].x) / 2, my = (p[i].y + p[i + 1].y) / 2;
        d += " Q" + p[i].x + "," + p[i].y + " " + (i + 2 === p.length ? p[i + 1].x + "," + p[i + 1].y : mx + "," + my);
      }
      el("path", { "class": "edge", d: d, "marker-end": "url(#arrow)" }, edges);
    });
    var shown = L.count, hidden = N - countVisibleNodes();
    note.textContent = shown + " items shown" + (hidden ? " · " + hidden + " of " + N + " nodes inside collapsed groups" : "") +
      (D.omitted ? " · " + D.omitted + " nodes beyond the report's limit not drawn" : "");
    host.setAttribute("data-visible-items", String(shown));
    host.setAttribute("data-layout-ms", String(Math.round(t1 - t0)));  // for the benchmark
    host.setAttribute("data-draw-ms", String(Math.round(performance.now() - t1)));
    apply();
  }
  function countVisibleNodes() {
    var c = 0;
    current.items.forEach(function (it) { if (it.kind === "node") c++; });
    return c;
  }
  function apply() { view.setAttribute("transform", "translate(" + tx + "," + ty + ") scale(" + scale + ")"); }
  function fit(topAlign) {
    var r = host.getBoundingClientRect();
    var W = current.width || 1, H = current.height || 1;
    scale = Math.min(1.2, r.width / W, topAlign ? Infinity : r.height / H);
    if (topAlign && scale < 0.55) scale = Math.min(0.55, 1.2);
    tx = (r.width - W * scale) / 2;
    ty = topAlign && H * scale > r.height ? 8 : (r.height - H * scale) / 2;
    if (W * scale > r.width) tx = 8;
    apply();
  }
  function centerOn(x, y) {
    var r = host.getBoundingClientRect();
    if (scale < 0.7) scale = 0.9;
    tx = r.width / 2 - x * scale; ty = r.height / 2 - y * scale;
    apply();
  }

  // ---- interaction: pan, zoom, select, expand -------------------------------------------------
  var drag = null;
  host.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, tx: tx, ty: ty, moved: false };
  });
  window.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    host.classList.add("panning");
    tx = drag.tx + dx; ty = drag.ty + dy; apply();
  });
  window.addEventListener("pointerup", function () {
    host.classList.remove("panning");
    setTimeout(function () { drag = null; }, 0);
  });
  host.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = host.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
    var f = Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.0015));
    var ns = Math.max(0.05, Math.min(4, scale * f));
    tx = mx - (mx - tx) * ns / scale; ty = my - (my - ty) * ns / scale; scale = ns; apply();
  }, { passive: false });
  function zoomBy(f) {
    var r = host.getBoundingClientRect(), mx = r.width / 2, my = r.height / 2, ns = Math.max(0.05, Math.min(4, scale * f));
    tx = mx - (mx - tx) * ns / scale; ty = my - (my - ty) * ns / scale; scale = ns; apply();
  }
  svg.addEventListener("click", function (ev) {
    if (drag && drag.moved) return;
    var t = ev.target.closest ? ev.target.closest("[data-node],[data-group]") : null;
    if (!t) return;
    if (t.hasAttribute("data-node")) select(+t.getAttribute("data-node"));
    else {
      var g = +t.getAttribute("data-group");
      if (expanded[g] && rep(g) === -1) { collapse(g); } else showGroup(g);
    }
  });
  svg.addEventListener("dblclick", function (ev) {
    var t = ev.target.closest ? ev.target.closest(".box") : null;
    if (t) expand(+t.getAttribute("data-group"));
  });
  function expand(g) {
    var add = itemsIfOpen(g) - 1;
    if (visibleItems() + add > LIMIT) { say("That group holds " + itemsIfOpen(g) + " items; collapse others first (limit " + LIMIT + ")."); return; }
    setOpen(g, true);
    openWithin(Math.min(LIMIT, visibleItems() + 40), kids[g]);
    draw();
    var it = find("g", g);
    if (it) centerOn(it.x, it.y - it.h / 2 + 120);
    showGroup(g);
  }
  function collapse(g) {
    setOpen(g, false);
    var stack = kids[g].slice();
    while (stack.length) { var k = stack.pop(); setOpen(k, false); stack = stack.concat(kids[k]); }
    draw();
    var it = find("g", g);
    if (it) centerOn(it.x, it.y);
    showGroup(g);
  }
  function find(kind, id) {
    for (var i = 0; i < current.items.length; i++) {
      var it = current.items[i];
      if (it.id === id && (kind === "g" ? it.kind !== "node" : it.kind === "node")) return it;
    }
    return null;
  }
  function say(msg) { note.textContent = msg; }

  // Show node n: open its groups, select it, bring it to the middle.
  function reveal(n) {
    var path = [];
    for (var g = D.group[n]; g >= 0; g = parent[g]) path.push(g);
    var changed = false;
    path.forEach(function (g) { if (!expanded[g]) { setOpen(g, true); changed = true; } });
    if (changed || !find("n", n)) draw();
    select(n);
    var it = find("n", n);
    if (it) centerOn(it.x, it.y);
  }

  // ---- the details panel ----------------------------------------------------------------------
  function clear() { while (panel.firstChild) panel.removeChild(panel.firstChild); }
  function add(tag, txt, cls, parentEl) {
    var x = document.createElement(tag);
    if (txt !== undefined && txt !== null) x.textContent = txt;
    if (cls) x.className = cls;
    (parentEl || panel).appendChild(x);
    return x;
  }
  function row(dl, k, v) {
    if (v === null || v === undefined || v === "") return;
    add("dt", k, null, dl);
    var dd = add("dd", null, null, dl);
    if (typeof v === "string") dd.textContent = v; else dd.appendChild(v);
  }
  function pill(s, cls) { var p = document.createElement("span"); p.className = "pill " + (cls || s); p.textContent = s; return p; }
  function nodeLink(m) {
    var a = document.createElement("a");
    a.textContent = (D.ops[D.op[m]] ? D.ops[D.op[m]][0] : "?") + " · " + D.names[m];
    a.addEventListener("click", function () { reveal(m); });
    return a;
  }
  function select(n) {
    selected = n;
    svg.querySelectorAll(".node.selected, .box.selected").forEach(function (x) { x.classList.remove("selected"); });
    var g = svg.querySelector('.node[data-node="' + n + '"]');
    if (g) g.classList.add("selected");
    clear();
    panel.setAttribute("data-node", String(n));
    var op = D.ops[D.op[n]] || ["?", ""];
    var det = D.detail[n] >= 0 ? D.details[D.detail[n]] : null;
    add("h3", op[0] + (op[1] ? " (" + op[1] + ")" : ""), "op");
    add("div", D.names[n], "mono name");
    var dl = add("dl");
    row(dl, "status", pill(statusName(n)));
    row(dl, "node", D.names[n]);
    row(dl, "op", op[0]);
    row(dl, "domain", op[1] || "ai.onnx");
    if (det) {
      row(dl, "version", det[0] === null ? "unknown" : "since opset " + det[0]);
      row(dl, "input types", det[1].length ? det[1].map(function (t) { return t || "(omitted)"; }).join(", ") : "");
      row(dl, "runs on", det[2] ? det[2] + (det[3] && det[3] !== "kernel" ? " (" + det[3] + ")" : "") : (det[3] === "source" ? "" : "no provider (" + det[3] + ")"));
      det[4].forEach(function (p) {
        var span = document.createElement("span");
        span.appendChild(pill(p[1] || "?"));
        if (p[2]) span.appendChild(document.createTextNode(" " + p[2]));
        row(dl, p[0].replace("ExecutionProvider", ""), span);
      });
      if (det[5] && det[5] !== "main") row(dl, det[3] === "source" ? "module" : "subgraph", det[5]);
    }
    var grp = D.group[n];
    row(dl, "group", D.module[n] || (grp >= 0 ? D.groups[grp][0] : ""));
    row(dl, "source", D.location[n] >= 0 ? D.locations[D.location[n]] : "unknown");
    var fs = findingsOf[D.names[n]] || [];
    add("h4", "Findings (" + fs.length + ")");
    if (!fs.length) add("div", "none for this node", "muted");
    fs.forEach(function (i) {
      var f = D.findings[i], box = add("div", null, "finding " + f.severity);
      var head = add("div", null, null, box);
      head.appendChild(pill(f.severity));
      head.appendChild(document.createTextNode(" " + f.id + (f.op ? " · " + f.op : "")));
      add("div", f.message, "msg", box);
      f.fixes.forEach(function (x) { add("div", x, "fix", box); });
    });
    adjacency();
    if (ins[n].length || outs[n].length) {
      add("h4", "Connections");
      var ul = add("ul");
      ins[n].slice(0, 30).forEach(function (m) { var li = add("li", "from ", null, ul); li.appendChild(nodeLink(m)); });
      outs[n].slice(0, 30).forEach(function (m) { var li = add("li", "to ", null, ul); li.appendChild(nodeLink(m)); });
    }
  }
  function showGroup(g) {
    selected = null;
    svg.querySelectorAll(".node.selected, .box.selected").forEach(function (x) { x.classList.remove("selected"); });
    var b = svg.querySelector('.box[data-group="' + g + '"]');
    if (b) b.classList.add("selected");
    clear();
    panel.removeAttribute("data-node");
    add("h3", D.groups[g][0]);
    add("div", D.groups[g][2] === "chunk" ? "a run of consecutive nodes" : D.groups[g][2] === "range" ? "a range of groups" : D.groups[g][2], "muted");
    var dl = add("dl");
    row(dl, "nodes", String(total[g]));
    STATUS.forEach(function (s, i) { if (counts[g][i]) row(dl, s, String(counts[g][i])); });
    var open = rep(g) === -1;
    var btn = add("button", open ? "Collapse" : "Expand");
    btn.addEventListener("click", function () { if (open) collapse(g); else expand(g); });
    var bad = [];
    (function walk(h) { members[h].forEach(function (m) { if (D.status[m] === 1 || D.status[m] === 2) bad.push(m); }); kids[h].forEach(walk); })(g);
    if (bad.length) {
      add("h4", "Nodes needing attention (" + bad.length + ")");
      var ul = add("ul");
      bad.slice(0, 50).forEach(function (m) { add("li", null, null, ul).appendChild(nodeLink(m)); });
    }
  }
  function intro() {
    clear();
    add("h3", "Graph");
    add("div", "Click a node for its op, version, types, provider, source location and findings. " +
      "Boxes are collapsed module groups: double-click (or click, then Expand) to open them; click a group's title to close it. " +
      "Drag to pan, wheel to zoom; search by node or op name above.", "muted");
    var bad = [];
    for (var i = 0; i < N && bad.length < 40; i++) if (D.status[i] === 1 || D.status[i] === 2) bad.push(i);
    if (bad.length) {
      add("h4", "Nodes needing attention");
      var ul = add("ul");
      bad.forEach(function (m) { var li = add("li", null, null, ul); li.appendChild(pill(statusName(m))); li.appendChild(document.createTextNode(" ")); li.appendChild(nodeLink(m)); });
    }
  }

  // ---- search -------------------------------------------------------------------------------
  var input = document.getElementById("graph-search"), results = document.getElementById("graph-results");
  function search(q) {
    while (results.firstChild) results.removeChild(results.firstChild);
    q = q.trim().toLowerCase();
    if (!q) { results.hidden = true; return; }
    var hits = [];
    for (var i = 0; i < N && hits.length < 60; i++) {
      var op = D.ops[D.op[i]] ? D.ops[D.op[i]][0] : "";
      if (D.names[i].toLowerCase().indexOf(q) >= 0 || op.toLowerCase().indexOf(q) >= 0) hits.push(i);
    }
    hits.forEach(function (m, k) {
      var div = document.createElement("div");
      div.textContent = (D.ops[D.op[m]] ? D.ops[D.op[m]][0] : "?") + " · " + D.names[m];
      div.setAttribute("data-node", String(m));
      if (k === 0) div.className = "active";
      div.addEventListener("mousedown", function (ev) { ev.preventDefault(); results.hidden = true; reveal(m); });
      results.appendChild(div);
    });
    if (!hits.length) { var none = document.createElement("div"); none.textContent = "no node or op matches"; results.appendChild(none); }
    results.hidden = false;
  }
  if (input) {
    input.addEventListener("input", function () { search(input.value); });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        var first = results.querySelector("[data-node]");
        if (first) { results.hidden = true; reveal(+first.getAttribute("data-node")); }
      } else if (ev.key === "Escape") { results.hidden = true; }
    });
    input.addEventListener("blur", function () { results.hidden = true; });
  }
  function on(id, fn) { var b = document.getElementById(id); if (b) b.addEventListener("click", fn); }
  on("graph-fit", function () { fit(false); });
  on("graph-zoom-in", function () { zoomBy(1.25); });
  on("graph-zoom-out", function () { zoomBy(0.8); });
  // "Expand all" opens up to EXPAND_ALL items (breadth first, problems first): on a big model
  // that is what stays readable; single groups can still be opened up to LIMIT.
  on("graph-expand", function () { openWithin(Math.max(EXPAND_ALL, visibleItems())); draw(); fit(true); });
  on("graph-collapse", function () { for (var g = 0; g < G; g++) setOpen(g, false); draw(); fit(false); });

  // ---- first view ---------------------------------------------------------------------------
  if (!N) {
    host.textContent = "";
    var empty = document.createElement("div");
    empty.className = "empty";
    empty.textContent = "This report has no graph nodes to draw.";
    host.appendChild(empty);
  } else {
    openWithin(N + G <= SMALL ? SMALL : BUDGET);
    draw();
    fit(true);
    intro();
    var hash = decodeURIComponent(location.hash.replace(/^#node=/, ""));
    if (location.hash.indexOf("#node=") === 0) {
      var idx = D.names.indexOf(hash);
      if (idx >= 0) reveal(idx);
    }
  }
  host.setAttribute("data-rendered", "1");
  document.documentElement.setAttribute("data-rendered-ms", String(Math.round(performance.now())));
})();

// The op table's "only ops with problems" switch.
(function () {
  "use strict";
  var box = document.getElementById("ops-problems");
  if (!box) return;
  box.addEventListener("change", function () {
    document.querySelectorAll("#ops-table tbody tr").forEach(function (tr) {
      tr.hidden = box.checked && tr.getAttribute("data-problem") !== "1";
    });
  });
})();
