"""benchmarks/generation.py's roofline: the least time a sampled batch needs, by hand."""

import sys
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from generation import gemm_seconds, live_rows, roofline  # noqa: E402


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


def test_gemm_seconds_runs_every_linear_at_the_prefill_and_each_steps_rows():
    cfg = transformers.LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                   num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True)
    model = transformers.LlamaForCausalLM(cfg)
    seen = {}
    for m in model.modules():
        if isinstance(m, torch.nn.Linear):  # an instance forward: frozen_linears leaves such modules alone
            m.forward = lambda x, m=m, f=m.forward: seen.setdefault(m, []).append(x.shape[0]) or f(x)
    assert gemm_seconds(model, [5, 3, 1], prompt_tokens=12, prompts=2) > 0
    assert len(seen) == 2 * 7 + 1
    assert seen[model.lm_head] == [2, 5, 3, 1]  # the prefill keeps one position a prompt
    assert all(rows == [12, 5, 3, 1] for m, rows in seen.items() if m is not model.lm_head)
    seen.clear()
    assert gemm_seconds(model, [], prompt_tokens=3, prompts=1) > 0  # every row stopped at its first token
    assert seen[model.lm_head] == [1] and seen[model.model.layers[0].mlp.up_proj] == [3]
