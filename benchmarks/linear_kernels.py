"""Float32 linear layers on this CPU: MKL (what nn.Linear calls) against oneDNN (r1repro.kernels).

What: GFLOP/s of a 2048^3 multiply on each library, then of SmolLM2-135M's linear shapes on each,
side by side in one process:
- decode: (rows x 576) @ (576 x 576 | 192 | 1,536), (rows x 1,536) @ (1,536 x 576) and the LM head
  (rows x 576) @ (576 x 49,152), at 4-128 rows, cycling through enough distinct weights (as a
  model's 30 layers do) that they come from memory, not cache;
- training, 2,048 tokens: the forward x W^T, the input's gradient gy W and the weight's gradient
  gy^T x, through r1repro.kernels.linear's forward and backward against F.linear's.
And the largest difference from F.linear's result, relative to the output's scale.

Why: MKL runs AVX2 code on AMD CPUs, oneDNN the CPU's widest vectors; the sampling loop and the
RL / SFT updates take oneDNN above r1repro.kernels' gates. Every figure names the CPU.

    python benchmarks/linear_kernels.py --threads 2 --json benchmarks/results/linear_kernels.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_line, machine_info, write_result  # noqa: E402

from r1repro import kernels

DECODE = [(576, 576), (576, 192), (576, 1536), (1536, 576), (576, 49152)]  # (in, out)
TRAIN = [(576, 1536), (1536, 576)]


def seconds(fn, repeats: int) -> float:
    fn()  # warm up
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats


def onednn(x, w):
    return kernels._pointwise(x, w, None)


def peak(n: int = 2048) -> dict:
    a, b = torch.randn(n, n), torch.randn(n, n)
    w = b.t().contiguous()
    flops = 2 * n**3 / 1e9
    return {"mkl": flops / min(seconds(lambda: torch.mm(a, b), 1) for _ in range(5)),
            "onednn": flops / min(seconds(lambda: onednn(a, w), 1) for _ in range(5))}


def decode_row(k: int, n: int, rows: int) -> dict:
    copies = max(2, (64 << 20) // (4 * k * n))  # >= 64 MB of weights: more than the L3 cache
    ws = [torch.randn(n, k) for _ in range(copies)]
    x = torch.randn(rows, k)
    flops = 2 * rows * k * n * copies / 1e9
    mkl = seconds(lambda: [F.linear(x, w) for w in ws], 3)
    dnn = seconds(lambda: [onednn(x, w) for w in ws], 3)
    ref = F.linear(x, ws[0])
    err = ((onednn(x, ws[0]) - ref).abs().max() / ref.abs().max()).item()
    return {"shape": f"({rows} x {k}) @ ({k} x {n})", "mkl_gflops": round(flops / mkl, 1),
            "onednn_gflops": round(flops / dnn, 1), "speedup": round(mkl / dnn, 2), "max_rel_diff": float(f"{err:.1e}")}


def train_rows(k: int, n: int, tokens: int = 2048) -> list[dict]:
    x, w, gy = torch.randn(tokens, k), torch.randn(n, k), torch.randn(tokens, n)
    flops = 2 * tokens * k * n / 1e9
    pairs = {"forward x W^T": (lambda: F.linear(x, w), lambda: onednn(x, w)),
             "input gradient gy W": (lambda: gy @ w, lambda: onednn(gy, w.t())),
             "weight gradient gy^T x": (lambda: gy.t() @ x, lambda: onednn(gy.t(), x.t()))}
    out = []
    for name, (mkl_fn, dnn_fn) in pairs.items():
        mkl, dnn = seconds(mkl_fn, 5), seconds(dnn_fn, 5)
        ref = mkl_fn()
        err = ((dnn_fn() - ref).abs().max() / ref.abs().max()).item()
        out.append({"shape": f"{name}, {tokens} tokens, {k} -> {n}", "mkl_gflops": round(flops / mkl, 1),
                    "onednn_gflops": round(flops / dnn, 1), "speedup": round(mkl / dnn, 2),
                    "max_rel_diff": float(f"{err:.1e}")})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, nargs="+", default=[4, 16, 32, 64, 128])
    ap.add_argument("--json")
    args = ap.parse_args()
    if kernels._LINEAR_POINTWISE is None or not torch.backends.mkldnn.is_available():
        sys.exit("this torch has no oneDNN linear (torch.ops.mkldnn._linear_pointwise)")
    torch.set_num_threads(args.threads)
    info = machine_info(("r1repro", "torch"))
    peaks = peak()
    print(f"{cpu_line(info)}, {args.threads} threads; 2048^3 fp32 GEMM: MKL {peaks['mkl']:.1f}, "
          f"oneDNN {peaks['onednn']:.1f} GFLOP/s")
    rows = [decode_row(k, n, r) for k, n in DECODE for r in args.rows] + [r for k, n in TRAIN for r in train_rows(k, n)]
    print(f"{'shape':<52} {'MKL':>8} {'oneDNN':>8} {'x':>6} {'rel diff':>9}")
    for r in rows:
        print(f"{r['shape']:<52} {r['mkl_gflops']:8.1f} {r['onednn_gflops']:8.1f} {r['speedup']:6.2f} {r['max_rel_diff']:9.1e}")
    if args.json:
        write_result(args.json, {"threads": args.threads, "gemm_peak_gflops": {k: round(v, 1) for k, v in peaks.items()},
                                 "shapes": rows}, info)


if __name__ == "__main__":
    main()
