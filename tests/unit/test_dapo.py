"""DAPO's batch hygiene on hand-made groups: group filter, batch selection, overlong penalty and mask."""

import pytest
import torch

from r1repro.algos.dapo import informative_groups, mask_truncated, select_groups, soft_overlong_penalty


def test_informative_groups_by_hand():
    rewards = torch.tensor([
        [1.0, 1.0, 1.0, 1.0],  # all correct: no signal
        [0.0, 0.0, 0.0, 0.0],  # all wrong: no signal
        [1.0, 0.0, 0.0, 0.0],  # one correct: signal
        [0.5, 0.5, 0.5, 0.4],  # a shaped reward that differs a little: signal
        [-1.0, -1.0, -1.0, -1.0],  # all equal below zero: no signal
    ])
    assert informative_groups(rewards).tolist() == [False, False, True, True, False]


def test_a_group_of_one_is_kept():
    assert informative_groups(torch.tensor([[1.0], [0.0]])).tolist() == [True, True]


def test_informative_groups_wants_p_by_k():
    with pytest.raises(ValueError, match="shape"):
        informative_groups(torch.zeros(4))


@pytest.mark.parametrize("informative,quota,expected", [
    # first draw: 2 of 4 informative; second draw adds 3 more: the first 4 informative in draw order
    ([True, False, True, False, True, True, False, True], 4, ([0, 2, 4, 5], 0)),
    # every group informative: the first quota, no filling
    ([True, True, True], 2, ([0, 1], 0)),
    # the draw cap is reached with 1 informative group: the first 3 dropped ones fill the batch
    ([False, True, False, False, False], 4, ([0, 1, 2, 3], 3)),
    # nothing informative at all: the batch is the first quota groups, all filling
    ([False, False, False], 2, ([0, 1], 2)),
])
def test_select_groups(informative, quota, expected):
    assert select_groups(informative, quota) == expected


def test_soft_overlong_penalty_by_hand():
    # budget 10 tokens, the last 4 are the buffer: 0 up to 6 tokens, then -1/4 per token, -1 at 10
    lengths = torch.tensor([3, 6, 7, 8, 10])
    got = soft_overlong_penalty(lengths, budget=10, buffer=4, penalty=1.0)
    assert got.tolist() == [0.0, 0.0, -0.25, -0.5, -1.0]


def test_soft_overlong_penalty_factor_and_beyond_budget():
    lengths = torch.tensor([9, 12])  # 12 > budget: the full penalty, as in the paper
    got = soft_overlong_penalty(lengths, budget=10, buffer=2, penalty=0.5)
    assert got.tolist() == [-0.25, -0.5]


def test_soft_overlong_penalty_off():
    assert soft_overlong_penalty(torch.tensor([10, 3]), budget=10, buffer=0).tolist() == [0.0, 0.0]


def test_mask_truncated_zeroes_truncated_rows_only():
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0]]).bool()
    truncated = torch.tensor([False, True, False])
    assert mask_truncated(mask, truncated).int().tolist() == [[1, 1, 0], [0, 0, 0], [1, 0, 0]]
    as_float = mask_truncated(mask.float(), truncated)  # a float mask stays float
    assert as_float.dtype == torch.float32 and as_float.tolist() == [[1, 1, 0], [0, 0, 0], [1, 0, 0]]
