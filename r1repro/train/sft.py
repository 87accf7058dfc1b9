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
from dataclasses import dataclass
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
from r1repro.kernels import onednn_linears
from r1repro.models import encode_prompt, load_policy, token_logprobs
from r1repro.rollout import make_backend
from r1repro.rundir import RunDir
from r1repro.trackers import open_metrics
from r1repro.train.common import (
    EpochSampler,
    build_optimizer,
    collate,
    resume_training,
    save_training_checkpoint,
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
    with onednn_linears(model):  # CPU float32: oneDNN's matrix multiplies (r1repro.kernels)
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


@dataclass
class SFTData:
    """The stage's examples as token ids, and the held-out part it evaluates every eval_every steps."""

    train: list[tuple[list[int], list[int]]]
    eval: list[tuple[list[int], list[int]]]
    eval_graded: list[tuple[str, str | None, dict]]  # (prompt, gold, meta) for held-out accuracy
    eval_tokens: int  # generation budget of the held-out accuracy


def sft_records(cfg: Recipe, run: RunDir, st) -> tuple[Path, list[dict]]:
    """(path, records) the stage trains on: sft.traces_from's correct RL samples, sft.data, or the run's data."""
    sc = cfg.sft
    if sc.traces_from:  # R1's second stage: correct samples of a finished RL run
        path = run.paths.traces
        atomic_write_jsonl(path, collect_traces(sc.traces_from, template=cfg.data.template,
                                                per_problem=sc.traces_per_problem))
        st.output("traces", path)
    else:
        path = Path(sc.data) if sc.data else st.input("prepare", "train")
    return path, read_jsonl(path)


def sft_data(cfg: Recipe, path: Path, records: list[dict], tokenizer) -> SFTData:
    """Encode the records; the last min(eval_size, 20%) are held out when eval_every is set."""
    sc, template = cfg.sft, TEMPLATES[cfg.data.template]
    triples = sft_examples(records, template, tokenizer)
    if not triples:
        raise ValueError(f"{path}: no (prompt, response) pairs: records need a solution, or prompt+response")
    n_eval = min(sc.eval_size, len(triples) // 5) if sc.eval_every else 0
    train_part = triples[: min(sc.limit or len(triples), len(triples) - n_eval)]
    eval_part = triples[len(triples) - n_eval :]
    evals = [encode_pair(tokenizer, p, r, sc.max_len) for p, r, _, _ in eval_part]
    # room for the longest held-out reference answer: a fixed budget (the RL one) would cut long
    # worked solutions short and report 0% for a model that writes them perfectly
    return SFTData([encode_pair(tokenizer, p, r, sc.max_len) for p, r, _, _ in train_part], evals,
                   [(p, g, m) for p, _, g, m in eval_part], max([len(r) for _, r in evals], default=0) + 16)


def sft_step(cfg: Recipe, model, tokenizer, optimizer, scheduler, sampler: EpochSampler, data: SFTData,
             step: int) -> dict[str, float]:
    """One optimizer step on a batch of sft.batch_size examples, and the held-out evaluation when due."""
    sc, t0 = cfg.sft, time.time()
    batch = [data.train[i] for i in sampler.take(sc.batch_size)]
    batch.sort(key=lambda e: len(e[0]) + len(e[1]))  # length-bucketed micro-batches
    stats = sft_update(model, optimizer, scheduler, batch, tokenizer.pad_token_id,
                       aggregation=AVERAGE_TO_AGGREGATION[sc.average], micro_batch=sc.micro_batch,
                       max_grad_norm=sc.optim.max_grad_norm, chunk=sc.logprob_chunk)
    dt = time.time() - t0
    record = {"step": step, **{k: v for k, v in stats.items() if k != "tokens"},
              "tokens_per_s": stats["tokens"] / dt, "time/step": dt}
    if sc.eval_every and data.eval and (step % sc.eval_every == 0 or step == sc.steps):
        record.update(heldout_eval(model, tokenizer, TEMPLATES[cfg.data.template], data.eval, data.eval_graded,
                                   tokenizer.pad_token_id, max_new_tokens=data.eval_tokens, chunk=sc.logprob_chunk,
                                   policy=cfg.grader))
    return record


def run_sft(cfg: Recipe, run: RunDir, *, resume: bool = False) -> Path:
    """The `sft` stage: train from the base model on the run's worked solutions; returns the checkpoint."""
    sc = cfg.sft
    with run.stage("sft") as st:
        base = str(st.input("prepare", "base_model")) if run.output_path("prepare", "base_model") else cfg.model.path
        path, records = sft_records(cfg, run, st)
        ckpt = start_checkpoints(st, resume=resume, keep_last=sc.keep_last, meta={"template": cfg.data.template})
        model, tokenizer = load_policy(base, ckpt, cfg.model, seed=cfg.seed)  # once, from the checkpoint on resume
        data = sft_data(cfg, path, records, tokenizer)
        model.train()
        optimizer, scheduler = build_optimizer(model, sc.optim, sc.steps)
        sampler = EpochSampler(len(data.train), cfg.seed)
        start = resume_training(ckpt, model, optimizer, scheduler, sampler)["step"] if ckpt is not None else 0
        metrics = open_metrics(cfg, st, run.paths.metrics("sft"), resume_after_step=start if ckpt else None)
        log.info("SFT: %d examples (%d held out), %d steps of %d", len(data.train), len(data.eval), sc.steps,
                 sc.batch_size)
        path = ckpt
        for step in tqdm(range(start + 1, sc.steps + 1), desc="sft", initial=start, total=sc.steps, leave=False):
            record = sft_step(cfg, model, tokenizer, optimizer, scheduler, sampler, data, step)
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
