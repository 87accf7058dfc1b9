"""RL with verifiable rewards: sample k completions per prompt, reward, weight by an advantage, update.

Which algorithm this is depends on the recipe, by name, and nothing else:
  rl.advantage  none (vanilla REINFORCE) | batch_mean | rloo | grpo | dr_grpo | reinforce_pp
  rl.loss       pg (vanilla policy gradient, ratio 1) | ppo_clip (per-token clipped ratios)
  rl.epochs     mu passes over each batch of samples (with mu = 1 and one minibatch, the PPO
                ratio is exactly 1 and clipping does nothing: GRPO is then normalised RLOO)
  rl.algorithm  pg (the above) | raft: an SFT step on the correct samples (expert iteration) |
                ppo: a learned value model gives per-token GAE advantages (r1repro.train.critic)
Each sequence is one action of a contextual bandit: grad E[R] = E[A * grad log p(s|C)], spread over
the sequence's tokens by the aggregation (token_mean, seq_mean_token_mean, seq_sum_constant).

One step is `rl_step`, and reads as the algorithm:
    completions = sample(policy, prompts, k); rewards = score(completions)   # `draw`: with DAPO's
                                              # dynamic sampling, more prompts until groups differ
    advantages = estimate(rewards)            # ADVANTAGES[rl.advantage], or GAE with the critic
    stats = UPDATES[rl.algorithm](...)        # mu epochs x minibatches of objective() + step()
`run_rl` builds what the step needs (`setup`) and does the bookkeeping around it: held-out
evaluation every rl.eval_every steps, metrics, rollouts, checkpoints, resume.

    r1repro rl recipes/quickstart.yaml        # or as the `rl` stage of `r1repro run`
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from tqdm import tqdm

from r1repro import dist
from r1repro.algos.advantages import ADVANTAGES
from r1repro.algos.dapo import informative_groups, mask_truncated, select_groups, soft_overlong_penalty
from r1repro.algos.kl import KL_ESTIMATORS, kl_penalized_rewards
from r1repro.algos.losses import AGGREGATIONS, POLICY_LOSSES
from r1repro.algos.value import gae, token_rewards, whiten
from r1repro.config import Recipe, RLConfig
from r1repro.data.schema import Problem
from r1repro.data.templates import TEMPLATES, Template
from r1repro.evals.harness import generate_and_grade
from r1repro.files import atomic_write_jsonl, read_jsonl
from r1repro.kernels import onednn_linears
from r1repro.metrics import language_metrics, reflection_rate, work_rate
from r1repro.models import (
    ForwardedPrompts,
    PolicyLogProbs,
    adapters_disabled,
    load_model,
    load_policy,
    token_logprobs,
    unwrap,
)
from r1repro.registry import Registry
from r1repro.rewards import REWARDS, Scorer, ScoreResult
from r1repro.rollout import Completion, backend_from_config
from r1repro.rundir import RunDir
from r1repro.text import count_worked_steps, think_part
from r1repro.trackers import open_metrics
from r1repro.train.common import (
    EpochSampler,
    build_optimizer,
    collate,
    collate_shared,
    peak_rss_gb,
    resume_training,
    save_training_checkpoint,
    scatter,
    start_checkpoints,
)
from r1repro.train.critic import Critic
from r1repro.train.sft import sft_update

log = logging.getLogger("r1repro.rl")


@dataclass
class Batch:
    """The step's samples, flattened prompt-major: row i*k + j is sample j of prompt i."""

    problems: list[Problem]
    prompts: list[str]
    completions: list[Completion]
    responses: list[str]  # response prefix + completion text: what the grader sees
    rewards: torch.Tensor  # (P, k) total reward
    advantages: torch.Tensor  # (P*k,), or per token: list of (len(completion),) tensors (ppo)
    score: ScoreResult

    @staticmethod
    def concat(batches: Sequence[Batch]) -> Batch:
        """The groups of several scored batches (advantages not yet estimated), in order."""
        if len(batches) == 1:
            return batches[0]
        cat = lambda name: [x for b in batches for x in getattr(b, name)]  # noqa: E731
        score = ScoreResult([r for b in batches for r in b.score.rewards],
                            {k: [v for b in batches for v in b.score.components[k]] for k in batches[0].score.components},
                            [v for b in batches for v in b.score.verdicts])
        rewards = torch.cat([b.rewards for b in batches])  # (P, k)
        return Batch(cat("problems"), cat("prompts"), cat("completions"), cat("responses"), rewards,
                     torch.zeros(rewards.numel()), score)

    def groups(self, idx: Sequence[int], k: int) -> Batch:
        """The batch of groups `idx` (prompt indices), advantages not yet estimated."""
        rows = [i * k + j for i in idx for j in range(k)]
        pick = lambda xs: [xs[r] for r in rows]  # noqa: E731
        score = ScoreResult(pick(self.score.rewards), {n: pick(v) for n, v in self.score.components.items()},
                            pick(self.score.verdicts))
        rewards = self.rewards[list(idx)]  # (len(idx), k)
        return Batch([self.problems[i] for i in idx], [self.prompts[i] for i in idx], pick(self.completions),
                     pick(self.responses), rewards, torch.zeros(rewards.numel()), score)


