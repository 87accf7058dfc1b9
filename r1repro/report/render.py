"""render_run: write report/index.html, report/report.md and the chart PNGs of one run.

    from r1repro.report import render_run
    paths = render_run(Path("runs/quickstart"), traces=12)   # {"index.html": ..., "report.md": ..., ...}

Reads only the run directory (load.py); every file is written atomically (temp file + rename).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from r1repro.files import atomic_write_bytes
from r1repro.report.curves import run_charts
from r1repro.report.evaltable import run_tables
from r1repro.report.load import load_run
from r1repro.report.markdown import run_markdown
from r1repro.report.page import run_page
from r1repro.report.traces import select_traces
from r1repro.rundir import RunPaths


def render_run(run_dir: str | Path, *, traces: int = 12, problems: Sequence[str] | None = None,
               out_dir: str | Path | None = None) -> dict[str, Path]:
    """Render the report of `run_dir` into out_dir (default run_dir/report); returns name -> path.

    traces: how many problems the trace browser shows (0 for none), chosen as traces.py says;
    problems: show exactly these problem ids instead. Missing pieces of the run are listed at the
    top of both files instead of raising.
    """
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else RunPaths(run.path).report
    charts, absent = run_charts(run)
    tables = run_tables(run.evals)
    chosen = select_traces(run, traces, problems) if traces > 0 or problems else []
    files = {c.filename: c.png for c in charts}
    files["report.md"] = run_markdown(run, charts, tables, chosen)
    files["index.html"] = run_page(run, charts, absent, tables, chosen)
    return write_files(out, files)


def write_files(out: Path, files: dict[str, bytes | str]) -> dict[str, Path]:
    """Write each file atomically (with the mode the umask gives, like every file of a run)."""
    return {name: atomic_write_bytes(out / name, data.encode("utf-8") if isinstance(data, str) else data)
            for name, data in files.items()}
