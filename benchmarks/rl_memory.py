"""Peak memory of one policy-gradient forward+backward of a 135M model: naive logits vs r1repro.

    python benchmarks/rl_memory.py            # SmolLM2-135M, 16 x 384 tokens -> results/rl_memory.json

Each variant runs in a fresh process and reports the growth of its peak RSS over the loaded model
(ru_maxrss), and the wall time. `naive` is what most trainers do: full-vocabulary float32 logits
for the whole batch, log_softmax, gather. `ours` is r1repro.models.token_logprobs: only completion
positions go through the LM head, chunk by chunk under checkpointing. `+gc` adds the model's
gradient checkpointing. Prompt = the first 128 tokens, completion = the remaining 256.
`--micro-batch m` accumulates the batch's gradient over micro-batches of m sequences, as the RL
stage does with `rl.micro_batch` (same loss, same gradient; memory of one micro-batch).
Every variant runs with the pipeline's heap setting (`model.mmap_threshold_mib`, 1 MiB since 2026-12-06, 4 before: freed
large buffers go back to the OS); `--mmap-threshold-mib 0` keeps glibc's default, the "before".

    python benchmarks/rl_memory.py --variants ours+gc --mmap-threshold-mib 0 \
        --out benchmarks/results/rl_memory_glibc_default.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from r1repro.config import ModelConfig

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ["naive", "naive+gc", "ours", "ours+gc"]


def child(variant: str, model_name: str, batch: int, length: int, threads: int, chunk: int,
          micro_batch: int, mmap_mib: float) -> dict:
    import torch

    from r1repro.models import enable_checkpointing, load_model, set_mmap_threshold, token_logprobs

    torch.set_num_threads(threads)
    if mmap_mib:  # what the pipeline does (model.mmap_threshold_mib); 0 keeps glibc's growing threshold
        set_mmap_threshold(mmap_mib)
    model, _ = load_model(model_name)
    model.train()
    if variant.endswith("+gc"):
        enable_checkpointing(model)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (batch, length), generator=g)
    attn = torch.ones_like(ids)
    mask = torch.zeros_like(ids)
    mask[:, length // 3 :] = 1
    adv = torch.randn(batch, generator=g)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.time()
    total = 0.0
    num_tokens = mask[:, 1:].sum()  # the global count: each micro-batch's loss is a share of one sum
    for i in range(0, batch, micro_batch):
        s = slice(i, i + micro_batch)
        if variant.startswith("naive"):
            logits = model(input_ids=ids[s], attention_mask=attn[s]).logits.float()[:, :-1]  # (b, T-1, V)
            logp = logits.log_softmax(-1).gather(-1, ids[s, 1:, None])[..., 0]  # (b, T-1)
            m = mask[s, 1:].float()
        else:
            logp, _ = token_logprobs(model, ids[s], attn[s], mask[s], chunk_size=chunk)  # (b, T)
            m = mask[s].float()
        loss = -(adv[s, None] * logp * m).sum() / num_tokens
        loss.backward()
        total += float(loss)
        del logp, loss
    seconds = time.time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"variant": variant, "chunk": chunk, "micro_batch": micro_batch, "mmap_threshold_mib": mmap_mib,
            "peak_growth_gib": round((peak - base) / 2**20, 3), "peak_rss_gib": round(peak / 2**20, 3),
            "seconds": round(seconds, 1), "loss": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=384)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", nargs="+", default=VARIANTS)
    ap.add_argument("--chunk", type=int, default=1024, help="tokens per LM-head chunk for the 'ours' variants")
    ap.add_argument("--micro-batch", type=int, default=None, help="sequences per forward/backward (default: all)")
    ap.add_argument("--mmap-threshold-mib", type=float, default=ModelConfig.mmap_threshold_mib,
                    help="as model.mmap_threshold_mib (the pipeline's default); 0: glibc's default heap")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rl_memory.json"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.model, args.batch, args.length, args.threads, args.chunk,
                               args.micro_batch or args.batch, args.mmap_threshold_mib)))
        return
    rows = []
    for v in args.variants:
        cmd = [sys.executable, __file__, "--child", v, "--model", args.model, "--batch", str(args.batch),
               "--length", str(args.length), "--threads", str(args.threads), "--chunk", str(args.chunk),
               "--micro-batch", str(args.micro_batch or args.batch),
               "--mmap-threshold-mib", str(args.mmap_threshold_mib)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{r['variant']:>9} (micro-batch {r['micro_batch']:>2}): peak growth {r['peak_growth_gib']:6.2f} GiB"
              f"  (peak RSS {r['peak_rss_gib']:5.2f} GiB)  {r['seconds']:6.1f} s  loss {r['loss']:.5f}", flush=True)
    out = {"model": args.model, "batch": args.batch, "micro_batch": args.micro_batch or args.batch,
           "mmap_threshold_mib": args.mmap_threshold_mib, "length": args.length, "threads": args.threads,
           "rows": rows,
           "machine": {"platform": platform.platform(), "python": platform.python_version()},
           "date": time.strftime("%Y-%m-%d")}
    path = Path(args.out)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
