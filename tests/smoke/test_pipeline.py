"""The CLI end to end on the micro recipe: every stage's files, manifest, refusal, stage commands."""

import json
import math

from conftest import MICRO, metrics, run_cli


def test_run_writes_every_stage(micro_run):
    manifest = json.loads((micro_run / "manifest.json").read_text())
    assert [s for s, e in manifest["stages"].items() if e["status"] == "done"] == ["prepare", "sft", "rl", "eval", "report"]
    assert manifest["config_hash"] and manifest["versions"]["torch"]
    for rel in ["config.yaml", "log.txt", "data/train.jsonl", "data/eval-arith.jsonl", "data/card.json",
                "base/config.json", "sft/metrics.jsonl", "rl/metrics.jsonl", "rl/rollouts/step_000003.jsonl",
                "eval/rl/arith/samples.jsonl", "eval/rl/arith/summary.json", "report/index.html", "report/report.md"]:
        assert (micro_run / rel).exists(), rel
    rl = metrics(micro_run / "rl" / "metrics.jsonl")
    assert [r["step"] for r in rl] == [0, 1, 2, 3]  # step 0: held-out accuracy before any update
    for r in rl:
        assert all(math.isfinite(v) for v in r.values() if isinstance(v, float)), r
    for r in rl[1:]:
        assert 0.0 <= r["acc/train"] <= 1.0 and r["length/max"] <= 24 and 0.0 <= r["work/rate"] <= 1.0
    # rl.eval_every: 2 -> held-out greedy accuracy at steps 0, 2 and the last step, each graded sample kept
    assert [r["step"] for r in rl if "eval/accuracy" in r] == [0, 2, 3]
    for step in (0, 2, 3):
        held = metrics(micro_run / "rl" / "evals" / f"step_{step:06d}.jsonl")
        assert len(held) == 4 and {r["step"] for r in held} == {step}
        rec = next(r for r in rl if r["step"] == step)
        assert rec["eval/accuracy"] == sum(r["correct"] for r in held) / 4
        assert rec["eval/lang_mixed_share"] == sum(r["mixed"] for r in held) / 4  # greedy, think part
    ckpt = micro_run / manifest["stages"]["rl"]["outputs"]["checkpoint"]
    assert (ckpt / "model.safetensors").exists() and (ckpt / "trainer_state.pt").exists()
    summary = json.loads((micro_run / "eval" / "rl" / "arith" / "summary.json").read_text())
    assert summary["n"] == 6 and summary["k"] == 2
    assert {"accuracy", "pass@1", "pass@2", "maj@2", "format/rate"} <= set(summary["metrics"])
    samples = [json.loads(x) for x in (micro_run / "eval" / "rl" / "arith" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6 * 3  # greedy + 2 samples per problem
    # the change from the first checkpoint evaluated (sft), paired over the same 6 problems
    sft = json.loads((micro_run / "eval" / "sft" / "arith" / "summary.json").read_text())
    change = summary["change"]
    assert change["from"] == "sft" and "change" not in sft
    for key in ("accuracy", "pass@1"):
        assert change[key]["n"] == 6
        assert math.isclose(change[key]["delta"], summary["metrics"][key] - sft["metrics"][key], abs_tol=1e-9)
        assert change[key]["ci95"][0] <= change[key]["delta"] <= change[key]["ci95"][1]
    rollouts = [json.loads(x) for x in (micro_run / "rl" / "rollouts" / "step_000003.jsonl").read_text().splitlines()]
    assert len(rollouts) == 2 * 4 and {"advantage", "reward", "reason", "completion", "gold"} <= set(rollouts[0])


def test_rerun_refuses_without_force(micro_run):
    out = run_cli("run", str(MICRO), "--run-dir", str(micro_run), check=False)
    assert out.returncode == 2
    assert "already holds a run" in out.stderr and "--force" in out.stderr


def test_stage_command_refuses_finished_stage(micro_run):
    out = run_cli("rl", str(MICRO), "--run-dir", str(micro_run), check=False)
    assert out.returncode == 2 and "stage 'rl' already finished" in out.stderr


def test_bad_recipe_key_is_reported_cleanly(tmp_path):
    out = run_cli("run", str(MICRO), "rl.stpes=3", "--run-dir", str(tmp_path / "x"), check=False)
    assert out.returncode == 2
    assert "rl.stpes: unknown key; did you mean 'rl.steps'" in out.stderr
    assert not (tmp_path / "x").exists()  # nothing created for a recipe that does not load


def test_report_carries_eval_numbers(micro_run):
    html = (micro_run / "report" / "index.html").read_text()
    summary = json.loads((micro_run / "eval" / "rl" / "arith" / "summary.json").read_text())
    assert "arith" in html and f"{100 * summary['metrics']['pass@1']:.1f}" in html


def test_eval_of_a_run_checkpoint_uses_the_template_it_was_trained_with(micro_run, tmp_path):
    # the micro recipe trains with `qa`; the tiny tokenizer has no chat template, so the old default was `boxed`
    task = tmp_path / "arith2.yaml"
    task.write_text("dataset: {loader: arithmetic, split: test, options: {n: 2, max_steps: 2}}\n"
                    "sampling: {max_new_tokens: 8}\n")
    for model in ("rl/checkpoints/step_000003", "sft/checkpoints/step_000004", "base"):
        out = tmp_path / model.replace("/", "_")
        run_cli("eval", "--model", str(micro_run / model), "--task", str(task), "--out", str(out))
        assert json.loads((out / "arith2" / "summary.json").read_text())["template"] == "qa", model
        assert json.loads((micro_run / model / "meta.json").read_text())["template"] == "qa", model
    run_cli("eval", "--model", str(micro_run / "base"), "--task", str(task), "--out", str(tmp_path / "b"),
            "--template", "boxed")
    assert json.loads((tmp_path / "b" / "arith2" / "summary.json").read_text())["template"] == "boxed"
