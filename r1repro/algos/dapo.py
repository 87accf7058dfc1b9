"""DAPO's batch hygiene: which groups carry a learning signal, and what to do with overlong completions.

What (Yu et al. 2025, "DAPO", sections 3.2-3.4; the names of verl's DAPO recipe in brackets):

    informative_groups(rewards)          (P, k) -> (P,) bool: the group's rewards are not all equal
    select_groups(informative, quota)    which drawn groups a step trains on      [filter_groups]
    soft_overlong_penalty(lengths, ...)  (N,) -> (N,) reward shaping over the last tokens of the budget
                                                                                   [overlong_buffer]
    mask_truncated(mask, truncated)      (B, T), (B,) -> (B, T): truncated rows leave the loss
                                                                  [TRL: mask_truncated_completions]

Why: under a group baseline (rloo, grpo, dr_grpo) a group whose k rewards are equal has zero
advantages: it costs a forward and backward pass and only dilutes the token normaliser. Dynamic
sampling draws more prompts instead. A completion cut off by the token budget gets the reward of
an unfinished answer whatever its reasoning was worth: leaving it out of the loss (overlong
filtering) or lowering its reward smoothly as it nears the budget (soft punishment) removes that
noise.

How: pure functions on tensors and lists; r1repro.train.rl calls them where it samples (dynamic
sampling, the length penalty on the reward) and in the loss (the mask). Tests with hand-computed
groups: tests/unit/test_dapo.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def informative_groups(rewards: Tensor) -> Tensor:
    """(P, k) rewards -> (P,) bool: True where a group's rewards are not all equal.

    A group of one sample (k = 1) is kept (verl keeps it too: there is no group to compare with).
    Equality is exact: two float rewards that differ at all give a nonzero group-baseline advantage.
    """
    if rewards.dim() != 2:
        raise ValueError(f"rewards must have shape (P, k), got {tuple(rewards.shape)}")
    if rewards.shape[1] == 1:
        return torch.ones(rewards.shape[0], dtype=torch.bool)
    return (rewards != rewards[:, :1]).any(dim=1)  # (P,)


def select_groups(informative: Sequence[bool], quota: int) -> tuple[list[int], int]:
    """The groups a step trains on, from all groups drawn so far (in draw order): the first `quota`
    informative ones; when there are fewer, the first uninformative ones fill the batch up to `quota`.

    Returns (indices in draw order, number of uninformative groups used as filling). With fewer than
    `quota` groups drawn in all, every group is used.
    """
    good = [i for i, x in enumerate(informative) if x][:quota]
    fill = [i for i, x in enumerate(informative) if not x][: max(0, quota - len(good))]
    return sorted(good + fill), len(fill)


def soft_overlong_penalty(lengths: Tensor, *, budget: int, buffer: int, penalty: float = 1.0) -> Tensor:
    """DAPO's soft overlong punishment: (N,) completion lengths in tokens -> (N,) reward to add (<= 0).

    0 up to budget - buffer tokens, then falling linearly to -penalty at `budget` tokens:
    -penalty * (length - (budget - buffer)) / buffer. Lengths beyond the budget (which a sampler
    that stops at the budget never produces) get -penalty, as in the paper. buffer = 0: all zeros.
    """
    lengths = lengths.to(torch.get_default_dtype())
    if buffer <= 0:
        return torch.zeros_like(lengths)
    over = (lengths - (budget - buffer)).clamp(min=0.0, max=float(buffer))  # (N,) tokens into the buffer
    return -penalty * over / buffer


def mask_truncated(mask: Tensor, truncated: Tensor) -> Tensor:
    """(B, T) loss mask and (B,) truncated flags -> (B, T) mask with the truncated rows zeroed."""
    keep = ~truncated.to(device=mask.device, dtype=torch.bool)  # (B,)
    return mask & keep[:, None] if mask.dtype == torch.bool else mask * keep[:, None].to(mask.dtype)
