"""Generation speed on one model: our sampling loop against transformers' `generate`, and the CPU's peak.

What (issue 21): tokens/s of r1repro.rollout.loop.sample_loop at an RL-sized batch (16 prompts x 8
samples = 128 rows, 128 new tokens, T 0.8) and of `model.generate` on the same rows; the fp32
matrix-multiply peak of this machine measured in the same process (a 2048^3 GEMM, best of 5, on MKL
and on oneDNN: the better of the two is the peak; earlier results used MKL's alone); the
model FLOPs the loop reached as a share of that peak and of MKL's (2 x parameters per generated token, prefill
included); greedy equality against `generate` on distinct prompts and on prompts repeated 4 times
(these take the shared-prefix attention path when the prompts have >= 96 tokens, e.g. with
`--template gsm8k_3shot`: r1repro.rollout.loop.shares_prefix); the batch's roofline (the least time
its prefill and decode steps need at the peak and the measured memory stream speed, rows stopping where
they stopped: `roofline`) and the loop's share of it; the same batch's matrix multiplies alone, replayed
through the loop's kernels at each step's live rows (`gemm_times`: the share of the peak the loop
could reach if everything else were free), and beside them the loop's own decode steps grouped by their
live rows (`by_live_rows`); the process's peak RSS. `--profile` adds a
torch.profiler table of where one sampled batch spends its time (the top operators by self CPU time).

Prompts are the one-step word problems of recipes/smollm2-135m-arith.yaml in the model's chat
template, so rows stop at EOS as they do in RL (tokens/s: generated tokens over wall time). Every figure names the CPU: float kernels, hence speeds, differ.

    OMP_NUM_THREADS=2 python benchmarks/generation.py --model smollm2-135m --threads 2 \
        --json benchmarks/results/generation_smollm2_135m.json
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_line, machine_info, write_result  # noqa: E402
from task_selection import SETS, set_problems  # noqa: E402

from r1repro import kernels
from r1repro.data.templates import TEMPLATES
from r1repro.models import encode_prompt, left_padded, load_model
from r1repro.rollout import loop as rollout_loop
from r1repro.rollout.loop import sample_loop


def gemm_gflops(n: int = 2048, repeats: int = 5) -> dict[str, float]:
    """Best-of-`repeats` fp32 GFLOP/s of one n x n x n matrix multiply on each kernel library torch has:
    MKL (torch.mm, what nn.Linear calls) and oneDNN (what the loop's linear layers call on CPU). On AMD
    CPUs MKL runs its AVX2 code, so oneDNN's figure is the machine's attainable peak there."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    peaks = {"mkl": _best(lambda: torch.mm(a, b), repeats)}
    if kernels._LINEAR_POINTWISE is not None and torch.backends.mkldnn.is_available():
        w = b.t().contiguous()
        peaks["onednn"] = _best(lambda: kernels._pointwise(a, w, None), repeats)
    return {k: 2 * n**3 / t / 1e9 for k, t in peaks.items()}


def _best(fn, repeats: int) -> float:
    fn()  # warm up
    return min(_timed(fn) for _ in range(repeats))


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def stream_gbps(n_floats: int, repeats: int = 5) -> float:
    """Best-of-`repeats` GB/s of summing one float32 tensor of `n_floats` (the model's weights' size):
    how fast this machine streams what a decode step must read from memory."""
    x = torch.ones(n_floats)
    return 4 * n_floats / _best(lambda: x.sum(), repeats) / 1e9


def roofline(lengths: list[int], prompt_lens: list[int], prompt_tokens: int, n_params: int, kv_bytes: int,
             peak_gflops: float, gbps: float) -> float:
    """Seconds this batch needs at least: its prefill, then each decode step's max(compute at the peak,
    memory traffic at the stream speed), where a step with r live rows computes 2 x parameters x r
    FLOPs and reads every weight once plus each live row's keys and values (kv_bytes a position).
    Rows stop where they stopped in the loop's run; attention FLOPs and everything else are free."""
    compute, memory = 2 * n_params / (peak_gflops * 1e9), 4 * n_params / (gbps * 1e9)  # s a row, s a step
    total = max(compute * prompt_tokens, memory)  # prefill: each distinct prompt once
    for t, live in enumerate(live_rows(lengths), start=1):
        positions = sum(p + t for n, p in zip(lengths, prompt_lens) if n > t)
        total += max(compute * live, memory + kv_bytes * positions / (gbps * 1e9))
    return total


def live_rows(lengths: list[int]) -> list[int]:
    """The rows each decode step runs, rows stopping where they stopped: step t (1 .. max - 1) computes
    the (t + 1)-th token of every row longer than t (the first token comes from the prefill's logits)."""
    return [sum(n > t for n in lengths) for t in range(1, max(lengths))]


def gemm_times(model, steps: list[int], prompt_tokens: int, prompts: int) -> tuple[float, list[float]]:
    """Seconds the batch's matrix multiplies alone take through the loop's kernels (frozen_linears):
    the prefill's (every linear layer but the LM head at `prompt_tokens` rows, the LM head at `prompts`
    rows: the prefill keeps one position a prompt), then each decode step's (every linear layer at its
    live rows, `steps`), on random inputs; attention, sampling and every other operation left out. The
    decode steps multiply as the loop's do: kernels.block_product where the native decode step runs (the
    column blocks as they come), else each layer's forward (with the blocks' reassembly)."""
    head = model.get_output_embeddings()
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    inputs = {m.in_features: torch.randn(max([prompt_tokens, *steps]), m.in_features) for m in linears}
    native = rollout_loop.native_decode_applies(model)
    with torch.no_grad(), kernels.frozen_linears(model):
        t = time.perf_counter()
        for m in linears:
            m.forward(inputs[m.in_features][: prompts if m is head else prompt_tokens])
        prefill, per_step = time.perf_counter() - t, []
        for rows in steps:
            t = time.perf_counter()
            for m in linears:
                x = inputs[m.in_features][:rows]
                kernels.block_product(m, x) if native else m.forward(x)
            per_step.append(time.perf_counter() - t)
        return prefill, per_step


ROW_BUCKETS = (96, 64, 32, 16, 1)  # decode steps grouped by live rows: >= 96, 64-95, 32-63, 16-31, 1-15


def by_live_rows(rows: list[int], *seconds: list[float]) -> list[dict]:
    """Decode steps grouped by their live rows (ROW_BUCKETS): per group its steps and the sum of each
    list of per-step seconds, largest rows first; empty groups left out."""
    out = []
    for lo, hi in zip(ROW_BUCKETS, (None, *ROW_BUCKETS)):
        idx = [i for i, r in enumerate(rows) if r >= lo and (hi is None or r < hi)]
        if idx:
            out.append({"rows": f">= {lo}" if hi is None else f"{lo}-{hi - 1}", "steps": len(idx),
                        "seconds": [round(sum(s[i] for i in idx), 3) for s in seconds]})
    return out


@contextlib.contextmanager
def decode_step_times():
    """Inside, every decode step of sample_loop appends (live rows, seconds) to the yielded list
    (instrumentation only: the loop's own step, timed around)."""
    steps, call = [], rollout_loop._DecodeSteps.__call__

    def timed(self, ids, positions):
        t = time.perf_counter()
        logits = call(self, ids, positions)
        steps.append((ids.shape[0], time.perf_counter() - t))
        return logits

    rollout_loop._DecodeSteps.__call__ = timed
    try:
        yield steps
    finally:
        rollout_loop._DecodeSteps.__call__ = call


def prompts(tokenizer, template: str, n: int) -> list[list[int]]:
    tpl = TEMPLATES[template]
    return [encode_prompt(tokenizer, tpl.prompt(p.question, tokenizer)) for p in set_problems(SETS["arith1"], n)]


def run_loop(model, tok, rows, args, temperature: float, seed: int = 0):
    return sample_loop(model, rows, pad_id=tok.pad_token_id, eos_id=tok.eos_token_id,
                       max_new_tokens=args.max_new_tokens, temperature=temperature, top_p=args.top_p, seed=seed)


def run_generate(model, tok, rows, args, temperature: float) -> list[list[int]]:
    ids, mask = left_padded(rows, tok.pad_token_id)
    kw = dict(do_sample=True, temperature=temperature, top_p=args.top_p, top_k=0) if temperature > 0 else dict(do_sample=False)
    torch.manual_seed(0)
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=args.max_new_tokens,
                         pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, **kw)
    new = out[:, ids.shape[1]:].tolist()
    return [r[: r.index(tok.eos_token_id) + 1] if tok.eos_token_id in r else r for r in new]


