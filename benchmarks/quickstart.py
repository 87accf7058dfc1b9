"""The quickstart recipe for several seeds: wall-clock, SFT and RL held-out accuracy, printed and saved.

    python benchmarks/quickstart.py                 # seeds 0 1 2 -> benchmarks/results/quickstart.json
    python benchmarks/quickstart.py --seeds 0 --recipe recipes/quickstart.yaml rl.steps=20

Each seed is a full `r1repro run` in its own run directory (runs/bench-quickstart-s<seed>), so the
numbers are exactly what `make demo` produces for that seed. Accuracy is greedy, on the recipe's
held-out eval set (the test seed stream of the generator).
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


def run_seed(recipe: str, seed: int, overrides: list[str]) -> dict:
    run_dir = ROOT / "runs" / f"bench-quickstart-s{seed}"
    t0 = time.time()
    cmd = [sys.executable, "-m", "r1repro.cli", "run", recipe, f"seed={seed}", *overrides, "--run-dir", str(run_dir),
           "--force"]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.time() - t0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    row = {"seed": seed, "wall_s": round(wall, 1),
           "stage_s": {k: v["seconds"] for k, v in manifest["stages"].items()}}
    for ckpt in ("base", "sft", "rl"):
        for summary in sorted((run_dir / "eval" / ckpt).glob("*/summary.json")):
            s = json.loads(summary.read_text())
            row[f"{ckpt}_acc"] = s["metrics"].get("accuracy")
            row[f"{ckpt}_len"] = s["metrics"].get("length/mean")
            row["n_eval"] = s["n"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="recipes/quickstart.yaml")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "quickstart.json"))
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    rows = [run_seed(args.recipe, s, args.overrides) for s in args.seeds]
    print(f"{'seed':>4} {'wall s':>7} {'SFT acc':>8} {'RL acc':>7} {'delta':>6} {'SFT len':>8} {'RL len':>7}")
    for r in rows:
        d = (r.get("rl_acc") or 0) - (r.get("sft_acc") or 0)
        print(f"{r['seed']:>4} {r['wall_s']:>7.0f} {100 * r['sft_acc']:>7.1f}% {100 * r['rl_acc']:>6.1f}% "
              f"{100 * d:>+5.1f} {r['sft_len']:>8.1f} {r['rl_len']:>7.1f}")
    deltas = [100 * (r["rl_acc"] - r["sft_acc"]) for r in rows]
    print(f"mean delta {statistics.mean(deltas):+.1f} points over {len(rows)} seeds; "
          f"mean wall {statistics.mean(r['wall_s'] for r in rows):.0f} s")
    out = {"recipe": args.recipe, "overrides": args.overrides, "rows": rows,
           "machine": {"platform": platform.platform(), "python": platform.python_version(),
                       "cpus": __import__("os").cpu_count()},
           "date": time.strftime("%Y-%m-%d")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
