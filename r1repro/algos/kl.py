"""Per-token KL estimators against a reference policy, entropy, and the KL-in-reward form.

What: KL_ESTIMATORS maps a name to fn(logp (B,T), ref_logp (B,T)) -> (B,T), with tokens sampled
from the current policy pi and log_ratio = logp - ref_logp (Schulman, "Approximating KL divergence"):
    k1  logp - ref                             unbiased for KL(pi || ref), can be negative
    k2  0.5 * (logp - ref)^2                   biased, always >= 0, low variance
    k3  exp(ref - logp) - (ref - logp) - 1     unbiased for KL(pi || ref), always >= 0 (GRPO's choice)
plus entropy_from_logits(logits) and kl_penalized_rewards(rewards, kl, mask, coef).

Why, and where the penalty goes:
- "In the reward" (InstructGPT/PPO-RLHF style): r'_i = r_i - coef * sum_t kl_it, with kl detached,
  usually k1. The penalty then flows through the advantage estimator like any reward, so the
  policy gradient optimises E[r] - coef * KL(pi || ref) as a REINFORCE objective. Use
  `kl_penalized_rewards`, before computing advantages.
- "In the loss" (GRPO/DeepSeekMath style): loss_t += coef * k_t(logp, ref), differentiated
  directly. Then the value estimate and the gradient are different questions: per token, on-policy,
  grad k1 = grad logp has expectation 0 (no KL gradient at all); grad k2 = (logp - ref) grad logp has
  the expectation of grad KL(pi || ref); grad k3 = (1 - ref/pi) grad logp has the expectation of
  grad KL(ref || pi), the *other* direction (these ignore the score term of earlier tokens; see
  Tang & Munos 2025, "On a few pitfalls in KL divergence gradient estimation for RL").
  We provide the estimators and leave the choice to the recipe; GRPO's published setup is k3 in the loss.

How: `kl = KL_ESTIMATORS["k3"](logp, ref_logp)  # (B, T)`; tests in tests/unit/test_kl.py.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from r1repro.registry import Registry

KLFn = Callable[[Tensor, Tensor], Tensor]
KL_ESTIMATORS: Registry[KLFn] = Registry("KL estimator")


@KL_ESTIMATORS.register("k1")
def kl_k1(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k1 = logp - ref_logp. (B,T),(B,T) -> (B,T)."""
    return logp - ref_logp  # (B, T)


@KL_ESTIMATORS.register("k2")
def kl_k2(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k2 = 0.5 * (logp - ref_logp)^2. (B,T),(B,T) -> (B,T)."""
    return 0.5 * (logp - ref_logp).square()  # (B, T)


@KL_ESTIMATORS.register("k3")
def kl_k3(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k3 = exp(ref - logp) - (ref - logp) - 1 (Schulman; TRL/GRPO's per-token KL). (B,T),(B,T) -> (B,T)."""
    d = ref_logp - logp  # (B, T)
    return d.exp() - d - 1  # (B, T)


def entropy_from_logits(logits: Tensor) -> Tensor:
    """Entropy of softmax(logits) over the last axis: logsumexp(l) - sum softmax(l) * l. (..., V) -> (...).

    bf16/fp16 logits are upcast to float32 for the computation; the result is float32 then.
    """
    x = logits.float() if logits.dtype in (torch.bfloat16, torch.float16) else logits
    lse = torch.logsumexp(x, dim=-1)  # (...)
    return lse - (torch.softmax(x, dim=-1) * x).sum(dim=-1)  # (...)


def kl_penalized_rewards(rewards: Tensor, kl: Tensor, mask: Tensor, coef: float) -> Tensor:
    """KL-in-the-reward: rewards - coef * (sum of per-token kl over the mask). (B,), (B,T), (B,T) -> (B,).

    kl is detached: the penalty is a reward, it enters the gradient only through the advantages.
    """
    kl_seq = torch.where(mask.bool(), kl.detach(), torch.zeros_like(kl)).sum(dim=1)  # (B,)
    return rewards - coef * kl_seq.to(rewards.dtype)  # (B,)
