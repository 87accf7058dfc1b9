"""The held-out evaluation during RL in the report: curve panels, the Results line, and the trace
browser's before/after pair for problems whose greedy verdict changed."""

import json

from r1repro.report.browser import browser_html
from r1repro.report.load import load_run
from r1repro.report.summary import headline, rl_curve_line
from r1repro.report.traces import select_traces
from tests.fixtures.make_run import make_run


def _heldout(run, step: int, verdicts: dict[str, bool]) -> None:
    recs = [{"problem_id": pid, "sample_idx": 0, "greedy": True, "prompt": f"Q: {pid}\nA: <think>",
             "completion": "<think> (a) 1 + 1 = 2. </think> <answer> 2 </answer>" if ok else
             "<think> </think> <answer> 3 </answer>", "gold": "2", "extracted": "2" if ok else "3",
             "correct": ok, "reason": "exact" if ok else "mismatch", "length": 9, "truncated": False,
             "step": step, "task": "gsm8k"} for pid, ok in verdicts.items()]
    path = run / "rl" / "evals" / f"step_{step:06d}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))


def test_problems_whose_heldout_verdict_changed_lead_with_their_two_answers(tmp_path):
    run = make_run(tmp_path)
    ids = [json.loads(x)["problem_id"] for x in (run / "eval" / "rl" / "gsm8k" / "samples.jsonl").read_text().splitlines()]
    a, b, c = list(dict.fromkeys(ids))[:3]
    _heldout(run, 0, {a: False, b: True, c: True})
    _heldout(run, 10, {a: False, b: True, c: True})   # a middle evaluation: never shown
    _heldout(run, 30, {a: True, b: True, c: False})   # a: wrong -> right, c: right -> wrong, b: unchanged
    data = load_run(run)
    assert sorted(data.heldout_files) == [0, 10, 30]
    problems = select_traces(data, n=6)
    assert [p.problem_id for p in problems[:2]] == [a, c]  # changed ones first, wrong -> right leading
    assert [(r["step"], r["correct"]) for r in problems[0].heldout] == [(0, False), (30, True)]
    assert all(not p.heldout for p in problems[2:])
    html = browser_html(problems)
    assert html.count("Before and after RL (held-out, greedy)") == 2 and "held-out, RL step 30" in html


def test_results_line_reads_the_curve(tmp_path):
    run = make_run(tmp_path)
    records = [json.loads(x) for x in (run / "rl" / "metrics.jsonl").read_text().splitlines()]
    records = [{"step": 0, "eval/accuracy": 0.25}] + records
    records[-1]["eval/accuracy"] = 0.975
    (run / "rl" / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    data = load_run(run)
    assert rl_curve_line(data) == "Held-out greedy accuracy during RL: 25.0% at step 0 → 97.5% at step 30."
    headers, rows = headline(data)
    assert headers == ["task (greedy accuracy)", "base", "sft", "rl", "change"]
    gsm = next(r for r in rows if r[0] == "gsm8k")
    acc = {c: data.evals["gsm8k"][c]["metrics"]["accuracy"] for c in ("base", "rl")}
    assert gsm[-1] == f"{100 * (acc['rl'] - acc['base']):+.1f} points"


def test_headline_change_carries_the_paired_interval(tmp_path):
    run = make_run(tmp_path)
    path = run / "eval" / "rl" / "gsm8k" / "summary.json"
    summary = json.loads(path.read_text())
    summary["change"] = {"from": "base", "accuracy": {"delta": 0.1, "ci95": [0.05, 0.155], "n": 20}}
    path.write_text(json.dumps(summary))
    gsm = next(r for r in headline(load_run(run))[1] if r[0] == "gsm8k")
    assert gsm[-1].endswith(" points (95% CI +5.0 to +15.5)")
    summary["change"]["from"] = "sft"  # against another checkpoint than the row's first: not shown
    path.write_text(json.dumps(summary))
    gsm = next(r for r in headline(load_run(run))[1] if r[0] == "gsm8k")
    assert gsm[-1].endswith(" points")
