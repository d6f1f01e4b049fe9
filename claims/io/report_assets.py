"""The narrative report's inline style sheet and script (kept apart from the markup that uses them).

The script only enhances: a details panel filled from the ``<template>`` of the claim pointed at,
highlighting of a claim with the claims it shares a proposition with, and topic filters. It marks
``<html data-enhanced="yes">`` once it has run, which the browser test checks.
"""

from __future__ import annotations

STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d0d7de; --soft: #f6f8fa; --accent: #c62828; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1500px; padding: 24px 28px 48px; color: var(--ink); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header h1 { margin: 0 0 4px; font-size: 26px; letter-spacing: -0.01em; }
header .scope { margin: 0; color: var(--muted); }
header .counts { margin: 2px 0 0; font-weight: 600; }
h2 { font-size: 18px; margin: 28px 0 10px; }
code { font: 12.5px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
a { color: #0b5cad; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 16px 0 12px; padding: 10px 14px;
  border: 1px solid var(--line); border-radius: 8px; background: var(--soft); font-size: 13px; }
.legend ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 16px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.legend .topics li { padding: 1px 6px; border-radius: 12px; }
.legend .swatch { width: 12px; height: 12px; border-radius: 50%; display: inline-block; }
.legend .keys svg { flex: none; }
html[data-enhanced] .legend .topics li { cursor: pointer; user-select: none; }
html[data-enhanced] .legend .topics li:hover { background: #e8ebef; }
.legend .topics li.off { opacity: 0.4; text-decoration: line-through; }
.board { display: grid; grid-template-columns: minmax(0, 1fr) 320px; gap: 18px; align-items: start; }
figure { margin: 0; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
svg.chart { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 6px; }
svg .mark { cursor: pointer; outline: none; }
svg .mark .dot { transition: stroke-width 0.1s; }
svg .mark:hover .dot, svg .mark:focus .dot { stroke: #111; stroke-width: 3; }
svg .contradiction { opacity: 0.85; }
svg .contradiction:hover { opacity: 1; stroke-width: 3.5; }
svg.focus .mark, svg.focus .contradiction, svg.focus .life { opacity: 0.18; }
svg.focus .mark.hl, svg.focus .contradiction.hl { opacity: 1; }
svg.focus .contradiction.hl { stroke-width: 3.5; }
svg .off { display: none; }
.panel { position: sticky; top: 12px; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px;
  background: #fff; font-size: 14px; min-height: 160px; max-height: calc(100vh - 24px); overflow: auto; }
.panel .hint { color: var(--muted); margin: 0; }
.card h3 { font-size: 15.5px; margin: 4px 0 8px; line-height: 1.35; }
.card .party { margin: 0; color: var(--muted); font-size: 12.5px; text-transform: uppercase; letter-spacing: 0.04em; }
.card blockquote { margin: 0 0 10px; padding: 4px 10px; border-left: 3px solid var(--line); font-style: italic; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: 4px 10px; margin: 0; }
.card dt { color: var(--muted); font-size: 12.5px; padding-top: 1px; }
.card dd { margin: 0; }
.card .more { margin: 10px 0 0; font-size: 12.5px; color: var(--muted); }
.card.retracted h3 { text-decoration: line-through; text-decoration-thickness: 1px; }
ol.contested { margin: 0; padding-left: 22px; }
ol.contested > li { margin: 0 0 10px; }
ol.contested .sides { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 24px; margin-top: 2px; font-size: 14px; }
ol.contested .sides ul { margin: 0; padding-left: 18px; }
ol.contested a { color: inherit; text-decoration: none; border-bottom: 1px dotted #8a8f98; }
ol.contested a:hover { color: #0b5cad; }
ol.contested .side { font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: 0.05em; }
ol.contested .affirms .side { color: #1b6e3c; }
ol.contested .denies .side { color: var(--accent); }
table.claims { border-collapse: collapse; width: 100%; font-size: 13.5px; }
table.claims th, table.claims td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: top;
  text-align: left; }
table.claims th { background: var(--soft); position: sticky; top: 0; font-size: 12.5px; }
table.claims td.said { white-space: nowrap; }
table.claims td.text { min-width: 280px; }
table.claims code.id { color: var(--muted); font-size: 11.5px; }
table.claims tr.retracted .words { text-decoration: line-through; text-decoration-thickness: 1px; }
table.claims tr.group th { background: #eef1f5; font-size: 14px; padding-top: 10px; }
table.claims tr.group small { color: var(--muted); font-weight: 400; }
table.claims .stance { font-size: 12.5px; color: var(--muted); }
table.claims tr:target, table.claims tr.hl { background: #fff6d6; }
table.claims tr.off { display: none; }
footer { margin-top: 28px; color: var(--muted); font-size: 12.5px; }
@media (max-width: 1100px) { .board { grid-template-columns: 1fr; } .panel { position: static; } }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .board { display: block; }
  .panel, figcaption { display: none; }
  .scroll { overflow: visible; border: none; }
  svg.chart { width: 100%; height: auto; break-inside: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

SCRIPT = """
(function () {
  "use strict";
  var root = document.documentElement;
  var chart = document.querySelector("svg.chart");
  var body = document.getElementById("panel-body");
  if (!chart || !body) { return; }
  var hint = body.innerHTML;
  var pinned = null;

  function each(selector, action) { Array.prototype.forEach.call(document.querySelectorAll(selector), action); }
  function clear() {
    chart.classList.remove("focus");
    each(".hl", function (el) { el.classList.remove("hl"); });
  }
  function highlight(ids, proposition) {
    clear();
    chart.classList.add("focus");
    each("svg.chart .mark", function (el) {
      if (ids.indexOf(el.dataset.claim) >= 0 || (proposition && el.dataset.proposition === proposition)) {
        el.classList.add("hl");
      }
    });
    each("svg.chart .contradiction", function (el) {
      if (ids.indexOf(el.dataset.affirms) >= 0 || ids.indexOf(el.dataset.denies) >= 0) { el.classList.add("hl"); }
    });
    each("table.claims tr[data-claim]", function (el) {
      if (ids.indexOf(el.dataset.claim) >= 0) { el.classList.add("hl"); }
    });
  }
  function show(id) {
    var template = document.getElementById("detail-" + id);
    if (!template) { return; }
    body.replaceChildren(template.content.cloneNode(true));
    var mark = chart.querySelector(".mark.asserted[data-claim='" + CSS.escape(id) + "']");
    highlight([id], mark ? mark.dataset.proposition : "");
  }
  function reset() {
    if (pinned) { show(pinned); return; }
    clear();
    body.innerHTML = hint;
  }

  each("svg.chart .mark", function (mark) {
    var id = mark.dataset.claim;
    mark.setAttribute("tabindex", "0");
    mark.addEventListener("mouseenter", function () { if (!pinned) { show(id); } });
    mark.addEventListener("focus", function () { if (!pinned) { show(id); } });
    mark.addEventListener("mouseleave", reset);
    mark.addEventListener("blur", reset);
    mark.addEventListener("click", function (event) {
      event.preventDefault();
      pinned = pinned === id ? null : id;
      if (pinned) { show(id); } else { reset(); }
    });
  });
  each("svg.chart .contradiction", function (line) {
    line.addEventListener("mouseenter", function () {
      if (!pinned) { highlight([line.dataset.affirms, line.dataset.denies], line.dataset.proposition); }
    });
    line.addEventListener("mouseleave", reset);
  });
  each("table.claims tr[data-claim]", function (row) {
    row.addEventListener("mouseenter", function () { if (!pinned) { highlight([row.dataset.claim], ""); } });
    row.addEventListener("mouseleave", reset);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { pinned = null; reset(); }
  });

  each(".legend .topics li", function (chip) {
    chip.setAttribute("role", "button");
    chip.setAttribute("tabindex", "0");
    chip.setAttribute("aria-pressed", "true");
    chip.title = "Show or hide this topic";
    function toggle() {
      var off = chip.classList.toggle("off");
      chip.setAttribute("aria-pressed", off ? "false" : "true");
      var topic = chip.dataset.topic;
      each("[data-topic]", function (el) {
        if (el !== chip && el.dataset.topic === topic) { el.classList.toggle("off", off); }
      });
      var hidden = {};
      each("svg.chart .mark.asserted.off", function (el) { hidden[el.dataset.claim] = true; });
      each("svg.chart .contradiction", function (el) {
        el.classList.toggle("off", !!(hidden[el.dataset.affirms] || hidden[el.dataset.denies]));
      });
    }
    chip.addEventListener("click", toggle);
    chip.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); }
    });
  });
  root.dataset.enhanced = "yes";
})();
"""
