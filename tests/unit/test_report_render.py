"""render_run on a fabricated run: the page and report.md carry the run's own numbers and traces."""

from __future__ import annotations

import html
import json
import re

import pytest

from r1repro.report import render_run
from tests.fixtures.make_run import PLANTED, make_run


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    run = make_run(tmp_path_factory.mktemp("runs"), plant_html=True)
    paths = render_run(run, traces=6)
    return run, paths, paths["index.html"].read_text("utf-8"), paths["report.md"].read_text("utf-8")


def task_section(page: str, task: str) -> str:
    """The HTML between the task's <h3> and the next <h3> (its eval table and verdict table)."""
    return page.split(f"<h3>{task}</h3>", 1)[1].split("<h3>", 1)[0]


def row(section: str, label: str) -> str:
    return re.search(rf"<tr><th>{label}</th>(.*?)</tr>", section).group(1)


def test_writes_page_markdown_and_charts(rendered):
    run, paths, page, md = rendered
    assert paths["index.html"] == run / "report" / "index.html"
    assert paths["report.md"] == run / "report" / "report.md"
    pngs = sorted(k for k in paths if k.endswith(".png"))
    assert len(pngs) == 12  # 10 RL panels + 2 SFT panels, all logged by the fixture
    for name in pngs:
        assert paths[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in md
    assert page.count('src="data:image/png;base64,') == 12
    assert not list((run / "report").glob(".*.tmp"))


@pytest.mark.parametrize("task", ["gsm8k", "math"])
@pytest.mark.parametrize("ckpt", ["base", "sft", "rl"])
def test_eval_tables_carry_summary_numbers(rendered, task, ckpt):
    run, _, page, md = rendered
    m = json.loads((run / "eval" / ckpt / task / "summary.json").read_text())["metrics"]
    lo, hi = m["pass@1/ci95"]
    cells = row(task_section(page, task), ckpt)
    for text in (f"{m['pass@1']:.3f} [{lo:.3f}, {hi:.3f}]", f"{m['pass@2']:.3f}", f"{m['pass@4']:.3f}",
                 f"{m['maj@4']:.3f}", f"{m['format/rate']:.3f}", f"{m['length/mean']:.1f}",
                 f"{m['lang/mixed_share']:.3f}", f"{m['accuracy']:.3f}"):
        assert f'<td class="num">{text}' in cells
        assert text in md


def test_deltas_against_base(rendered):
    run, _, page, _ = rendered
    base, rl = (json.loads((run / "eval" / c / "gsm8k" / "summary.json").read_text())["metrics"]
                for c in ("base", "rl"))
    cells = row(task_section(page, "gsm8k"), "rl")
    delta = rl["pass@1"] - base["pass@1"]
    tone = "good" if delta > 0 else "bad"
    assert f'<span class="delta {tone}">{delta:+.3f}</span>' in cells
    assert '<span class="delta' not in row(task_section(page, "gsm8k"), "base")


def test_verdict_counts_from_summary(rendered):
    run, _, page, _ = rendered
    reasons = json.loads((run / "eval" / "sft" / "math" / "summary.json").read_text())["reasons"]
    verdicts = page.split("<h3>math</h3>", 1)[1].split("grader verdicts", 1)[1]
    names = sorted(reasons)
    assert "<tr><td>sft</td>" + "".join(f"<td>{reasons[n]}</td>" for n in names) + "</tr>" in verdicts


def test_chosen_traces_in_order(rendered):
    _, _, page, md = rendered
    # final rollout step holds train-0000..0003; eval tasks alternate gsm8k, math (see traces.py)
    ids = re.findall(r'<div class="problem"><h3>([\w-]+) ', page)
    assert ids == ["train-0000", "gsm8k-0000", "train-0001", "math-0000", "train-0002", "gsm8k-0001"]
    assert "#### train-0000 (train), RL step" in md and "#### gsm8k-0000 (gsm8k), rl checkpoint" in md


def test_trace_text_present_and_escaped(rendered):
    run, _, page, _ = rendered
    recs = [json.loads(x) for x in (run / "rl" / "rollouts" / "step_000030.jsonl").read_text().splitlines()]
    rec = next(r for r in recs if r["problem_id"] == "train-0001" and r["sample_idx"] in (0, 1)
               and "</think>" in r["completion"])
    answer = rec["completion"].split("</think>", 1)[1]
    assert f'<pre class="answer">{html.escape(answer)}</pre>' in page  # "\n&lt;answer&gt;57&lt;/answer&gt;"
    first_line = rec["completion"].split("\n", 1)[0]
    assert html.escape(first_line) in page
    assert f"advantage {rec['advantage']:+.3f}" in page


def test_planted_html_is_text(rendered):
    _, _, page, md = rendered
    assert PLANTED not in page
    assert "<script>window.__pwned" not in page and 'onerror="window' not in page
    assert page.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") == 3  # 1 rollout + 2 eval tasks
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in page
    assert page.count("<script>") == 1  # ours only
    assert "<script>window.__pwned" not in md.split("```text")[0]  # outside code fences: nothing raw


def test_page_is_self_contained(rendered):
    _, _, page, _ = rendered
    assert '<meta http-equiv="Content-Security-Policy" content="default-src &#x27;none&#x27;' in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page


def test_highlights(rendered):
    _, _, page, _ = rendered
    assert re.search(r'<mark class="reflect" title="reflection phrase">Wait</mark>', page)
    assert '<mark class="foreign" title="han script">所以</mark>' in page


def test_summary_sections(rendered):
    _, _, page, md = rendered
    for text in ("rl.advantage", "rloo", "train.dedupe.duplicates", "a snowflake design", "Linux-6.1-x86_64",
                 "transformers", "5.23.0", "1260.0", "time/generate (mean of 30 steps)", "resolved config"):
        assert text in page
    assert "| rl.advantage | rloo |" in md and "| rl | done | 1260.0 |" in md


def greedy_only(run):
    """Make every summary greedy-only (k = 0): accuracy, and no pass@k / maj@k."""
    for path in run.glob("eval/*/*/summary.json"):
        s = json.loads(path.read_text())
        s["k"] = 0
        s["metrics"] = {k: v for k, v in s["metrics"].items() if not k.startswith(("pass@", "maj@", "diversity/"))}
        path.write_text(json.dumps(s))


def test_eval_caption_promises_an_interval_only_where_there_is_one(tmp_path):
    run = make_run(tmp_path, "greedy", tasks=("gsm8k",))
    greedy_only(run)
    paths = render_run(run)
    page, md = paths["index.html"].read_text("utf-8"), paths["report.md"].read_text("utf-8")
    assert "confidence interval" not in page and "confidence interval" not in md
    for text in (page, md):
        assert "accuracy: the share of problems solved by greedy decoding (one completion each)" in text
    sampled = render_run(make_run(tmp_path, "sampled", tasks=("gsm8k",)))
    page = sampled["index.html"].read_text("utf-8")
    assert "pass@1: the mean over the k samples of each problem, with its 95% bootstrap confidence " \
           "interval over problems in brackets" in page
    assert "accuracy: the share of problems solved by greedy decoding" in page


def test_stage_table_lists_the_report_stage_that_renders_it(tmp_path):
    run = make_run(tmp_path, "st", tasks=("gsm8k",))
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["stages"]["report"] = {"status": "running", "started": "2026-11-23T23:20:00Z", "inputs": {},
                                    "outputs": {}}  # as the pipeline's report stage renders
    (run / "manifest.json").write_text(json.dumps(manifest))
    paths = render_run(run)
    page, md = paths["index.html"].read_text("utf-8"), paths["report.md"].read_text("utf-8")
    assert "| report | rendering this report | – | 2026-11-23T23:20:00Z |" in md
    assert "<td>report</td><td>rendering this report</td>" in page
    assert "stage report did not finish" not in page  # not a problem with the run
