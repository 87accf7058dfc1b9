"""Policy losses and aggregations on hand-computed tokens; gradients checked with autograd."""

import math

import pytest
import torch

from r1repro.algos.losses import AGGREGATIONS, POLICY_LOSSES

F64 = torch.float64
CLIP = {"clip_low": 0.2, "clip_high": 0.2}


def leaf(values):
    return torch.tensor(values, dtype=F64, requires_grad=True)


@pytest.mark.parametrize("name", ["pg", "ppo_clip"])
def test_ratio_one_gives_minus_advantage_and_grad(name):
    logp = leaf([[-1.0, -2.0], [-0.5, -3.0]])
    adv = torch.tensor([2.0, -1.0], dtype=F64)
    mask = torch.ones(2, 2, dtype=torch.bool)
    loss, stats = POLICY_LOSSES[name](logp, None, adv, mask, **CLIP)
    # ratio = 1 everywhere -> loss = -A per token, d loss / d logp = -A * ratio = -A
    assert torch.equal(loss.detach(), torch.tensor([[-2.0, -2.0], [1.0, 1.0]], dtype=F64))
    loss.sum().backward()
    assert torch.equal(logp.grad, torch.tensor([[-2.0, -2.0], [1.0, 1.0]], dtype=F64))
    assert stats["clip/frac"] == 0.0 and stats["ratio/mean"] == 1.0 and stats["ratio/max"] == 1.0
    assert stats["kl/old_k3"] == 0.0


def _ppo_token(ratio, adv, clip_low=0.2, clip_high=0.2):
    """One token with old_logp = 0 and logp = log(ratio); returns (loss value, d loss / d logp)."""
    logp = leaf([[math.log(ratio)]])
    old = torch.zeros(1, 1, dtype=F64)
    loss, _ = POLICY_LOSSES["ppo_clip"](
        logp, old, torch.tensor([adv], dtype=F64), torch.ones(1, 1), clip_low=clip_low, clip_high=clip_high
    )
    loss.sum().backward()
    return loss.item(), logp.grad.item()


@pytest.mark.parametrize(
    "ratio, adv, want_loss, want_grad",
    [
        (1.5, 1.0, -1.2, 0.0),  # A>0, ratio above 1.2: min(1.5, 1.2) = 1.2 -> clipped, no gradient
        (1.5, -1.0, 1.5, 1.5),  # A<0, ratio above: min(-1.5, -1.2) = -1.5 unclipped; grad = -A * r = 1.5
        (0.5, -1.0, 0.8, 0.0),  # A<0, ratio below 0.8: min(-.5, -.8) = -.8 -> clipped, no gradient
        (0.5, 1.0, -0.5, -0.5),  # A>0, ratio below: min(.5, .8) = .5 unclipped; grad = -A * r = -.5
        (1.1, 2.0, -2.2, -2.2),  # inside [0.8, 1.2]: loss -A r = -2.2, grad -A r = -2.2
    ],
)
def test_ppo_clip_tokens(ratio, adv, want_loss, want_grad):
    loss, grad = _ppo_token(ratio, adv)
    assert loss == pytest.approx(want_loss, abs=1e-12)
    assert grad == pytest.approx(want_grad, abs=1e-12)


def test_clip_higher_is_asymmetric():
    # ratio 1.25, A=+1: symmetric 0.2 clips at 1.2 (loss -1.2, no grad);
    # clip_high 0.28 leaves it alone (loss -1.25, grad -1.25)
    assert _ppo_token(1.25, 1.0) == pytest.approx((-1.2, 0.0))
    assert _ppo_token(1.25, 1.0, clip_high=0.28) == pytest.approx((-1.25, -1.25))
    # the low side still clips at 1 - 0.2 = 0.8: ratio 0.7, A=-1 -> loss 0.8, no grad
    assert _ppo_token(0.7, -1.0, clip_high=0.28) == pytest.approx((0.8, 0.0))


def test_ppo_stats_hand_computed():
    logp = leaf([[math.log(1.5), 0.0, math.log(0.5), 5.0]])
    old = torch.zeros(1, 4, dtype=F64)
    mask = torch.tensor([[True, True, True, False]])  # last token masked: ignored by the stats
    _, s = POLICY_LOSSES["ppo_clip"](logp, old, torch.tensor([1.0], dtype=F64), mask, **CLIP)
    # ratios 1.5, 1, .5 with A>0: only 1.5 is clipped (high) -> 1/3
    assert s["clip/frac"] == pytest.approx(1 / 3) and s["clip/high_frac"] == pytest.approx(1 / 3)
    assert s["clip/low_frac"] == 0.0
    assert s["ratio/mean"] == pytest.approx(1.0) and s["ratio/max"] == pytest.approx(1.5)
    # k3 = r - 1 - log r: (.5 - ln 1.5) + 0 + (-.5 + ln 2) = ln(4/3); mean over 3 tokens
    assert s["kl/old_k3"] == pytest.approx(math.log(4 / 3) / 3)


@pytest.mark.parametrize("name", ["pg", "ppo_clip"])
def test_fully_masked_row_contributes_nothing(name):
    # the masked row has garbage log-probs (-inf, huge): no NaN, zero loss, zero gradient
    logp = leaf([[-1.0, -2.0], [float("-inf"), 80.0]])
    old = torch.tensor([[-1.0, -2.0], [0.0, 0.0]], dtype=F64)
    mask = torch.tensor([[True, True], [False, False]])
    loss, stats = POLICY_LOSSES[name](logp, old, torch.tensor([1.0, 5.0], dtype=F64), mask, **CLIP)
    assert torch.equal(loss[1].detach(), torch.zeros(2, dtype=F64))
    total = AGGREGATIONS["token_mean"](loss, mask)
    total.backward()
    assert torch.equal(logp.grad[1], torch.zeros(2, dtype=F64))
    assert torch.isfinite(logp.grad).all() and total.item() == pytest.approx(-1.0)
    assert all(math.isfinite(v) for v in stats.values())


