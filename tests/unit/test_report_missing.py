"""A report is most needed when a run went wrong: missing stages and files are named, never fatal."""

from __future__ import annotations

import json
import re

from r1repro.report import render_run
from tests.fixtures.make_run import make_run


def test_run_without_sft_and_with_failed_rl(tmp_path):
    run = make_run(tmp_path, "broken", sft=False, failed="rl")
    paths = render_run(run)
    page, md = paths["index.html"].read_text("utf-8"), paths["report.md"].read_text("utf-8")
    for text in ("no SFT metrics (sft/metrics.jsonl absent)",
                 "stage rl failed: RuntimeError: loss is NaN for 3 consecutive steps"):
        assert text in page and text in md
    assert "sft_loss.png" not in paths and "rl_reward.png" in paths
    assert "<tr><th>base</th>" in page and "<tr><th>rl</th>" not in page  # only base was evaluated
    assert "| broken |" in md or "run | broken" in md


def test_empty_directory(tmp_path):
    paths = render_run(tmp_path)
    page, md = paths["index.html"].read_text("utf-8"), paths["report.md"].read_text("utf-8")
    for text in ("no manifest (manifest.json absent)", "no resolved config (config.yaml absent)",
                 "no evaluation results", "no RL metrics"):
        assert text in page and text in md
    assert "No traces" in page and set(paths) == {"index.html", "report.md"}


def test_torn_and_damaged_files(tmp_path):
    run = make_run(tmp_path, "torn", tasks=("gsm8k",))
    with open(run / "rl" / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 31, "reward/me')  # a crash mid-append
    (run / "eval" / "sft" / "gsm8k" / "summary.json").write_text("{not json", encoding="utf-8")
    page = render_run(run)["index.html"].read_text("utf-8")
    assert "metrics.jsonl: skipped 1 unreadable line(s)" in page
    assert "eval summary sft/gsm8k unreadable" in page
    assert "<tr><th>sft</th>" not in page and "<tr><th>rl</th>" in page


def test_no_traces_requested(tmp_path):
    page = render_run(make_run(tmp_path, tasks=("gsm8k",)), traces=0)["index.html"].read_text("utf-8")
    assert '<article class="trace"' not in page and "No traces" in page


def test_report_stage_rendering_itself_is_not_a_problem(tmp_path):
    run = make_run(tmp_path, tasks=("gsm8k",))
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["stages"]["report"] = {"status": "running", "started": "2026-11-23T23:20:00Z"}
    (run / "manifest.json").write_text(json.dumps(manifest))
    page = render_run(run)["index.html"].read_text("utf-8")
    assert "did not finish" not in page and "Missing or incomplete" not in page
    assert "<td>report</td><td>rendering this report</td>" in page  # listed with the stages, not as a problem


def test_pinned_problems(tmp_path):
    run = make_run(tmp_path, tasks=("gsm8k",))
    page = render_run(run, problems=["gsm8k-0003", "train-0002", "nope"])["index.html"].read_text("utf-8")
    assert re.findall(r'<div class="problem"><h3>([\w-]+) ', page) == ["gsm8k-0003", "train-0002", "nope"]
    assert page.count('data-source="eval"') == 6   # gsm8k-0003: 2 samples x base, sft, rl
