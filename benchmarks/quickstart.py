"""The quickstart recipe for several seeds, and a frozen-policy control: what RL adds, measured.

    python benchmarks/quickstart.py                        # seeds 0-4 + control -> benchmarks/results/quickstart.json
    python benchmarks/quickstart.py --seeds 0 --no-control rl.steps=20

Each seed is a full `r1repro run` of the recipe in its own run directory (runs/bench-quickstart-s<seed>),
so its numbers are exactly what `make demo` gives for that seed on this machine. The control copies
the first seed's run after SFT and runs RL with lr 0: the same sampling, scoring and evaluation,
a policy that never moves. Per seed: held-out greedy accuracy after SFT and after RL, the same
problems with each mode forced (selection vs skill), four-step transfer, the share of answers that
show their work, mean length, pass@1/pass@4, RL steps until held-out accuracy first reached 90%,
and stage times. Numbers differ between CPU models (float kernels); the CPU is recorded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import copy_after_sft, cpu_line, machine_info, write_result  # noqa: E402

MAIN, WORKED, DIRECT, TRANSFER = "arith", "arith_forced_worked", "arith_forced_direct", "arith_4step"


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "r1repro.cli", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def metric(run: Path, ckpt: str, task: str, key: str):
    path = run / "eval" / ckpt / task / "summary.json"
    return json.loads(path.read_text())["metrics"].get(key) if path.exists() else None


def steps_to(run: Path, threshold: float) -> int | None:
    """The first RL step whose held-out greedy accuracy (rl.eval_every) reached `threshold`."""
    recs = [json.loads(x) for x in (run / "rl" / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return next((r["step"] for r in recs if r.get("eval/accuracy", -1) >= threshold), None)


def row_of(run: Path, seed: int, wall: float) -> dict:
    manifest = json.loads((run / "manifest.json").read_text())
    row = {"seed": seed, "run": str(run.relative_to(ROOT)), "wall_s": round(wall, 1),
           "stage_s": {k: round(v.get("seconds", 0), 1) for k, v in manifest["stages"].items()},
           "steps_to_90": steps_to(run, 0.9)}
    for ckpt in ("sft", "rl"):
        row[ckpt] = {"acc": metric(run, ckpt, MAIN, "accuracy"), "pass@1": metric(run, ckpt, MAIN, "pass@1"),
                     "pass@4": metric(run, ckpt, MAIN, "pass@4"), "work": metric(run, ckpt, MAIN, "work/rate"),
                     "length": metric(run, ckpt, MAIN, "length/mean"),
                     "forced_worked": metric(run, ckpt, WORKED, "accuracy"),
                     "forced_direct": metric(run, ckpt, DIRECT, "accuracy"),
                     "transfer_4step": metric(run, ckpt, TRANSFER, "accuracy")}
    row["change_points"] = 100 * (row["rl"]["acc"] - row["sft"]["acc"])
    return row


def run_seed(recipe: str, seed: int, overrides: list[str], resume: bool = False) -> dict:
    """One seed's full run; with resume, an interrupted run continues (a finished one is only read)."""
    run = ROOT / "runs" / f"bench-quickstart-s{seed}"
    t0 = time.time()
    again = resume and (run / "manifest.json").exists()
    cli("run", recipe, f"seed={seed}", *overrides, "--run-dir", str(run), "--resume" if again else "--force")
    return row_of(run, seed, time.time() - t0)


def run_control(recipe: str, seed: int, overrides: list[str]) -> dict:
    """RL with lr 0 from the seed's SFT checkpoint: everything but the update."""
    src, run = ROOT / "runs" / f"bench-quickstart-s{seed}", ROOT / "runs" / f"bench-quickstart-s{seed}-control"
    copy_after_sft(src, run)
    t0 = time.time()
    ov = [f"seed={seed}", *overrides, "rl.optim.lr=0"]
    cli("rl", recipe, *ov, "--run-dir", str(run))
    cli("eval", recipe, *ov, "--run-dir", str(run))
    return row_of(run, seed, time.time() - t0)


def pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def print_table(rows: list[dict], control: dict | None) -> None:
    print("| seed | SFT | RL | change | forced worked SFT→RL | forced direct SFT→RL | 4-step SFT→RL "
          "| shows work SFT→RL | length SFT→RL | steps to 90% | SFT s | RL s | total s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows + ([control] if control else []):
        s, q, t = r["sft"], r["rl"], r["stage_s"]
        name = f"{r['seed']} (control, lr 0)" if r is control else str(r["seed"])
        print(f"| {name} | {pct(s['acc'])} | {pct(q['acc'])} | {r['change_points']:+.1f} "
              f"| {pct(s['forced_worked'])} → {pct(q['forced_worked'])} | {pct(s['forced_direct'])} → "
              f"{pct(q['forced_direct'])} | {pct(s['transfer_4step'])} → {pct(q['transfer_4step'])} "
              f"| {pct(s['work'])} → {pct(q['work'])} | {s['length']:.1f} → {q['length']:.1f} "
              f"| {r['steps_to_90'] if r['steps_to_90'] is not None else 'never'} | {t.get('sft', 0):.0f} "
              f"| {t.get('rl', 0):.0f} | {r['wall_s']:.0f} |")
    ch = [r["change_points"] for r in rows]
    print(f"\nchange over {len(rows)} seeds: mean {statistics.mean(ch):+.1f}, min {min(ch):+.1f}, "
          f"max {max(ch):+.1f} points" + (f"; control {control['change_points']:+.1f}" if control else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="recipes/quickstart.yaml")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--no-control", action="store_true", help="skip the frozen-policy control")
    ap.add_argument("--resume", action="store_true",
                    help="continue interrupted seed runs (same recipe and overrides) instead of starting over")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "quickstart.json"))
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_intermixed_args()
    info = machine_info()
    print(f"machine: {cpu_line(info)}; load {info['loadavg'][0]:.1f}", flush=True)
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(args.recipe, seed, args.overrides, args.resume))
        print(f"seed {seed}: SFT {pct(rows[-1]['sft']['acc'])} -> RL {pct(rows[-1]['rl']['acc'])} "
              f"({rows[-1]['wall_s']:.0f} s)", flush=True)
    control = None if args.no_control else run_control(args.recipe, args.seeds[0], args.overrides)
    print_table(rows, control)
    write_result(args.out, {"recipe": args.recipe, "overrides": args.overrides, "rows": rows, "control": control}, info)


if __name__ == "__main__":
    main()
