"""Does RL raise the training reward of a weak SFT'd tiny model? 50 real RL steps vs a frozen control.

    python benchmarks/rl_reward.py              # -> benchmarks/results/rl_reward.json

The quickstart task and model, SFT stopped early (50 steps: the model writes the R1 format only
part of the time when sampled, and is right 3% of the time greedily), then 50 RL steps (RLOO,
16 prompts x 8 samples) with R1-Zero's two rule rewards, correctness (1.0) and format (0.5).
The control is the same run with a learning rate of 1e-12: same prompts, same sampling seeds, a
policy that does not move, so any rise in its reward would be noise. Both are full `r1repro run`s
(runs/bench-rl-reward-{rl,control}); the table compares the mean of the first and last 10 steps.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMON = ["sft.steps=50", "rl.steps=50", "rl.optim.warmup_steps=5", "rl.rewards={correct: 1.0, format: 0.5}",
          "rl.save_every=0", "eval.checkpoints=[sft, rl]", "report.enabled=false"]
ARMS = {"rl": ["rl.optim.lr=3e-4"], "control": ["rl.optim.lr=1e-12"]}
KEYS = ["reward/mean", "reward/correct", "reward/format", "format/rate", "acc/train"]


def run_arm(name: str, recipe: str, seed: int) -> dict:
    run_dir = ROOT / "runs" / f"bench-rl-reward-{name}"
    cmd = [sys.executable, "-m", "r1repro.cli", "run", recipe, f"seed={seed}", *COMMON, *ARMS[name],
           "--run-dir", str(run_dir), "--force"]
    t0 = time.time()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    steps = [json.loads(line) for line in (run_dir / "rl" / "metrics.jsonl").read_text().splitlines()]
    row = {"arm": name, "wall_s": round(time.time() - t0, 1), "overrides": COMMON + ARMS[name]}
    for key in KEYS:
        vals = [s[key] for s in steps if key in s]
        row[key] = {"first10": statistics.mean(vals[:10]), "last10": statistics.mean(vals[-10:]),
                    "last10_sd": statistics.stdev(vals[-10:])}
    for ckpt in ("sft", "rl"):
        summary = json.loads(next((run_dir / "eval" / ckpt).glob("*/summary.json")).read_text())
        row[f"greedy_{ckpt}"] = summary["metrics"]["accuracy"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="recipes/quickstart.yaml")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rl_reward.json"))
    args = ap.parse_args()
    rows = [run_arm(name, args.recipe, args.seed) for name in ARMS]
    print(f"{'arm':>8} {'metric':>15} {'steps 1-10':>11} {'steps 41-50':>12}")
    for r in rows:
        for key in KEYS:
            v = r[key]
            print(f"{r['arm']:>8} {key:>15} {v['first10']:>11.3f} {v['last10']:>8.3f} ± {v['last10_sd']:.3f}")
        print(f"{r['arm']:>8} {'greedy held-out':>15} {r['greedy_sft']:>11.3f} {r['greedy_rl']:>12.3f}"
              f"   (SFT checkpoint -> after RL; {r['wall_s']:.0f} s)")
    out = {"recipe": args.recipe, "seed": args.seed, "rows": rows, "date": time.strftime("%Y-%m-%d"),
           "machine": {"platform": platform.platform(), "python": platform.python_version()}}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
