"""How the RL update cuts a minibatch into micro-batches: the order with fewer padded positions."""

import numpy as np

from r1repro.rollout import Completion
from r1repro.train.rl import _micro_batch_order, _positions


def comp(prompt: tuple[int, ...], n: int) -> Completion:
    return Completion(prompt, tuple(range(100, 100 + n)), "x", "eos")


A, B = (1, 2, 3), (4, 5, 6)


def test_one_long_sample_per_prompt_goes_by_length():
    # A: 2, 2, 2, 10 tokens; B the same. By prompt each micro-batch of 4 pads to 10:
    # 2 x (1 prompt x 3 + 4 x 10) = 86 positions; by length [A2 A2 A2 B2] [B2 B2 A10 B10]:
    # (2 x 3 + 4 x 2) + (2 x 3 + 4 x 10) = 60
    comps = [comp(A, n) for n in (2, 2, 2, 10)] + [comp(B, n) for n in (2, 2, 2, 10)]
    order = _micro_batch_order(comps, np.arange(8), share=True, micro=4)
    assert _positions(comps, list(range(8)), 4) == 86 and _positions(comps, order.tolist(), 4) == 60
    assert [len(comps[i].ids) for i in order] == [2, 2, 2, 2, 2, 2, 10, 10]


def test_long_prompts_of_even_lengths_stay_together():
    # prompts of 20 tokens, completions 2 or 3: by prompt 2 x (20 + 4 x 3) = 64 positions; by length
    # each micro-batch would forward both prompts: (40 + 8) + (40 + 12) = 100
    pa, pb = tuple(range(20)), tuple(range(1, 21))
    comps = [comp(pa, n) for n in (2, 3, 2, 3)] + [comp(pb, n) for n in (2, 3, 2, 3)]
    order = _micro_batch_order(comps, np.arange(8), share=True, micro=4)
    assert _positions(comps, order.tolist(), 4) == 64
    assert {comps[i].prompt_ids for i in order[:4]} == {pa}


def test_without_prompt_sharing_by_total_length():
    comps = [comp(A, 5), comp((1,), 1), comp(A, 1)]
    assert _micro_batch_order(comps, np.array([0, 1, 2]), share=False, micro=2).tolist() == [1, 2, 0]
