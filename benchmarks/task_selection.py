"""Which task can RL teach a real model? Pass@1, pass@k, format and truncation of one model on several sets.

What: for each set (synthetic word problems of 1, 2 and 3 steps, SVAMP, MAWPS, ASDiv, GSM8K by
default) the eval harness decodes the first N problems greedily and draws k samples each, with one
prompt template and completion budget, and grades them with the strict grader (a marked answer;
no last-number fallback). Per set it reports greedy accuracy, pass@1 (mean over the k samples),
pass@k, the share of problems whose k samples are mixed (some right, some wrong: the groups a
group-baseline RL step learns from), the format rate (answers in the template's form), the
truncation rate, the mean length, and as a secondary view the same with the last-number fallback.
RL has something to learn where pass@1 is roughly 10-50% and pass@k clearly higher
(docs/real-models.md).

How (one model load; each set resumes from its graded samples when interrupted):
    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/task_selection.py --model smollm2-135m \
        --template chat_answer --n 100 --k 4 --max-new-tokens 128 --batch-size 64 \
        --out /abs/runs/task-selection --json benchmarks/results/task_selection_smollm2_135m.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402

from r1repro.config import SamplingConfig, SourceSpec, TaskConfig
from r1repro.data.loaders import load_source
from r1repro.evals.harness import evaluate
from r1repro.files import read_jsonl
from r1repro.grading import GraderPolicy

ARITH = {"loader": "arithmetic", "split": "test",
         "options": {"ops": "+-", "max_value": 20, "max_operand": 10, "style": "word", "distinct": True}}
SETS = {
    "arith1": {**ARITH, "options": {**ARITH["options"], "steps": 1}},
    "arith2": {**ARITH, "options": {**ARITH["options"], "steps": 2}},
    "arith3": {**ARITH, "options": {**ARITH["options"], "steps": 3}},
    "svamp": {"loader": "svamp", "split": "test"},
    "mawps": {"loader": "mawps", "split": "test"},
    "asdiv": {"loader": "asdiv", "split": "test"},
    "gsm8k": {"loader": "gsm8k", "split": "test"},
}
"""Set name -> data source (SourceSpec fields). Synthetic: + and - only, every value in 1..20."""


def set_problems(spec: dict, n: int) -> list:
    options = dict(spec.get("options", {}))
    if spec["loader"] == "arithmetic":
        options["n"] = n
    return load_source(SourceSpec(spec["loader"], spec["split"], None, options), None).problems[:n]


def selection_row(samples: list[dict], k: int) -> dict:
    """The table's numbers from one set's graded samples (greedy and k sampled per problem)."""
    greedy = [s for s in samples if s["greedy"]]
    sampled = [s for s in samples if not s["greedy"]]
    by_problem: dict[str, list[dict]] = {}
    for s in sampled:
        by_problem.setdefault(s["problem_id"], []).append(s)
    right = [sum(s["correct"] for s in g) for g in by_problem.values()]
    flex = [sum(s.get("correct_flexible", s["correct"]) for s in g) for g in by_problem.values()]
    mean = lambda xs: statistics.mean(xs) if xs else float("nan")  # noqa: E731
    return {
        "n": len(greedy), "greedy": mean([s["correct"] for s in greedy]),
        "pass@1": mean([r / k for r in right]), f"pass@{k}": mean([r > 0 for r in right]),
        "mixed": mean([0 < r < k for r in right]),
        "format": mean([s["format_ok"] for s in sampled]), "format_greedy": mean([s["format_ok"] for s in greedy]),
        "truncated": mean([s["truncated"] for s in samples]), "length": mean([s["length"] for s in samples]),
        "greedy_flexible": mean([s.get("correct_flexible", s["correct"]) for s in greedy]),
        "pass@1_flexible": mean([r / k for r in flex]), f"pass@{k}_flexible": mean([r > 0 for r in flex]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--template", default="chat_answer")
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated subset of {','.join(SETS)}")
    ap.add_argument("--n", type=int, default=100, help="problems per set (the first n)")
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--temperature", type=float, default=0.6)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True, help="directory for each set's samples.jsonl and summary.json")
    ap.add_argument("--json", required=True, help="results file")
    args = ap.parse_args()
    import torch

    from r1repro.models import load_model

    torch.set_num_threads(args.threads)
    model, tokenizer = load_model(args.model)
    sampling = SamplingConfig(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=0.95,
                              batch_size=args.batch_size)
    # flexible: one grading pass also gives the last-number view; the headline stays strict
    task = TaskConfig(k=args.k, sampling=sampling, grader=GraderPolicy(timeout_s=5.0), flexible=True)
    path = Path(args.json)
    result = json.loads(path.read_text()) if path.exists() else {"sets": {}}
    result.update({"model": args.model, "template": args.template, "k": args.k, "sampling": dataclasses.asdict(sampling),
                   "grader": "strict (a box, answer tag, #### or 'the answer is'); *_flexible: last-number fallback",
                   "machine": machine_info(), "threads": args.threads})
    for name in args.sets.split(","):
        problems = set_problems(SETS[name], args.n)
        t0, load0 = time.time(), os.getloadavg()[0]
        evaluate(model, tokenizer, dataclasses.replace(task, dataset=SourceSpec(**SETS[name])), problems,
                 Path(args.out) / name, template_name=args.template, meta={"task": name, "model": args.model})
        samples = read_jsonl(Path(args.out) / name / "samples.jsonl")
        row = {**selection_row(samples, args.k), "source": SETS[name], "wall_s": time.time() - t0,
               "generated_tokens": sum(s["length"] for s in samples), "load_before": load0,
               "load_after": os.getloadavg()[0]}
        result["sets"][name] = row
        result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"{name}: " + " ".join(f"{key}={v:.3f}" if isinstance(v, float) else f"{key}={v}"
                                     for key, v in row.items() if key != "source"), flush=True)


if __name__ == "__main__":
    main()
