"""Advantage estimators on hand-computed groups. Values are literals; the comment says how."""

import math

import pytest
import torch

from r1repro.algos.advantages import (
    ADVANTAGES,
    grpo_advantages,
    reinforce_pp_advantages,
    rloo_advantages,
)
from r1repro.registry import UnknownNameError

R = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)  # one group, 1 of 4 correct


def close(a, b, tol=1e-9):
    return torch.allclose(a, torch.tensor(b, dtype=a.dtype), atol=tol, rtol=0)


def test_none_is_raw_reward():
    # vanilla REINFORCE: A = r
    assert close(ADVANTAGES["none"](R), [[1, 0, 0, 0]])


def test_batch_mean_over_all_prompts():
    r = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    # batch mean = 3/4 -> [1-.75, 0-.75], [.25, .25]
    assert close(ADVANTAGES["batch_mean"](r), [[0.25, -0.75], [0.25, 0.25]])


def test_rloo_one_of_four():
    # A_0 = 1 - mean(0,0,0) = 1; A_i = 0 - mean(1,0,0) = -1/3
    assert close(ADVANTAGES["rloo"](R), [[1, -1 / 3, -1 / 3, -1 / 3]])


def test_rloo_two_groups_are_independent():
    r = torch.tensor([[3.0, 1.0], [0.0, 2.0]], dtype=torch.float64)
    # group 1: 3-1=2, 1-3=-2 ; group 2: 0-2=-2, 2-0=2
    assert close(rloo_advantages(r), [[2, -2], [-2, 2]])


def test_rloo_single_sample_is_zero_not_nan():
    # G=1: no other samples to form a baseline -> defined as 0
    out = ADVANTAGES["rloo"](torch.tensor([[1.0], [0.0]]))
    assert torch.equal(out, torch.zeros(2, 1))


def test_grpo_one_of_four_sample_std_exact():
    # mean = .25; sample var = (.75^2 + 3 * .25^2) / 3 = .75 / 3 = .25 -> std .5
    # A = [.75/.5, -.25/.5, ...] = [1.5, -.5, -.5, -.5]  (eps = 0)
    assert close(grpo_advantages(R, eps=0.0), [[1.5, -0.5, -0.5, -0.5]])


def test_grpo_population_std():
    # population var = .75 / 4 = .1875 -> std sqrt(.1875) = 0.4330127...
    s = math.sqrt(0.1875)
    expected = [[0.75 / s, -0.25 / s, -0.25 / s, -0.25 / s]]  # = [1.7320508, -0.5773503, ...]
    assert close(grpo_advantages(R, eps=0.0, unbiased=False), expected)
    assert abs(expected[0][0] - math.sqrt(3)) < 1e-12  # .75 / (sqrt(3)/4) = sqrt(3)


def test_grpo_registry_default_matches_trl_eps():
    # registry entry: sample std, eps 1e-4 added to the std: .75 / .5001, -.25 / .5001
    assert close(ADVANTAGES["grpo"](R), [[0.75 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001]])
    assert abs(0.75 / 0.5001 - 1.4997000599880024) < 1e-12


@pytest.mark.parametrize("name", ["grpo", "dr_grpo", "rloo", "reinforce_pp"])
def test_groups_of_identical_rewards_give_zeros(name):
    # each group is constant (all pass / all fail): r - group mean = 0 exactly, 0 / (0 + eps) = 0
    r = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    out = ADVANTAGES[name](r)
    assert torch.equal(out, torch.zeros_like(r))
    # rewards float32 cannot average exactly (a format bonus of 0.1, k = 8 or 6): still exactly 0
    for k in (8, 6):
        r = torch.tensor([[0.1] * k, [0.3] * k, [1.1] * k])
        assert torch.equal(ADVANTAGES[name](r), torch.zeros_like(r)), k
    assert ADVANTAGES[name](r).dtype == torch.float32


@pytest.mark.parametrize("name", ["batch_mean", "reinforce_pp"])
def test_constant_batch_gives_zeros(name):
    r = torch.full((3, 2), 0.5)
    assert torch.equal(ADVANTAGES[name](r), torch.zeros(3, 2))
    assert torch.equal(ADVANTAGES[name](torch.tensor([[1.0]])), torch.zeros(1, 1))  # one sample


def test_grpo_single_sample_group_is_zero():
    out = ADVANTAGES["grpo"](torch.tensor([[1.0], [0.0]]))
    assert torch.equal(out, torch.zeros(2, 1))


def test_dr_grpo_mean_only():
    # r - mean: [1-.25, -.25, -.25, -.25]
    assert close(ADVANTAGES["dr_grpo"](R), [[0.75, -0.25, -0.25, -0.25]])


def test_rloo_is_scaled_dr_grpo():
    # second layer: rloo = G/(G-1) * dr_grpo, here 4/3 * [.75, -.25, ...] = [1, -1/3, ...]
    r = torch.rand(5, 4, dtype=torch.float64)
    assert torch.allclose(ADVANTAGES["rloo"](r), 4 / 3 * ADVANTAGES["dr_grpo"](r))


def test_reinforce_pp_group_baseline_batch_std():
    r = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
    # centred: [.75,-.25,-.25,-.25], [.5,.5,-.5,-.5]; sum of squares .75 + 1 = 1.75,
    # sample var over 8 values = 1.75 / 7 = .25 -> std .5; divide (eps = 0)
    out = reinforce_pp_advantages(r, eps=0.0)
    assert close(out, [[1.5, -0.5, -0.5, -0.5], [1.0, 1.0, -1.0, -1.0]])


def test_reinforce_pp_batch_baseline():
    r = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    # centred by batch mean .75: [.25,-.75,.25,.25]; sum sq = .0625*3 + .5625 = .75; var .75/3 = .25
    out = reinforce_pp_advantages(r, baseline="batch", eps=0.0)
    assert close(out, [[0.5, -1.5], [0.5, 0.5]])


def test_reinforce_pp_registry_entry_has_eps():
    # registry default eps=1e-6: 1.5 * .5 / (.5 + 1e-6)
    r = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
    assert close(ADVANTAGES["reinforce_pp"](r)[0, :1], [0.75 / 0.500001], tol=1e-12)


def test_int_rewards_are_accepted_and_shape_checked():
    assert ADVANTAGES["rloo"](torch.tensor([[1, 0]])).dtype == torch.get_default_dtype()
    with pytest.raises(ValueError):
        ADVANTAGES["grpo"](torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError):
        reinforce_pp_advantages(R, baseline="prompt")


def test_unknown_name_suggests():
    with pytest.raises(UnknownNameError, match="rloo"):
        ADVANTAGES["rlo"]


def test_registry_names():
    assert ADVANTAGES.names() == ["batch_mean", "dr_grpo", "grpo", "none", "reinforce_pp", "rloo"]
