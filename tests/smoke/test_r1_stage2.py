"""R1's second stage: SFT on the correct samples of a finished RL run (sft.traces_from)."""

import json

from conftest import MICRO, metrics, run_cli

from r1repro.config import load_recipe


def test_stage2_recipe_resolves():
    cfg = load_recipe("recipes/r1-stage2.yaml")
    assert cfg.sft.traces_from == "runs/quickstart" and cfg.rl.rewards == {"correct": 1.0, "language": {"weight": 0.1, "script": "latin"}}


def test_sft_trains_on_a_runs_correct_rollouts(tmp_path):
    source = tmp_path / "rl-run"
    (source / "rl" / "rollouts").mkdir(parents=True)
    rows = [{"step": 3, "problem_id": f"p{i}", "prompt": f"Q: What is {i} + 1?\nA: <think>",
             "completion": f"<think> {i} + 1 = {i + 1}. </think> <answer> {i + 1} </answer>", "gold": str(i + 1),
             "correct": i % 3 != 0} for i in range(12)]
    (source / "rl" / "rollouts" / "step_000003.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = tmp_path / "stage2"
    run_cli("run", str(MICRO), f"sft.traces_from={source}", "sft.eval_size=2", "--stages", "prepare,sft",
            "--run-dir", str(run))
    traces = [json.loads(line) for line in (run / "sft" / "traces.jsonl").read_text().splitlines()]
    assert sorted(t["problem_id"] for t in traces) == sorted(f"p{i}" for i in range(12) if i % 3 != 0)
    assert all(not t["response"].startswith("<think>") for t in traces)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["sft"]["status"] == "done" and "traces" in manifest["stages"]["sft"]["outputs"]
    evals = [m for m in metrics(run / "sft" / "metrics.jsonl") if "loss/eval" in m]
    assert evals and all(0.0 <= m["acc/eval"] <= 1.0 for m in evals)  # held-out traces carry their gold
