"""Policy-gradient losses (per token) and how to reduce them to one scalar.

What: POLICY_LOSSES maps a name to
    fn(logp (B,T), old_logp (B,T) | None, advantages (B,) or (B,T), mask (B,T), *, clip_low, clip_high)
        -> (per-token loss (B,T), stats: dict[str, float])
    pg        vanilla policy gradient, -A * log p (written as -A * ratio with ratio = exp(logp - logp.detach()),
              so its value is -A and its gradient is -A * grad log p)
    ppo_clip  -min(ratio * A, clip(ratio, 1 - clip_low, 1 + clip_high) * A), ratio = exp(logp - old_logp);
              asymmetric bounds allow "clip-higher" (DAPO). old_logp=None means on-policy (logp.detach()).
Advantages are one per sequence (B,) for the outcome-reward estimators, or one per token (B,T) for
PPO with a value model (r1repro.algos.value.gae).
and AGGREGATIONS maps a name to
    fn(per_token_loss (B,T), mask (B,T), *, num_seqs=None, num_tokens=None, constant=None) -> scalar
    token_mean           sum over masked tokens / num_tokens                (DAPO, TRL "dapo"/"bnpo")
    seq_mean_token_mean  sum over sequences of each sequence's token mean / num_seqs (original GRPO)
    seq_sum_constant     sum over masked tokens / (num_seqs * constant)      (Dr. GRPO, constant = max new tokens)

Why: the per-token form is where the algorithms differ; the reduction is a separate convention that
changes how long and short answers are weighted, so it is named and tested on its own.
num_seqs and num_tokens are the *global* counts of the full batch: with gradient accumulation,
summing the micro-batch results gives exactly the full-batch value (tested). Left as None they
default to this call's own counts, which is right only when the call sees the whole batch.

How: `loss_tok, stats = POLICY_LOSSES["ppo_clip"](logp, old, adv, mask, clip_low=0.2, clip_high=0.28)`
then `loss = AGGREGATIONS["token_mean"](loss_tok, mask, num_tokens=total_tokens)`.
Masked positions are zero in the returned per-token loss, and their log-prob difference is zeroed
before exp(), so garbage (even -inf) log-probs under the mask cannot create NaN gradients.
Stats keys: clip/frac, clip/low_frac, clip/high_frac, ratio/mean, ratio/max, kl/old_k3 (the k3
estimate of KL(old || new) per token), all over masked tokens.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from r1repro.registry import Registry

PolicyLossFn = Callable[..., tuple[Tensor, dict[str, float]]]
AggregationFn = Callable[..., Tensor]
POLICY_LOSSES: Registry[PolicyLossFn] = Registry("policy loss")
AGGREGATIONS: Registry[AggregationFn] = Registry("loss aggregation")


def _masked_mean(x: Tensor, mask: Tensor) -> float:
    n = mask.sum()
    return float((x * mask).sum() / n) if n > 0 else 0.0


def _ratio_stats(log_ratio: Tensor, mask: Tensor, low: Tensor, high: Tensor) -> dict[str, float]:
    """Monitoring numbers over masked tokens; log_ratio = logp - old_logp (detached), zero under the mask."""
    ratio = log_ratio.exp()  # (B, T)
    k3 = ratio - 1 - log_ratio  # (B, T) k3 estimate of KL(old || new), samples from old
    m = mask.to(ratio.dtype)
    ratio_max = float(ratio.masked_fill(~mask, float("-inf")).max()) if mask.any() else 1.0
    return {
        "clip/frac": _masked_mean((low | high).to(ratio.dtype), m),
        "clip/low_frac": _masked_mean(low.to(ratio.dtype), m),
        "clip/high_frac": _masked_mean(high.to(ratio.dtype), m),
        "ratio/mean": _masked_mean(ratio, m) if mask.any() else 1.0,
        "ratio/max": ratio_max,
        "kl/old_k3": _masked_mean(k3, m),
    }


def _prepare(logp: Tensor, old_logp: Tensor | None, advantages: Tensor, mask: Tensor):
    if logp.dim() != 2 or advantages.shape not in (logp.shape[:1], logp.shape) or mask.shape != logp.shape:
        raise ValueError(
            f"expected logp (B,T), advantages (B,) or (B,T), mask (B,T); got {tuple(logp.shape)}, "
            f"{tuple(advantages.shape)}, {tuple(mask.shape)}"
        )
    mask = mask.bool()
    old = logp.detach() if old_logp is None else old_logp.detach()
    log_ratio = torch.where(mask, logp - old, torch.zeros_like(logp))  # (B, T), 0 under the mask
    adv = advantages.detach().to(logp.dtype)
    adv = adv.unsqueeze(1) if adv.dim() == 1 else adv  # (B, 1): one per sequence, or (B, T): one per token
    return mask, log_ratio, adv


@POLICY_LOSSES.register("pg")
def pg_loss(
    logp: Tensor,
    old_logp: Tensor | None,
    advantages: Tensor,
    mask: Tensor,
    *,
    clip_low: float,
    clip_high: float,
) -> tuple[Tensor, dict[str, float]]:
    """Vanilla policy gradient: loss = -A * exp(logp - logp.detach()), value -A, gradient -A * grad logp.

    old_logp and the clip bounds do not change the loss (on-policy by definition); old_logp, when
    given, is only used for the ratio stats. (B,T), (B,T)|None, (B,), (B,T) -> (B,T), stats.
    """
    mask, log_ratio, adv = _prepare(logp, old_logp, advantages, mask)
    lp = torch.where(mask, logp, torch.zeros_like(logp))  # (B, T), garbage under the mask removed
    self_ratio = (lp - lp.detach()).exp()  # (B, T), exactly 1, gradient = grad logp
    loss = torch.where(mask, -adv * self_ratio, torch.zeros_like(logp))  # (B, T)
    none = torch.zeros_like(mask)
    return loss, _ratio_stats(log_ratio.detach(), mask, none, none)


@POLICY_LOSSES.register("ppo_clip")
def ppo_clip_loss(
    logp: Tensor,
    old_logp: Tensor | None,
    advantages: Tensor,
    mask: Tensor,
    *,
    clip_low: float,
    clip_high: float,
) -> tuple[Tensor, dict[str, float]]:
    """PPO clipped surrogate per token, bounds [1 - clip_low, 1 + clip_high]. (B,T),(B,T)|None,(B,),(B,T) -> (B,T), stats.

    A token is "clipped" (zero gradient) when the ratio left the trust region in the direction the
    advantage pushes it: ratio > 1 + clip_high with A > 0, or ratio < 1 - clip_low with A < 0.
    """
    mask, log_ratio, adv = _prepare(logp, old_logp, advantages, mask)
    ratio = log_ratio.exp()  # (B, T)
    unclipped = ratio * adv  # (B, T)
    clipped = ratio.clamp(1.0 - clip_low, 1.0 + clip_high) * adv  # (B, T)
    loss = -torch.minimum(unclipped, clipped)  # (B, T)
    loss = torch.where(mask, loss, torch.zeros_like(loss))  # (B, T)
    r = ratio.detach()  # (B, T)
    low = mask & (r < 1.0 - clip_low) & (adv < 0)  # (B, T)
    high = mask & (r > 1.0 + clip_high) & (adv > 0)  # (B, T)
    return loss, _ratio_stats(log_ratio.detach(), mask, low, high)


def _masked_sum(loss: Tensor, mask: Tensor) -> Tensor:
    return torch.where(mask.bool(), loss, torch.zeros_like(loss)).sum()


@AGGREGATIONS.register("token_mean")
def token_mean(
    loss: Tensor,
    mask: Tensor,
    *,
    num_seqs: int | None = None,
    num_tokens: float | None = None,
    constant: float | None = None,
) -> Tensor:
    """Sum of masked per-token losses / num_tokens (global count; default: this mask's count, min 1).

    Every token weighs the same, so long answers weigh more in total. num_seqs/constant are unused.
    """
    n = float(mask.sum().clamp(min=1)) if num_tokens is None else float(num_tokens)
    return _masked_sum(loss, mask) / n


@AGGREGATIONS.register("seq_mean_token_mean")
def seq_mean_token_mean(
    loss: Tensor,
    mask: Tensor,
    *,
    num_seqs: int | None = None,
    num_tokens: float | None = None,
    constant: float | None = None,
) -> Tensor:
    """Sum over sequences of (sequence's masked token mean) / num_seqs (global; default B).

    Original GRPO: every sequence weighs the same, so each token of a short answer weighs more.
    A fully masked row has token mean 0 and still counts in num_seqs. num_tokens/constant are unused.
    """
    m = mask.bool()
    per_seq = torch.where(m, loss, torch.zeros_like(loss)).sum(dim=1)  # (B,)
    per_seq = per_seq / m.sum(dim=1).clamp(min=1).to(loss.dtype)  # (B,)
    n = loss.shape[0] if num_seqs is None else num_seqs
    return per_seq.sum() / n


@AGGREGATIONS.register("seq_sum_constant")
def seq_sum_constant(
    loss: Tensor,
    mask: Tensor,
    *,
    num_seqs: int | None = None,
    num_tokens: float | None = None,
    constant: float | None = None,
) -> Tensor:
    """Dr. GRPO: sum of masked per-token losses / (num_seqs * constant); constant is required.

    constant is a fixed number of tokens (Dr. GRPO uses the generation budget, max new tokens), so
    no length-dependent normalisation enters the gradient. num_seqs defaults to B; num_tokens unused.
    """
    if constant is None or constant <= 0:
        raise ValueError("seq_sum_constant needs constant > 0 (e.g. the max number of new tokens)")
    n = loss.shape[0] if num_seqs is None else num_seqs
    return _masked_sum(loss, mask) / (n * float(constant))
