"""The algorithm study: every recipe in recipes/study/ for several seeds, from one shared warm start.

    python benchmarks/study.py recipes/study/ --seeds 0 1 2 3 4   # -> benchmarks/results/study.json
    python benchmarks/study.py --seeds 0 1 2 3 4 --reuse           # aggregate, running only what is missing

For each seed, `prepare` and `sft` run once (runs/study/_warm-s<seed>); each variant gets a copy of
that run directory and runs only its own `rl` and `eval` stages, so data, model, SFT checkpoint,
sampling budget and evaluation are identical across variants. Prints per variant: final held-out
greedy accuracy, mean over seeds with a 95% t-interval; sample efficiency, the RL steps (and RL
seconds, evaluation excluded) until the held-out accuracy measured during RL (rl.eval_every) first
reached 90%; RL wall-clock; and the |advantage| of the correct sample in groups with exactly 1 of k
correct (GRPO inflates it, RLOO does not); the 4-step transfer task's accuracy (a harder task no
variant trained on); the mean held-out accuracy over RL steps 0-10 (the early curve's area).
Writes a comparison report (curves overlaid) to
runs/study/compare/. `--name` keeps another study's runs and results apart (a harder task).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs" / "study"
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
"""Two-sided 95% quantiles of Student's t by degrees of freedom (n - 1)."""
EARLY = 10
"""Sample efficiency without the 2-step grain of steps-to-90%: each run's mean held-out accuracy over
the evaluations at RL steps 0..EARLY (the area under its early curve), then mean ± CI over seeds."""
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import copy_after_sft, cpu_line, machine_info  # noqa: E402


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "r1repro.cli", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sft_done(run: Path) -> bool:
    return (run / "manifest.json").exists() and json.loads((run / "manifest.json").read_text())["stages"].get(
        "sft", {}).get("status") == "done"


def warm_start(base_recipe: Path, seed: int, overrides: list[str], warm_from: str | None = None) -> Path:
    """prepare + sft once per seed; variants copy this run directory. warm_from ("runs/x-s{seed}"):
    take prepare + sft from that finished run instead (same data and SFT settings, e.g. the quickstart
    benchmark's runs: the study's base recipe only changes rl, eval and report)."""
    warm = RUNS / f"_warm-s{seed}"
    if sft_done(warm):
        return warm
    src = ROOT / warm_from.format(seed=seed) if warm_from else None
    if src is not None and sft_done(src):
        return copy_after_sft(src, warm)
    cli("run", str(base_recipe), f"seed={seed}", *overrides, "--stages", "prepare,sft", "--run-dir", str(warm),
        "--force")
    return warm


def finished(run: Path) -> bool:
    stages = json.loads((run / "manifest.json").read_text())["stages"] if (run / "manifest.json").exists() else {}
    return all(stages.get(s, {}).get("status") == "done" for s in ("rl", "eval"))


def run_variant(recipe: Path, warm: Path, seed: int, overrides: list[str], reuse: bool = False) -> dict:
    run = RUNS / f"{recipe.stem}-s{seed}"
    if reuse and finished(run):  # a finished variant from an earlier invocation (same overrides: your call)
        rl_s = json.loads((run / "manifest.json").read_text())["stages"]["rl"]["seconds"]
    else:
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(warm, run)
        t0 = time.time()
        cli("rl", str(recipe), f"seed={seed}", *overrides, "--run-dir", str(run))
        rl_s = time.time() - t0
        cli("eval", str(recipe), f"seed={seed}", *overrides, "--run-dir", str(run))
    accs = {}
    for summary in sorted((run / "eval" / "rl").glob("*/summary.json")):
        accs[summary.parent.name] = json.loads(summary.read_text())["metrics"].get("accuracy")
    recs = [json.loads(x) for x in (run / "rl" / "metrics.jsonl").read_text().splitlines() if x.strip()]
    hit = next((r for r in recs if r.get("eval/accuracy", -1) >= 0.9), None)
    train_s = sum(r.get("time/step", 0) for r in recs if hit and 0 < r["step"] <= hit["step"])
    curve = [(r["step"], r["eval/accuracy"]) for r in recs if "eval/accuracy" in r]
    return {"variant": recipe.stem, "seed": seed, "rl_s": round(rl_s, 1), "acc": accs, "run": str(run),
            "steps_to_90": hit["step"] if hit else None, "seconds_to_90": round(train_s, 1) if hit else None,
            "curve": curve}