def speed(name: str, fn, n_params: int, prompt_tokens: int, peaks: dict[str, float]) -> dict:
    t = time.perf_counter()
    rows = fn()
    wall = time.perf_counter() - t
    gen = sum(len(r) for r in rows)
    gflops = 2 * n_params * (gen + prompt_tokens) / wall / 1e9
    peak = max(peaks.values())
    res = {"engine": name, "wall_s": round(wall, 2), "generated_tokens": gen, "tokens_per_s": round(gen / wall, 1),
           "lengths": [len(r) for r in rows], "model_gflops": round(gflops, 1), "share_of_peak": round(gflops / peak, 3),
           "share_of_mkl_peak": round(gflops / peaks["mkl"], 3)}
    print(f"{name:>10}: {wall:7.1f} s  {gen:6d} tokens  {gen / wall:6.1f} tok/s  "
          f"{gflops:5.1f} GFLOP/s = {100 * gflops / peak:4.1f}% of the peak ({100 * gflops / peaks['mkl']:4.1f}% of MKL's)")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--template", default="chat_answer")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompts", type=int, default=16, help="distinct prompts of the sampled batch")
    ap.add_argument("--k", type=int, default=8, help="samples per prompt (rows = prompts x k)")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--greedy-prompts", type=int, default=32, help="distinct prompts for the greedy equality check")
    ap.add_argument("--no-generate", action="store_true", help="skip transformers' generate (speed side)")
    ap.add_argument("--profile", action="store_true", help="torch.profiler table of one sampled batch")
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    info = machine_info(("r1repro", "torch", "transformers"))
    model, tok = load_model(args.model)
    model.eval()
    n_params = sum(p.numel() for p in model.parameters())  # tied embeddings count once: the LM head
    peaks = gemm_gflops()
    peak = max(peaks.values())
    print(f"{args.model}, {n_params / 1e6:.0f}M parameters; {cpu_line(info)}, {args.threads} threads; fp32 GEMM peak "
          f"{peak:.1f} GFLOP/s ({', '.join(f'{k} {v:.1f}' for k, v in peaks.items())}); linears on {kernels.BACKEND}")
    base = prompts(tok, args.template, max(args.prompts, args.greedy_prompts))
    rows = [p for p in base[: args.prompts] for _ in range(args.k)]
    prompt_tokens = sum(map(len, base[: args.prompts]))  # the loop prefills each distinct prompt once
    result = {"model": args.model, "threads": args.threads, "rows": len(rows), "max_new_tokens": args.max_new_tokens,
              "temperature": args.temperature, "top_p": args.top_p, "gemm_peak_gflops": round(peak, 1),
              "gemm_peaks_gflops": {k: round(v, 1) for k, v in peaks.items()},
              "params": n_params, "cpu_linears": kernels.BACKEND, "speed": []}
    with torch.no_grad():
        run_loop(model, tok, rows[:8], args, args.temperature)  # warm up
        with decode_step_times() as steps:  # two clock reads a ~100 ms step
            result["speed"].append(speed("loop", lambda: [t for t, _ in run_loop(model, tok, rows, args, args.temperature)],
                                         n_params, prompt_tokens, peaks))
        loop = result["speed"][-1]
        text = model.config.get_text_config(decoder=True)
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        kv_bytes = 4 * 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim  # a position's keys and values
        gbps = stream_gbps(n_params)
        floor = roofline(loop["lengths"], list(map(len, rows)), prompt_tokens, n_params, kv_bytes, peak, gbps)
        bound = 2 * n_params * (loop["generated_tokens"] + prompt_tokens) / floor / (peak * 1e9)
        result["roofline"] = {"stream_gbps": round(gbps, 1), "seconds": round(floor, 2), "share_of_peak": round(bound, 3),
                              "loop_share_of_roofline": round(floor / loop["wall_s"], 3)}
        print(f"  roofline: memory streams at {gbps:.1f} GB/s; this batch (rows stopping where they stopped) needs "
              f"at least {floor:.2f} s, {100 * bound:.1f}% of the peak; the loop ran at {100 * floor / loop['wall_s']:.1f}% of that")
        live = live_rows(loop["lengths"])
        assert live == [r for r, _ in steps], "the replay's live rows differ from the loop's decode steps"
        prefill, per_step = gemm_times(model, live, prompt_tokens, args.prompts)
        gemm = prefill + sum(per_step)
        reach = 2 * n_params * (loop["generated_tokens"] + prompt_tokens) / gemm / (peak * 1e9)
        groups = by_live_rows(live, [s for _, s in steps], per_step)
        result["gemms_alone"] = {"seconds": round(gemm, 2), "share_of_peak": round(reach, 3),
                                 "loop_share": round(gemm / loop["wall_s"], 3), "prefill_s": round(prefill, 3),
                                 "by_live_rows": groups}
        print(f"  matrix multiplies alone (the loop's kernels at each step's live rows, nothing else): {gemm:.2f} s, "
              f"{100 * reach:.1f}% of the peak; {100 * gemm / loop['wall_s']:.1f}% of the loop's time")
        outside = loop["wall_s"] - sum(s for _, s in steps)
        print(f"  the loop by live rows (outside decode steps, i.e. prefill, sampling, bookkeeping: {outside:.2f} s; "
              f"the prefill's multiplies alone {prefill:.2f} s):")
        for g in groups:
            (t, m), n = g["seconds"], g["steps"]
            print(f"    {g['rows']:>7} rows: {n:3d} steps, {t:6.2f} s ({1e3 * t / n:6.1f} ms a step), "
                  f"multiplies alone {m:6.2f} s ({100 * m / t:4.1f}%)")
        if not args.no_generate:
            result["speed"].append(speed("generate", lambda: run_generate(model, tok, rows, args, args.temperature),
                                         n_params, sum(map(len, rows)), peaks))
        # distinct prompts, and a quarter of them 4 times each (shared-prefix attention for long prompts)
        greedy = base[: args.greedy_prompts]
        shared = [p for p in greedy[: max(1, len(greedy) // 4)] for _ in range(4)]
        for key, batch in (("greedy_equal", greedy), ("greedy_equal_shared", shared)):
            ours = [t for t, _ in run_loop(model, tok, batch, args, 0.0)]
            ref = run_generate(model, tok, batch, args, 0.0)
            same = sum(a == b for a, b in zip(ours, ref))
            print(f"greedy equal to generate, {'4 rows a prompt' if batch is shared else 'distinct prompts'}: "
                  f"{same}/{len(batch)} rows")
            result[key] = {"rows": len(batch), "equal": same}
        if args.profile:
            from torch.profiler import ProfilerActivity, profile
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                run_loop(model, tok, rows, args, args.temperature)
            table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20)
            print(table)
            result["profile_top"] = [
                {"op": e.key, "self_cpu_s": round(e.self_cpu_time_total / 1e6, 2), "calls": e.count}
                for e in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:20]]
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # the whole process
    print(f"peak RSS {result['peak_rss_mb']} MB")
    if args.json:
        write_result(args.json, result, info)


if __name__ == "__main__":
    main()
