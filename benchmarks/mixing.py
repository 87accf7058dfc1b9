"""Language mixing, R1-Zero then R1 (docs/language-mixing.md): stage 1 and the stage-2 lambda table.

    python benchmarks/mixing.py --sweep-seed 0 --lambdas 0 0.1 0.3 1.0 --chosen 0.3 --seeds 0 1 2
    python benchmarks/mixing.py ... --reuse       # aggregate, running only what is missing

Per seed s, all under runs/mixing/:
  stage1-s<s>            `r1repro run recipes/mixing/stage1.yaml seed=s`: SFT on targets of which 40%
                         show their work and half of those name each operation in Chinese, then RL
                         with correctness only (R1-Zero), eval, report.
  _stage2-warm-s<s>      recipes/mixing/stage2.yaml, stages prepare, sft and the SFT checkpoint's eval:
                         a fresh model SFT'd on stage1-s<s>'s correct RL samples (R1's rejection
                         sampling), run once per seed.
  stage2-l<lambda>-s<s>  a copy of the warm run (its eval of the SFT checkpoint included), then RL
                         with correctness + lambda x language consistency, eval of the RL
                         checkpoint, report. lambda runs every value of --lambdas on the sweep seed and 0 and
                         --chosen on every seed.
Mixing is measured on the think part of the 200 held-out problems (eval task `arith`): `mixed` is the
eval summary's lang/mixed_share (k = 4 samples per problem, T 0.6, top-p 0.95), `greedy mixed` the
share of greedy answers that mix scripts; `among worked` divides by the answers that show their
work (the mode RL selects, and the only one that has reasoning to mix). Prints the stage-1 table
(SFT -> RL) and the lambda table (mean over seeds, each seed listed), and writes
benchmarks/results/mixing.json with every number, each run's commands and the machine.
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

from r1repro.config import config_hash, load_recipe, to_yaml
from r1repro.files import read_jsonl
from r1repro.metrics import language_metrics, work_rate
from r1repro.text import count_worked_steps, language_stats, think_part

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs" / "mixing"
STAGE1, STAGE2 = "recipes/mixing/stage1.yaml", "recipes/mixing/stage2.yaml"
TASK, WORKED, TRANSFER = "arith", "arith_forced_worked", "arith_4step"
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import cpu_line, machine_info  # noqa: E402


def cli(*args: str, execute: bool = True) -> str:
    """Run one r1repro command (unless `execute` is False); return it as a shell line, paths relative."""
    if execute:
        subprocess.run([sys.executable, "-m", "r1repro.cli", *args], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return "r1repro " + " ".join(str(a).replace(str(ROOT) + "/", "") for a in args)


def done(run: Path, stages: tuple[str, ...]) -> bool:
    path = run / "manifest.json"
    st = json.loads(path.read_text())["stages"] if path.exists() else {}
    return all(st.get(s, {}).get("status") == "done" for s in stages)


def seconds(run: Path, stage: str) -> float:
    return round(json.loads((run / "manifest.json").read_text())["stages"][stage].get("seconds", 0.0), 1)


def mixing(records: list[dict]) -> dict:
    """Accuracy, work rate and mixing of eval records (think part); mixing also among worked ones."""
    thinks = [think_part(r["completion"]) for r in records]
    worked = [t for t in thinks if count_worked_steps(t) > 0]
    lang = language_metrics(thinks)
    return {"n": len(records), "acc": statistics.mean(bool(r["correct"]) for r in records),
            "work": work_rate(thinks), "mixed": lang["lang/mixed_share"], "target_share": lang["lang/target_share"],
            "switches": lang["lang/switches"],
            "mixed_among_worked": language_metrics(worked)["lang/mixed_share"] if worked else None}


def checkpoint_row(run: Path, ckpt: str) -> dict:
    """The held-out numbers of one checkpoint: greedy and sampled mixing, forced-worked and 4-step accuracy."""
    samples = read_jsonl(run / "eval" / ckpt / TASK / "samples.jsonl")
    summary = json.loads((run / "eval" / ckpt / TASK / "summary.json").read_text())["metrics"]
    out = {"greedy": mixing([s for s in samples if s["greedy"]]),
           "sampled": mixing([s for s in samples if not s["greedy"]]),
           "summary": {k: summary.get(k) for k in ("accuracy", "pass@1", "lang/mixed_share", "lang/target_share",
                                                   "lang/switches", "work/rate")}}
    for task in (WORKED, TRANSFER):
        path = run / "eval" / ckpt / task / "summary.json"
        out[task] = json.loads(path.read_text())["metrics"].get("accuracy") if path.exists() else None
    worked = [s for s in read_jsonl(run / "eval" / ckpt / WORKED / "samples.jsonl")] \
        if (run / "eval" / ckpt / WORKED / "samples.jsonl").exists() else []
    mixed = [s for s in worked if s["mixed"]]
    plain = [s for s in worked if not s["mixed"]]
    # a forced worked answer, split by whether it mixes: are the two equally right?
    out["forced_worked_by_mixing"] = {
        "mixed": {"n": len(mixed), "acc": statistics.mean(s["correct"] for s in mixed) if mixed else None},
        "unmixed": {"n": len(plain), "acc": statistics.mean(s["correct"] for s in plain) if plain else None}}
    return out


def rl_curve(run: Path) -> list[dict]:
    """Held-out greedy accuracy, work rate and mixing at every RL evaluation, and the RL samples' mixing
    there and at step 1."""
    recs = read_jsonl(run / "rl" / "metrics.jsonl")
    keys = ("eval/accuracy", "eval/work_rate", "eval/lang_mixed_share", "lang/mixed_share", "reward/language")
    return [{"step": r["step"], **{k: r[k] for k in keys if k in r}} for r in recs
            if "eval/accuracy" in r or r["step"] == 1]


def traces_card(run: Path) -> dict:
    """The stage-2 SFT data: how many rejection-sampled traces, and how many of them mix scripts."""
    traces = read_jsonl(run / "sft" / "traces.jsonl")
    thinks = [t["response"].split("</think>")[0] for t in traces]
    return {"traces": len(traces), "problems": len({t["problem_id"] for t in traces}),
            "worked": work_rate(thinks), "mixed": statistics.mean(language_stats(t).mixed for t in thinks)}


def stage1(seed: int, reuse: bool) -> dict:
    run = RUNS / f"stage1-s{seed}"
    t0 = time.time()
    todo = not (reuse and done(run, ("prepare", "sft", "rl", "eval", "report")))
    commands = [cli("run", STAGE1, f"seed={seed}", "--run-dir", str(run), "--force", execute=todo)]
    return {"seed": seed, "run": str(run.relative_to(ROOT)), "commands": commands, "reused": not todo,
            "wall_s": round(time.time() - t0, 1), "sft_s": seconds(run, "sft"), "rl_s": seconds(run, "rl"),
            "sft": checkpoint_row(run, "sft"), "rl": checkpoint_row(run, "rl"), "curve": rl_curve(run)}


def stage2_warm(seed: int, reuse: bool) -> tuple[Path, list[str]]:
    """prepare + SFT on stage 1's correct traces + the SFT checkpoint's eval, once per seed."""
    warm, source = RUNS / f"_stage2-warm-s{seed}", RUNS / f"stage1-s{seed}"
    todo = not (reuse and done(warm, ("prepare", "sft", "eval")))
    return warm, [cli("run", STAGE2, f"seed={seed}", f"sft.traces_from={source}", "eval.checkpoints=[sft]",
                      "--stages", "prepare,sft,eval", "--run-dir", str(warm), "--force", execute=todo)]


def adopt(run: Path, overrides: list[str]) -> None:
    """Make a copy of the warm run this lambda's run: its name, resolved config.yaml and config hash
    (prepare and SFT keep their entries, with the warm config's hash: the two configs differ only in
    rl.rewards.language and eval.checkpoints, which those stages do not read)."""
    cfg = load_recipe(ROOT / STAGE2, overrides)
    (run / "config.yaml").write_text(to_yaml(cfg))
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(name=run.name, config_hash=config_hash(cfg), copied_from=manifest.get("copied_from", manifest["name"]))
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2))


def stage2(seed: int, lam: float, warm: Path, warm_commands: list[str], reuse: bool) -> dict:
    """A copy of the seed's warm run (its eval/sft included), then RL with lambda, eval of the RL
    checkpoint, report."""
    run = RUNS / f"stage2-l{lam:g}-s{seed}"
    ov = [f"seed={seed}", f"sft.traces_from={RUNS / f'stage1-s{seed}'}", f"rl.rewards.language.weight={lam:g}"]
    t0 = time.time()
    todo = not (reuse and done(run, ("rl", "eval")))
    if todo:
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(warm, run)
    adopt(run, ov)
    commands = [*warm_commands, f"cp -r {warm.relative_to(ROOT)} {run.relative_to(ROOT)}  # then adopt(): this "
                f"run's name, config.yaml and config hash",
                cli("rl", STAGE2, *ov, "--run-dir", str(run), execute=todo),
                cli("eval", STAGE2, *ov, "eval.checkpoints=[rl]", "--run-dir", str(run), "--force", execute=todo),
                cli("report", str(run))]
    return {"seed": seed, "lambda": lam, "run": str(run.relative_to(ROOT)), "commands": commands, "reused": not todo,
            "wall_s": round(time.time() - t0, 1), "sft_s": seconds(run, "sft"), "rl_s": seconds(run, "rl"),
            "traces": traces_card(run), "sft": checkpoint_row(run, "sft"), "rl": checkpoint_row(run, "rl"),
            "curve": rl_curve(run)}


def pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def mean_of(rows: list[dict], get) -> float | None:
    vals = [get(r) for r in rows if get(r) is not None]
    return statistics.mean(vals) if vals else None


def print_stage1(rows: list[dict]) -> None:
    print("\nStage 1 (R1-Zero: correctness only), held-out, SFT -> RL")
    print("| seed | greedy acc | shows work (greedy) | mixed, k=4 samples | mixed among worked (samples) "
          "| greedy mixed | target share | switches | RL samples mixed (T 1), first → last step "
          "| forced worked acc, mixed / unmixed (SFT; RL) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s, q = r["sft"], r["rl"]
        fs, fw = s["forced_worked_by_mixing"], q["forced_worked_by_mixing"]
        steps = [c for c in r["curve"] if "lang/mixed_share" in c]
        print(f"| {r['seed']} | {pct(s['greedy']['acc'])} → {pct(q['greedy']['acc'])} "
              f"| {pct(s['greedy']['work'])} → {pct(q['greedy']['work'])} "
              f"| {pct(s['sampled']['mixed'])} → {pct(q['sampled']['mixed'])} "
              f"| {pct(s['sampled']['mixed_among_worked'])} → {pct(q['sampled']['mixed_among_worked'])} "
              f"| {pct(s['greedy']['mixed'])} → {pct(q['greedy']['mixed'])} "
              f"| {s['sampled']['target_share']:.3f} → {q['sampled']['target_share']:.3f} "
              f"| {s['sampled']['switches']:.2f} → {q['sampled']['switches']:.2f} "
              f"| {pct(steps[0]['lang/mixed_share'])} → {pct(steps[-1]['lang/mixed_share'])} "
              f"| {pct(fs['mixed']['acc'])} (n {fs['mixed']['n']}) / {pct(fs['unmixed']['acc'])} "
              f"(n {fs['unmixed']['n']}); {pct(fw['mixed']['acc'])} (n {fw['mixed']['n']}) / "
              f"{pct(fw['unmixed']['acc'])} (n {fw['unmixed']['n']}) |")


def lambda_table(rows: list[dict]) -> list[dict]:
    table = []
    base = {r["seed"]: r["rl"]["greedy"]["acc"] for r in rows if r["lambda"] == 0}
    for lam in sorted({r["lambda"] for r in rows}):
        mine = sorted((r for r in rows if r["lambda"] == lam), key=lambda r: r["seed"])
        accs = [r["rl"]["greedy"]["acc"] for r in mine]
        table.append({
            "lambda": lam, "seeds": [r["seed"] for r in mine], "acc": accs, "acc_mean": statistics.mean(accs),
            "acc_sd": statistics.stdev(accs) if len(accs) > 1 else 0.0,
            "acc_change_vs_0": mean_of(mine, lambda r: r["rl"]["greedy"]["acc"] - base[r["seed"]]
                                       if r["seed"] in base else None),
            "mixed": [r["rl"]["sampled"]["mixed"] for r in mine],
            "mixed_mean": mean_of(mine, lambda r: r["rl"]["sampled"]["mixed"]),
            "greedy_mixed_mean": mean_of(mine, lambda r: r["rl"]["greedy"]["mixed"]),
            "target_share_mean": mean_of(mine, lambda r: r["rl"]["sampled"]["target_share"]),
            "switches_mean": mean_of(mine, lambda r: r["rl"]["sampled"]["switches"]),
            "rl_samples_mixed_last_mean": mean_of(mine, lambda r: r["curve"][-1].get("lang/mixed_share")),
            "work_mean": mean_of(mine, lambda r: r["rl"]["greedy"]["work"]),
            "forced_worked_mean": mean_of(mine, lambda r: r["rl"][WORKED]),
            "transfer_mean": mean_of(mine, lambda r: r["rl"][TRANSFER]),
            "rl_s_mean": mean_of(mine, lambda r: r["rl_s"])})
    return table


def print_stage2(rows: list[dict], table: list[dict]) -> None:
    print("\nStage 2 (R1): the stage-2 SFT checkpoint per seed")
    print("| seed | traces (problems) | traces that mix | greedy acc | mixed, k=4 samples | greedy mixed |")
    print("|---|---|---|---|---|---|")
    for r in sorted({r["seed"]: r for r in rows}.values(), key=lambda r: r["seed"]):
        t, s = r["traces"], r["sft"]
        print(f"| {r['seed']} | {t['traces']} ({t['problems']}) | {pct(t['mixed'])} | {pct(s['greedy']['acc'])} "
              f"| {pct(s['sampled']['mixed'])} | {pct(s['greedy']['mixed'])} |")
    print("\nStage 2 (R1): RL with correctness + lambda x language consistency, held-out after RL "
          "(mean over seeds; per seed in brackets)")
    print("| lambda | seeds | greedy acc | change vs lambda 0 | mixed, k=4 samples | greedy mixed | target share "
          "| switches | RL samples mixed (T 1, last step) | shows work | forced worked | 4-step | RL s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in table:
        seeds = ", ".join(map(str, t["seeds"]))
        per = " / ".join(pct(a) for a in t["acc"])
        mix = " / ".join(pct(m) for m in t["mixed"])
        ch = t["acc_change_vs_0"]
        print(f"| {t['lambda']:g} | {seeds} | {pct(t['acc_mean'])} ({per}) | "
              f"{'–' if ch is None else f'{100 * ch:+.1f}'} | {pct(t['mixed_mean'])} ({mix}) "
              f"| {pct(t['greedy_mixed_mean'])} | {t['target_share_mean']:.3f} | {t['switches_mean']:.2f} "
              f"| {pct(t['rl_samples_mixed_last_mean'])} | {pct(t['work_mean'])} | {pct(t['forced_worked_mean'])} | {pct(t['transfer_mean'])} "
              f"| {t['rl_s_mean']:.0f} |")


def main() -> None:
    global RUNS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--sweep-seed", type=int, default=0, help="the seed that runs every lambda")
    ap.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 0.1, 0.3, 1.0])
    ap.add_argument("--chosen", type=float, default=0.3, help="the lambda run on every seed, next to 0")
    ap.add_argument("--stage1-only", action="store_true", help="run and print stage 1 only")
    ap.add_argument("--reuse", action="store_true", help="keep runs already finished under runs/mixing/")
    ap.add_argument("--runs", default="runs/mixing", help="where the run directories go, under the repository")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "mixing.json"))
    args = ap.parse_args()
    RUNS = ROOT / args.runs
    info = machine_info()
    print(f"machine: {cpu_line(info)}; load {info['loadavg'][0]:.1f}", flush=True)
    rows1, rows2 = [], []
    for seed in args.seeds:
        rows1.append(stage1(seed, args.reuse))
        r = rows1[-1]
        print(f"stage 1 seed {seed}: acc {pct(r['sft']['greedy']['acc'])} -> {pct(r['rl']['greedy']['acc'])}, "
              f"mixed (samples) {pct(r['sft']['sampled']['mixed'])} -> {pct(r['rl']['sampled']['mixed'])}", flush=True)
        if args.stage1_only:
            continue
        warm, warm_commands = stage2_warm(seed, args.reuse)
        lams = args.lambdas if seed == args.sweep_seed else sorted({0.0, args.chosen})
        for lam in lams:
            rows2.append(stage2(seed, lam, warm, warm_commands, args.reuse))
            r = rows2[-1]
            print(f"stage 2 seed {seed} lambda {lam:g}: acc {pct(r['rl']['greedy']['acc'])}, "
                  f"mixed (samples) {pct(r['rl']['sampled']['mixed'])} ({r['rl_s']:.0f} s RL)", flush=True)
    print_stage1(rows1)
    table = lambda_table(rows2) if rows2 else []
    if rows2:
        print_stage2(rows2, table)
    out = {"seeds": args.seeds, "sweep_seed": args.sweep_seed, "lambdas": args.lambdas, "chosen": args.chosen,
           "stage1": rows1, "stage2": rows2, "table": table,
           "invocation": "python benchmarks/mixing.py " + " ".join(sys.argv[1:]),
           "machine": info, "machine_after": machine_info(), "date": time.strftime("%Y-%m-%d")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
