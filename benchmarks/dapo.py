"""DAPO's batch hygiene on the quickstart task: does it reach 90% held-out accuracy in fewer seconds?

    python benchmarks/dapo.py                                   # 3 seeds x (baseline, dynamic, mask_truncated)
    python benchmarks/dapo.py --seeds 0 --threshold 0.3 sft.steps=100 rl.steps=4 rl.eval_every=2  # a quick look

The quickstart recipe's prepare and SFT stages run once (`--base`, seed 0; reused when finished).
Then, for every seed and variant, RL runs from that same SFT checkpoint in a copy of the run
(`r1repro rl ... seed=S`), with the held-out greedy evaluation every rl.eval_every steps:

    baseline        the recipe as it is
    dynamic         rl.dynamic_sampling: groups whose rewards are all equal are dropped and more
                    prompts drawn until the step has rl.prompts_per_step informative groups
    mask_truncated  rl.mask_truncated: completions cut off at the token budget leave the loss
    overlong        rl.overlong_buffer = a quarter of the budget: DAPO's soft overlong punishment

Per run, from rl/metrics.jsonl: the first step whose `eval/accuracy` reached the threshold, and the
seconds of RL until then (the sum of `time/step` up to that step: sampling, scoring and the update,
without the held-out evaluations, which cost the same in every variant), the final held-out
accuracy, and the mean of dynamic/draws and length/truncated. Runs go one after the other; the
load average before each is recorded (a shared machine slows whichever run it happens to meet).
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

VARIANTS = {
    "baseline": [],
    "dynamic": ["rl.dynamic_sampling=true"],
    "mask_truncated": ["rl.mask_truncated=true"],
    "overlong": ["rl.overlong_buffer=QUARTER"],
}


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "r1repro.cli", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def records(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "rl" / "metrics.jsonl").read_text().splitlines() if x.strip()]


def time_to(recs: list[dict], threshold: float) -> tuple[int | None, float | None]:
    """(first step whose held-out accuracy reached `threshold`, seconds of RL steps until then)."""
    seconds = 0.0
    for r in recs:
        seconds += r.get("time/step", 0.0)
        if r.get("eval/accuracy", -1.0) >= threshold:
            return r["step"], round(seconds, 1)
    return None, None


def prepare_base(recipe: str, base: Path, overrides: list[str]) -> None:
    """prepare + sft of the recipe at seed 0, once."""
    manifest = base / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text())["stages"].get("sft", {}).get("status") == "done":
        return
    cli("run", recipe, "seed=0", *overrides, "--stages", "prepare,sft", "--run-dir", str(base), "--force")


def run_variant(recipe: str, base: Path, variant: str, seed: int, overrides: list[str], budget: int) -> dict:
    run = base.parent / f"{base.name}-{variant}-s{seed}"
    copy_after_sft(base, run)
    extra = [o.replace("QUARTER", str(max(1, budget // 4))) for o in VARIANTS[variant]]
    load = machine_info(("r1repro",))["loadavg"][0]
    t0 = time.time()
    cli("rl", recipe, f"seed={seed}", *overrides, *extra, "--run-dir", str(run))
    return {"variant": variant, "seed": seed, "run": str(run), "overrides": extra, "load_before": round(load, 2),
            "wall_s": round(time.time() - t0, 1), "records": records(run)}


def summarise(row: dict, threshold: float) -> dict:
    recs = row["records"]
    step, seconds = time_to(recs, threshold)
    evals = [r["eval/accuracy"] for r in recs if "eval/accuracy" in r]
    train = [r for r in recs if "time/step" in r]
    mean = lambda key: round(statistics.mean(r[key] for r in train), 3) if train and key in train[0] else None  # noqa: E731
    return {**{k: v for k, v in row.items() if k != "records"}, "steps_to": step, "seconds_to": seconds,
            "start_acc": evals[0] if evals else None, "final_acc": evals[-1] if evals else None,
            "s_per_step": mean("time/step"), "draws": mean("dynamic/draws"), "truncated": mean("length/truncated"),
            "all_same": mean("groups/all_same")}


def print_table(rows: list[dict], threshold: float) -> None:
    pct = lambda x: "–" if x is None else f"{100 * x:.1f}%"  # noqa: E731
    print(f"\n| variant | seed | steps to {threshold:.0%} | RL seconds to {threshold:.0%} | held-out start → end "
          "| s/step | draws/step | truncated | all-equal groups trained | load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['seed']} | {r['steps_to'] or 'never'} | {r['seconds_to'] or '–'} "
              f"| {pct(r['start_acc'])} → {pct(r['final_acc'])} | {r['s_per_step']} | {r['draws'] or 1} "
              f"| {pct(r['truncated'])} | {pct(r['all_same'])} | {r['load_before']} |")
    print()
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        reached = [r["seconds_to"] for r in mine if r["seconds_to"] is not None]
        mean = f"mean {statistics.mean(reached):.0f} s" if reached else "–"
        print(f"{variant}: reached {threshold:.0%} in {len(reached)} of {len(mine)} seeds; {mean} "
              f"({', '.join(str(r['seconds_to']) for r in mine)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="recipes/quickstart.yaml")
    ap.add_argument("--base", default=str(ROOT / "runs" / "bench-dapo"), help="run directory of the shared SFT")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=["baseline", "dynamic", "mask_truncated"], choices=list(VARIANTS))
    ap.add_argument("--threshold", type=float, default=0.9, help="held-out greedy accuracy to reach")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dapo.json"))
    ap.add_argument("overrides", nargs="*", help="dotted recipe overrides for every stage (e.g. rl.eval_every=2)")
    args = ap.parse_intermixed_args()
    from r1repro.config import load_recipe

    cfg = load_recipe(args.recipe, args.overrides)
    if not cfg.rl.eval_every:
        raise SystemExit("the recipe needs rl.eval_every > 0: the held-out accuracy is read from rl/metrics.jsonl")
    info = machine_info()
    print(f"machine: {cpu_line(info)}; load {info['loadavg'][0]:.1f}", flush=True)
    base = Path(args.base)
    t0 = time.time()
    prepare_base(args.recipe, base, args.overrides)
    print(f"SFT base ready: {base} ({time.time() - t0:.0f} s)", flush=True)
    rows = []
    for seed in args.seeds:
        for variant in args.variants:  # interleaved: a change in the machine's load hits every variant
            row = summarise(run_variant(args.recipe, base, variant, seed, args.overrides,
                                        cfg.rl.sampling.max_new_tokens), args.threshold)
            rows.append(row)
            print(f"{variant} seed {seed}: {row['steps_to'] or 'never'} steps, {row['seconds_to'] or '–'} s to "
                  f"{args.threshold:.0%} (wall {row['wall_s']:.0f} s, load {row['load_before']})", flush=True)
    print_table(rows, args.threshold)
    write_result(args.out, {"recipe": args.recipe, "overrides": args.overrides, "threshold": args.threshold,
                            "rows": rows, "records": {f"{r['variant']}-s{r['seed']}": records(Path(r["run"]))
                                                      for r in rows}}, info)


if __name__ == "__main__":
    main()
