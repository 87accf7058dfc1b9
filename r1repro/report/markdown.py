"""report.md: the summary, eval tables, small charts (PNG files next to it) and a few traces.

What: `run_markdown(run, charts, tables, problems, examples=4)` returns the Markdown text.
Why: for terminals and pull requests, where the HTML page cannot be opened inline.
How: table cells are HTML-escaped and pipes escaped (GitHub renders inline HTML); model output
appears only inside code fences longer than any backtick run it contains.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from r1repro.report import summary as S
from r1repro.report.curves import Chart
from r1repro.report.evaltable import Table, caption
from r1repro.report.highlight import visible
from r1repro.report.load import RunData
from r1repro.report.traces import TraceProblem

TRACE_CHARS = 1500


def cell(x: object) -> str:
    return html.escape(visible(str(x)), quote=False).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def fence(text: str, info: str = "text") -> str:
    text = visible(text)
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
    return f"{ticks}{info}\n{text}\n{ticks}\n"


def eval_md(t: Table) -> str:
    marks = {"good": " ✓", "bad": " ✗", "": ""}  # better / worse than the first row
    rows = [[label] + [c.text + (f" ({c.delta}{marks[c.tone]})" if c.delta else "") for c in cells]
            for label, cells in t.rows]
    out = f"### {cell(t.task)}\n\n" + md_table(["checkpoint", *t.headers], rows)
    names, counts = t.reasons
    if names:
        out += "\nGrader verdicts (samples):\n\n" + md_table(["", *names], [[lbl, *c] for lbl, c in counts])
    return out


def records_md(title: str, records: list[dict], limit: int = 10) -> str:
    keys = list(dict.fromkeys(k for x in records for k in x))
    more = f"\n({len(records) - limit} more)\n" if len(records) > limit else ""
    return f"**{cell(title)}**\n\n" + md_table(keys, [[S.show(x.get(k)) for k in keys] for x in records[:limit]]) + more


def card_md(card: dict) -> str:
    """Scalars as one table; every list of records (sources, examples, ...) as its own table."""
    scalars, tables = [], []
    for key, value in S.flatten(card).items():
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            tables.append(records_md(key, value))
        else:
            scalars.append((key, S.show(value)))
    out = (md_table(["", ""], scalars) if scalars else "") + "\n".join(["", *tables])
    return out if card else "No data card (data/card.json).\n"


def trace_md(p: TraceProblem) -> str:
    s = p.samples[-1]  # the latest: RL checkpoint if evaluated, else the last RL step shown
    where = f"{s['checkpoint']} checkpoint" if "checkpoint" in s else f"RL step {s.get('step')}"
    verdict = "correct" if s.get("correct") is True else "incorrect"
    text = str(s.get("completion", ""))
    answer = s.get("extracted") if s.get("extracted") is not None else "–"
    if len(text) > TRACE_CHARS:
        text = text[:TRACE_CHARS] + f"\n… ({len(text) - TRACE_CHARS} more characters)"
    return (f"#### {cell(p.problem_id)} ({cell(p.task)}), {where}, sample {cell(s.get('sample_idx', '–'))}\n\n"
            f"**{verdict}** ({cell(s.get('reason', '–'))}); answer `{cell(answer)}` vs gold "
            f"`{cell(s.get('gold'))}`; {cell(s.get('length', '–'))} tokens\n\n" + fence(text))


def run_markdown(run: RunData, charts: Sequence[Chart], tables: Sequence[Table],
                 problems: Sequence[TraceProblem], examples: int = 4) -> str:
    parts = [f"# r1repro report: {cell(run.name)}\n",
             "Open `index.html` next to this file for the full report and the trace browser.\n"]
    if run.missing:
        parts.append("**Missing or incomplete:**\n\n" + "".join(f"- {cell(n)}\n" for n in run.missing))
    headers, rows = S.headline(run)
    line = S.rl_curve_line(run)
    if rows or line:
        parts.append("## Results\n\n" + (md_table(headers, rows) if rows else "") + (f"\n{cell(line)}\n" if line else ""))
    parts.append("## Summary\n\n" + md_table(["", ""], S.overview(run) + S.key_config(run)))
    stages = S.stage_rows(run)
    if stages:
        parts.append("### Stages\n\n" + md_table(["stage", "status", "seconds", "started", "ended", "error"],
                                                  stages))
    if S.rl_timing(run):
        parts.append(md_table(["RL timing", ""], S.rl_timing(run)))
    if S.hardware(run) or S.versions(run):
        parts.append("### Hardware and versions\n\n" + md_table(["", ""], S.hardware(run) + S.versions(run)))
    parts.append("### Data card\n\n" + card_md(run.card))
    lines = caption(list(tables), "in parentheses after a value (✓ better, ✗ worse)")
    parts.append("## Evaluation\n\n" + ("".join(f"- {line}\n" for line in lines) + "\n"
                                        + "\n".join(eval_md(t) for t in tables) if tables
                                        else "No evaluation results.\n"))
    parts.append("## Training curves\n\n" + (" ".join(f"![{c.title}]({c.filename})" for c in charts) + "\n"
                                             if charts else "No curves.\n"))
    shown = [p for p in problems if p.samples][:examples]
    parts.append("## Example traces\n\n" + ("\n".join(trace_md(p) for p in shown) if shown
                                            else "No traces.\n"))
    return "\n".join(parts)
