/* onnx-preflight scan index (index.html): the heat map, its filters and the cell details.
 *
 * Data: the JSON in #scan-data (analyzer/report/scan_index.py builds it): sources, columns, one
 * row of cell indices per source (-1: no cell), cells as short records (k key, v verdict, h report
 * link, b blocking finding indices, mo model opset, d seconds, p placement rows [provider index,
 * nodes, own kernel, fallback, no kernel], pr provider indices; only when set: lw lowest working
 * opset, c cached, e error), the findings and the provider names, each stored once.
 * The table is built once into a DocumentFragment; filters only toggle rows' `hidden`.
 * Everything from the data reaches the page through textContent / setAttribute, never as HTML.
 */
(function () {
  "use strict";
  var holder = document.getElementById("scan-data");
  var table = document.getElementById("heat");
  var details = document.getElementById("cell-details");
  if (!holder || !table || !details) return;
  var D = JSON.parse(holder.textContent);
  var N = D.sources.length;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // ---- the table ------------------------------------------------------------------------
  var head = el("tr");
  var corner = el("th", "src", "source");
  head.appendChild(corner);
  head.appendChild(el("th", "", "kind"));
  D.columns.forEach(function (c) {  // two lines: the opset (or "as is"), then the exporter
    var th = el("th", "col");
    th.title = c.label;
    th.appendChild(el("span", "", c.opset === null ? "as is" : "opset " + c.opset));
    if (c.exporter) th.appendChild(el("span", "exp", c.exporter));
    head.appendChild(th);
  });
  table.tHead.appendChild(head);

  var rowEls = new Array(N), rowVerdicts = new Array(N), haystack = new Array(N);
  var frag = document.createDocumentFragment();
  for (var i = 0; i < N; i++) {
    var s = D.sources[i];
    var tr = el("tr");
    tr.setAttribute("data-row", String(i));
    var th = el("th", "src", s.id);
    th.scope = "row";
    th.title = s.location ? s.id + "\n" + s.location : s.id;
    s.tags.forEach(function (t) { th.appendChild(el("span", "tag", t)); });
    tr.appendChild(th);
    tr.appendChild(el("td", "kind", s.kind));
    var verdicts = {};
    var row = D.rows[i];
    for (var col = 0; col < row.length; col++) {
      var ci = row[col];
      var td;
      if (ci < 0) {
        td = el("td", "none", "\u2013");
      } else {
        var c = D.cells[ci];
        verdicts[c.v] = true;
        td = el("td", "cell v-" + c.v);
        td.setAttribute("data-verdict", c.v);
        var link = el(c.h ? "a" : "span");
        if (c.h) link.setAttribute("href", c.h); else link.tabIndex = 0;
        link.setAttribute("data-cell", String(ci));
        link.textContent = c.v;
        if (D.columns[col].opset === null && c.mo !== null && c.mo !== undefined) {
          link.appendChild(el("span", "n", " \u00b7 " + c.mo));
        }
        td.appendChild(link);
      }
      tr.appendChild(td);
    }
    rowEls[i] = tr;
    rowVerdicts[i] = verdicts;
    haystack[i] = (s.id + "\n" + s.location).toLowerCase();
    frag.appendChild(tr);
  }
  table.tBodies[0].appendChild(frag);

  // ---- filters --------------------------------------------------------------------------
  var search = document.getElementById("scan-search");
  var kind = document.getElementById("scan-kind");
  var tag = document.getElementById("scan-tag");
  var shownEl = document.getElementById("scan-shown");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("#legend input[data-verdict]"));

  function apply() {
    var q = search.value.trim().toLowerCase(), k = kind.value, t = tag.value;
    var on = {}, all = true;
    boxes.forEach(function (b) { on[b.getAttribute("data-verdict")] = b.checked; all = all && b.checked; });
    var shown = 0;
    for (var r = 0; r < N; r++) {
      var src = D.sources[r], vs = rowVerdicts[r], any = all;
      if (!any) for (var v in vs) if (on[v]) { any = true; break; }
      var ok = any && (!q || haystack[r].indexOf(q) >= 0) && (!k || src.kind === k) &&
               (!t || src.tags.indexOf(t) >= 0);
      rowEls[r].hidden = !ok;
      if (ok) shown++;
    }
    shownEl.textContent = shown + " of " + N + " sources shown";
  }
  search.addEventListener("input", apply);
  kind.addEventListener("change", apply);
  tag.addEventListener("change", apply);
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  apply();

  // ---- cell details (hover, focus, click) -----------------------------------------------
  var active = null;
  function item(dl, key, value) {
    if (value === null || value === undefined || value === "") return;
    dl.appendChild(el("dt", "", key));
    dl.appendChild(el("dd", "", value));
  }

  function show(ci) {
    var c = D.cells[ci];
    var cellEl = table.querySelector('[data-cell="' + ci + '"]');
    var td = cellEl ? cellEl.parentNode : null;
    if (active) active.classList.remove("active");
    active = td;
    if (td) td.classList.add("active");
    var r = td ? Number(td.parentNode.getAttribute("data-row")) : -1;
    var col = td ? Array.prototype.indexOf.call(td.parentNode.children, td) - 2 : -1;
    details.textContent = "";
    details.setAttribute("data-cell", String(ci));
    details.appendChild(el("h3", "", r >= 0 ? D.sources[r].id : c.k));
    var dl = el("dl");
    item(dl, "column", col >= 0 ? D.columns[col].label : "");
    item(dl, "verdict", c.v);
    item(dl, "model opset", c.mo);
    item(dl, "lowest working", c.lw);
    item(dl, "providers", c.pr.map(function (p) { return D.providers[p]; }).join(", "));
    item(dl, "time", typeof c.d === "number" ? c.d.toFixed(2) + " s" + (c.c ? " (cached)" : "") : "");
    item(dl, "error", c.e);
    item(dl, "cell", c.k);
    details.appendChild(dl);
    if (c.h) {
      var a = el("a", "", "open this cell's report");
      a.setAttribute("href", c.h);
      details.appendChild(a);
    }
    details.appendChild(el("h4", "", c.b.length ? "Blocking findings (" + c.b.length + ")" : "No blocking findings"));
    c.b.forEach(function (fi) {
      var f = D.findings[fi]; // [id, severity, op, domain, provider, message]
      var box = el("div", "finding " + (f[1] || ""));
      box.appendChild(el("strong", "", f[0]));
      var meta = [f[1], f[2] ? "op " + f[2] + (f[3] ? " (" + f[3] + ")" : "") : "", f[4] ? "on " + f[4] : ""]
        .filter(Boolean).join(" \u00b7 ");
      if (meta) box.appendChild(el("div", "meta", meta));
      box.appendChild(el("div", "msg", f[5]));
      details.appendChild(box);
    });
    if (c.p.length) {
      var t = el("table");
      var hr = el("tr");
      ["provider"].concat(D.placement_keys).forEach(function (k) { hr.appendChild(el("th", "", k.replace("_", " "))); });
      t.appendChild(hr);
      c.p.forEach(function (counts) {
        var pr = el("tr"), name = D.providers[counts[0]];
        pr.appendChild(el("td", "", name.replace(/ExecutionProvider$/, "") || name));
        counts.slice(1).forEach(function (n) { pr.appendChild(el("td", "num", n)); });
        t.appendChild(pr);
      });
      details.appendChild(el("h4", "", "Predicted placement"));
      details.appendChild(t);
    }
  }

  function cellOf(event) {
    var t = event.target;
    var e = t && t.closest ? t.closest("[data-cell]") : null;
    return e && table.contains(e) ? Number(e.getAttribute("data-cell")) : -1;
  }
  table.addEventListener("mouseover", function (e) { var ci = cellOf(e); if (ci >= 0) show(ci); });
  table.addEventListener("focusin", function (e) { var ci = cellOf(e); if (ci >= 0) show(ci); });
  table.addEventListener("click", function (e) { var ci = cellOf(e); if (ci >= 0) show(ci); });
  table.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { var ci = cellOf(e); if (ci >= 0) show(ci); }
  });
  details.textContent = "";
  details.appendChild(el("p", "muted", "Hover, focus or click a cell for its blocking findings."));

  document.documentElement.setAttribute("data-rendered-ms", String(Math.round(performance.now())));
})();
