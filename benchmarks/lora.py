"""Peak memory and step time of an RL step on SmolLM2-135M, full fine-tuning vs LoRA (model.lora).

    python benchmarks/lora.py                      # -> benchmarks/results/lora_smollm2_135m.json
    python benchmarks/lora.py --steps 1 --warmup 0 --variants full lora   # a quick look

Each variant runs in a fresh process: load the model (`smollm2-135m`, converted once from its PyPI
wheel, ../shared/MODELS.md), build the RL context as the `rl` stage does (r1repro.models.load_policy,
PolicyLogProbs, AdamW on the trainable parameters, the HF sampler), then take `--warmup` + `--steps`
real `rl_step`s: sample k completions for each prompt, grade them, RLOO advantages, one update.
Reported: the process's peak RSS (ru_maxrss: weights, gradients, optimizer state, activations,
everything) and its growth over the loaded model, the median step time and its generate / train
parts over the measured steps, and the trainable parameters. `+kl` adds a KL penalty (rl.kl_coef):
full fine-tuning then loads a second copy of the model as the reference; LoRA uses the same model
with its adapters disabled. The machine's load (a shared machine) and CPU are recorded.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import cpu_line, machine_info  # noqa: E402

VARIANTS = ["full", "lora", "full+kl", "lora+kl"]


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def child(variant: str, args) -> dict:
    import torch

    from r1repro.config import LoRAConfig, ModelConfig, OptimConfig, RLConfig, SamplingConfig
    from r1repro.data.schema import Problem
    from r1repro.data.templates import TEMPLATES
    from r1repro.models import PolicyLogProbs, load_model, load_policy, set_mmap_threshold
    from r1repro.rewards import Scorer
    from r1repro.rollout.hf import HFBackend
    from r1repro.train.common import build_optimizer
    from r1repro.train.rl import RLContext, rl_step

    torch.set_num_threads(args.threads)
    set_mmap_threshold(ModelConfig.mmap_threshold_mib)  # the pipeline's default
    lora = LoRAConfig(r=args.r, alpha=2.0 * args.r) if variant.startswith("lora") else None
    mcfg = ModelConfig(path=args.model, lora=lora)
    t0 = time.time()
    hf, tok = load_policy(args.model, None, mcfg, seed=0)
    rc = RLConfig(group_size=args.k, prompts_per_step=args.prompts, micro_batch=args.prompts * args.k,
                  advantage="rloo", kl_coef=0.05 if variant.endswith("+kl") else 0.0,
                  sampling=SamplingConfig(max_new_tokens=args.max_new_tokens, temperature=1.0, batch_size=64),
                  optim=OptimConfig(lr=1e-5 if lora is None else 1e-4, warmup_steps=0))
    ref = None
    if rc.kl_coef > 0:
        ref = hf if lora else load_model(args.model)[0].eval()
    model = PolicyLogProbs(hf)
    optimizer, scheduler = build_optimizer(model, rc.optim, args.warmup + args.steps)
    template = TEMPLATES["chat"]
    ctx = RLContext(rc, model, optimizer, scheduler, HFBackend(hf, tok, batch_size=64, stop=template.stop),
                    Scorer({"correct": 1.0}), template, tok.pad_token_id, tok, ref=ref, gen_model=hf)
    loaded, load_s = rss_gib(), time.time() - t0
    problems = [Problem(f"add/{i}", "synthetic", "train", f"What is {12 + 7 * i} + {29 + 5 * i}?",
                        str(41 + 12 * i)) for i in range(64)]
    steps = []
    for step in range(args.warmup + args.steps):
        batch = problems[step * args.prompts: (step + 1) * args.prompts]
        _, stats = rl_step(ctx, step + 1, batch)
        steps.append({k: stats[k] for k in ("time/step", "time/generate", "time/train", "length/mean", "kl")
                      if k in stats})
    measured = steps[args.warmup:]
    med = lambda key: round(statistics.median(s[key] for s in measured), 2)  # noqa: E731
    peak = rss_gib()
    return {"variant": variant, "lora_r": args.r if lora else None,
            "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "total_params": sum(p.numel() for p in model.parameters()),
            "load_s": round(load_s, 1), "loaded_rss_gib": round(loaded, 3), "peak_rss_gib": round(peak, 3),
            "peak_growth_gib": round(peak - loaded, 3), "step_s": med("time/step"),
            "generate_s": med("time/generate"), "train_s": med("time/train"),
            "completion_tokens": round(statistics.mean(s["length/mean"] for s in measured), 1), "steps": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    ap.add_argument("--r", type=int, default=16, help="LoRA rank (alpha = 2r, every linear layer of the blocks)")
    ap.add_argument("--prompts", type=int, default=2)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "lora_smollm2_135m.json"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args)))
        return
    from r1repro.models import resolve_model_path

    resolve_model_path(args.model)  # convert once, outside the measured processes
    info = machine_info(("r1repro", "torch", "transformers", "peft"))
    print(f"machine: {cpu_line(info)}; load {info['loadavg'][0]:.1f} {info['loadavg'][1]:.1f}", flush=True)
    rows = []
    for v in args.variants:
        out = subprocess.run([sys.executable, __file__, "--child", v, "--model", args.model, "--r", str(args.r),
                              "--prompts", str(args.prompts), "--k", str(args.k),
                              "--max-new-tokens", str(args.max_new_tokens), "--warmup", str(args.warmup),
                              "--steps", str(args.steps), "--threads", str(args.threads)],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    load_after = machine_info(("r1repro",))["loadavg"]
    print(f"\n{args.prompts} prompts x {args.k} samples, <= {args.max_new_tokens} new tokens, {args.steps} steps after "
          f"{args.warmup} warm-up, {args.threads} thread(s)\n")
    print("| variant | trainable params | peak RSS | growth over loaded model | s/step | generate | train |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        share = 100 * r["trainable_params"] / r["total_params"]
        print(f"| {r['variant']} | {r['trainable_params'] / 1e6:.2f}M ({share:.2f}%) | {r['peak_rss_gib']:.2f} GiB "
              f"| {r['peak_growth_gib']:.2f} GiB | {r['step_s']:.2f} | {r['generate_s']:.2f} | {r['train_s']:.2f} |")
    result = {"model": args.model, "prompts": args.prompts, "k": args.k, "max_new_tokens": args.max_new_tokens,
              "warmup": args.warmup, "steps": args.steps, "threads": args.threads, "lora_r": args.r,
              "machine": info, "loadavg_after": load_after, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
