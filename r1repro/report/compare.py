"""render_comparison: several runs side by side, the way the algorithm study is read.

What: out_dir/{index.html, report.md, *.png} with (1) the config keys that differ between runs,
(2) seed groups: runs whose configs differ only in seed (and name) are one group, with mean ± std
over seeds of the final eval pass@1 per task, (3) curves overlaid (one line per run), (4) eval
tables joined (rows run / checkpoint, deltas against the first run's same checkpoint).
Why: an algorithm study (rl.advantage x rl.loss x seed) is judged on seed-averaged final accuracy.
How: "final" is the latest checkpoint each run evaluated (rl, else sft, else base); pass@1 falls
back to accuracy; std is the sample std (n - 1), shown as "–" for a single seed.

    from r1repro.report import render_comparison
    render_comparison([Path("runs/a"), Path("runs/b")], Path("runs/compare"))
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from r1repro.report.curves import overlay_charts
from r1repro.report.evaltable import Table, eval_table, fmt
from r1repro.report.html import charts_html, eval_table_html, notes_html, page, table
from r1repro.report.load import CHECKPOINTS, RunData, load_run
from r1repro.report.markdown import eval_md, md_table
from r1repro.report.render import write_files
from r1repro.report.summary import flatten, show

IGNORED = ("name", "runs_dir")   # differ between every pair of runs, say nothing about the recipe
SEED = "seed"
EVAL_NOTE = ('<p class="sub">Rows are run / checkpoint; the small number after a value is its change from '
             "the first run's same checkpoint (green: better, red: worse).</p>")


def differing_keys(runs: Sequence[RunData]) -> list[str]:
    flats = [flatten(r.config) for r in runs]
    keys = sorted({k for f in flats for k in f})
    return [k for k in keys if k not in IGNORED and len({show(f.get(k)) for f in flats}) > 1]


def final_score(run: RunData, task: str) -> float | None:
    """pass@1 (else accuracy) of the latest checkpoint evaluated on `task`."""
    by_ckpt = run.evals.get(task, {})
    for ckpt in reversed(CHECKPOINTS):
        m = (by_ckpt.get(ckpt) or {}).get("metrics") or {}
        v = m.get("pass@1", m.get("accuracy"))
        if isinstance(v, (int, float)):
            return float(v)
    return None


def seed_groups(runs: Sequence[RunData]) -> list[tuple[str, list[RunData]]]:
    """(label, runs) for runs sharing every differing config value except the seed."""
    keys = [k for k in differing_keys(runs) if k != SEED and not k.endswith("." + SEED)]
    groups: dict[tuple, list[RunData]] = {}
    for r in runs:
        flat = flatten(r.config)
        groups.setdefault(tuple(show(flat.get(k)) for k in keys), []).append(r)
    return [(", ".join(f"{k}={v}" for k, v in zip(keys, values)) or "same config", members)
            for values, members in groups.items()]


def mean_std(values: Sequence[float]) -> str:
    if not values:
        return "–"
    std = fmt(statistics.stdev(values)) if len(values) > 1 else "–"
    return f"{fmt(statistics.fmean(values))} ± {std}"


def group_rows(runs: Sequence[RunData], tasks: Sequence[str]) -> list[list[str]]:
    rows = []
    for label, members in seed_groups(runs):
        seeds = ", ".join(show(r.manifest.get("seed", r.config.get("seed"))) for r in members)
        scores = [[s for r in members if (s := final_score(r, t)) is not None] for t in tasks]
        rows.append([label, str(len(members)), seeds] + [f"{mean_std(v)} (n={len(v)})" for v in scores])
    return rows


def joined_tables(runs: Sequence[RunData], tasks: Sequence[str]) -> list[Table]:
    tables = []
    for task in tasks:
        first = next((r.evals[task] for r in runs if task in r.evals), {})
        rows = [(f"{r.name} / {ckpt}", s, None if r.evals.get(task) is first else first.get(ckpt))
                for r in runs for ckpt, s in r.evals.get(task, {}).items()]
        tables.append(eval_table(task, rows))
    return tables


def _unique_names(runs: list[RunData]) -> list[RunData]:
    """Label runs by manifest name; a name shared by several runs gets its directory appended."""
    counts = Counter(r.name for r in runs)
    for r in runs:
        if counts[r.name] > 1:
            r.name = f"{r.name} ({r.path})"
    return runs


def render_comparison(run_dirs: Sequence[str | Path], out_dir: str | Path) -> dict[str, Path]:
    """Write the comparison of run_dirs into out_dir; returns name -> path."""
    runs, out = _unique_names([load_run(p) for p in run_dirs]), Path(out_dir)
    tasks = sorted({t for r in runs for t in r.evals})
    keys = differing_keys(runs)
    config_rows = [[r.name] + [show(flatten(r.config).get(k)) for k in keys] for r in runs]
    groups = group_rows(runs, tasks)
    group_head = ["group", "runs", "seeds"] + [f"{t} final pass@1 (mean ± std)" for t in tasks]
    charts, absent = overlay_charts(runs)
    tables = joined_tables(runs, tasks)
    notes = [f"{r.name}: {n}" for r in runs for n in r.missing]
    html = page(f"r1repro comparison: {', '.join(r.name for r in runs)}", [
        ("runs", "Runs", notes_html(notes) + table(["run", *keys], config_rows)),
        ("groups", "Seed groups", table(group_head, groups)),
        ("curves", "Training curves", charts_html(charts, absent)),
        ("eval", "Evaluation", EVAL_NOTE + "".join(eval_table_html(t) for t in tables)
         if tables else "<p>No evaluation results.</p>"),
    ])
    md = (f"# r1repro comparison\n\n## Runs\n\n{md_table(['run', *keys], config_rows)}\n"
          f"## Seed groups\n\n{md_table(group_head, groups)}\n## Evaluation\n\n"
          + "\n".join(eval_md(t) for t in tables)
          + "\n## Training curves\n\n" + " ".join(f"![{c.title}]({c.filename})" for c in charts) + "\n")
    return write_files(out, {**{c.filename: c.png for c in charts}, "report.md": md, "index.html": html})
