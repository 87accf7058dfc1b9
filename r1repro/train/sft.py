"""SFT: teacher forcing on (prompt, response) pairs, loss on response tokens only.

The R1 recipe's cold start and RAFT's inner loop. The loss is the negative log-likelihood of the
response tokens; prompt tokens are masked out (zero gradient). `average: token` takes the mean over
every response token of the optimizer batch; `average: sequence` takes the mean over sequences of
each sequence's token-mean. Both use the whole batch's counts, so gradient accumulation over
micro-batches gives exactly the full-batch gradient.

    r1repro sft recipes/quickstart.yaml        # or as the `sft` stage of `r1repro run`
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from r1repro.algos.losses import AGGREGATIONS
from r1repro.config import Recipe
from r1repro.data.schema import Problem
from r1repro.data.templates import TEMPLATES, sft_target
from r1repro.files import atomic_write_jsonl, read_jsonl
from r1repro.grading import GraderPolicy, grade_batch
from r1repro.models import encode_prompt, load_policy, token_logprobs
from r1repro.rollout import make_backend
from r1repro.rundir import RunDir
from r1repro.trackers import open_metrics
from r1repro.train.common import (
    EpochSampler,
    build_optimizer,
    collate,
    load_trainer_state,
    save_training_checkpoint,
    set_rng_state,
    start_checkpoints,
)
from r1repro.train.traces import collect_traces

log = logging.getLogger("r1repro.sft")
AVERAGE_TO_AGGREGATION = {"token": "token_mean", "sequence": "seq_mean_token_mean"}


def encode_pair(tokenizer, prompt: str, response: str, max_len: int) -> tuple[list[int], list[int]]:
    """Prompt ids (as the rollout backend encodes them) and response ids ending in EOS, truncated."""
    p = encode_prompt(tokenizer, prompt)
    r = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return p[:max_len], r[: max(0, max_len - len(p))]


def sft_examples(records: Sequence[dict], template, tokenizer) -> list[tuple[str, str, str | None, dict]]:
    """(prompt, response, gold, meta) from Problem records with solutions, or from {prompt, response}
    records (gold and meta from their optional fields, as rejection-sampled traces carry); the meta
    names the verifier that grades held-out answers."""
    out = []
    for rec in records:
        if "prompt" in rec and "response" in rec:
            out.append((rec["prompt"], rec["response"], rec.get("gold"), dict(rec.get("meta") or {})))
        else:
            p = Problem.from_dict(rec)
            if p.solution is not None:
                out.append((template.prompt(p.question, tokenizer), sft_target(template, p), p.gold, p.meta))
    return out


def nll_loss(model, prompts, responses, pad_id: int, *, aggregation: str, num_seqs: int, num_tokens: int,
             chunk: int) -> torch.Tensor:
    """Masked NLL of the responses, aggregated with the batch's global counts (see module doc)."""
    device = next(model.parameters()).device
    batch = collate(prompts, responses, pad_id, device)
    logp, _ = token_logprobs(model, batch.input_ids, batch.attention_mask, batch.loss_mask, chunk_size=chunk)
    mask = batch.loss_mask.float()  # (B, T)
    return AGGREGATIONS[aggregation](-logp * mask, mask, num_seqs=num_seqs, num_tokens=num_tokens)


def sft_update(model, optimizer, scheduler, examples: Sequence[tuple[list[int], list[int]]], pad_id: int, *,
               aggregation: str, micro_batch: int, max_grad_norm: float, chunk: int = 1024) -> dict[str, float]:
    """One optimizer step over `examples` (micro-batched); shared with RAFT."""
    optimizer.zero_grad(set_to_none=True)
    num_tokens = sum(len(r) for _, r in examples)
    total = 0.0
    for i in range(0, len(examples), micro_batch):
        part = examples[i : i + micro_batch]
        loss = nll_loss(model, [p for p, _ in part], [r for _, r in part], pad_id, aggregation=aggregation,
                        num_seqs=len(examples), num_tokens=num_tokens, chunk=chunk)
        loss.backward()
        total += loss.item()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm).item()
    if np.isfinite(total) and np.isfinite(grad_norm):
        optimizer.step()
    scheduler.step()
    return {"loss/train": total, "grad/norm": grad_norm, "lr": scheduler.get_last_lr()[0], "tokens": num_tokens}


@torch.no_grad()
def heldout_eval(model, tokenizer, template, examples, prompts_golds, pad_id: int, *, max_new_tokens: int,
                 chunk: int, policy: GraderPolicy | None = None) -> dict[str, float]:
    """Held-out NLL (token mean), and greedy accuracy with the project's grading entry point on the
    (prompt, gold, meta) triples whose gold is known."""
    model.eval()
    ntok = sum(len(r) for _, r in examples)
    loss = sum(nll_loss(model, [p], [r], pad_id, aggregation="token_mean", num_seqs=len(examples),
                        num_tokens=ntok, chunk=chunk).item() for p, r in examples)
    graded = [(p, g, m) for p, g, m in prompts_golds if g is not None]
    backend = make_backend("hf", model, tokenizer, stop=template.stop)
    groups = backend.generate([p for p, _, _ in graded], n=1, max_new_tokens=max_new_tokens, temperature=0.0,
                              top_p=1.0, seed=0) if graded else []
    verdicts = grade_batch([template.response_prefix + g[0].text for g in groups], [g for _, g, _ in graded],
                           [m for _, _, m in graded], policy=policy)
    model.train()
    out = {"loss/eval": loss}
    if verdicts:
        out["acc/eval"] = float(np.mean([v.correct for v in verdicts]))
    return out


