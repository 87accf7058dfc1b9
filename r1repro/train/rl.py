"""RL with verifiable rewards: sample k completions per prompt, reward, weight by an advantage, update.

Which algorithm this is depends on the recipe, by name, and nothing else:
  rl.advantage  none (vanilla REINFORCE) | batch_mean | rloo | grpo | dr_grpo | reinforce_pp
  rl.loss       pg (vanilla policy gradient, ratio 1) | ppo_clip (per-token clipped ratios)
  rl.epochs     mu passes over each batch of samples (with mu = 1 and one minibatch, the PPO
                ratio is exactly 1 and clipping does nothing: GRPO is then normalised RLOO)
  rl.algorithm  raft: keep the correct samples and take an SFT step on them (expert iteration)
Each sequence is one action of a contextual bandit: grad E[R] = E[A * grad log p(s|C)], spread over
the sequence's tokens by the aggregation (token_mean, seq_mean_token_mean, seq_sum_constant).

One step, as the loop below reads:
    rollouts = sample(policy, prompts, k); r = score(rollouts); adv = estimate(r)
    for epoch in range(mu): for minibatch: loss, stats = objective(policy, minibatch, adv); step()

    r1repro rl recipes/quickstart.yaml        # or as the `rl` stage of `r1repro run`
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from tqdm import tqdm

from r1repro import dist
from r1repro.algos.advantages import ADVANTAGES
from r1repro.algos.kl import KL_ESTIMATORS, kl_penalized_rewards
from r1repro.algos.losses import AGGREGATIONS, POLICY_LOSSES
from r1repro.config import Recipe, RLConfig
from r1repro.data.schema import Problem
from r1repro.data.templates import TEMPLATES
from r1repro.files import atomic_write_jsonl, read_jsonl
from r1repro.metrics import language_metrics, reflection_rate
from r1repro.models import PolicyLogProbs, load_model, token_logprobs, unwrap
from r1repro.rewards import REWARDS, Scorer
from r1repro.rollout import Completion, backend_from_config
from r1repro.rundir import MetricsLogger, RunDir
from r1repro.train.common import (
    EpochSampler,
    build_optimizer,
    collate,
    collate_shared,
    load_trainer_state,
    save_training_checkpoint,
    set_rng_state,
    start_checkpoints,
    step_name,
)
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
    advantages: torch.Tensor  # (P*k,)
    score: object  # rewards.ScoreResult


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


def score(scorer: Scorer, template, problems: Sequence[Problem], completions: Sequence[Completion], k: int):
    responses = [template.response_prefix + c.text for c in completions]
    golds = [p.gold for p in problems for _ in range(k)]
    metas = [p.meta for p in problems for _ in range(k)]
    return responses, scorer(responses, golds, metas)


def sequence_logprobs(model, completions: Sequence[Completion], pad_id: int, rc: RLConfig,
                      micro_batch: int) -> list[torch.Tensor]:
    """Per-sequence completion-token log-probs without gradient (old policy, or reference model)."""
    out = []
    with torch.no_grad():
        for i in range(0, len(completions), micro_batch):
            part = completions[i : i + micro_batch]
            b, prefix = _collate(model, part, pad_id, rc)
            logp, _ = token_logprobs(model, b.input_ids, b.attention_mask, b.loss_mask, chunk_size=rc.logprob_chunk,
                                     temperature=_temperature(rc), prefix=prefix)
            out += [row[m.bool()] for row, m in zip(logp, b.loss_mask)]
    return out


def _micro_batch_order(comps: Sequence[Completion], idx: np.ndarray, share: bool) -> np.ndarray:
    if share:  # a prompt's samples together, by prompt length, then completion length
        key = lambda i: (len(comps[i].prompt_ids), comps[i].prompt_ids, len(comps[i].ids))  # noqa: E731
    else:
        key = lambda i: len(comps[i].prompt_ids) + len(comps[i].ids)  # noqa: E731
    return np.array(sorted(idx.tolist(), key=key), dtype=idx.dtype)


def _shares_prompt(model, rc: RLConfig) -> bool:
    # under gradient checkpointing HF turns the KV cache off in training, so the prompt cannot be shared
    hf = unwrap(model)
    name = "is_activation_checkpointing" if hasattr(type(hf), "is_activation_checkpointing") else "is_gradient_checkpointing"
    return rc.share_prompt and not getattr(hf, name, False)


def _collate(model, part: Sequence[Completion], pad_id: int, rc: RLConfig):
    """(batch, prefix) for token_logprobs: prompts stored once per distinct prompt when sharing them."""
    prompts, responses = [c.prompt_ids for c in part], [c.ids for c in part]
    if _shares_prompt(model, rc):
        b = collate_shared(prompts, responses, pad_id, _device(model))
        return b, b.prefix
    return collate(prompts, responses, pad_id, _device(model)), None


def objective(model, part: Sequence[Completion], adv: torch.Tensor, old: list | None, ref: list | None,
              pad_id: int, rc: RLConfig, num_seqs: int, num_tokens: int, want_entropy: bool):
    """Policy loss of one micro-batch (+ KL and entropy terms), aggregated with global counts."""
    b, prefix = _collate(model, part, pad_id, rc)
    logp, ent = token_logprobs(model, b.input_ids, b.attention_mask, b.loss_mask, chunk_size=rc.logprob_chunk,
                               temperature=_temperature(rc), with_entropy=want_entropy, prefix=prefix)
    mask = b.loss_mask.bool()  # (B, T)
    old_t = _scatter(old, mask, logp) if old is not None else None  # (B, T)
    per_tok, stats = POLICY_LOSSES[rc.loss](logp, old_t, adv, mask, clip_low=rc.clip_low, clip_high=rc.clip_high)
    if ref is not None:
        kl = KL_ESTIMATORS[rc.kl_estimator](logp, _scatter(ref, mask, logp))  # (B, T)
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


def policy_update(model, optimizer, scheduler, batch: Batch, old, ref, pad_id: int, rc: RLConfig, seed: int):
    """mu epochs over minibatches; each minibatch is one optimizer step (micro-batched)."""
    n = len(batch.completions)
    stats_acc: dict[str, list[float]] = {}
    skipped = 0
    for epoch in range(rc.epochs):
        order = np.random.default_rng([seed, epoch]).permutation(n) if rc.epochs > 1 or rc.minibatches > 1 else np.arange(n)
        for mb in np.array_split(order, rc.minibatches):
            # similar lengths share a micro-batch (less padding), and with share_prompt a prompt's samples
            # stay together (its forward is shared); the minibatch's summed gradient is the same
            mb = _micro_batch_order(batch.completions, mb, _shares_prompt(model, rc))
            optimizer.zero_grad(set_to_none=True)
            # global counts over ranks, and loss x world size: DDP/FSDP2 average the ranks' gradients
            num_seqs, num_tokens = map(int, dist.all_sum([len(mb), sum(len(batch.completions[i].ids) for i in mb)]))
            total = 0.0
            starts = range(0, len(mb), rc.micro_batch)
            for j in starts:
                idx = mb[j : j + rc.micro_batch].tolist()
                with dist.grad_sync(model, j == starts[-1]):
                    loss, st = objective(model, [batch.completions[i] for i in idx], batch.advantages[idx],
                                         [old[i] for i in idx] if old else None, [ref[i] for i in idx] if ref else None,
                                         pad_id, rc, num_seqs, num_tokens, want_entropy=epoch == 0)
                    (loss * dist.loss_scale()).backward()
                total += loss.item() * dist.loss_scale()
                for key, v in st.items():
                    stats_acc.setdefault(key, []).append(v)
            grad_norm = dist.clip_grad_norm(model, rc.optim.max_grad_norm)
            if dist.all_true(np.isfinite(total) and np.isfinite(grad_norm)):
                optimizer.step()
            else:
                skipped += 1
                optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            stats_acc.setdefault("loss/pg", []).append(total)
            stats_acc.setdefault("grad/norm", []).append(grad_norm)
    out = {k: float(np.mean(v)) for k, v in stats_acc.items()}
    out["ratio/max"] = float(np.max(stats_acc.get("ratio/max", [1.0])))
    out["skipped/nonfinite"] = skipped
    return out


def raft_update(model, optimizer, scheduler, batch: Batch, pad_id: int, rc: RLConfig):
    """Expert iteration: an SFT step on the samples whose answer was correct."""
    keep = [c for c, v in zip(batch.completions, batch.score.verdicts) if v.correct]
    if not keep:
        scheduler.step()
        return {"raft/kept": 0, "loss/pg": 0.0, "grad/norm": 0.0, "skipped/nonfinite": 0}
    stats = sft_update(model, optimizer, scheduler, [(list(c.prompt_ids), list(c.ids)) for c in keep], pad_id,
                       aggregation="token_mean", micro_batch=rc.micro_batch, max_grad_norm=rc.optim.max_grad_norm,
                       chunk=rc.logprob_chunk)
    ok = np.isfinite(stats["loss/train"]) and np.isfinite(stats["grad/norm"])
    return {"raft/kept": len(keep), "loss/pg": stats["loss/train"], "grad/norm": stats["grad/norm"],
            "skipped/nonfinite": int(not ok)}


# ----------------------------------------------------------------------------- helpers
def _device(model) -> torch.device:
    return next(model.parameters()).device


def _temperature(rc: RLConfig) -> float:
    return rc.sampling.temperature if rc.sampling.temperature > 0 else 1.0


def _scatter(seqs: list[torch.Tensor], mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-sequence 1-D tensors back into a (B, T) tensor at the mask's positions."""
    out = torch.zeros_like(like)  # (B, T)
    for r, s in enumerate(seqs):
        out[r, mask[r]] = s.to(out.dtype)
    return out


