"""The algorithm study: every recipe in recipes/study/ for several seeds, from one shared warm start.

    python benchmarks/study.py recipes/study/ --seeds 0 1 2      # -> benchmarks/results/study.json
    python benchmarks/study.py --seeds 0 1 2 --reuse              # aggregate, running only what is missing

For each seed, `prepare` and `sft` run once (runs/study/_warm-s<seed>); each variant gets a copy of
that run directory and runs only its own `rl` and `eval` stages, so data, model, SFT checkpoint,
sampling budget and evaluation are identical across variants. Prints final held-out accuracy
(greedy) mean ± std over seeds and RL wall-clock per variant, the |advantage| of the correct sample
in groups with exactly 1 of k correct (GRPO inflates it, RLOO does not), and writes a comparison
report (curves overlaid) to runs/study/compare/.
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


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "r1repro.cli", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def warm_start(base_recipe: Path, seed: int, overrides: list[str]) -> Path:
    """prepare + sft once per seed; variants copy this run directory."""
    warm = RUNS / f"_warm-s{seed}"
    if not (warm / "manifest.json").exists() or json.loads((warm / "manifest.json").read_text())["stages"].get(
            "sft", {}).get("status") != "done":
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
    return {"variant": recipe.stem, "seed": seed, "rl_s": round(rl_s, 1), "acc": accs, "run": str(run)}


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
    ap.add_argument("overrides", nargs="*", help="dotted overrides applied to every variant")
    args = ap.parse_intermixed_args()  # overrides may come before or after the options
    folder = ROOT / args.folder
    variants = sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("_"))
    if args.only:
        variants = [p for p in variants if p.stem in args.only]
    rows = []
    for seed in args.seeds:
        warm = warm_start(folder / "_base.yaml", seed, args.overrides)
        for recipe in variants:
            row = run_variant(recipe, warm, seed, args.overrides, reuse=args.reuse)
            rows.append(row)
            print(f"{row['variant']:>14} seed {seed}: acc {row['acc']} rl {row['rl_s']:.0f}s", flush=True)
    table = []
    print(f"\n{'variant':>14} {'acc mean':>9} {'std':>6} {'n':>2} {'RL s':>6} {'|A| 1-of-k':>11}")
    for recipe in variants:
        mine = [r for r in rows if r["variant"] == recipe.stem]
        accs = [100 * next(iter(r["acc"].values())) for r in mine if r["acc"]]
        adv = [a for r in mine for a in one_of_k_advantages(Path(r["run"]))]
        entry = {"variant": recipe.stem, "acc_mean": statistics.mean(accs) if accs else None,
                 "acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0, "n": len(accs),
                 "rl_s_mean": statistics.mean(r["rl_s"] for r in mine),
                 "one_of_k_abs_adv_mean": statistics.mean(adv) if adv else None, "one_of_k_groups": len(adv)}
        table.append(entry)
        adv_txt = f"{entry['one_of_k_abs_adv_mean']:.2f} ({len(adv)})" if adv else "-"
        print(f"{recipe.stem:>14} {entry['acc_mean']:>8.1f}% {entry['acc_std']:>6.1f} {entry['n']:>2} "
              f"{entry['rl_s_mean']:>6.0f} {adv_txt:>11}")
    from r1repro.report import render_comparison

    render_comparison([Path(r["run"]) for r in rows], RUNS / "compare")
    out = ROOT / "benchmarks" / "results" / "study.json"
    out.write_text(json.dumps({"seeds": args.seeds, "overrides": args.overrides, "table": table, "rows": rows,
                               "date": time.strftime("%Y-%m-%d")}, indent=2) + "\n")
    print(f"wrote {out} and {RUNS / 'compare'}/index.html")


if __name__ == "__main__":
    main()
