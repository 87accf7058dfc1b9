"""HTML building blocks: escaping, tables, a generic JSON view, images, the page shell.

Every value that came from a file goes through `esc` (or highlight.mark_html for model text);
functions here return HTML strings whose dynamic parts are already escaped. The page shell
carries a Content-Security-Policy (assets.csp) that loads nothing external.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence

from r1repro.report import assets
from r1repro.report.curves import Chart
from r1repro.report.evaltable import Table
from r1repro.report.highlight import visible
from r1repro.report.summary import flatten, show


def esc(x: object) -> str:
    """HTML-escaped text with control characters made visible (highlight.visible)."""
    return html.escape(visible("" if x is None else str(x)), quote=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, raw: bool = False, cls: str = "") -> str:
    """A table; cells are escaped unless raw=True (then they must already be safe HTML)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


LIST_ROWS = 10  # rows shown of a list of records (e.g. dedupe examples) in the data card


def records_table(records: list[dict]) -> str:
    keys = list(dict.fromkeys(k for x in records for k in x))
    more = f'<p class="sub">… {len(records) - LIST_ROWS} more</p>' if len(records) > LIST_ROWS else ""
    return table(keys, [[show(x.get(k)) for k in keys] for x in records[:LIST_ROWS]]) + more


def card_html(card: dict) -> str:
    """The data card flattened: scalars in one two-column table, each list of records in its own below."""
    scalars, tables = [], []
    for key, value in flatten(card).items():
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            tables.append(f"<h4>{esc(key)}</h4>" + records_table(value))
        else:
            scalars.append((key, show(value)))
    left = table(["field", "value"], scalars) if scalars else ""
    # one column, full width, long values wrapping: side by side, a sha256 or a source's options
    # made a table wider than its half of the page
    return f'<div class="card">{left}{"".join(tables)}</div>'


def eval_table_html(t: Table) -> str:
    rows = []
    for label, cells in t.rows:
        tds = [f"<th>{esc(label)}</th>"]
        for c in cells:
            delta = f'<span class="delta {esc(c.tone)}">{esc(c.delta)}</span>' if c.delta else ""
            tds.append(f'<td class="num">{esc(c.text)}{delta}</td>')
        rows.append("<tr>" + "".join(tds) + "</tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h in ["", *t.headers])
    out = (f'<h3>{esc(t.task)}</h3><div class="scroll"><table><thead><tr>{head}</tr></thead>'
           f"<tbody>{''.join(rows)}</tbody></table></div>")
    names, counts = t.reasons
    if names:
        out += "<h4>grader verdicts (samples)</h4>" + table(["", *names], [[lbl, *c] for lbl, c in counts])
    return out


def img(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode()
    return (f'<figure><img alt="{esc(chart.title)}" title="{esc(chart.title)}" '
            f'src="data:image/png;base64,{data}"></figure>')


def charts_html(charts: Sequence[Chart], absent: Sequence[str]) -> str:
    out = f'<div class="grid">{"".join(img(c) for c in charts)}</div>' if charts else "<p>No curves.</p>"
    if absent:
        out += f'<p class="sub">Not logged: {esc("; ".join(absent))}.</p>'
    return out


def notes_html(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return f'<div class="notes"><b>Missing or incomplete</b><ul>{items}</ul></div>'


def page(title: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole document; sections are (anchor id, heading, safe HTML body)."""
    nav = "".join(f'<a href="#{esc(a)}">{esc(h)}</a>' for a, h, _ in sections if h)
    body = "".join(f'<section id="{esc(a)}">' + (f"<h2>{esc(h)}</h2>" if h else "") + f"{b}</section>"
                   for a, h, b in sections)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{esc(assets.csp())}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{assets.CSS}</style></head><body><main>"
            f"<h1>{esc(title)}</h1><nav>{nav}</nav>{body}</main>"
            f"<script>{assets.JS}</script></body></html>\n")
