"""Evaluation tables: one per task, one row per evaluated checkpoint (or run x checkpoint).

What: `eval_table(task, rows)` turns summary.json files into a `Table` of formatted cells, each
with an optional delta against a baseline row; html.py and markdown.py only lay it out.
Why: one place decides which metrics are shown, how numbers are rounded and which direction
of change is good, so the HTML page and report.md never disagree.
How: columns are the metrics any row has, in COLUMN order (pass@k and maj@k for every k found);
fractions get 3 decimals, lengths 1; a delta is "good" or "bad" by the metric's direction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# (metric key, header, decimals, direction: +1 higher is better, -1 lower is better, 0 neutral)
FIXED = (
    ("accuracy", "accuracy", 3, 1),
    ("accuracy/flexible", "accuracy (flexible)", 3, 1),
    ("format/rate", "format rate", 3, 1),
    ("length/mean", "length (tokens)", 1, 0),
    ("length/truncated", "truncated", 3, -1),
    ("lang/mixed_share", "language mixing", 3, -1),
    ("reflection/per_trace", "reflections / trace", 2, 0),
)


@dataclass
class Cell:
    text: str
    delta: str = ""
    tone: str = ""   # "good" | "bad" | "" (neutral or no change)


@dataclass
class Table:
    task: str
    headers: list[str]
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)
    reasons: tuple[list[str], list[tuple[str, list[int]]]] = ((), ())
    """(reason names, [(row label, counts)]) from summary.json "reasons"."""


def fmt(v: object, decimals: int = 3) -> str:
    """A metric value as shown in every table: fixed decimals, "–" when absent."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "–"
    return f"{v:.{decimals}f}"


def _k_sorted(keys, prefix: str) -> list[str]:
    ks = [k for k in keys if re.fullmatch(rf"{prefix}@\d+", k) and k != "pass@1"]
    return sorted(ks, key=lambda k: int(k.split("@")[1]))


def columns(summaries: list[dict]) -> list[tuple[str, str, int, int]]:
    keys = {k for s in summaries for k in (s.get("metrics") or {})}
    cols = [c for c in FIXED[:2] if c[0] in keys]
    cols += [("pass@1", "pass@1 (95% CI)", 3, 1)] if "pass@1" in keys else []
    cols += [(k, k, 3, 1) for k in _k_sorted(keys, "pass") + _k_sorted(keys, "maj")]
    return cols + [c for c in FIXED[2:] if c[0] in keys]


def _cell(metrics: dict, base: dict | None, key: str, decimals: int, direction: int,
          change: dict | None = None) -> Cell:
    """The metric's value; with a baseline, its change, and the paired 95% CI of that change when the
    summary's `change` block (paired_change, from the eval stage) has one for this metric."""
    v = metrics.get(key)
    text = fmt(v, decimals)
    ci = metrics.get("pass@1/ci95")
    if key == "pass@1" and isinstance(ci, (list, tuple)) and len(ci) == 2 and text != "–":
        text += f" [{fmt(ci[0], decimals)}, {fmt(ci[1], decimals)}]"
    b = (base or {}).get(key)
    if text == "–" or base is None or fmt(b, decimals) == "–":
        return Cell(text)
    d = float(v) - float(b)
    if fmt(abs(d), decimals) == fmt(0.0, decimals):
        return Cell(text, f"±{fmt(0.0, decimals)}")
    tone = "" if direction == 0 else "good" if d * direction > 0 else "bad"
    ci = ((change or {}).get(key) or {}).get("ci95")
    paired = f" [{ci[0]:+.{decimals}f}, {ci[1]:+.{decimals}f}]" if isinstance(ci, list) and len(ci) == 2 else ""
    return Cell(text, f"{d:+.{decimals}f}{paired}", tone)


def eval_table(task: str, rows: list[tuple[str, dict, dict | None]], *, paired: bool = False) -> Table:
    """rows: (label, summary.json, baseline summary.json or None for no delta). paired: the rows are
    checkpoints of one run, so a summary's `change` block against the baseline's checkpoint applies."""
    cols = columns([s for _, s, _ in rows])
    table = Table(task, ["n", "k"] + [h for _, h, _, _ in cols])
    for label, s, base in rows:
        m, bm = s.get("metrics") or {}, (base or {}).get("metrics") if base is not None else None
        cells = [Cell(str(s.get("n", "–"))), Cell(str(s.get("k", "–")))]
        change = s.get("change") if paired and base is not None else None
        if (change or {}).get("from") != (base or {}).get("checkpoint"):
            change = None
        table.rows.append((label, cells + [_cell(m, bm, k, d, direc, change) for k, _, d, direc in cols]))
    names = sorted({r for _, s, _ in rows for r in (s.get("reasons") or {})})
    table.reasons = (names, [(label, [int((s.get("reasons") or {}).get(r, 0)) for r in names])
                             for label, s, _ in rows])
    return table


def caption(tables: list[Table], delta: str) -> list[str]:
    """What the tables' numbers are, one line per kind shown: an interval only where one is computed.
    `delta` says how the change from the first row is marked."""
    headers = {h for t in tables for h in t.headers}
    out = []
    if "accuracy" in headers:
        out.append("accuracy: the share of problems solved by greedy decoding (one completion each)")
    if "pass@1 (95% CI)" in headers:
        out.append("pass@1: the mean over the k samples of each problem, with its 95% bootstrap confidence "
                   "interval over problems in brackets; pass@k unbiased, maj@k a vote over the k answers")
    if tables:
        out.append(f"the change from the first row: {delta}")
    if any("[" in c.delta for t in tables for _, cells in t.rows for c in cells):
        out.append("a bracket after a change: its 95% paired bootstrap interval (the problems both rows "
                   "answered, resampled together)")
    return out


def run_tables(evals: dict[str, dict[str, dict]]) -> list[Table]:
    """One table per task; rows base / sft / rl with deltas against the first row."""
    tables = []
    for task in sorted(evals):
        items = list(evals[task].items())
        first = items[0][1]
        tables.append(eval_table(task, [(ckpt, s, None if i == 0 else first)
                                         for i, (ckpt, s) in enumerate(items)], paired=True))
    return tables
