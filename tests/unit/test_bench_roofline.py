"""benchmarks/generation.py's roofline: the least time a sampled batch needs, by hand."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from generation import roofline  # noqa: E402


def test_roofline_takes_each_steps_larger_bound():
    # units: a row's compute 1 s (2 x 1 parameter at 2e-9 GFLOP/s), the weights' read 1 s (4 bytes at
    # 4e-9 GB/s), a position's keys and values 1 s (4 bytes)
    kw = dict(n_params=1, kv_bytes=4, peak_gflops=2e-9, gbps=4e-9)
    # prefill of 2 prompt tokens: max(2, 1) = 2; step 1: row 0 only, max(1, 1 + (2 + 1)) = 4; step 2: max(1, 1 + 4) = 5
    assert roofline([3, 1], [2, 2], prompt_tokens=2, **kw) == 11
    # compute-bound: 10 rows of one token's decode, no keys and values: prefill max(1, 1), then max(10, 1) = 10
    assert roofline([2] * 10, [1] * 10, prompt_tokens=1, n_params=1, kv_bytes=0, peak_gflops=2e-9, gbps=4e-9) == 11