def test_pg_ignores_old_logp_in_loss():
    logp = leaf([[-1.0]])
    loss, stats = POLICY_LOSSES["pg"](
        logp, torch.tensor([[-3.0]], dtype=F64), torch.tensor([1.0], dtype=F64), torch.ones(1, 1), **CLIP
    )
    assert loss.item() == -1.0  # -A * 1, whatever old_logp is
    assert stats["ratio/mean"] == pytest.approx(math.exp(2.0))  # but the stats see ratio e^2


def test_shape_errors():
    with pytest.raises(ValueError):
        POLICY_LOSSES["pg"](torch.zeros(2, 3), None, torch.zeros(3), torch.ones(2, 3), **CLIP)


# ---- aggregations -------------------------------------------------------------------------------
LOSS = torch.tensor([[1.0, 2.0, 3.0], [4.0, 9.0, 9.0]], dtype=F64)
MASK = torch.tensor([[1, 1, 1], [1, 0, 0]])  # the 9s are padding


def test_token_mean():
    # (1 + 2 + 3 + 4) / 4 masked tokens
    assert AGGREGATIONS["token_mean"](LOSS, MASK).item() == 2.5
    assert AGGREGATIONS["token_mean"](LOSS, MASK, num_tokens=10).item() == 1.0  # global count 10


def test_seq_mean_token_mean():
    # sequence means 6/3 = 2 and 4/1 = 4; (2 + 4) / 2 sequences
    assert AGGREGATIONS["seq_mean_token_mean"](LOSS, MASK).item() == 3.0
    assert AGGREGATIONS["seq_mean_token_mean"](LOSS, MASK, num_seqs=6).item() == 1.0  # 6 / 6


def test_seq_sum_constant():
    # (1 + 2 + 3 + 4) / (2 sequences * 5 tokens)
    assert AGGREGATIONS["seq_sum_constant"](LOSS, MASK, constant=5).item() == 1.0
    with pytest.raises(ValueError):
        AGGREGATIONS["seq_sum_constant"](LOSS, MASK)


def test_fully_masked_row_in_aggregations():
    loss = torch.tensor([[1.0, 2.0], [7.0, 7.0]], dtype=F64)
    mask = torch.tensor([[1, 1], [0, 0]])
    assert AGGREGATIONS["token_mean"](loss, mask).item() == 1.5  # 3 / 2 tokens
    assert AGGREGATIONS["seq_mean_token_mean"](loss, mask).item() == 0.75  # (1.5 + 0) / 2 seqs
    assert AGGREGATIONS["seq_sum_constant"](loss, mask, constant=2).item() == 0.75  # 3 / (2 * 2)
    assert AGGREGATIONS["token_mean"](loss, torch.zeros(2, 2)).item() == 0.0  # nothing to average


@pytest.mark.parametrize("name", ["token_mean", "seq_mean_token_mean", "seq_sum_constant"])
def test_micro_batches_sum_to_full_batch(name):
    g = torch.Generator().manual_seed(0)
    loss = torch.randn(6, 5, dtype=F64, generator=g)
    mask = torch.rand(6, 5, generator=g) > 0.4
    mask[2] = False  # include a fully masked row
    glob = {"num_seqs": 6, "num_tokens": float(mask.sum()), "constant": 5.0}
    full = AGGREGATIONS[name](loss, mask, **glob)
    parts = [AGGREGATIONS[name](loss[i : i + 2], mask[i : i + 2], **glob) for i in (0, 2, 4)]
    assert torch.allclose(sum(parts), full, rtol=0, atol=1e-12)
    # and without the global counts, micro-batch token_mean would differ (why they exist)
    if name == "token_mean":
        local = sum(AGGREGATIONS[name](loss[i : i + 2], mask[i : i + 2]) for i in (0, 2, 4)) / 3
        assert not torch.allclose(local, full)


def test_gradient_accumulation_matches_full_batch_gradient():
    logp = torch.randn(4, 3, dtype=F64, generator=torch.Generator().manual_seed(1)).requires_grad_()
    adv = torch.tensor([1.0, -1.0, 0.5, 2.0], dtype=F64)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0]]).bool()
    glob = {"num_seqs": 4, "num_tokens": 6.0}
    loss, _ = POLICY_LOSSES["ppo_clip"](logp, None, adv, mask, **CLIP)
    (full_grad,) = torch.autograd.grad(AGGREGATIONS["token_mean"](loss, mask, **glob), logp)
    for i in (0, 2):
        lt, _ = POLICY_LOSSES["ppo_clip"](logp[i : i + 2], None, adv[i : i + 2], mask[i : i + 2], **CLIP)
        AGGREGATIONS["token_mean"](lt, mask[i : i + 2], **glob).backward()
    assert torch.allclose(logp.grad, full_grad)
    # hand check of one entry: token (0,0) has d/dlogp = -A / num_tokens = -1/6
    assert full_grad[0, 0].item() == pytest.approx(-1 / 6)


def test_registry_names():
    assert POLICY_LOSSES.names() == ["pg", "ppo_clip"]
    assert AGGREGATIONS.names() == ["seq_mean_token_mean", "seq_sum_constant", "token_mean"]
