"""Reports of runs: one self-contained HTML page and a Markdown summary per run, and comparisons.

What: `render_run(run_dir)` writes run_dir/report/{index.html, report.md, *.png}: summary (recipe,
config, data card, stages, timings, hardware, versions), training curves, evaluation tables per
task (base / SFT / RL side by side with deltas) and a trace browser (the same problems across RL
steps and checkpoints, filterable, with foreign-script and reflection highlights).
`render_comparison(run_dirs, out_dir)` overlays several runs' curves and joins their eval tables,
grouping runs that differ only in seed (mean ± std of final accuracy).
Why: reasoning traces should be readable from one file that opens anywhere, offline.
How: reads only the run directory (docs/run-directory.md), never imports torch; matplotlib Agg
for PNGs embedded as data URIs; all model output HTML-escaped; a CSP forbids external loads.

    python -c "from r1repro.report import render_run; print(render_run('runs/quickstart'))"
"""

from r1repro.report.compare import render_comparison
from r1repro.report.render import render_run

__all__ = ["render_comparison", "render_run"]