def run_sft(cfg: Recipe, run: RunDir, *, resume: bool = False) -> Path:
    """The `sft` stage: train from the base model on the run's worked solutions; returns the checkpoint."""
    sc = cfg.sft
    with run.stage("sft") as st:
        base = str(st.input("prepare", "base_model")) if run.output_path("prepare", "base_model") else cfg.model.path
        if sc.traces_from:  # R1's second stage: correct samples of a finished RL run
            data_path = run.paths.traces
            atomic_write_jsonl(data_path, collect_traces(sc.traces_from, template=cfg.data.template,
                                                         per_problem=sc.traces_per_problem))
            st.output("traces", data_path)
        else:
            data_path = Path(sc.data) if sc.data else st.input("prepare", "train")
        records = read_jsonl(data_path)
        model, tokenizer = load_policy(base, None, cfg.model, seed=cfg.seed)
        template = TEMPLATES[cfg.data.template]
        triples = sft_examples(records, template, tokenizer)
        if not triples:
            raise ValueError(f"{data_path}: no (prompt, response) pairs: records need a solution, or prompt+response")
        n_eval = min(sc.eval_size, len(triples) // 5) if sc.eval_every else 0
        train_part = triples[: min(sc.limit or len(triples), len(triples) - n_eval)]
        eval_part = triples[len(triples) - n_eval :]
        examples = [encode_pair(tokenizer, p, r, sc.max_len) for p, r, _, _ in train_part]
        eval_examples = [encode_pair(tokenizer, p, r, sc.max_len) for p, r, _, _ in eval_part]
        eval_graded = [(p, g, m) for p, _, g, m in eval_part]  # (prompt, gold, meta) for held-out accuracy
        # room for the longest held-out reference answer: a fixed budget (the RL one) would cut long
        # worked solutions short and report 0% for a model that writes them perfectly
        eval_tokens = max([len(r) for _, r in eval_examples], default=0) + 16
        model.train()
        optimizer, scheduler = build_optimizer(model, sc.optim, sc.steps)
        sampler = EpochSampler(len(examples), cfg.seed)
        start = 0
        ckpt = start_checkpoints(st, resume=resume, keep_last=sc.keep_last, meta={"template": cfg.data.template})
        if ckpt is not None:
            model, _ = load_policy(base, ckpt, cfg.model, seed=cfg.seed)
            model.train()
            optimizer, scheduler = build_optimizer(model, sc.optim, sc.steps)
            state = load_trainer_state(ckpt)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            sampler.load_state_dict(state["sampler"])
            set_rng_state(state["rng"])
            start = state["step"]
            log.info("resuming SFT from %s (step %d)", ckpt, start)
        metrics = open_metrics(cfg, st, run.paths.metrics("sft"), resume_after_step=start if ckpt else None)
        aggregation = AVERAGE_TO_AGGREGATION[sc.average]
        pad = tokenizer.pad_token_id
        log.info("SFT: %d examples (%d held out), %d steps of %d", len(examples), len(eval_examples), sc.steps,
                 sc.batch_size)
        for step in tqdm(range(start + 1, sc.steps + 1), desc="sft", initial=start, total=sc.steps, leave=False):
            t0 = time.time()
            batch = [examples[i] for i in sampler.take(sc.batch_size)]
            batch.sort(key=lambda e: len(e[0]) + len(e[1]))  # length-bucketed micro-batches
            stats = sft_update(model, optimizer, scheduler, batch, pad, aggregation=aggregation,
                               micro_batch=sc.micro_batch, max_grad_norm=sc.optim.max_grad_norm)
            dt = time.time() - t0
            record = {"step": step, **{k: v for k, v in stats.items() if k != "tokens"},
                      "tokens_per_s": stats["tokens"] / dt, "time/step": dt}
            if sc.eval_every and eval_examples and (step % sc.eval_every == 0 or step == sc.steps):
                record.update(heldout_eval(model, tokenizer, template, eval_examples, eval_graded, pad,
                                           max_new_tokens=eval_tokens, chunk=cfg.rl.logprob_chunk,
                                           policy=cfg.grader))
            if step % sc.log_every == 0 or step == sc.steps or "loss/eval" in record:
                metrics.log(record)
                log.info("sft %s", json.dumps({k: round(v, 4) for k, v in record.items()}))
            if (sc.save_every and step % sc.save_every == 0) or step == sc.steps:
                path = save_training_checkpoint(st, model, tokenizer, optimizer, scheduler, sampler, step, sc.keep_last,
                                                final=step == sc.steps)
        if sc.steps == 0 or start == sc.steps:
            path = save_training_checkpoint(st, model, tokenizer, optimizer, scheduler, sampler, sc.steps, sc.keep_last)
        metrics.close()
        st.output("checkpoint", path)
        st.output("metrics", run.paths.metrics("sft"))
    return path