def step_metrics(batch: Batch, k: int, t_gen: float, t_score: float) -> dict[str, float]:
    lengths = [len(c.ids) for c in batch.completions]
    comps = batch.score.components
    fmt = comps.get("format") or REWARDS["format"](batch.responses, [""] * len(batch.responses), None)
    thinks = [r.split("</think>")[0] for r in batch.responses]
    out = {
        "reward/mean": float(batch.rewards.mean()), "reward/std": float(batch.rewards.std()),
        **{f"reward/{name}": float(np.mean(v)) for name, v in comps.items()},
        "acc/train": float(np.mean([v.correct for v in batch.score.verdicts])),
        "format/rate": float(np.mean(fmt)),
        "length/mean": float(np.mean(lengths)), "length/max": float(np.max(lengths)),
        "length/truncated": float(np.mean([c.truncated for c in batch.completions])),
        "groups/all_same": float((batch.rewards.std(dim=1) == 0).float().mean()) if k > 1 else 1.0,
        "tokens_per_s": sum(lengths) / max(t_gen, 1e-9), "time/generate": t_gen, "time/score": t_score,
        "lang/mixed_share": language_metrics(thinks)["lang/mixed_share"],
        "reflection/rate": reflection_rate(thinks),
    }
    return out


def write_rollouts(path: Path, step: int, batch: Batch, k: int) -> None:
    """Every rank calls this; rank 0 writes all ranks' samples (gathered in rank order)."""
    recs = []
    for i, (c, resp, v) in enumerate(zip(batch.completions, batch.responses, batch.score.verdicts)):
        p = batch.problems[i // k]
        recs.append({"step": step, "problem_id": p.id, "sample_idx": i % k, "prompt": batch.prompts[i // k],
                     "completion": resp, "gold": p.gold, "extracted": v.extracted,
                     "reward": float(batch.rewards.view(-1)[i]),
                     "rewards": {n: float(vals[i]) for n, vals in batch.score.components.items()},
                     "advantage": float(batch.advantages[i]), "correct": v.correct, "reason": v.reason,
                     "length": len(c.ids), "truncated": c.truncated})
    recs = dist.gather_lists(recs)
    if dist.is_main():
        atomic_write_jsonl(path, recs)


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


def run_rl(cfg: Recipe, run: RunDir, *, resume: bool = False) -> Path:
    """The `rl` stage; returns the final checkpoint directory."""
    rc = cfg.rl
    with run.stage("rl") as st:
        problems = [Problem.from_dict(r) for r in read_jsonl(st.input("prepare", "train"))]
        start_from = init_path(cfg, run, st)
        ckpt = start_checkpoints(st, resume=resume, keep_last=rc.keep_last, meta={"template": cfg.data.template})
        model, tokenizer = load_model(str(ckpt or start_from), dtype=cfg.model.dtype, device=dist.device())
        ref = load_model(start_from, dtype=cfg.model.dtype, device=dist.device())[0].eval() if rc.kl_coef > 0 else None
        template = TEMPLATES[cfg.data.template]
        scorer = Scorer(rc.rewards, policy=cfg.grader, wrong_value=rc.wrong_value,
                        unparseable_value=rc.unparseable_value, language=rc.language)
        advantage_fn = ADVANTAGES[rc.advantage]  # fail fast on a bad name, before any work
        POLICY_LOSSES[rc.loss], AGGREGATIONS[rc.aggregation], KL_ESTIMATORS[rc.kl_estimator]
        if rc.algorithm == "raft" and dist.world_size() > 1:
            raise RuntimeError("rl.algorithm=raft runs on one process only: ranks keep different numbers of "
                               "correct samples, so their DDP/FSDP collectives would not match")
        if cfg.model.gradient_checkpointing:
            model.gradient_checkpointing_enable()
        total_updates = rc.steps * (rc.epochs * rc.minibatches if rc.algorithm == "pg" else 1)
        sampler = EpochSampler(len(problems), cfg.seed)
        start, nonfinite_run, state = 0, 0, None
        if ckpt is not None:
            state = load_trainer_state(ckpt)
            sampler.load_state_dict(state["sampler"])
            set_rng_state(state["rng"])
            start, nonfinite_run = state["step"], state.get("nonfinite_run", 0)
            log.info("resuming RL from %s (step %d)", ckpt, start)
        # every training forward goes through PolicyLogProbs (inside DDP/FSDP2 under torchrun); the
        # optimizer comes after wrapping because fully_shard swaps in sharded parameters
        model = dist.wrap(PolicyLogProbs(model), cfg.dist.strategy)
        optimizer, scheduler = build_optimizer(model, rc.optim, total_updates)
        if state is not None:
            dist.load_optimizer_state(model, optimizer, state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
        hf_rollouts = rc.sampling.backend == "hf"  # HF generates with an unsharded model; vLLM gathers itself
        gen_model = dist.rollout_model(model) if hf_rollouts else model
        backend = backend_from_config(rc.sampling, gen_model, tokenizer, stop=template.stop, model_path=start_from,
                                      dtype=cfg.model.dtype, seed=cfg.seed)
        if ckpt is not None:
            backend.update_weights(gen_model)  # an engine loaded from model_path gets the checkpoint's weights
        metrics = MetricsLogger(run.path / "rl" / "metrics.jsonl", resume_after_step=start if ckpt else None)
        pad = tokenizer.pad_token_id
        path = ckpt
        log.info("RL: %s / %s / %s, %d steps x %d prompts x %d samples, from %s", rc.algorithm, rc.advantage,
                 rc.loss, rc.steps, rc.prompts_per_step, rc.group_size, start_from)
        for step in tqdm(range(start + 1, rc.steps + 1), desc="rl", initial=start, total=rc.steps, leave=False):
            t0 = time.time()
            batch_problems = dist.shard([problems[i] for i in sampler.take(rc.prompts_per_step)])
            prompts = [template.prompt(p.question, tokenizer) for p in batch_problems]
            completions = sample(backend, prompts, rc, seed=cfg.seed * 1_000_003 + step,
                                 first=dist.shard_offset(rc.prompts_per_step))
            t1 = time.time()
            responses, result = score(scorer, template, batch_problems, completions, rc.group_size)
            rewards = torch.tensor(result.rewards, dtype=torch.float32).view(len(batch_problems), rc.group_size)
            t2 = time.time()
            old = ref_lp = None
            if rc.algorithm == "pg" and rc.epochs * rc.minibatches > 1:
                old = sequence_logprobs(model, completions, pad, rc, rc.micro_batch)
            if ref is not None:
                ref_lp = sequence_logprobs(ref, completions, pad, rc, rc.micro_batch)
                if rc.kl_in == "reward":
                    pol = old or sequence_logprobs(model, completions, pad, rc, rc.micro_batch)
                    kl = pad_sequence([KL_ESTIMATORS[rc.kl_estimator](p, r) for p, r in zip(pol, ref_lp)],
                                      batch_first=True)  # (P*k, T)
                    mask = pad_sequence([torch.ones_like(p) for p in pol], batch_first=True)  # (P*k, T)
                    rewards = kl_penalized_rewards(rewards.reshape(-1), kl, mask, rc.kl_coef).view_as(rewards)
                    ref_lp = None  # the penalty is in the reward, not in the loss
            advantages = advantage_fn(rewards).reshape(-1)  # (P*k,)
            batch = Batch(batch_problems, prompts, completions, responses, rewards, advantages, result)
            if rc.algorithm == "raft":
                train_stats = raft_update(model, optimizer, scheduler, batch, pad, rc)
            else:
                train_stats = policy_update(model, optimizer, scheduler, batch, old, ref_lp, pad, rc,
                                            seed=cfg.seed * 7919 + step)
            gen_model = dist.rollout_model(model, gen_model) if hf_rollouts else model
            backend.update_weights(gen_model)
            t3 = time.time()
            nonfinite_run = nonfinite_run + 1 if train_stats["skipped/nonfinite"] else 0
            record = {"step": step, **step_metrics(batch, rc.group_size, t1 - t0, t2 - t1), **train_stats,
                      "lr": scheduler.get_last_lr()[0], "time/train": t3 - t2, "time/step": t3 - t0}
            record = dist.mean_metrics(record)
            metrics.log(record)
            log.info("rl %s", json.dumps({k: round(v, 4) for k, v in record.items()
                                          if k in ("step", "reward/mean", "acc/train", "length/mean", "time/step")}))
            if rc.log_rollouts_every and step % rc.log_rollouts_every == 0:
                write_rollouts(run.path / "rl" / "rollouts" / f"{step_name(step)}.jsonl", step, batch, rc.group_size)
            if nonfinite_run >= rc.max_nonfinite:
                raise RuntimeError(f"stopping: {nonfinite_run} consecutive RL steps had a non-finite loss or "
                                   f"gradient (rl.max_nonfinite={rc.max_nonfinite}); lower rl.optim.lr or check rewards")
            if (rc.save_every and step % rc.save_every == 0) or step == rc.steps:
                path = save_training_checkpoint(st, model, tokenizer, optimizer, scheduler, sampler, step,
                                                rc.keep_last, extra={"nonfinite_run": nonfinite_run})
        if path is None:  # zero steps: the starting weights are the result
            path = save_training_checkpoint(st, model, tokenizer, optimizer, scheduler, sampler, 0, rc.keep_last)
        st.output("checkpoint", path)
        st.output("metrics", run.path / "rl" / "metrics.jsonl")
    return path
