"""benchmarks/generation.py's roofline: the least time a sampled batch needs, by hand."""

import sys
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from generation import by_live_rows, decode_step_times, gemm_times, live_rows, roofline  # noqa: E402

from r1repro import kernels
from r1repro.rollout import loop as rollout_loop
from r1repro.rollout.loop import sample_loop


def test_roofline_takes_each_steps_larger_bound():
    # units: a row's compute 1 s (2 x 1 parameter at 2e-9 GFLOP/s), the weights' read 1 s (4 bytes at
    # 4e-9 GB/s), a position's keys and values 1 s (4 bytes)
    kw = dict(n_params=1, kv_bytes=4, peak_gflops=2e-9, gbps=4e-9)
    # prefill of 2 prompt tokens: max(2, 1) = 2; step 1: row 0 only, max(1, 1 + (2 + 1)) = 4; step 2: max(1, 1 + 4) = 5
    assert roofline([3, 1], [2, 2], prompt_tokens=2, **kw) == 11
    # compute-bound: 10 rows of one token's decode, no keys and values: prefill max(1, 1), then max(10, 1) = 10
    assert roofline([2] * 10, [1] * 10, prompt_tokens=1, n_params=1, kv_bytes=0, peak_gflops=2e-9, gbps=4e-9) == 11


def test_live_rows_counts_rows_still_running_at_each_decode_step():
    # lengths 3 and 1: the prefill gives both first tokens; step 1 makes row 0's second, step 2 its third
    assert live_rows([3, 1]) == [1, 1]
    assert live_rows([2] * 10) == [10]
    assert live_rows([4, 2, 3]) == [3, 2, 1]


def _tiny_llama(vocab: int = 64):
    cfg = transformers.LlamaConfig(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                   num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True)
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(cfg).eval()


def test_gemm_times_runs_every_linear_at_the_prefill_and_each_steps_rows():
    model = _tiny_llama()
    seen = {}
    for m in model.modules():
        if isinstance(m, torch.nn.Linear):  # an instance forward: frozen_linears leaves such modules alone
            m.forward = lambda x, m=m, f=m.forward: seen.setdefault(m, []).append(x.shape[0]) or f(x)
    prefill, per_step = gemm_times(model, [5, 3, 1], prompt_tokens=12, prompts=2)
    assert prefill > 0 and len(per_step) == 3 and all(s > 0 for s in per_step)
    assert len(seen) == 2 * 7 + 1
    assert seen[model.lm_head] == [2, 5, 3, 1]  # the prefill keeps one position a prompt
    assert all(rows == [12, 5, 3, 1] for m, rows in seen.items() if m is not model.lm_head)
    seen.clear()
    assert gemm_times(model, [], prompt_tokens=3, prompts=1)[1] == []  # every row stopped at its first token
    assert seen[model.lm_head] == [1] and seen[model.model.layers[0].mlp.up_proj] == [3]


def test_gemm_times_decode_steps_multiply_as_the_native_step_does(monkeypatch):
    # where the native decode step runs, its steps take the column blocks without reassembly
    # (kernels.block_product); the prefill still goes through each layer's forward
    model = _tiny_llama()
    monkeypatch.setattr(rollout_loop, "native_decode_applies", lambda m: True)
    calls = []
    product = kernels.block_product
    monkeypatch.setattr(kernels, "block_product", lambda m, x: calls.append(x.shape[0]) or product(m, x))
    gemm_times(model, [5, 3], prompt_tokens=12, prompts=2)
    assert calls == [5] * (2 * 7 + 1) + [3] * (2 * 7 + 1)


def test_by_live_rows_groups_steps_and_sums_each_list():
    rows = [128, 100, 96, 95, 40, 31, 16, 15, 1]
    loop_s = [1.0, 1.0, 1.0, 0.5, 0.25, 0.125, 0.125, 0.0625, 0.0625]
    groups = by_live_rows(rows, loop_s, [x / 2 for x in loop_s])
    assert groups == [{"rows": ">= 96", "steps": 3, "seconds": [3.0, 1.5]},
                      {"rows": "64-95", "steps": 1, "seconds": [0.5, 0.25]},
                      {"rows": "32-63", "steps": 1, "seconds": [0.25, 0.125]},
                      {"rows": "16-31", "steps": 2, "seconds": [0.25, 0.125]},
                      {"rows": "1-15", "steps": 2, "seconds": [0.125, 0.062]}]  # round(0.0625, 3): half to even


def test_decode_step_times_records_the_loops_live_rows():
    model = _tiny_llama(vocab=6)  # EOS (1) about one token in six: rows stop at different steps
    prompts = [[3, 4, 5], [5, 2], [2, 3, 4, 5]]
    step = rollout_loop._DecodeSteps.__call__
    with decode_step_times() as steps:
        out = sample_loop(model, [p for p in prompts for _ in range(3)], pad_id=0, eos_id=1, max_new_tokens=12,
                          temperature=1.0, top_p=1.0, seed=0)
    lengths = [len(t) for t, _ in out]
    assert len(set(lengths)) > 1  # rows stopped at different steps
    assert [r for r, _ in steps] == live_rows(lengths)
    assert all(seconds > 0 for _, seconds in steps)
    assert rollout_loop._DecodeSteps.__call__ is step  # restored on exit
