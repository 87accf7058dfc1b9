"""The report reads files only: importing and running it must not pull in torch, transformers or vllm."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_report_imports_no_ml_frameworks(tmp_path):
    code = (
        "import sys\n"
        "from r1repro.report import render_run, render_comparison\n"
        f"render_run({str(tmp_path)!r})\n"
        f"render_comparison([{str(tmp_path)!r}], {str(tmp_path / 'cmp')!r})\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'vllm') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
