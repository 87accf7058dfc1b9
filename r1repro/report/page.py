"""The HTML page of one run: summary, curves, evaluation tables, trace browser.

`run_page(run, charts, absent, tables, problems)` only arranges sections; numbers come from
summary.py and evaltable.py, traces from traces.py, escaping from html.py / highlight.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from r1repro.report import summary as S
from r1repro.report.browser import browser_html
from r1repro.report.curves import Chart
from r1repro.report.evaltable import Table, caption
from r1repro.report.html import card_html, charts_html, esc, eval_table_html, notes_html, page, table
from r1repro.report.load import RunData
from r1repro.report.traces import TraceProblem


def kv(rows: Sequence[tuple[str, str]], empty: str = "not recorded") -> str:
    return table(["", ""], rows).replace("<thead><tr><th></th><th></th></tr></thead>", "") if rows \
        else f'<p class="sub">{esc(empty)}</p>'


def summary_html(run: RunData) -> str:
    stages = S.stage_rows(run)
    left = "<h3>Run</h3>" + kv(S.overview(run)) + "<h3>Recipe</h3>" + kv(S.key_config(run), "no config.yaml")
    right = ("<h3>Stages and timings</h3>"
             + (table(["stage", "status", "seconds", "started", "ended", "error"], stages) if stages
                else '<p class="sub">no stages recorded</p>')
             + kv(S.rl_timing(run), "no RL timings logged")
             + "<h3>Hardware</h3>" + kv(S.hardware(run)) + "<h3>Versions</h3>" + kv(S.versions(run)))
    card = card_html(run.card) if run.card else '<p class="sub">no data card (data/card.json)</p>'
    config = (f'<details><summary>resolved config (config.yaml)</summary><pre class="config">'
              f"{esc(run.config_text)}</pre></details>" if run.config_text else "")
    headers, rows = S.headline(run)
    line = S.rl_curve_line(run)
    results = ("<h3>Results</h3>" + (table(headers, rows) if rows else "")
               + (f"<p>{esc(line)}</p>" if line else "")) if rows or line else ""
    count = S.flatten(run.card).get("train.count")
    what = f"Data card ({count} training problems)" if count is not None else "Data card"
    return (notes_html(run.missing) + results + f'<div class="cols"><div>{left}</div><div>{right}</div></div>'
            + f"<details><summary>{esc(what)}</summary>{card}</details>" + config)


def evals_html(tables: Sequence[Table]) -> str:
    if not tables:
        return '<p class="sub">This run has no evaluation results.</p>'
    lines = caption(list(tables), "the small number after a value (green: better, red: worse)")
    note = '<ul class="sub caption">' + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>"
    return note + "".join(eval_table_html(t) for t in tables)


def run_page(run: RunData, charts: Sequence[Chart], absent: Sequence[str], tables: Sequence[Table],
             problems: Sequence[TraceProblem]) -> str:
    target = S.target_script(run)
    return page(f"r1repro report: {run.name}", [
        ("summary", "Summary", summary_html(run)),
        ("curves", "Training curves", charts_html(charts, absent)),
        ("eval", "Evaluation", evals_html(tables)),
        ("traces", "Reasoning traces", browser_html(problems, target)),
    ])
