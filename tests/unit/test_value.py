"""PPO with a value model: per-token rewards, GAE, whitening, the clipped value loss (hand-computed)."""

import pytest
import torch

from r1repro.algos.losses import POLICY_LOSSES
from r1repro.algos.value import gae, token_rewards, value_loss, whiten


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_token_rewards_put_the_outcome_on_the_last_token_and_kl_on_every_token():
    mask = t([[1, 1, 1], [1, 1, 0]])
    assert torch.equal(token_rewards(t([1.0, 0.5]), mask), t([[0, 0, 1], [0, 0.5, 0]]))
    kl = t([[0.1, 0.2, 0.3], [0.1, 0.1, 5.0]])  # 5.0 sits under the mask: never read
    out = token_rewards(t([1.0, 0.5]), mask, kl, kl_coef=0.5)
    assert torch.allclose(out, t([[-0.05, -0.1, 0.85], [-0.05, 0.45, 0]]))


def test_token_rewards_of_an_empty_row_are_zero():
    assert torch.equal(token_rewards(t([1.0]), t([[0, 0]])), t([[0, 0]]))


@pytest.mark.parametrize("gamma,lam,adv,ret", [
    # lam = 0.5: deltas (0.1, 0.2, 0.2) from V = (0.5, 0.6, 0.8) and R = 1 at the end;
    # A2 = 0.2, A1 = 0.2 + 0.5 * 0.2 = 0.3, A0 = 0.1 + 0.5 * 0.3 = 0.25; returns = A + V
    (1.0, 0.5, [0.25, 0.3, 0.2], [0.75, 0.9, 1.0]),
    # lam = 1, gamma = 1: A_t = R - V_t (Monte Carlo with a per-token baseline)
    (1.0, 1.0, [0.5, 0.4, 0.2], [1.0, 1.0, 1.0]),
    # gamma = 0.9, lam = 1: returns are the discounted reward 0.81, 0.9, 1
    (0.9, 1.0, [0.31, 0.3, 0.2], [0.81, 0.9, 1.0]),
    # lam = 0: one-step TD errors
    (1.0, 0.0, [0.1, 0.2, 0.2], [0.6, 0.8, 1.0]),
])
def test_gae_by_hand(gamma, lam, adv, ret):
    a, r = gae(t([[0, 0, 1]]), t([[0.5, 0.6, 0.8]]), t([[1, 1, 1]]), gamma=gamma, lam=lam)
    assert torch.allclose(a, t([adv])) and torch.allclose(r, t([ret]))


def test_gae_skips_padding_and_ignores_its_values():
    # row 2 is right-padded; the value 9 under the mask must not leak in: A1 = 1 - 0.4, A0 = 0.2 + 0.5 * 0.6
    a, r = gae(t([[0, 1, 0]]), t([[0.2, 0.4, 9.0]]), t([[1, 1, 0]]), gamma=1.0, lam=0.5)
    assert torch.allclose(a, t([[0.5, 0.6, 0.0]])) and torch.allclose(r, t([[0.7, 1.0, 0.0]]))


def test_gae_with_left_masked_prompt_positions():
    # a concatenated (prompt + completion) row: the prompt position 0 is masked out
    a, _ = gae(t([[0, 0, 1]]), t([[7.0, 0.5, 0.5]]), t([[0, 1, 1]]), gamma=1.0, lam=1.0)
    assert torch.allclose(a, t([[0.0, 0.5, 0.5]]))


def test_whiten_uses_masked_entries_only():
    # mean 2, population variance 2/3 over (1, 2, 3); 100 is padding
    out = whiten(t([[1, 2, 3, 100]]), t([[1, 1, 1, 0]]), eps=0.0)
    s = (2 / 3) ** 0.5
    assert torch.allclose(out, t([[-1 / s, 0, 1 / s, 0]]))
    kept = whiten(t([[1, 2, 3, 100]]), t([[1, 1, 1, 0]]), shift_mean=False, eps=0.0)
    assert torch.allclose(kept, t([[-1 / s + 2, 2, 1 / s + 2, 0]]))


def test_value_loss_by_hand():
    values = t([[0.5, 1.0]]).requires_grad_()
    # pos 0: plain (0.5 - 1)^2 = 0.25, clipped V = 0.2 + 0.2 = 0.4 -> 0.36 wins -> 0.18, no gradient
    #        (the clamp is saturated); pos 1: V - old = 0.1 is inside the clip, both 1.0 -> 0.5
    loss, st = value_loss(values, t([[0.2, 0.9]]), t([[1.0, 0.0]]), t([[1, 1]]), clip=0.2)
    assert torch.allclose(loss, t([[0.18, 0.5]]))
    loss.sum().backward()
    assert torch.allclose(values.grad, t([[0.0, 1.0]]))
    assert st["value/clip_frac"] == 0.5
    # R - old = (0.8, -0.9): population variance 0.7225; Var(R) = 0.25
    assert st["value/explained_var"] == pytest.approx(1 - 0.7225 / 0.25)


def test_value_loss_without_clip_is_half_squared_error():
    loss, _ = value_loss(t([[0.5, 1.0]]), t([[0.2, 0.9]]), t([[1.0, 0.0]]), t([[1, 0]]), clip=None)
    assert torch.allclose(loss, t([[0.125, 0.0]]))


def test_policy_losses_take_one_advantage_per_token():
    logp = t([[-1.0, -2.0]]).requires_grad_()
    old = t([[-1.0, -2.0]])
    loss, _ = POLICY_LOSSES["ppo_clip"](logp, old, t([[2.0, -1.0]]), t([[1, 1]]), clip_low=0.2, clip_high=0.2)
    assert torch.allclose(loss, t([[-2.0, 1.0]]))  # ratio 1: -A per token
    loss.sum().backward()
    assert torch.allclose(logp.grad, t([[-2.0, 1.0]]))
    per_seq, _ = POLICY_LOSSES["pg"](logp, old, t([3.0]), t([[1, 1]]), clip_low=0.2, clip_high=0.2)
    assert torch.allclose(per_seq, t([[-3.0, -3.0]]))
    with pytest.raises(ValueError, match="advantages"):
        POLICY_LOSSES["pg"](logp, old, t([[1.0, 2.0, 3.0]]), t([[1, 1]]), clip_low=0.2, clip_high=0.2)
