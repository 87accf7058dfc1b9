"""Collect what docs/real-models.md reports about a real model into one JSON: evals and a short RL run.

What: for each eval output directory (written by `r1repro eval --model ... --out DIR`) it takes the
harness's summary.json metrics and grader-reason histogram, and adds what the summary does not
hold: generated tokens, tokens/s over the measured wall time (given on the command line: the
harness does not time itself), greedy accuracy re-graded with `last_number_fallback` (the
counterpart of lm-eval's "flexible extract"), where the grader found the answer (box, `####`, "the answer is",
none), and the share of completions that answer in the template's own format (a box for `chat`,
`#### x` for `gsm8k_8shot`). The summary's `format/rate` is the R1 <think>/<answer> format, which
these templates never ask for, so it is 0 by construction. For an RL run directory it copies
rl/metrics.jsonl (cost per step, reward, accuracy) and counts the rollouts' grader reasons per step.

How (after the runs in docs/real-models.md):
    python benchmarks/real_model.py --eval runs/real/smollm2-chat-greedy/gsm8k:WALL_S \
        --rl runs/smollm2-135m-gsm8k --rss-gb 2.6 --out benchmarks/results/real_model_smollm2_135m.json
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
from pathlib import Path

from r1repro.files import read_jsonl
from r1repro.grading import GraderPolicy, check_batch
from r1repro.grading.extract import extract_answer

OWN_FORMAT = {"chat": "boxed", "boxed": "boxed", "gsm8k_kshot": "hash"}


def own_source(template: str) -> str:
    return OWN_FORMAT.get(template, "hash" if template.startswith("gsm8k_") else "answer_tag")


def eval_entry(out_dir: Path, wall_s: float | None) -> dict:
    summary = json.loads((out_dir / "summary.json").read_text())
    samples = read_jsonl(out_dir / "samples.jsonl")
    sources = collections.Counter(extract_answer(s["completion"]).source or "none" for s in samples)
    tokens = sum(s["length"] for s in samples)
    greedy = [s for s in samples if s["greedy"]]
    # lm-eval's "flexible extract" counterpart: also take the last number when there is no answer
    lenient = check_batch([s["completion"] for s in greedy], [s["gold"] for s in greedy],
                          policy=GraderPolicy(timeout_s=5.0, last_number_fallback=True))
    entry = {
        "dir": str(out_dir), "template": summary.get("template"), "n": summary["n"], "k": summary["k"],
        "sampling": summary["sampling"], "metrics": summary["metrics"], "reasons": summary.get("reasons"),
        "completions": len(samples), "generated_tokens": tokens,
        "answer_source": dict(sources.most_common()),
        "own_format_rate": sources[own_source(summary.get("template", ""))] / max(len(samples), 1),
        "greedy_correct": sum(s["correct"] for s in greedy), "greedy_n": len(greedy),
        "greedy_correct_last_number_fallback": sum(v.correct for v in lenient),
        "length_median_all": statistics.median(s["length"] for s in samples) if samples else None,
    }
    if wall_s:
        entry.update(wall_s=wall_s, tokens_per_s=tokens / wall_s)
    return entry


def rl_entry(run_dir: Path) -> dict:
    steps = read_jsonl(run_dir / "rl" / "metrics.jsonl")
    reasons = {}
    for f in sorted((run_dir / "rl" / "rollouts").glob("step_*.jsonl")):
        recs = read_jsonl(f)
        reasons[f.stem] = dict(collections.Counter(r["reason"] for r in recs).most_common())
    keys = ("time/generate", "time/score", "time/train", "time/step", "tokens_per_s", "length/mean")
    mean = {k: statistics.mean(s[k] for s in steps) for k in keys if steps and k in steps[0]}
    return {"dir": str(run_dir), "steps": steps, "mean_per_step": mean, "rollout_reasons": reasons}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", action="append", default=[], metavar="DIR[:WALL_S]",
                    help="an eval output directory (holding summary.json), optionally with its wall time")
    ap.add_argument("--rl", help="an RL run directory (holding rl/metrics.jsonl)")
    ap.add_argument("--rss-gb", type=float, help="peak RSS of the RL process (from /usr/bin/time -v)")
    ap.add_argument("--note", action="append", default=[], help="free-text facts to keep with the numbers")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    result = {"evals": [], "notes": args.note}
    for spec in args.eval:
        path, _, wall = spec.partition(":")
        result["evals"].append(eval_entry(Path(path), float(wall) if wall else None))
    if args.rl:
        result["rl"] = {**rl_entry(Path(args.rl)), "peak_rss_gb": args.rss_gb}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    for e in result["evals"]:
        m = e["metrics"]
        sampled = "".join(f" {key}={m[key]}" for key in ("pass@1/se", "pass@1/ci95", f"pass@{e['k']}",
                                                         f"maj@{e['k']}", "diversity/any_correct") if key in m)
        print(f"{e['dir']}: n={e['n']} k={e['k']} acc={m.get('accuracy')} pass@1={m.get('pass@1')}{sampled} "
              f"own-format={e['own_format_rate']:.3f} tok/s={e.get('tokens_per_s')} reasons={e['reasons']}")


if __name__ == "__main__":
    main()