def mean_ci(xs: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval (0 for one value)."""
    if len(xs) < 2:
        return (xs[0] if xs else float("nan")), 0.0
    return statistics.mean(xs), T975.get(len(xs) - 1, 1.96) * statistics.stdev(xs) / len(xs) ** 0.5


def mean_of_task(rows: list[dict], task: str) -> float | None:
    """Mean accuracy (%) of one eval task over the rows that have it (the 4-step transfer task)."""
    vals = [100 * r["acc"][task] for r in rows if r["acc"].get(task) is not None]
    return statistics.mean(vals) if vals else None


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def one_of_k_advantages(run: Path) -> list[float]:
    """|advantage| of the correct sample in groups where exactly one of k samples was correct."""
    out = []
    for f in sorted((run / "rl" / "rollouts").glob("step_*.jsonl")):
        groups: dict[str, list[dict]] = {}
        for line in f.read_text().splitlines():
            r = json.loads(line)
            groups.setdefault(r["problem_id"], []).append(r)
        for g in groups.values():
            correct = [r for r in g if r["correct"]]
            if len(correct) == 1 and len(g) > 1:
                out.append(abs(correct[0]["advantage"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", default="recipes/study")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep variants already finished in runs/study/ (run with the same overrides) instead of redoing them")
    ap.add_argument("--name", default="study", help="runs/<name>/ and benchmarks/results/<name>.json")
    ap.add_argument("--warm-from", help="reuse prepare + sft of these finished runs, e.g. runs/bench-quickstart-s{seed}")
    ap.add_argument("overrides", nargs="*", help="dotted overrides applied to every variant")
    args = ap.parse_intermixed_args()  # overrides may come before or after the options
    global RUNS
    RUNS = ROOT / "runs" / args.name
    info = machine_info()
    print(f"machine: {cpu_line(info)}; load {info['loadavg'][0]:.1f}", flush=True)
    folder = ROOT / args.folder
    variants = sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("_"))
    if args.only:
        variants = [p for p in variants if p.stem in args.only]
    rows = []
    for seed in args.seeds:
        warm = warm_start(folder / "_base.yaml", seed, args.overrides, args.warm_from)
        for recipe in variants:
            row = run_variant(recipe, warm, seed, args.overrides, reuse=args.reuse)
            rows.append(row)
            print(f"{row['variant']:>14} seed {seed}: acc {row['acc']} rl {row['rl_s']:.0f}s", flush=True)
    table = []
    print(f"\n{'variant':>14} {'acc (95% CI)':>16} {'n':>2} {'to 90%: steps':>14} {'s':>5} {'reached':>7} "
          f"{'RL s':>6} {'|A| 1-of-k':>11} {'4-step':>6} {f'mean acc, steps 0-{EARLY}':>22}")
    for recipe in variants:
        mine = [r for r in rows if r["variant"] == recipe.stem]
        accs = [100 * next(iter(r["acc"].values())) for r in mine if r["acc"]]
        adv = [a for r in mine for a in one_of_k_advantages(Path(r["run"]))]
        hits = [r for r in mine if r["steps_to_90"] is not None]
        early = mean_ci([100 * statistics.mean(a for st, a in r["curve"] if st <= EARLY) for r in mine if r["curve"]])
        mean, half = mean_ci(accs)
        entry = {"variant": recipe.stem, "acc_mean": mean, "acc_ci95": half, "acc_std": statistics.stdev(accs)
                 if len(accs) > 1 else 0.0, "n": len(accs), "accs": accs,
                 "reached_90": len(hits), "steps_to_90_mean": statistics.mean(r["steps_to_90"] for r in hits)
                 if hits else None, "seconds_to_90_mean": statistics.mean(r["seconds_to_90"] for r in hits)
                 if hits else None, "rl_s_mean": statistics.mean(r["rl_s"] for r in mine),
                 "one_of_k_abs_adv_mean": statistics.mean(adv) if adv else None, "one_of_k_groups": len(adv),
                 "transfer_mean": mean_of_task(mine, "arith_4step"), "early_mean": early[0], "early_ci95": early[1]}
        table.append(entry)
        adv_txt = f"{entry['one_of_k_abs_adv_mean']:.2f} ({len(adv)})" if adv else "-"
        steps_txt = f"{entry['steps_to_90_mean']:.1f}" if hits else "never"
        secs_txt = f"{entry['seconds_to_90_mean']:.0f}" if hits else "-"
        print(f"{recipe.stem:>14} {mean:>8.1f} ± {half:>4.1f}% {entry['n']:>2} {steps_txt:>14} {secs_txt:>5} "
              f"{len(hits):>3}/{len(mine):<3} {entry['rl_s_mean']:>6.0f} {adv_txt:>11} {pct(entry['transfer_mean']):>6} {early[0]:>14.1f} ± {early[1]:>4.1f}")
    from r1repro.report import render_comparison

    render_comparison([Path(r["run"]) for r in rows], RUNS / "compare")
    out = ROOT / "benchmarks" / "results" / f"{args.name}.json"
    out.write_text(json.dumps({"folder": args.folder, "seeds": args.seeds, "overrides": args.overrides,
                               "table": table, "rows": rows, "machine": info, "machine_after": machine_info(),
                               "date": time.strftime("%Y-%m-%d")}, indent=2) + "\n")
    print(f"wrote {out} and {RUNS / 'compare'}/index.html")


if __name__ == "__main__":
    main()