@dataclass
class RLContext:
    """Everything a step needs, built once by `setup` (or by hand, as the smoke tests do)."""

    rc: RLConfig
    model: torch.nn.Module  # the policy: PolicyLogProbs, inside DDP/FSDP2 under torchrun
    optimizer: torch.optim.Optimizer
    scheduler: object
    backend: object  # rollout backend (r1repro.rollout)
    scorer: Callable  # (responses, golds, metas) -> rewards.ScoreResult
    template: Template
    pad_id: int
    tokenizer: object = None
    problems: list[Problem] = field(default_factory=list)
    sampler: EpochSampler | None = None
    seed: int = 0
    ref: torch.nn.Module | None = None  # frozen reference model for the KL penalty (LoRA: the policy itself)
    critic: Critic | None = None  # value model (rl.algorithm: ppo)
    gen_model: torch.nn.Module | None = None  # what the HF backend samples from (unsharded)


# ----------------------------------------------------------------------------- one step
def sample(backend, prompts: Sequence[str], rc: RLConfig, seed: int, first: int = 0) -> list[Completion]:
    """k completions per prompt, flattened prompt-major; `first` is the global index of prompts[0].

    Prompts go to the backend in calls of max(1, sampling.batch_size // k) prompts, each seeded from
    (seed, global index of its first prompt): a prompt's samples do not depend on how the step's
    prompts were sharded over ranks, as long as each rank's share is a multiple of the call size.
    """
    s = rc.sampling
    per_call = max(1, s.batch_size // rc.group_size)
    out: list[Completion] = []
    for i in range(0, len(prompts), per_call):
        call_seed = int(np.random.SeedSequence([seed, first + i]).generate_state(1)[0])
        groups = backend.generate(prompts[i : i + per_call], n=rc.group_size, max_new_tokens=s.max_new_tokens,
                                  temperature=s.temperature, top_p=s.top_p, seed=call_seed)
        out += [c for g in groups for c in g]
    return out


def score(scorer, template, problems: Sequence[Problem], completions: Sequence[Completion], k: int):
    responses = [template.response_prefix + c.text for c in completions]
    golds = [p.gold for p in problems for _ in range(k)]
    metas = [p.meta for p in problems for _ in range(k)]
    return responses, scorer(responses, golds, metas)


def rl_step(ctx: RLContext, step: int, problems: Sequence[Problem]) -> tuple[Batch, dict[str, float]]:
    """One RL step on this rank's `problems`: sample -> score -> estimate advantages -> update.

    DAPO's batch hygiene (r1repro.algos.dapo), each off by default: `draw` drops the groups without
    signal and draws more prompts (rl.dynamic_sampling); `rollout` adds the soft overlong penalty to
    the rewards (rl.overlong_buffer); `objective` masks truncated completions (rl.mask_truncated)."""
    rc, t0 = ctx.rc, time.time()
    batch, drawn = draw(ctx, step, problems)  # sample + score (+ dynamic sampling's further draws)
    t2 = time.time()
    with onednn_linears(ctx.model, ctx.ref):  # CPU float32: oneDNN's matrix multiplies (r1repro.kernels)
        old, ref = old_and_ref_logprobs(ctx, batch.completions)
        batch.rewards, batch.advantages, ref, extra = estimate(ctx, batch, old, ref)
        stats = UPDATES[rc.algorithm](ctx, batch, old, ref, seed=ctx.seed * 7919 + step, **extra)
    sync_weights(ctx)
    t3 = time.time()
    return batch, {**step_metrics(batch, rc.group_size, drawn["time/generate"], drawn["time/score"],
                                  answer_format=ctx.template.answer_format), **drawn,
                   **stats, "lr": ctx.scheduler.get_last_lr()[0], "time/train": t3 - t2, "time/step": t3 - t0,
                   "mem/peak_rss_gb": peak_rss_gb()}


def rollout(ctx: RLContext, step: int, problems: Sequence[Problem], attempt: int = 0) -> tuple[Batch, float, float]:
    """k completions of each problem, scored (advantages still zero); and the seconds spent sampling
    and scoring. `attempt` > 0 is a further draw of dynamic sampling (its own seeds).

    With rl.overlong_buffer the soft overlong penalty is added to the rewards (component "overlong")."""
    rc, t0 = ctx.rc, time.time()
    prompts = [ctx.template.prompt(p.question, ctx.tokenizer) for p in problems]
    seed = ctx.seed * 1_000_003 + step if attempt == 0 else \
        int(np.random.SeedSequence([ctx.seed, step, attempt]).generate_state(1)[0])
    completions = sample(ctx.backend, prompts, rc, seed=seed, first=dist.shard_offset(len(problems) * dist.world_size()))
    t1 = time.time()
    responses, result = score(ctx.scorer, ctx.template, problems, completions, rc.group_size)
    rewards = torch.tensor(result.rewards, dtype=torch.float32)  # (P*k,)
    if rc.overlong_buffer:
        penalty = soft_overlong_penalty(torch.tensor([len(c.ids) for c in completions]),
                                        budget=rc.sampling.max_new_tokens, buffer=rc.overlong_buffer,
                                        penalty=rc.overlong_penalty)  # (P*k,)
        rewards = rewards + penalty
        result.components["overlong"] = penalty.tolist()
    batch = Batch(list(problems), prompts, completions, responses, rewards.view(len(problems), rc.group_size),
                  torch.zeros(rewards.numel()), result)
    return batch, t1 - t0, time.time() - t1


def draw(ctx: RLContext, step: int, problems: Sequence[Problem]) -> tuple[Batch, dict[str, float]]:
    """The step's scored batch and its draw metrics (time/generate, time/score, dynamic/*).

    rl.dynamic_sampling (DAPO): the groups whose rewards are all equal are dropped, and further
    rl.prompts_per_step prompts are drawn from the sampler until every rank has len(problems)
    informative groups or rl.max_draws draws were made; a batch still short is filled up with dropped
    groups (r1repro.algos.dapo.select_groups). Draws are global: every rank takes the same prompts
    from the sampler and samples its share, so the sampler stays in step over ranks."""
    rc, quota = ctx.rc, len(problems)
    batch, t_gen, t_score = rollout(ctx, step, problems)
    if not rc.dynamic_sampling:
        return batch, {"time/generate": t_gen, "time/score": t_score}
    batches, informative = [batch], informative_groups(batch.rewards).tolist()
    while len(batches) < rc.max_draws and not dist.all_true(sum(informative) >= quota):
        more = dist.shard([ctx.problems[i] for i in ctx.sampler.take(rc.prompts_per_step)])
        b, g, s = rollout(ctx, step, more, attempt=len(batches))
        batches.append(b)
        informative += informative_groups(b.rewards).tolist()
        t_gen, t_score = t_gen + g, t_score + s
    keep, filled = select_groups(informative, quota)
    drawn_tokens = sum(len(c.ids) for b in batches for c in b.completions)
    return Batch.concat(batches).groups(keep, rc.group_size), {
        "time/generate": t_gen, "time/score": t_score, "tokens_per_s": drawn_tokens / max(t_gen, 1e-9),
        # global numbers (every rank makes the same draws): dist.mean_metrics averages ranks' equal values
        "dynamic/draws": len(batches), "dynamic/prompts": len(informative) * dist.world_size(),
        "dynamic/all_same": 1.0 - float(np.mean(informative)), "dynamic/filled": filled / quota}


def old_and_ref_logprobs(ctx: RLContext, completions: Sequence[Completion]):
    """Per-sequence log-probs of the sampling policy (when the ratio can leave 1: PPO reuse) and of
    the reference model (when there is a KL penalty); None where not needed."""
    rc = ctx.rc
    reuse = rc.algorithm == "ppo" or (rc.algorithm == "pg" and rc.epochs * rc.minibatches > 1)
    old = sequence_logprobs(ctx.model, completions, ctx.pad_id, rc, rc.micro_batch) if reuse else None
    if ctx.ref is None:
        return old, None
    with adapters_disabled(ctx.ref):  # LoRA: the reference is the policy's base weights
        return old, sequence_logprobs(ctx.ref, completions, ctx.pad_id, rc, rc.micro_batch)


def estimate(ctx: RLContext, batch: Batch, old, ref):
    """(rewards, advantages, ref log-probs left for the loss, extra update inputs).

    pg/raft: ADVANTAGES[rl.advantage] on the (P, k) rewards, after the KL penalty when it goes into
    the reward. ppo: the critic's values and GAE over per-token rewards (KL per token in the reward).
    """
    rc, rewards = ctx.rc, batch.rewards
    kl = None
    if ref is not None and rc.kl_in == "reward":
        pol = old or sequence_logprobs(ctx.model, batch.completions, ctx.pad_id, rc, rc.micro_batch)
        kl = [KL_ESTIMATORS[rc.kl_estimator](p, r) for p, r in zip(pol, ref)]
        ref = None  # the penalty is in the reward, not in the loss
    if rc.algorithm == "ppo":
        return (rewards, *critic_advantages(ctx, batch, kl))
    if kl is not None:
        padded = pad_sequence(kl, batch_first=True)  # (P*k, T)
        mask = pad_sequence([torch.ones_like(x) for x in kl], batch_first=True)  # (P*k, T)
        rewards = kl_penalized_rewards(rewards.reshape(-1), padded, mask, rc.kl_coef).view_as(rewards)
    return rewards, ADVANTAGES[rc.advantage](rewards).reshape(-1), ref, {}


def critic_advantages(ctx: RLContext, batch: Batch, kl: list[torch.Tensor] | None):
    """GAE token advantages from the critic's values; returns (per-token advantages, None, extra)."""
    cc, comps = ctx.rc.critic, batch.completions
    values = ctx.critic.values(comps, ctx.pad_id, ctx.rc.micro_batch)
    v = pad_sequence(values, batch_first=True)  # (N, T)
    mask = pad_sequence([torch.ones_like(x) for x in values], batch_first=True)  # (N, T)
    klt = pad_sequence(kl, batch_first=True) if kl is not None else None  # (N, T)
    r = token_rewards(batch.rewards.reshape(-1), mask, klt, ctx.rc.kl_coef)  # (N, T)
    adv, ret = gae(r, v, mask, gamma=cc.gamma, lam=cc.lam)  # (N, T), (N, T)
    if cc.whiten:
        adv = whiten(adv, mask)
    n = [len(c.ids) for c in comps]
    per_seq = [adv[i, :n[i]] for i in range(len(n))]
    return per_seq, None, {"values": values, "returns": [ret[i, :n[i]] for i in range(len(n))]}


def sequence_logprobs(model, completions: Sequence[Completion], pad_id: int, rc: RLConfig,
                      micro_batch: int) -> list[torch.Tensor]:
    """Per-sequence completion-token log-probs without gradient (old policy, or reference model).

    In one process with prompt sharing the distinct prompts are forwarded once (ForwardedPrompts:
    without gradients only their keys and values stay) and micro-batches go by completion length;
    elsewhere in _micro_batch_order's cheaper order. Each completion's log-probs go back to its place."""
    out: list[torch.Tensor] = [torch.empty(0)] * len(completions)
    with torch.no_grad():
        once = _forwards_in_one_process(model, rc)  # no activations kept: whatever the prompts' length
        forwarded = ForwardedPrompts(unwrap(model), [c.prompt_ids for c in completions], pad_id, _device(model)) \
            if once else None
        order = _micro_batch_order(completions, np.arange(len(completions)), _shares_prompt(model, rc), micro_batch,
                                   forwarded=once).tolist()
        for i in range(0, len(order), micro_batch):
            idx = order[i : i + micro_batch]
            b, prefix = _collate(model, [completions[j] for j in idx], pad_id, rc, forwarded)
            logp, _ = token_logprobs(model, b.input_ids, b.attention_mask, b.loss_mask, chunk_size=rc.logprob_chunk,
                                     temperature=_temperature(rc), prefix=prefix)
            for j, row, m in zip(idx, logp, b.loss_mask):
                out[j] = row[m.bool()]
    return out


def _micro_batch_order(comps: Sequence[Completion], idx: np.ndarray, share: bool, micro: int,
                       forwarded: bool = False) -> np.ndarray:
    """The order in which a minibatch is cut into micro-batches of `micro` sequences.

    A micro-batch runs forward and backward on every position of its padded tensor, so similar
    lengths go together. Without share_prompt: by prompt + completion length. With it, the cheaper
    (fewer positions through the model, padding included) of two orders: a prompt's samples together
    (each distinct prompt is forwarded once per micro-batch it appears in), or by completion length
    (one truncated sample no longer pads its 15 neighbours to the budget: measured on SmolLM2 RL
    steps, 8,128 completion positions for 4,125 tokens grouped by prompt, 4,992 by length). With the
    prompts forwarded once for the step (`forwarded`, ForwardedPrompts): by completion length."""
    rows = idx.tolist()
    if forwarded:
        return np.array(sorted(rows, key=lambda i: (len(comps[i].ids), comps[i].prompt_ids)), dtype=idx.dtype)
    if not share:
        return np.array(sorted(rows, key=lambda i: len(comps[i].prompt_ids) + len(comps[i].ids)), dtype=idx.dtype)
    by_prompt = sorted(rows, key=lambda i: (len(comps[i].prompt_ids), comps[i].prompt_ids, len(comps[i].ids)))
    by_length = sorted(rows, key=lambda i: (len(comps[i].ids), len(comps[i].prompt_ids), comps[i].prompt_ids))
    return np.array(min(by_prompt, by_length, key=lambda order: _positions(comps, order, micro)), dtype=idx.dtype)


def _positions(comps: Sequence[Completion], order: list[int], micro: int) -> int:
    """Positions forwarded when `order` is cut into micro-batches with shared prompts: each micro-batch's
    distinct prompts, left-padded to the longest, and its completions, right-padded to the longest."""
    total = 0
    for j in range(0, len(order), micro):
        part = [comps[i] for i in order[j : j + micro]]
        prompts = {c.prompt_ids for c in part}
        total += len(prompts) * max(map(len, prompts)) + len(part) * max(len(c.ids) for c in part)
    return total


def _shares_prompt(model, rc: RLConfig) -> bool:
    # under gradient checkpointing HF turns the KV cache off in training, so the prompt cannot be shared
    hf = unwrap(model)
    name = "is_activation_checkpointing" if hasattr(type(hf), "is_activation_checkpointing") else "is_gradient_checkpointing"
    return rc.share_prompt and not getattr(hf, name, False)


def _forwards_in_one_process(model, rc: RLConfig) -> bool:
    """Prompt sharing in one process: where ForwardedPrompts can serve all micro-batches (under DDP/FSDP
    the gradient sync runs in the last micro-batch's backward, and FSDP gathers weights in its forward)."""
    return _shares_prompt(model, rc) and dist.strategy_of(model) == "none"


def _forwards_prompts_once(model, rc: RLConfig, comps: Sequence[Completion]) -> bool:
    """Whether the minibatch's prompts are forwarded once for all its micro-batches (ForwardedPrompts):
    with prompt sharing in one process (_forwards_in_one_process), when the prompts take no more
    positions than the largest micro-batch's completions. Their
    activations then stay alive through the step; longer prompts (few-shot) keep the per-micro-batch
    forward, which holds only one micro-batch's prompts at a time."""
    if not comps or not _forwards_in_one_process(model, rc):
        return False
    prompts = {c.prompt_ids for c in comps}
    return len(prompts) * max(map(len, prompts)) <= min(rc.micro_batch, len(comps)) * max(len(c.ids) for c in comps)


def _collate(model, part: Sequence[Completion], pad_id: int, rc: RLConfig, forwarded: ForwardedPrompts | None = None):
    """(batch, prefix) for token_logprobs: prompts stored once per distinct prompt when sharing them,
    or already forwarded for the whole optimizer step (`forwarded`)."""
    prompts, responses = [c.prompt_ids for c in part], [c.ids for c in part]
    if forwarded is not None:
        return collate_shared(prompts, responses, pad_id, _device(model)), forwarded.rows(prompts)
    if _shares_prompt(model, rc):
        b = collate_shared(prompts, responses, pad_id, _device(model))
        return b, b.prefix
    return collate(prompts, responses, pad_id, _device(model)), None


def objective(model, part: Sequence[Completion], adv, old: list | None, ref: list | None,
              pad_id: int, rc: RLConfig, num_seqs: int, num_tokens: int, want_entropy: bool,
              forwarded: ForwardedPrompts | None = None):
    """Policy loss of one micro-batch (+ KL and entropy terms), aggregated with global counts.

    adv: (B,) one advantage per sequence, or a list of per-token advantages (ppo). forwarded: the
    step's prompts, forwarded once (ForwardedPrompts); else each micro-batch forwards its own."""
    b, prefix = _collate(model, part, pad_id, rc, forwarded)
    logp, ent = token_logprobs(model, b.input_ids, b.attention_mask, b.loss_mask, chunk_size=rc.logprob_chunk,
                               temperature=_temperature(rc), with_entropy=want_entropy, prefix=prefix)
    mask = b.loss_mask.bool()  # (B, T)
    if rc.mask_truncated:  # overlong filtering: a cut-off completion gets no gradient
        mask = mask_truncated(mask, torch.tensor([c.truncated for c in part]))  # (B, T)
    old_t = scatter(old, mask, logp) if old is not None else None  # (B, T)
    adv_t = adv if isinstance(adv, torch.Tensor) else scatter(adv, mask, logp)  # (B,) or (B, T)
    per_tok, stats = POLICY_LOSSES[rc.loss](logp, old_t, adv_t, mask, clip_low=rc.clip_low, clip_high=rc.clip_high)
    if ref is not None:
        kl = KL_ESTIMATORS[rc.kl_estimator](logp, scatter(ref, mask, logp))  # (B, T)
        stats["kl"] = float((kl * mask).sum() / mask.sum().clamp(min=1))
        if rc.kl_in == "loss":
            per_tok = per_tok + rc.kl_coef * kl
    if ent is not None:
        stats["entropy"] = float((ent.detach() * mask).sum() / mask.sum().clamp(min=1))
        if rc.entropy_coef:
            per_tok = per_tok - rc.entropy_coef * ent
    constant = rc.aggregation_constant or rc.sampling.max_new_tokens
    loss = AGGREGATIONS[rc.aggregation](per_tok * mask, mask.float(), num_seqs=num_seqs, num_tokens=num_tokens,
                                        constant=constant)
    return loss, stats


def _loss_tokens(c: Completion, rc: RLConfig) -> int:
    """Tokens of completion `c` in the loss: none when it is truncated and rl.mask_truncated is on."""
    return 0 if rc.mask_truncated and c.truncated else len(c.ids)


def _pick(seqs, idx):
    return [seqs[i] for i in idx] if seqs is not None else None


def minibatches(n: int, rc: RLConfig, seed: int):
    """(epoch, indices) of every minibatch: mu epochs, each a fresh permutation split in rc.minibatches."""
    for epoch in range(rc.epochs):
        order = np.random.default_rng([seed, epoch]).permutation(n) if rc.epochs > 1 or rc.minibatches > 1 else np.arange(n)
        for mb in np.array_split(order, rc.minibatches):
            yield epoch, mb


def policy_step(ctx: RLContext, batch: Batch, mb: np.ndarray, old, ref, want_entropy: bool) -> dict[str, list]:
    """One optimizer step of the policy on minibatch `mb` (micro-batched); skipped if non-finite."""
    rc, model, comps = ctx.rc, ctx.model, batch.completions
    ctx.optimizer.zero_grad(set_to_none=True)
    # global counts over ranks, and loss x world size: DDP/FSDP2 average the ranks' gradients
    num_seqs, num_tokens = map(int, dist.all_sum([len(mb), sum(_loss_tokens(comps[i], rc) for i in mb)]))
    num_tokens = max(1, num_tokens)  # every completion masked (rl.mask_truncated): a zero loss, not 0/0
    n_all, mb = len(mb), _with_gradient(mb, batch.advantages, ref, rc)  # the counts above include skipped ones
    once = _forwards_prompts_once(model, rc, [comps[i] for i in mb])
    forwarded = ForwardedPrompts(unwrap(model), [comps[i].prompt_ids for i in mb], ctx.pad_id, _device(model)) \
        if once else None
    # similar lengths share a micro-batch (less padding); the minibatch's summed gradient is the same
    mb = _micro_batch_order(comps, mb, _shares_prompt(model, rc), rc.micro_batch, forwarded=once)
    total, acc = 0.0, {}
    starts = range(0, len(mb), rc.micro_batch)
    for j in starts:
        idx = mb[j : j + rc.micro_batch].tolist()
        adv = batch.advantages[idx] if isinstance(batch.advantages, torch.Tensor) else _pick(batch.advantages, idx)
        with dist.grad_sync(model, j == starts[-1]):
            loss, st = objective(model, [comps[i] for i in idx], adv, _pick(old, idx), _pick(ref, idx), ctx.pad_id,
                                 rc, num_seqs, num_tokens, want_entropy, forwarded)
            (loss * dist.loss_scale()).backward()
        total += loss.item() * dist.loss_scale()
        for key, v in st.items():
            acc.setdefault(key, []).append(v)
    if forwarded is not None:
        forwarded.backward()
    grad_norm = dist.clip_grad_norm(model, rc.optim.max_grad_norm)
    ok = dist.all_true(np.isfinite(total) and np.isfinite(grad_norm))
    if ok:
        ctx.optimizer.step()
    ctx.scheduler.step()  # the schedule follows the step count, a skipped update included
    ctx.optimizer.zero_grad(set_to_none=True)
    acc.update({"loss/pg": [total], "grad/norm": [grad_norm], "skipped/nonfinite": [int(not ok)],
                "skipped/zero_adv": [1.0 - len(mb) / n_all]})
    return acc


def _with_gradient(mb: np.ndarray, adv, ref, rc: RLConfig) -> np.ndarray:
    """The sequences of minibatch `mb` that can move the weights (rl.skip_zero_advantage).

    A sequence with advantage exactly 0 has loss 0 x (log-prob or ratio) in pg and ppo_clip: its
    forward and backward add exactly zero, unless a KL term in the loss or an entropy bonus adds a
    gradient of their own. When every advantage is 0 one sequence is kept, so that every rank
    still runs a backward (the DDP/FSDP gradient sync) and the optimizer steps on zero gradients,
    as it would without skipping."""
    if not rc.skip_zero_advantage or ref is not None or rc.entropy_coef or not isinstance(adv, torch.Tensor):
        return mb
    nonzero = (adv[torch.from_numpy(mb)] != 0).numpy()
    keep = mb[nonzero] if nonzero.any() else mb[:1]
    # every rank runs as many micro-batches (FSDP gathers weights in each forward): a rank with fewer
    # sequences to train on takes back zero-advantage ones, which add nothing
    need = (dist.all_max(-(-len(keep) // rc.micro_batch)) - 1) * rc.micro_batch + 1
    if len(keep) < need:
        keep = np.concatenate([keep, mb[~np.isin(mb, keep)][: need - len(keep)]])
    return keep


def _summarise(acc: dict[str, list]) -> dict[str, float]:
    out = {k: float(np.mean(v)) for k, v in acc.items() if k != "skipped/nonfinite"}
    out["ratio/max"] = float(np.max(acc.get("ratio/max", [1.0])))
    out["skipped/nonfinite"] = int(np.sum(acc.get("skipped/nonfinite", [0])))
    return out


UPDATES: Registry[Callable[..., dict[str, float]]] = Registry("RL update")
"""rl.algorithm -> fn(ctx, batch, old, ref, *, seed, **extra) -> stats."""


@UPDATES.register("pg")
def policy_update(ctx: RLContext, batch: Batch, old, ref, *, seed: int) -> dict[str, float]:
    """mu epochs over minibatches; each minibatch is one optimizer step (micro-batched)."""
    acc: dict[str, list] = {}
    for epoch, mb in minibatches(len(batch.completions), ctx.rc, seed):
        for k, v in policy_step(ctx, batch, mb, old, ref, want_entropy=epoch == 0).items():
            acc.setdefault(k, []).extend(v)
    return _summarise(acc)


@UPDATES.register("ppo")
def ppo_update(ctx: RLContext, batch: Batch, old, ref, *, seed: int, values, returns) -> dict[str, float]:
    """PPO with a value model: each minibatch takes a policy step and a critic step."""
    acc: dict[str, list] = {}
    for epoch, mb in minibatches(len(batch.completions), ctx.rc, seed):
        for k, v in policy_step(ctx, batch, mb, old, ref, want_entropy=epoch == 0).items():
            acc.setdefault(k, []).extend(v)
        idx = mb.tolist()
        st = ctx.critic.step([batch.completions[i] for i in idx], _pick(values, idx), _pick(returns, idx),
                             ctx.pad_id, ctx.rc.micro_batch)
        for k, v in st.items():
            acc.setdefault(k, []).append(v)
    return _summarise(acc)


@UPDATES.register("raft")
def raft_update(ctx: RLContext, batch: Batch, old, ref, *, seed: int) -> dict[str, float]:
    """Expert iteration: an SFT step on the samples whose answer was correct."""
    rc = ctx.rc
    keep = [c for c, v in zip(batch.completions, batch.score.verdicts) if v.correct]
    if not keep:
        ctx.scheduler.step()
        return {"raft/kept": 0, "loss/pg": 0.0, "grad/norm": 0.0, "skipped/nonfinite": 0}
    stats = sft_update(ctx.model, ctx.optimizer, ctx.scheduler, [(list(c.prompt_ids), list(c.ids)) for c in keep],
                       ctx.pad_id, aggregation="token_mean", micro_batch=rc.micro_batch,
                       max_grad_norm=rc.optim.max_grad_norm, chunk=rc.logprob_chunk)
    ok = np.isfinite(stats["loss/train"]) and np.isfinite(stats["grad/norm"])
    return {"raft/kept": len(keep), "loss/pg": stats["loss/train"], "grad/norm": stats["grad/norm"],
            "skipped/nonfinite": int(not ok)}


def sync_weights(ctx: RLContext) -> None:
    """The rollout engine samples from the updated weights next step."""
    if ctx.rc.sampling.backend == "hf":  # HF generates with an unsharded model; vLLM gathers itself
        ctx.gen_model = dist.rollout_model(ctx.model, ctx.gen_model)
        ctx.backend.update_weights(ctx.gen_model)
    else:
        ctx.backend.update_weights(ctx.model)


# ----------------------------------------------------------------------------- helpers
def _device(model) -> torch.device:
    return next(model.parameters()).device


def _temperature(rc: RLConfig) -> float:
    return rc.sampling.temperature if rc.sampling.temperature > 0 else 1.0


def step_metrics(batch: Batch, k: int, t_gen: float, t_score: float, answer_format: str = "think") -> dict[str, float]:
    """format/rate is the share of samples in the template's answer format (rewards.in_answer_format)."""
    lengths = [len(c.ids) for c in batch.completions]
    comps = batch.score.components
    fmt = comps.get("format") or REWARDS["format"](batch.responses, [""] * len(batch.responses), None,
                                                   answer_format=answer_format)
    thinks = [think_part(r) for r in batch.responses]
    return {
        "reward/mean": float(batch.rewards.mean()), "reward/std": float(batch.rewards.std()),
        **{f"reward/{name}": float(np.mean(v)) for name, v in comps.items()},
        "acc/train": float(np.mean([v.correct for v in batch.score.verdicts])),
        "format/rate": float(np.mean(fmt)), "work/rate": work_rate(thinks),
        "length/mean": float(np.mean(lengths)), "length/max": float(np.max(lengths)),
        "length/truncated": float(np.mean([c.truncated for c in batch.completions])),
        "groups/all_same": float((batch.rewards.std(dim=1) == 0).float().mean()) if k > 1 else 1.0,
        "tokens_per_s": sum(lengths) / max(t_gen, 1e-9), "time/generate": t_gen, "time/score": t_score,
        "lang/mixed_share": language_metrics(thinks)["lang/mixed_share"],
        "reflection/rate": reflection_rate(thinks),
    }


def write_rollouts(path: Path, step: int, batch: Batch, k: int) -> None:
    """Every rank calls this; rank 0 writes all ranks' samples (gathered in rank order)."""
    recs = []
    for i, (c, resp, v) in enumerate(zip(batch.completions, batch.responses, batch.score.verdicts)):
        p = batch.problems[i // k]
        adv = batch.advantages[i]
        recs.append({"step": step, "problem_id": p.id, "sample_idx": i % k, "prompt": batch.prompts[i // k],
                     "completion": resp, "gold": p.gold, "extracted": v.extracted,
                     "reward": float(batch.rewards.view(-1)[i]),
                     "rewards": {n: float(vals[i]) for n, vals in batch.score.components.items()},
                     "advantage": float(adv if adv.dim() == 0 else adv[0] if len(adv) else 0.0),
                     "correct": v.correct, "reason": v.reason, "length": len(c.ids), "truncated": c.truncated})
    recs = dist.gather_lists(recs)
    if dist.is_main():
        atomic_write_jsonl(path, recs)


# ----------------------------------------------------------------------------- held-out accuracy during RL
def heldout_eval(ctx: RLContext, cfg: Recipe, problems: Sequence[Problem], path: Path, step: int) -> dict[str, float]:
    """Greedy accuracy on the held-out problems with the current policy, with the share of answers that
    show their work and the share whose reasoning mixes scripts (the task's `language`); records to
    `path` (rank 0).

    Rank r grades problems r, r + world, ...; the counts are summed over ranks, so the numbers do
    not depend on the number of ranks."""
    t0 = time.time()
    name = cfg.rl.eval_task or next(iter(cfg.eval.tasks))
    task = cfg.eval.tasks[name]
    template = TEMPLATES[task.template or cfg.data.template]
    mine = list(problems)[dist.rank() :: dist.world_size()]
    recs = generate_and_grade(ctx.backend, template, ctx.tokenizer, mine, task, n=1, greedy=True, seed=cfg.seed) \
        if mine else []
    worked = sum(count_worked_steps(think_part(r["completion"])) > 0 for r in recs)
    n, correct, work, mixed, tokens, fmt = dist.all_sum([len(recs), sum(r["correct"] for r in recs), worked,
                                                         sum(r["mixed"] for r in recs), sum(r["length"] for r in recs),
                                                         sum(r["format_ok"] for r in recs)])
    everyone = dist.gather_lists([{**r, "step": step, "task": name} for r in recs])
    if dist.is_main():
        atomic_write_jsonl(path, everyone)
    return {"eval/accuracy": correct / n, "eval/work_rate": work / n, "eval/lang_mixed_share": mixed / n,
            "eval/length": tokens / n, "eval/format": fmt / n, "time/eval": time.time() - t0}


# ----------------------------------------------------------------------------- the stage
def init_path(cfg: Recipe, run: RunDir, st) -> str:
    """Starting weights: the SFT checkpoint (auto/sft), else the prepared base model, else model.path."""
    if cfg.rl.init in ("auto", "sft") and run.output_path("sft", "checkpoint"):
        return str(st.input("sft", "checkpoint"))
    if cfg.rl.init == "sft":
        raise RuntimeError("rl.init is 'sft' but this run has no finished SFT stage")
    if run.output_path("prepare", "base_model"):
        return str(st.input("prepare", "base_model"))
    return cfg.model.path


def total_updates(rc: RLConfig) -> int:
    return rc.steps * (rc.epochs * rc.minibatches if rc.algorithm in ("pg", "ppo") else 1)


def setup(cfg: Recipe, run: RunDir, st, ckpt: Path | None, problems: list[Problem]) -> tuple[RLContext, dict | None]:
    """The RL context from the starting weights, or from checkpoint `ckpt` when resuming (weights,
    optimizer, schedule, critic, sampler position, RNG); and the checkpoint's trainer state."""
    rc = cfg.rl
    if rc.algorithm in ("raft", "ppo") and dist.world_size() > 1:
        raise RuntimeError(f"rl.algorithm={rc.algorithm} runs on one process only: raft's ranks keep different "
                           f"numbers of correct samples, and ppo's value model is not wrapped for DDP/FSDP")
    if cfg.model.lora is not None and cfg.dist.strategy == "fsdp" and dist.world_size() > 1:
        raise RuntimeError("model.lora trains with dist.strategy: ddp (or one process), not fsdp")
    start_from = init_path(cfg, run, st)
    model, tokenizer = load_policy(start_from, ckpt, cfg.model, seed=cfg.seed, device=dist.device())
    ref = None
    if rc.kl_coef > 0:  # with LoRA the reference is the policy with its adapters disabled: no second copy
        ref = model if cfg.model.lora else load_model(start_from, dtype=cfg.model.dtype, device=dist.device())[0].eval()
    template = TEMPLATES[cfg.data.template]
    # every training forward goes through PolicyLogProbs (inside DDP/FSDP2 under torchrun); the
    # optimizer comes after wrapping because fully_shard swaps in sharded parameters
    model = dist.wrap(PolicyLogProbs(model), cfg.dist.strategy)
    optimizer, scheduler = build_optimizer(model, rc.optim, total_updates(rc))
    critic = Critic(start_from, rc.critic, total_updates(rc), dtype=cfg.model.dtype, device=dist.device()) \
        if rc.algorithm == "ppo" else None
    sampler = EpochSampler(len(problems), cfg.seed)
    state = resume_training(ckpt, model, optimizer, scheduler, sampler) if ckpt is not None else None
    if state is not None and critic is not None:
        critic.load_state_dict(state["critic"])
    gen_model = dist.rollout_model(model) if rc.sampling.backend == "hf" else model
    backend = backend_from_config(rc.sampling, gen_model, tokenizer, stop=template.stop, model_path=start_from,
                                  dtype=cfg.model.dtype, seed=cfg.seed)
    if ckpt is not None:
        backend.update_weights(gen_model)  # an engine loaded from model_path gets the checkpoint's weights
    scorer = Scorer(rc.rewards, policy=cfg.grader, answer_format=template.answer_format)
    ctx = RLContext(rc, model, optimizer, scheduler, backend, scorer, template, tokenizer.pad_token_id, tokenizer,
                    problems=problems, sampler=sampler, seed=cfg.seed, ref=ref, critic=critic, gen_model=gen_model)
    return ctx, state


def run_rl(cfg: Recipe, run: RunDir, *, resume: bool = False) -> Path:
    """The `rl` stage; returns the final checkpoint directory."""
    rc = cfg.rl
    with run.stage("rl") as st:
        problems = [Problem.from_dict(r) for r in read_jsonl(st.input("prepare", "train"))]
        ckpt = start_checkpoints(st, resume=resume, keep_last=rc.keep_last, meta={"template": cfg.data.template})
        ctx, state = setup(cfg, run, st, ckpt, problems)
        start, nonfinite_run = (state["step"], state.get("nonfinite_run", 0)) if state else (0, 0)
        heldout = []
        if rc.eval_every:
            name = rc.eval_task or next(iter(cfg.eval.tasks))
            heldout = [Problem.from_dict(r) for r in read_jsonl(st.input("prepare", f"eval-{name}"))][: rc.eval_size]
        metrics = open_metrics(cfg, st, run.paths.metrics("rl"), resume_after_step=start if ckpt else None)
        log.info("RL: %s / %s / %s, %d steps x %d prompts x %d samples", rc.algorithm, rc.advantage, rc.loss,
                 rc.steps, rc.prompts_per_step, rc.group_size)
        if heldout and start == 0:
            metrics.log({"step": 0, **heldout_eval(ctx, cfg, heldout, run.paths.heldout_at(0), 0)})
        path = ckpt
        for step in tqdm(range(start + 1, rc.steps + 1), desc="rl", initial=start, total=rc.steps, leave=False):
            problems = dist.shard([ctx.problems[i] for i in ctx.sampler.take(rc.prompts_per_step)])
            batch, stats = rl_step(ctx, step, problems)
            if heldout and (step % rc.eval_every == 0 or step == rc.steps):
                stats.update(heldout_eval(ctx, cfg, heldout, run.paths.heldout_at(step), step))
            record = dist.mean_metrics({"step": step, **stats})
            metrics.log(record)
            log.info("rl %s", json.dumps({k: round(v, 4) for k, v in record.items() if k in (
                "step", "reward/mean", "acc/train", "work/rate", "length/mean", "eval/accuracy", "time/step")}))
            if rc.log_rollouts_every and step % rc.log_rollouts_every == 0:
                write_rollouts(run.paths.rollout(step), step, batch, rc.group_size)
            nonfinite_run = nonfinite_run + 1 if stats["skipped/nonfinite"] else 0
            if nonfinite_run >= rc.max_nonfinite:
                raise RuntimeError(f"stopping: {nonfinite_run} consecutive RL steps had a non-finite loss or "
                                   f"gradient (rl.max_nonfinite={rc.max_nonfinite}); lower rl.optim.lr or check rewards")
            if (rc.save_every and step % rc.save_every == 0) or step == rc.steps:
                path = _save(ctx, st, step, rc, nonfinite_run)
        if path is None:  # zero steps: the starting weights are the result
            path = _save(ctx, st, 0, rc, 0)
        metrics.close()
        st.output("checkpoint", path)
        st.output("metrics", run.paths.metrics("rl"))
    return path


def _save(ctx: RLContext, st, step: int, rc: RLConfig, nonfinite_run: int) -> Path:
    extra = {"nonfinite_run": nonfinite_run, **({"critic": ctx.critic.state_dict()} if ctx.critic else {})}
    return save_training_checkpoint(st, ctx.model, ctx.tokenizer, ctx.optimizer, ctx.scheduler, ctx.sampler, step,
                                    rc.keep_last, extra=extra, final=step == rc.steps)
