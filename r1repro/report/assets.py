"""The page's inline CSS and JavaScript (no external scripts, fonts or stylesheets).

The script only filters the trace browser: it reads data-* attributes and text of elements the
report wrote, never builds HTML from strings, and attaches handlers with addEventListener, so the
Content-Security-Policy can allow this exact script by its sha256 and nothing else.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root{--fg:#1d2330;--mute:#5b6475;--line:#dde1e8;--bg:#f6f7f9;--ok:#127a3a;--bad:#b3261e;--acc:#2f5fb3}
*{box-sizing:border-box}[hidden]{display:none!important}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:var(--fg);background:var(--bg)}
main{max-width:1280px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);
 padding-bottom:4px}h3{font-size:15px;margin:14px 0 6px}h4{font-size:13px;margin:10px 0 4px;color:var(--mute)}
nav a{margin-right:14px;color:var(--acc);text-decoration:none}.sub{color:var(--mute)}
table{border-collapse:collapse;background:#fff;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}tbody th{white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.delta{font-size:11px;margin-left:4px;color:var(--mute)}.delta.good{color:var(--ok)}.delta.bad{color:var(--bad)}
.notes{background:#fff7e0;border:1px solid #f0d48a;padding:8px 12px;border-radius:6px}
.grid{display:flex;flex-wrap:wrap;gap:10px}.grid figure{margin:0;background:#fff;border:1px solid var(--line);
 border-radius:6px;padding:4px}.grid img{display:block;width:378px;height:auto}
.cols{display:flex;flex-wrap:wrap;gap:24px}.cols>div{flex:1 1 380px;min-width:0;overflow-x:auto}
.card table{width:100%}.card td{overflow-wrap:anywhere}.card td:first-child{width:30%}
.scroll{max-width:100%;overflow-x:auto}
pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;font:12.5px/1.45 ui-monospace,Menlo,Consolas,monospace}
pre.config{background:#fff;border:1px solid var(--line);padding:8px;max-height:420px;overflow:auto}
.filters{position:sticky;top:0;z-index:2;background:var(--bg);padding:8px 0;display:flex;flex-wrap:wrap;
 gap:8px;align-items:center;border-bottom:1px solid var(--line)}
.filters select,.filters input,.filters button{font:inherit;padding:3px 6px}
.problem{scroll-margin-top:56px;background:#fff;border:1px solid var(--line);border-radius:8px;padding:6px 14px 12px;margin:14px 0}
.traces{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:10px}
.traces.pair{grid-template-columns:repeat(2,minmax(0,1fr))}
.trace{border:1px solid var(--line);border-left:4px solid var(--mute);border-radius:6px;padding:6px 10px;
 min-width:0}.trace[data-verdict=correct]{border-left-color:var(--ok)}
.trace[data-verdict=incorrect]{border-left-color:var(--bad)}
.trace header{font-size:12px;color:var(--mute);display:flex;flex-wrap:wrap;gap:4px 10px;align-items:center}
.trace header b{color:var(--fg)}code{background:#eef1f5;padding:0 4px;border-radius:3px;font-size:12px}
.badge{color:#fff;border-radius:10px;padding:0 8px;font-weight:600;font-size:11px}
.badge.correct{background:var(--ok)}.badge.incorrect{background:var(--bad)}
details.think>pre{max-height:18em;overflow:auto;background:#fafbfc;border:1px solid #eceef2;padding:4px 6px}
details>summary{cursor:pointer;color:var(--mute);font-size:12px}
pre.answer{border-top:1px dashed var(--line);padding-top:4px}
mark.foreign{background:#ffd8a8;border-bottom:2px solid #e8590c}mark.reflect{background:#d0ebff}
.legend mark{padding:0 4px}
"""

JS = """
(function () {
  var $ = function (s) { return document.querySelector(s); };
  var traces = Array.prototype.slice.call(document.querySelectorAll('.trace'));
  var problems = Array.prototype.slice.call(document.querySelectorAll('.problem'));
  var ctl = {verdict: $('#f-verdict'), reason: $('#f-reason'), task: $('#f-task'),
             source: $('#f-source'), text: $('#f-text')};
  if (!ctl.verdict) { return; }
  function keep(el, f) {
    var d = el.dataset;
    if (f.verdict && d.verdict !== f.verdict) { return false; }
    if (f.reason && d.reason !== f.reason) { return false; }
    if (f.task && d.task !== f.task) { return false; }
    if (f.source && d.source !== f.source) { return false; }
    if (!f.text) { return true; }
    var prompt = el.closest('.problem').querySelector('.prompt');
    return (el.textContent + ' ' + (prompt ? prompt.textContent : '')).toLowerCase().indexOf(f.text) >= 0;
  }
  function apply() {
    var f = {verdict: ctl.verdict.value, reason: ctl.reason.value, task: ctl.task.value,
             source: ctl.source.value, text: ctl.text.value.trim().toLowerCase()};
    var shown = 0;
    traces.forEach(function (el) { var ok = keep(el, f); el.hidden = !ok; if (ok) { shown++; } });
    problems.forEach(function (p) { p.hidden = !p.querySelector('.trace:not([hidden])'); });
    $('#f-count').textContent = shown + ' of ' + traces.length + ' samples shown';
  }
  function setThink(open) {
    document.querySelectorAll('details.think').forEach(function (d) { d.open = open; });
  }
  Object.keys(ctl).forEach(function (k) {
    ctl[k].addEventListener('input', apply);
    ctl[k].addEventListener('change', apply);
  });
  $('#f-open').addEventListener('click', function () { setThink(true); });
  $('#f-close').addEventListener('click', function () { setThink(false); });
  apply();
})();
"""


def csp(script: str = JS) -> str:
    """A policy that loads nothing from outside and runs only this exact inline script."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
