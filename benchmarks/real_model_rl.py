"""Before and after RL on a real model: the table of docs/real-models.md, read from a finished run.

What: for each eval task of a run evaluated at two checkpoints (base and rl), greedy accuracy,
pass@1 over k samples with its 95% bootstrap CI, pass@k, maj@k, format rate, mean length and
truncation, before and after, and the change of accuracy and pass@1 with a paired bootstrap CI over
the problems (r1repro.metrics.paired_change); then RL's cost per step (generate / score / train
seconds, peak RSS: rl/metrics.jsonl's mem/peak_rss_gb, or --peak-rss-gb when the run predates it)
and the held-out greedy accuracy logged during RL. Prints a table and writes JSON with the machine.

How:
    python benchmarks/real_model_rl.py runs/smollm2-135m-arith \
        --json benchmarks/results/real_model_rl_smollm2_135m.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_line, machine_info  # noqa: E402

from r1repro.files import atomic_write_json, read_jsonl
from r1repro.metrics import paired_change
from r1repro.rundir import RunPaths

ROWS = (("accuracy", "greedy accuracy"), ("pass@1", "pass@1"), ("pass@2", "pass@2"), ("pass@4", "pass@4"),
        ("maj@4", "maj@4"), ("format/rate", "answer format"), ("length/mean", "mean length (tokens)"),
        ("length/truncated", "truncated"))
COST = ("time/generate", "time/score", "time/train", "time/step", "tokens_per_s")


def task_table(paths: RunPaths, task: str, before: str, after: str) -> dict:
    """{metric: {before, after}} for one task, plus the paired change and the pass@1 CIs."""
    sums = {c: json.loads(paths.eval_dir(c, task).joinpath("summary.json").read_text()) for c in (before, after)}
    out: dict = {"n": sums[after]["n"], "k": sums[after]["k"], "sampling": sums[after].get("sampling"), "metrics": {}}
    for key, _ in ROWS:
        vals = {c: sums[c]["metrics"].get(key) for c in (before, after)}
        if all(isinstance(v, (int, float)) for v in vals.values()):
            out["metrics"][key] = vals
    for c in (before, after):
        if "pass@1/ci95" in sums[c]["metrics"]:
            out.setdefault("pass@1/ci95", {})[c] = sums[c]["metrics"]["pass@1/ci95"]
    out["change"] = paired_change(read_jsonl(paths.samples(before, task)), read_jsonl(paths.samples(after, task)))
    return out


def rl_cost(paths: RunPaths, peak_rss_gb: float | None) -> dict:
    records = read_jsonl(paths.metrics("rl"))
    steps = [r for r in records if "time/step" in r]
    cost = {k: statistics.mean(r[k] for r in steps) for k in COST if all(k in r for r in steps)}
    peaks = [r["mem/peak_rss_gb"] for r in steps if isinstance(r.get("mem/peak_rss_gb"), (int, float))]
    cost["peak_rss_gb"] = max(peaks) if peaks else peak_rss_gb
    cost["steps"] = len(steps)
    cost["total_s"] = sum(r["time/step"] for r in steps) + sum(r.get("time/eval", 0.0) for r in records)
    curve = [(r["step"], r["eval/accuracy"]) for r in records if "eval/accuracy" in r]
    return {"per_step_mean": cost, "heldout_greedy_curve": curve}


def pct(v: float) -> str:
    return f"{100 * v:.1f}"


def print_table(result: dict, before: str, after: str) -> None:
    print(f"# {result['run']}  ({result['cpu']})")
    for task, t in result["tasks"].items():
        s = t.get("sampling") or {}
        print(f"\n## {task}: n={t['n']}, k={t['k']}, T={s.get('temperature')}, top-p={s.get('top_p')}")
        print(f"| metric | {before} | {after} | change (paired 95% CI) |\n|---|---|---|---|")
        for key, label in ROWS:
            if key not in t["metrics"]:
                continue
            b, a = t["metrics"][key][before], t["metrics"][key][after]
            if key == "length/mean":
                print(f"| {label} | {b:.1f} | {a:.1f} | {a - b:+.1f} |")
                continue
            cis = t.get("pass@1/ci95", {}) if key == "pass@1" else {}
            bt = pct(b) + (f" [{pct(cis[before][0])}, {pct(cis[before][1])}]" if before in cis else "")
            at = pct(a) + (f" [{pct(cis[after][0])}, {pct(cis[after][1])}]" if after in cis else "")
            ch = t["change"].get(key)
            change = (f"{100 * ch['delta']:+.1f} [{100 * ch['ci95'][0]:+.1f}, {100 * ch['ci95'][1]:+.1f}]" if ch
                      else f"{100 * (a - b):+.1f}")
            print(f"| {label} | {bt} | {at} | {change} |")
    c = result["rl"]["per_step_mean"]
    print("\n## RL cost per step (mean)")
    for k, v in c.items():
        print(f"- {k}: {v:.2f}" if isinstance(v, float) else f"- {k}: {v}")
    print("- held-out greedy accuracy during RL: "
          + ", ".join(f"step {s} {pct(a)}%" for s, a in result["rl"]["heldout_greedy_curve"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="run directory with eval/<before>/ and eval/<after>/")
    ap.add_argument("--before", default="base")
    ap.add_argument("--after", default="rl")
    ap.add_argument("--peak-rss-gb", type=float, help="peak RSS of the RL process when rl/metrics.jsonl lacks it")
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args()
    paths = RunPaths(Path(args.run))
    tasks = sorted(p.name for p in (paths.root / "eval" / args.after).iterdir() if (p / "summary.json").exists())
    info = machine_info()
    result = {"run": args.run, "machine": info, "cpu": cpu_line(info),
              "tasks": {t: task_table(paths, t, args.before, args.after) for t in tasks},
              "rl": rl_cost(paths, args.peak_rss_gb)}
    print_table(result, args.before, args.after)
    if args.json:
        atomic_write_json(Path(args.json), result)


if __name__ == "__main__":
    main()
