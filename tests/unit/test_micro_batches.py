"""How the RL update picks a minibatch's sequences (zero advantages skipped) and cuts it into
micro-batches (the order with fewer padded positions)."""

import numpy as np
import torch

from r1repro import dist
from r1repro.config import RLConfig
from r1repro.rollout import Completion
from r1repro.train.rl import _forwards_prompts_once, _micro_batch_order, _positions, _with_gradient


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


def test_zero_advantages_are_left_out_unless_a_term_of_their_own_needs_them():
    adv, mb = torch.tensor([0.0, 1.0, 0.0, -2.0, 0.0]), np.arange(5)
    assert _with_gradient(mb, adv, None, RLConfig()).tolist() == [1, 3]
    assert _with_gradient(mb, torch.zeros(5), None, RLConfig()).tolist() == [0]  # one backward still runs
    assert _with_gradient(mb, adv, None, RLConfig(entropy_coef=0.01)).tolist() == list(range(5))
    assert _with_gradient(mb, adv, [torch.zeros(1)] * 5, RLConfig()).tolist() == list(range(5))  # KL in the loss
    assert _with_gradient(mb, adv, None, RLConfig(skip_zero_advantage=False)).tolist() == list(range(5))


def test_a_rank_with_fewer_sequences_to_train_runs_as_many_micro_batches(monkeypatch):
    # another rank needs 3 micro-batches of 2: this one (2 non-zero -> 1 micro-batch) takes back
    # zero-advantage sequences until it has 5 (3 micro-batches), which add nothing to the gradient
    monkeypatch.setattr(dist, "all_max", lambda n: max(n, 3))
    adv, mb = torch.tensor([0.0, 1.0, 0.0, -2.0, 0.0, 0.0, 0.0]), np.arange(7)
    keep = _with_gradient(mb, adv, None, RLConfig(micro_batch=2))
    assert sorted(keep.tolist()) == [0, 1, 2, 3, 4] and -(-len(keep) // 2) == 3


def test_prompts_forwarded_once_when_they_take_no_more_than_a_micro_batch():
    model = torch.nn.Linear(2, 2)  # stands in for the policy: one process, no checkpointing
    comps = [comp(A, n) for n in (2, 2, 2, 10)] + [comp(B, n) for n in (2, 2, 2, 10)]
    # 2 prompts x 3 tokens = 6 positions <= 4 x 10 completion positions
    assert _forwards_prompts_once(model, RLConfig(micro_batch=4), comps)
    # 8 distinct prompts of 20 tokens = 160 > 4 x 10 (few-shot prompts: per micro-batch instead)
    long = [comp(tuple(range(i, i + 20)), n) for i, n in enumerate((2, 2, 2, 10, 2, 2, 2, 10))]
    assert not _forwards_prompts_once(model, RLConfig(micro_batch=4), long)
    longer = [comp(c.prompt_ids, 40) for c in long]  # 160 <= 4 x 40
    assert _forwards_prompts_once(model, RLConfig(micro_batch=4), longer)
    assert not _forwards_prompts_once(model, RLConfig(micro_batch=4, share_prompt=False), comps)
    assert not _forwards_prompts_once(model, RLConfig(micro_batch=4), [])  # an empty minibatch: nothing to forward


def test_with_the_prompts_forwarded_once_micro_batches_go_by_completion_length():
    comps = [comp(A, n) for n in (5, 1, 3)] + [comp(B, n) for n in (2, 4, 6)]
    order = _micro_batch_order(comps, np.arange(6), share=True, micro=2, forwarded=True)
    assert [len(comps[i].ids) for i in order] == [1, 2, 3, 4, 5, 6]
