"""Why RL warms its learning rate up: held-out accuracy after the first RL steps, with and without warmup.

    python benchmarks/rl_warmup.py --base runs/quickstart        # -> benchmarks/results/rl_warmup.json

From a finished run's SFT checkpoint (copied, never modified), RL runs `--steps` steps for each
(lr, warmup) pair, with the held-out greedy accuracy measured before the first step and after every
step (rl.eval_every=1 on the run's first eval task). Adam's first update is m/sqrt(v) = g/|g| per
weight: every weight moves by about lr whatever its gradient, so a fresh optimizer at a high lr
perturbs the whole network at once; a linear warmup lets the second-moment estimate settle first.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import copy_after_sft, machine_info  # noqa: E402


def run(base: Path, out: Path, lr: float, warmup: int, steps: int, eval_size: int) -> list[dict]:
    copy_after_sft(base, out)
    overrides = ["rl.enabled=true", f"rl.optim.lr={lr}", f"rl.optim.warmup_steps={warmup}", "rl.optim.schedule=constant",
                 f"rl.steps={steps}", "rl.eval_every=1", f"rl.eval_size={eval_size}", "rl.save_every=0",
                 "rl.log_rollouts_every=0"]
    subprocess.run([sys.executable, "-m", "r1repro.cli", "rl", str(out / "config.yaml"), *overrides,
                    "--run-dir", str(out)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = [json.loads(x) for x in (out / "rl" / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return [{"step": r["step"], "acc": r["eval/accuracy"], "work": r["eval/work_rate"]}
            for r in records if "eval/accuracy" in r]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="runs/quickstart", help="a finished run with an SFT checkpoint")
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3])
    ap.add_argument("--warmups", type=int, nargs="+", default=[0, 10])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--eval-size", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rl_warmup.json"))
    args = ap.parse_args()
    base = (ROOT / args.base).resolve()
    rows = []
    print(f"{'lr':>8} {'warmup':>6} {'before':>7} {'step 1':>7} {'step 3':>7} {f'step {args.steps}':>8}")
    for lr in args.lrs:
        for warmup in args.warmups:
            curve = run(base, ROOT / "runs" / "bench-warmup" / f"lr{lr:g}-w{warmup}", lr, warmup, args.steps,
                        args.eval_size)
            acc = {c["step"]: c["acc"] for c in curve}
            rows.append({"lr": lr, "warmup": warmup, "curve": curve})
            print(f"{lr:>8g} {warmup:>6} {100 * acc[0]:>6.1f}% {100 * acc[1]:>6.1f}% {100 * acc[3]:>6.1f}% "
                  f"{100 * acc[args.steps]:>7.1f}%", flush=True)
    out = {"base": args.base, "steps": args.steps, "eval_size": args.eval_size, "rows": rows,
           "machine": machine_info(), "date": time.strftime("%Y-%m-%d")}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
