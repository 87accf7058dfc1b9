"""Peak CPU memory of forward + backward through the lm-head log-prob: naive vs chunked.

What: for SmolLM2-135M's head shape (H=576, V=49152) and a batch of B=16 sequences of T=384 tokens,
each variant computes per-token log p(target) from hidden states, sums them, and backpropagates
into the hidden states and the lm-head weight (float32, CPU):
    naive             logits = h @ W.T (B,T,V); log_softmax; gather    (the textbook version)
    naive_selective   logits = h @ W.T; r1repro.algos.selective_log_softmax
    chunked_<n>       r1repro.algos.chunked_token_logprobs(chunk_size=n), checkpointed per chunk

Why: torch's CPU allocator is invisible to tracemalloc, so each variant runs in a fresh
subprocess and reports the growth of the process's peak RSS (resource.getrusage ru_maxrss) from
just after the inputs are allocated to just after backward. The inputs and the gradients (weight
113 MB, hidden 14 MB) are the same for every variant; the difference is what autograd keeps.

How: `python benchmarks/logprob_memory.py` runs naive and chunked_1024 (each fwd+bwd is ~520
GFLOP of matmuls: tens of seconds on 2 idle cores, minutes on a loaded machine), `--all` runs every
variant; it prints a table and writes benchmarks/results/logprob_memory.json.
`--variant NAME` runs one variant in this process and prints its JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

B, T, H, V = 16, 384, 576, 49152
VARIANTS = ["naive", "naive_selective", "chunked_256", "chunked_1024", "chunked_4096"]
DEFAULT_VARIANTS = ["naive", "chunked_1024"]
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "logprob_memory.json"
sys.path.insert(0, str(ROOT))  # run as a script from a checkout, installed or not


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_one(variant: str, threads: int) -> dict:
    import torch
    import torch.nn.functional as F

    from r1repro.algos import chunked_token_logprobs, selective_log_softmax

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(B, T, H, generator=g).requires_grad_()  # (B, T, H)
    weight = (torch.randn(V, H, generator=g) * 0.02).requires_grad_()  # (V, H)
    targets = torch.randint(0, V, (B, T), generator=g)  # (B, T)
    before = _max_rss_mb()
    start = time.perf_counter()
    if variant == "naive":
        logits = hidden @ weight.T  # (B, T, V)
        logp = F.log_softmax(logits, dim=-1).gather(-1, targets[..., None]).squeeze(-1)  # (B, T)
    elif variant == "naive_selective":
        logp = selective_log_softmax(hidden @ weight.T, targets)  # (B, T)
    elif variant.startswith("chunked_"):
        logp, _ = chunked_token_logprobs(hidden, weight, targets, chunk_size=int(variant.split("_")[1]))
    else:
        raise ValueError(f"unknown variant {variant!r}; known: {VARIANTS}")
    logp.sum().backward()
    seconds = time.perf_counter() - start
    return {
        "variant": variant,
        "peak_rss_growth_mb": round(_max_rss_mb() - before, 1),
        "seconds": round(seconds, 2),
        "logp_sum": float(logp.sum()),
        "weight_grad_norm": float(weight.grad.norm()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", choices=VARIANTS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--all", action="store_true", help="run every variant, not just naive and chunked_1024")
    args = ap.parse_args()
    if args.variant:
        print(json.dumps(run_one(args.variant, args.threads)))
        return
    root = ROOT
    rows = []
    for v in VARIANTS if args.all else DEFAULT_VARIANTS:
        cmd = [sys.executable, __file__, "--variant", v, "--threads", str(args.threads)]
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=root)
        if out.returncode != 0:
            sys.exit(f"variant {v} failed:\n{out.stderr}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    logits_mb = B * T * V * 4 / 2**20
    print(
        f"B={B} T={T} H={H} V={V}, float32, CPU, {args.threads} threads; one (B,T,V) fp32 tensor = {logits_mb:.0f} MB"
    )
    print(
        f"{'variant':<16} {'peak RSS growth (MB)':>21} {'fwd+bwd (s)':>12} {'sum log p':>14} {'|grad W|':>10}"
    )
    for r in rows:
        print(
            f"{r['variant']:<16} {r['peak_rss_growth_mb']:>21.0f} {r['seconds']:>12.2f} "
            f"{r['logp_sum']:>14.2f} {r['weight_grad_norm']:>10.4f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"B": B, "T": T, "H": H, "V": V, "dtype": "float32", "device": "cpu", "threads": args.threads,
            "python": platform.python_version(), "machine": platform.machine(),
            "measure": "growth of ru_maxrss from after input allocation to after backward, fresh process"}  # fmt: skip
    import torch

    meta["torch"] = torch.__version__
    meta["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)  # timings are only comparable at equal load
    RESULTS.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(root)}")


if __name__ == "__main__":
    main()
