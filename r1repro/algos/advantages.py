"""Advantage estimators for outcome rewards: (P prompts, G samples each) -> one advantage per sample.

What: the family the lecture builds up, each a small function registered by name in ADVANTAGES:

    none          vanilla REINFORCE: A = r                         (grad E[R] = E[R * grad log p])
    batch_mean    REINFORCE with a baseline: A = r - mean over all P*G rewards
    rloo          leave-one-out: A_i = r_i - mean_{j != i} r_j  (within the prompt's group)
    grpo          A = (r - group mean) / (group sample std + eps)
    dr_grpo       A = r - group mean               (Dr. GRPO: GRPO without the std division)
    reinforce_pp  A = (r - group mean) / (batch sample std + eps)   (REINFORCE++-baseline)

Why: they differ only in the baseline and the scale. With one gradient step per batch the PPO ratio
is 1, so GRPO is RLOO up to a per-group factor: rloo = G/(G-1) * dr_grpo, and grpo = dr_grpo / std.
The std division multiplies groups that almost all pass or all fail (small std) by a large factor;
`benchmarks/std_normalisation.py` prints the effect.

How: `ADVANTAGES[name](rewards)` with rewards of shape (P, G); every entry returns (P, G) and binds
the keyword defaults of the underlying function, e.g. ADVANTAGES["dr_grpo"] is
`grpo_advantages(r, scale_by_std=False)`. Degenerate groups (all rewards equal, or G = 1) give
exactly zero (computed in float64), never NaN or inf. Run the tests with `pytest tests/unit/test_advantages.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor

from r1repro.registry import Registry

AdvantageFn = Callable[[Tensor], Tensor]
ADVANTAGES: Registry[AdvantageFn] = Registry("advantage estimator")

TRL_GRPO_EPS = 1e-4
"""TRL's GRPOTrainer divides by (std + 1e-4); we use the same default so numbers are comparable."""


def _check(rewards: Tensor) -> Tensor:
    if rewards.dim() != 2:
        raise ValueError(f"rewards must have shape (P, G), got {tuple(rewards.shape)}")
    if not rewards.is_floating_point():
        rewards = rewards.to(torch.get_default_dtype())
    return rewards


def _exact(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Compute in float64, return the rewards' float dtype. Identical rewards then have a mean equal
    to them, so a group that carries no signal gets advantages of exactly 0: in float32 eight rewards
    of 0.1 have a mean 7.5e-9 away, which GRPO's division by (std 0 + 1e-4) turns into -7.5e-5 for
    every sample, and the update (rl.skip_zero_advantage) could not tell the group apart."""

    @functools.wraps(fn)
    def wrapper(rewards: Tensor, **kw) -> Tensor:
        r = _check(rewards)  # shape and dtype, once for every estimator
        return fn(r.double(), **kw).to(r.dtype)

    return wrapper


def _std(x: Tensor, dim: int | None, unbiased: bool) -> Tensor:
    """Standard deviation that is 0 (not NaN) when there are too few values for the sample std."""
    n = x.numel() if dim is None else x.shape[dim]
    if unbiased and n < 2:
        return torch.zeros_like(x.sum() if dim is None else x.sum(dim, keepdim=True))
    if dim is None:
        return x.std(correction=int(unbiased))
    return x.std(dim=dim, keepdim=True, correction=int(unbiased))


@_exact
def reinforce_advantages(rewards: Tensor) -> Tensor:
    """Vanilla REINFORCE: the advantage is the raw reward. (P, G) -> (P, G)."""
    return rewards.clone()


@_exact
def batch_mean_advantages(rewards: Tensor) -> Tensor:
    """REINFORCE with one baseline for the whole batch: r - mean of all P*G rewards. (P, G) -> (P, G)."""
    r = rewards
    return r - r.mean()  # (P, G)


@_exact
def rloo_advantages(rewards: Tensor) -> Tensor:
    """Leave-one-out baseline within each group: A_i = r_i - mean_{j != i} r_j. (P, G) -> (P, G).

    Computed as G/(G-1) * (r_i - group mean), which is the same number. With G = 1 there are no
    other samples to form a baseline, so the advantage is defined as 0 (no learning signal), never
    NaN/inf.
    """
    r = rewards
    g = r.shape[1]
    if g < 2:
        return torch.zeros_like(r)
    return (r - r.mean(dim=1, keepdim=True)) * (g / (g - 1))  # (P, G)


@_exact
def grpo_advantages(
    rewards: Tensor, *, scale_by_std: bool = True, eps: float = TRL_GRPO_EPS, unbiased: bool = True
) -> Tensor:
    """GRPO group normalisation: (r - group mean) / (group std + eps). (P, G) -> (P, G).

    unbiased=True uses the sample std (divide by G-1), matching TRL's GRPOTrainer which calls
    `torch.std` (Bessel-corrected); unbiased=False uses the population std (divide by G).
    eps defaults to TRL's 1e-4 and is added to the std, not the variance.
    scale_by_std=False drops the division (Dr. GRPO). A group of identical rewards has r - mean = 0,
    so its advantages are exactly 0; with unbiased=True and G = 1 the std is taken as 0 (not NaN).
    """
    r = rewards
    centred = r - r.mean(dim=1, keepdim=True)  # (P, G)
    if not scale_by_std:
        return centred
    return centred / (_std(r, dim=1, unbiased=unbiased) + eps)  # (P, G)


@_exact
def reinforce_pp_advantages(
    rewards: Tensor, *, baseline: str = "group", eps: float = 1e-6, unbiased: bool = True
) -> Tensor:
    """REINFORCE++-style: subtract a baseline, then divide by the std of the whole batch. (P, G) -> (P, G).

    baseline="group" subtracts each prompt's group mean (REINFORCE++-baseline, as in verl's
    `reinforce_plus_plus_baseline`); baseline="batch" subtracts the mean of all P*G rewards.
    Then A = centred / (std over all P*G centred values + eps), the sample std when unbiased=True.
    After either baseline the batch mean of `centred` is already 0, so dividing by the std is the
    whole "global whitening" step. Differences from verl: verl whitens over response *tokens*
    (longer answers weigh more) and uses rsqrt(var + 1e-8); we whiten over sequences.
    A batch of identical rewards gives zeros.
    """
    r = rewards
    if baseline == "group":
        centred = r - r.mean(dim=1, keepdim=True)  # (P, G)
    elif baseline == "batch":
        centred = r - r.mean()  # (P, G)
    else:
        raise ValueError(f"baseline must be 'group' or 'batch', got {baseline!r}")
    return centred / (_std(centred, dim=None, unbiased=unbiased) + eps)  # (P, G)


def _register(name: str, fn: Callable[..., Tensor], **defaults: object) -> None:
    entry = functools.partial(fn, **defaults) if defaults else fn
    ADVANTAGES.register(name)(entry)


_register("none", reinforce_advantages)
_register("batch_mean", batch_mean_advantages)
_register("rloo", rloo_advantages)
_register("grpo", grpo_advantages, scale_by_std=True, eps=TRL_GRPO_EPS, unbiased=True)
_register("dr_grpo", grpo_advantages, scale_by_std=False)
_register("reinforce_pp", reinforce_pp_advantages, baseline="group", eps=1e-6, unbiased=True)
