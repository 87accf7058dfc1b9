"""PPO with a learned value model: per-token rewards, GAE advantages and the clipped value loss.

What:
    token_rewards(rewards (B,), mask (B,T), kl=None, kl_coef=0) -> (B,T)
        the outcome reward on each sequence's last token, minus kl_coef * kl on every token (the
        InstructGPT/PPO-RLHF placement of the KL penalty)
    gae(rewards (B,T), values (B,T), mask (B,T), *, gamma, lam) -> advantages (B,T), returns (B,T)
        delta_t = r_t + gamma * V_{t+1} - V_t  (V past the last token is 0)
        A_t = delta_t + gamma * lam * A_{t+1};  returns_t = A_t + V_t
    whiten(x (B,T), mask (B,T), shift_mean=True) -> (B,T): (x - mean) / std over masked entries
    value_loss(values, old_values, returns, mask, *, clip) -> (B,T) per-token loss, stats
        0.5 * max((V - R)^2, (old_V + clip(V - old_V, -clip, clip) - R)^2)

Why: this is the PPO that "Back to Basics" (Ahmadian et al. 2024) compares RLOO against, and the
lecture's "A(s) = R(s) - V(s) with a value network trained alongside the policy". The critic
replaces the group baseline: every token gets its own baseline V(s_t), learned by regression on the
returns. With gamma = 1 and lam = 1 the advantage of token t is R - V(s_t); lam < 1 trades the
critic's bias for lower variance. Sequences are right-padded; masked positions are never read,
and come out 0.

How: tests/unit/test_value.py checks hand-computed numbers; r1repro.train.critic trains the value
model (`rl.algorithm: ppo`).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _check(x: Tensor, mask: Tensor, name: str) -> Tensor:
    if x.shape != mask.shape or x.dim() != 2:
        raise ValueError(f"{name} and mask must both be (B, T), got {tuple(x.shape)} and {tuple(mask.shape)}")
    return mask.bool()


def token_rewards(rewards: Tensor, mask: Tensor, kl: Tensor | None = None, kl_coef: float = 0.0) -> Tensor:
    """Sequence rewards (B,) placed on each row's last masked token; minus kl_coef * kl per token. -> (B, T)."""
    m = mask.bool()
    if rewards.shape != m.shape[:1]:
        raise ValueError(f"rewards must be (B,) for mask (B, T), got {tuple(rewards.shape)}")
    out = torch.zeros(m.shape, dtype=rewards.dtype, device=rewards.device)  # (B, T)
    last = m.shape[1] - 1 - m.flip(1).to(torch.int8).argmax(dim=1)  # (B,) index of the last masked token
    has = m.any(dim=1)  # (B,)
    out[has, last[has]] = rewards[has]
    if kl is not None and kl_coef:
        out = out - kl_coef * torch.where(m, kl.detach().to(out.dtype), torch.zeros_like(out))
    return out


def gae(rewards: Tensor, values: Tensor, mask: Tensor, *, gamma: float = 1.0, lam: float = 0.95) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation over each row's masked tokens. -> advantages (B,T), returns (B,T).

    The rows' masked tokens are one contiguous run (a completion); the value after its last token is
    0 (the episode ends). Computed backwards in time; masked-out positions are 0 and are skipped.
    """
    m = _check(values, mask, "values")
    r = torch.where(m, rewards, torch.zeros_like(rewards)).detach()  # (B, T)
    v = torch.where(m, values, torch.zeros_like(values)).detach()  # (B, T)
    adv = torch.zeros_like(v)  # (B, T)
    next_v = torch.zeros_like(v[:, 0])  # (B,)
    next_a = torch.zeros_like(v[:, 0])  # (B,)
    for t in range(v.shape[1] - 1, -1, -1):
        delta = r[:, t] + gamma * next_v - v[:, t]  # (B,)
        a = delta + gamma * lam * next_a  # (B,)
        on = m[:, t]
        adv[:, t] = torch.where(on, a, torch.zeros_like(a))
        next_v = torch.where(on, v[:, t], next_v)
        next_a = torch.where(on, a, next_a)
    return adv, torch.where(m, adv + v, torch.zeros_like(v))


def whiten(x: Tensor, mask: Tensor, *, shift_mean: bool = True, eps: float = 1e-8) -> Tensor:
    """(x - mean) / sqrt(var + eps) over the masked entries (population variance). -> (B, T), 0 under the mask.

    shift_mean=False keeps the mean (only rescales), as TRL does for rewards."""
    m = _check(x, mask, "x")
    vals = x[m]
    if vals.numel() < 2:
        return torch.where(m, x - vals.mean() if shift_mean and vals.numel() else x, torch.zeros_like(x))
    mean, var = vals.mean(), vals.var(correction=0)
    out = (x - mean) * torch.rsqrt(var + eps) + (0 if shift_mean else mean)
    return torch.where(m, out, torch.zeros_like(out))


def value_loss(values: Tensor, old_values: Tensor, returns: Tensor, mask: Tensor, *,
               clip: float | None = 0.2) -> tuple[Tensor, dict[str, float]]:
    """PPO's clipped value loss per token: 0.5 * max((V - R)^2, (V_clipped - R)^2). -> (B,T), stats.

    V_clipped = old_V + clamp(V - old_V, -clip, clip); clip=None gives the plain 0.5 * (V - R)^2.
    Stats: value/clip_frac (share of tokens where the clipped branch is larger), value/mean,
    value/explained_var = 1 - Var(R - old_V) / Var(R) over masked tokens (how much the critic explains).
    """
    m = _check(values, mask, "values")
    ret, old = returns.detach(), old_values.detach()
    plain = (values - ret) ** 2  # (B, T)
    if clip is None:
        worst, clipped_more = plain, torch.zeros_like(m)
    else:
        v_clip = old + (values - old).clamp(-clip, clip)  # (B, T)
        other = (v_clip - ret) ** 2  # (B, T)
        worst, clipped_more = torch.maximum(plain, other), other.detach() > plain.detach()
    loss = torch.where(m, 0.5 * worst, torch.zeros_like(worst))  # (B, T)
    n = m.sum().clamp(min=1)
    r_m, o_m = ret[m], old[m]
    var_r = r_m.var(correction=0) if r_m.numel() > 1 else torch.tensor(0.0)
    ev = float(1 - (r_m - o_m).var(correction=0) / var_r) if r_m.numel() > 1 and var_r > 0 else 0.0
    stats = {"value/clip_frac": float((clipped_more & m).sum() / n),
             "value/mean": float(values.detach()[m].mean()) if m.any() else 0.0,
             "value/explained_var": ev}
    return loss, stats
