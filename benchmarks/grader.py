"""Grader benchmark: accuracy on hand-labelled cases, latency and throughput; ours vs math-verify.

What: runs r1repro.grading.check and HF math-verify on benchmarks/grader_cases (every label written
and checked by hand, see cases.py), then measures checks/s on GSM8K-style answers (GSM8K test
golds), MATH-style answers (MATH-500 golds: exact, reformatted and wrong predictions), and
MATH-style answers that need more than string equality (grader_cases/math_equiv.py: equivalent
fractions, radicals, factored vs expanded polynomials, intervals, tuples, multiples of pi, complex
numbers, trig/log/exp identities; half near misses), both checkers in the same run. Last, the time
bound under concurrency: 8 threads grading slow symbolic inputs at once with the 2 s budget.
Why: the checker is the reward; its accuracy, false-positive rate and speed are measured, not
asserted. How to run (about two minutes on 2 cores; run it on a quiet machine, the load average
is recorded):

    python benchmarks/grader.py            # prints a Markdown table, writes benchmarks/results/grader.json

math-verify is run in our sandbox worker for the labelled cases (some are hostile: a tower can hang
it in C code, where its signal timeout cannot fire) and in-process for the throughput runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from r1repro.files import read_jsonl  # noqa: E402  (after the sys.path insert)
from r1repro.grading import (  # noqa: E402
    GraderPolicy,
    check,
    check_batch,
    sandbox,
)

DATA = Path(os.environ.get("R1REPRO_DATA", ROOT.parent / "shared" / "data"))
OURS = GraderPolicy(cache_size=0, timeout_s=2.0)
MV = GraderPolicy(backend="math_verify", cache_size=0, timeout_s=5.0)


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration, subprocess.SubprocessError):
        return platform.processor() or "unknown"


def load_equiv():
    sys.path.insert(0, str(ROOT / "benchmarks/grader_cases"))
    from math_equiv import KINDS, load_math500_golds, math_equiv_cases

    return list(KINDS), math_equiv_cases(load_math500_golds(DATA))


def run_equiv(kinds, cases):
    """Checks/s of both checkers on the equivalence set, per kind and overall, and their accuracy."""
    from math_verify import parse, verify

    pairs = [(r, g) for _, r, g, _ in cases]
    t0 = time.perf_counter()
    batch = check_batch([r for r, _ in pairs], [g for _, g in pairs], policy=OURS)
    ours_batch = len(pairs) / (time.perf_counter() - t0)
    seq, mv = [], []
    for _, r, g, _ in cases:
        t0 = time.perf_counter()
        v = check(r, g, policy=OURS)
        seq.append((time.perf_counter() - t0, v.correct, v.method))
        t0 = time.perf_counter()
        ok = bool(verify(parse("$" + g + "$"), parse(r)))
        mv.append((time.perf_counter() - t0, ok))
    per = {}
    for kind in kinds:
        idx = [i for i, c in enumerate(cases) if c[0] == kind]
        per[kind] = {"n": len(idx),
                     "ours_checks_per_s": len(idx) / sum(seq[i][0] for i in idx),
                     "mv_checks_per_s": len(idx) / sum(mv[i][0] for i in idx),
                     "ours_accuracy": sum(seq[i][1] == cases[i][3] for i in idx) / len(idx),
                     "mv_accuracy": sum(mv[i][1] == cases[i][3] for i in idx) / len(idx),
                     "ours_fp": sum(seq[i][1] and not cases[i][3] for i in idx),
                     "mv_fp": sum(mv[i][1] and not cases[i][3] for i in idx),
                     "ours_methods": _count([seq[i][2] for i in idx])}
    n = len(cases)
    return {"n": n, "per_kind": per,
            "ours_checks_per_s_batch": ours_batch,
            "ours_checks_per_s_sequential": n / sum(t for t, _, _ in seq),
            "mv_checks_per_s": n / sum(t for t, _ in mv),
            "ours_accuracy": sum(s[1] == c[3] for s, c in zip(seq, cases)) / n,
            "mv_accuracy": sum(m[1] == c[3] for m, c in zip(mv, cases)) / n,
            "ours_batch_agrees": all(b.correct == s[1] for b, s in zip(batch, seq)),
            "max_check_ms": 1000 * max(t for t, _, _ in seq)}


SLOW = ("\\boxed{\\left(\\sin(x)+\\cos(x)\\right)^{48}}", "\\left(1+\\sin(2x)\\right)^{24}")
"""A slow symbolic input (simplify needs ~17 s), outside the pure-Python subset."""


def run_concurrency(threads: int = 8, rounds: int = 3, budget: float = 2.0) -> dict:
    """`threads` threads each grade SLOW `rounds` times at once: the worst wall time of one check."""
    pol = GraderPolicy(timeout_s=budget, cache_size=0)
    times, lock = [], threading.Lock()

    def work():
        for _ in range(rounds):
            t0 = time.monotonic()
            check(SLOW[0], SLOW[1], policy=pol)
            with lock:
                times.append(time.monotonic() - t0)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    sandbox.warmup()
    return {"threads": threads, "rounds": rounds, "budget_s": budget, "workers": sandbox.workers(),
            "worst_s": max(times), "median_s": sorted(times)[len(times) // 2], "checks": len(times)}


def load_cases():
    spec = importlib.util.spec_from_file_location("cases", ROOT / "benchmarks/grader_cases/cases.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.CASES


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


def run_labelled(cases):
    rows = []
    for cat, resp, gold, label, note in cases:
        t0 = time.perf_counter()
        v = check(resp, gold, policy=OURS)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        m = check(resp, gold, policy=MV)
        t_mv = time.perf_counter() - t0
        rows.append({"category": cat, "label": label, "note": note, "gold": gold,
                     "ours": v.correct, "ours_reason": v.reason, "ours_s": t_ours,
                     "mv": m.correct, "mv_reason": m.reason, "mv_s": t_mv})
    return rows


def summarise(rows, key):
    n = len(rows)
    right = sum(r[key] == r["label"] for r in rows)
    fp = sum(r[key] and not r["label"] for r in rows)
    fn = sum(r["label"] and not r[key] for r in rows)
    return {"n": n, "accuracy": right / n, "fp": fp, "fn": fn}


def gsm8k_pairs():
    golds = [r["answer"].split("#### ")[-1].replace(",", "") for r in read_jsonl(DATA / "gsm8k/test.jsonl")]
    pairs = []
    for g in golds:
        pairs.append((f"<think>Add them up.</think> <answer>\\boxed{{{g}}}</answer>", g))
        pairs.append((f"Step by step ... so she pays ${int(g) + 1}.\n#### {int(g) + 1}", g))
        pairs.append((f"<think>ok</think> <answer>{g} dollars</answer>", g))
    return pairs


def math_pairs():
    golds = [r["answer"] for r in read_jsonl(DATA / "math/test500.jsonl")]
    rng = random.Random(0)
    pairs = []
    for g in golds:
        variant = g.replace("\\frac", "\\dfrac").replace(",", ", ")
        wrong = rng.choice(golds)
        pairs += [(f"... so the answer is $\\boxed{{{g}}}$.", g),
                  (f"<think>...</think> <answer>\\boxed{{{variant}}}</answer>", g),
                  (f"Thus $\\boxed{{{wrong}}}$.", g)]
    return pairs


def throughput(pairs, fn):
    t0 = time.perf_counter()
    out = fn(pairs)
    dt = time.perf_counter() - t0
    return len(pairs) / dt, out


def mv_inprocess(pairs):
    from math_verify import parse, verify
    return [bool(verify(parse("$" + g + "$"), parse(r))) for r, g in pairs]


def main():
    cases = load_cases()
    sandbox.warmup()
    sandbox.warmup(with_mv=True)
    rows = run_labelled(cases)
    cats = sorted({r["category"] for r in rows})
    per_cat = {c: {"ours": summarise([r for r in rows if r["category"] == c], "ours"),
                   "math_verify": summarise([r for r in rows if r["category"] == c], "mv")}
               for c in cats}
    overall = {"ours": summarise(rows, "ours"), "math_verify": summarise(rows, "mv")}
    lat = {k: {"p50_ms": 1000 * pct([r[f"{k}_s"] for r in rows], 50),
               "p99_ms": 1000 * pct([r[f"{k}_s"] for r in rows], 99),
               "max_ms": 1000 * max(r[f"{k}_s"] for r in rows)} for k in ("ours", "mv")}

    kinds, equiv_cases = load_equiv()
    load_before = os.getloadavg()
    equiv = run_equiv(kinds, equiv_cases)
    gp, mp = gsm8k_pairs(), math_pairs()
    seq = lambda ps: [check(r, g, policy=OURS) for r, g in ps]
    bat = lambda ps: check_batch([r for r, _ in ps], [g for _, g in ps], policy=OURS)
    gsm_rate, gsm_v = throughput(gp, seq)
    math_rate, math_v = throughput(mp, bat)
    math_seq_rate, _ = throughput(mp, seq)
    mv_gsm_rate, _ = throughput(gp, mv_inprocess)
    mv_math_rate, _ = throughput(mp, mv_inprocess)
    all_ms = [v.elapsed_ms for v in gsm_v + math_v] + [1000 * r["ours_s"] for r in rows]
    concurrency = run_concurrency()
    result = {
        "machine": {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg_at_start": load_before,
                    "loadavg_at_end": os.getloadavg()},
        "policy": OURS.to_dict(), "n_cases": len(rows), "n_categories": len(cats),
        "overall": overall, "per_category": per_cat, "latency": lat,
        "throughput": {"gsm8k_checks_per_s": gsm_rate, "math_checks_per_s_batch": math_rate,
                       "math_checks_per_s_sequential": math_seq_rate,
                       "mv_gsm8k_checks_per_s": mv_gsm_rate, "mv_math_checks_per_s": mv_math_rate,
                       "n_gsm8k": len(gp), "n_math": len(mp),
                       "math_reasons": _count([v.reason for v in math_v]),
                       "max_check_ms": max(all_ms)},
        "math_equivalence": equiv,
        "concurrency": concurrency,
        "disagreements": [r for r in rows if r["ours"] != r["label"] or r["mv"] != r["label"]],
    }
    out = ROOT / "benchmarks/results/grader.json"
    out.write_text(json.dumps(result, indent=1, default=str))
    print(render(result))
    print(f"\nwrote {out.relative_to(ROOT)}")


def _count(xs):
    return {k: xs.count(k) for k in sorted(set(xs))}


def render(res) -> str:
    lines = ["| category | n | ours acc | ours FP | ours FN | math-verify acc | mv FP | mv FN |",
             "|---|---|---|---|---|---|---|---|"]
    for c, d in res["per_category"].items():
        o, m = d["ours"], d["math_verify"]
        lines.append(f"| {c} | {o['n']} | {o['accuracy']:.1%} | {o['fp']} | {o['fn']} | "
                     f"{m['accuracy']:.1%} | {m['fp']} | {m['fn']} |")
    o, m = res["overall"]["ours"], res["overall"]["math_verify"]
    lines.append(f"| **all** | {o['n']} | **{o['accuracy']:.1%}** | {o['fp']} | {o['fn']} | "
                 f"**{m['accuracy']:.1%}** | {m['fp']} | {m['fn']} |")
    la, t = res["latency"], res["throughput"]
    lines += ["", "| | ours | math-verify |", "|---|---|---|",
              f"| latency p50 (labelled cases) | {la['ours']['p50_ms']:.2f} ms | {la['mv']['p50_ms']:.2f} ms |",
              f"| latency p99 | {la['ours']['p99_ms']:.1f} ms | {la['mv']['p99_ms']:.1f} ms |",
              f"| latency max | {la['ours']['max_ms']:.0f} ms | {la['mv']['max_ms']:.0f} ms |",
              f"| GSM8K-style checks/s ({t['n_gsm8k']}) | {t['gsm8k_checks_per_s']:.0f} | {t['mv_gsm8k_checks_per_s']:.0f} |",
              f"| MATH-style checks/s ({t['n_math']}, batch) | {t['math_checks_per_s_batch']:.0f} | {t['mv_math_checks_per_s']:.0f} |",
              f"| MATH-style checks/s (sequential) | {t['math_checks_per_s_sequential']:.0f} | |",
              f"| slowest single check (all runs) | {t['max_check_ms']:.0f} ms | |"]
    e = res["math_equivalence"]
    lines += ["", f"MATH-style answers that need more than string equality ({e['n']} checks, same run):", "",
              "| kind | n | ours checks/s | math-verify checks/s | ours acc | mv acc | ours FP | mv FP |",
              "|---|---|---|---|---|---|---|---|"]
    for kind, d in e["per_kind"].items():
        lines.append(f"| {kind} | {d['n']} | {d['ours_checks_per_s']:.0f} | {d['mv_checks_per_s']:.0f} | "
                     f"{d['ours_accuracy']:.1%} | {d['mv_accuracy']:.1%} | {d['ours_fp']} | {d['mv_fp']} |")
    lines += [f"| **all, sequential** | {e['n']} | **{e['ours_checks_per_s_sequential']:.0f}** | "
              f"**{e['mv_checks_per_s']:.0f}** | {e['ours_accuracy']:.1%} | {e['mv_accuracy']:.1%} | | |",
              f"| **all, batch (2 workers)** | {e['n']} | **{e['ours_checks_per_s_batch']:.0f}** | | | | | |",
              "", f"ours / math-verify: {e['ours_checks_per_s_batch'] / e['mv_checks_per_s']:.1f}x (batch), "
              f"{e['ours_checks_per_s_sequential'] / e['mv_checks_per_s']:.1f}x (sequential)"]
    c, m = res["concurrency"], res["machine"]
    lines += ["", f"Concurrency: {c['threads']} threads x {c['rounds']} rounds of a slow symbolic input, "
              f"{c['workers']} workers, budget {c['budget_s']} s: worst {c['worst_s']:.2f} s, median "
              f"{c['median_s']:.2f} s (bound: budget + 1 s)",
              f"Machine: {m['cpu_model']}, {m['cpus']} CPUs; load average {m['loadavg_at_start'][0]:.2f} at start, "
              f"{m['loadavg_at_end'][0]:.2f} at end"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
