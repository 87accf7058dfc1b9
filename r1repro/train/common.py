"""Pieces both trainers share: optimizer + schedule, batches of token sequences, checkpoints, resume.

A checkpoint directory (`<stage>/checkpoints/step_000120/`) holds the HF model and tokenizer
(save_pretrained; with model.lora the adapter in `adapter/`, and the merged model only in the
stage's final checkpoint), `trainer_state.pt` (optimizer, scheduler, RNG states, sampler position, step)
and `meta.json` (stage, step, prompt template). It is written atomically and recorded in the
manifest as it is saved, so `--resume` finds the newest complete one through the manifest, never by
listing folders; the list survives a crash at any moment (`start_checkpoints` says how it is kept).
"""

from __future__ import annotations

import logging
import math
import random
import shutil
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from r1repro import dist
from r1repro.config import OptimConfig
from r1repro.models import distinct_left_padded, save_checkpoint, unwrap
from r1repro.rundir import Stage, step_name

log = logging.getLogger("r1repro.train")


class StepSchedule(torch.optim.lr_scheduler.LambdaLR):
    """LambdaLR indexed by the training step: it advances once a step, also when the step's update was
    skipped (a non-finite loss or gradient; RAFT with no correct sample), so step N runs at the
    learning rate the recipe's schedule gives step N.

    torch warns when a scheduler steps before its optimizer ever has, taking it for calls in the wrong
    order; a skipped first update is on purpose here, so that one warning is silenced."""

    def step(self, *args, **kwargs) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)` before")
            super().step(*args, **kwargs)


def peak_rss_gb() -> float | None:
    """This process's peak resident memory so far, in GiB (getrusage's ru_maxrss: KiB on Linux, bytes
    on macOS); None where the resource module does not exist (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**30 if sys.platform == "darwin" else 2**20)


def build_optimizer(model, cfg: OptimConfig, total_steps: int):
    """AdamW with linear warmup, then constant / cosine / linear decay to min_lr_ratio * lr."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)

    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        if cfg.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if cfg.schedule == "cosine" else 1 - progress
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * shape

    return opt, StepSchedule(opt, factor)


@dataclass
class TokenBatch:
    input_ids: torch.Tensor  # (B, T), right-padded
    attention_mask: torch.Tensor  # (B, T)
    loss_mask: torch.Tensor  # (B, T): 1 on target (response) tokens


def collate(prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], pad_id: int,
            device: torch.device | str = "cpu") -> TokenBatch:
    """Concatenate prompt + response per row, right-pad, mark response tokens in loss_mask."""
    width = max(len(p) + len(r) for p, r in zip(prompts, responses))
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)  # (B, T)
    attn = torch.zeros_like(ids)
    lmask = torch.zeros_like(ids)
    for row, (p, r) in enumerate(zip(prompts, responses)):
        n = len(p) + len(r)
        ids[row, :n] = torch.tensor(list(p) + list(r))
        attn[row, :n] = 1
        lmask[row, len(p):n] = 1
    return TokenBatch(ids.to(device), attn.to(device), lmask.to(device))


@dataclass
class SharedBatch:
    """Completions that share prompts: each distinct prompt once (left-padded), rows point into them."""

    prompt_ids: torch.Tensor  # (U, P), left-padded
    prompt_mask: torch.Tensor  # (U, P)
    rows: torch.Tensor  # (R,): the prompt row of each completion
    input_ids: torch.Tensor  # (R, C): completions, right-padded
    attention_mask: torch.Tensor  # (R, C)

    @property
    def loss_mask(self) -> torch.Tensor:
        return self.attention_mask

    @property
    def prefix(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.prompt_ids, self.prompt_mask, self.rows


def collate_shared(prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], pad_id: int,
                   device: torch.device | str = "cpu") -> SharedBatch:
    """The batch for token_logprobs(prefix=...): identical prompts stored once."""
    pids, pmask, rows = distinct_left_padded(prompts, pad_id)  # (U, P), (U, P)
    clen = max(1, max(len(r) for r in responses))
    ids = torch.full((len(responses), clen), pad_id, dtype=torch.long)  # (R, C)
    mask = torch.zeros_like(ids)
    for r, resp in enumerate(responses):
        ids[r, :len(resp)] = torch.tensor(list(resp))
        mask[r, :len(resp)] = 1
    return SharedBatch(pids.to(device), pmask.to(device), torch.tensor(rows, device=device), ids.to(device),
                       mask.to(device))


def scatter(seqs: Sequence[torch.Tensor], mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-sequence 1-D tensors (one value per completion token) into a (B, T) tensor at the mask's
    positions, in either batch layout (collate or collate_shared); zeros elsewhere."""
    out = torch.zeros_like(like)  # (B, T)
    for r, s in enumerate(seqs):
        out[r, mask[r]] = s.to(out.dtype)
    return out


class EpochSampler:
    """Yields indices from a fresh seeded permutation each epoch; its position is checkpointed."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch, self.pos = n, seed, 0, 0
        self._perm = self._permutation()

    def _permutation(self) -> list[int]:
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.n).tolist()

    def take(self, k: int) -> list[int]:
        out = []
        while len(out) < k:
            if self.pos == self.n:
                self.epoch, self.pos = self.epoch + 1, 0
                self._perm = self._permutation()
            out.append(self._perm[self.pos])
            self.pos += 1
        return out

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos = state["epoch"], state["pos"]
        self._perm = self._permutation()


def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def checkpoint_rel(st: Stage, step: int) -> str:
    """A checkpoint's path relative to the run: <stage>/checkpoints/step_000120."""
    return (st.run.paths.checkpoints(st.name) / step_name(step)).relative_to(st.run.path).as_posix()


def step_of(rel: str) -> int:
    return int(rel.rsplit("_", 1)[1])


def save_training_checkpoint(st: Stage, model, tokenizer, optimizer, scheduler, sampler: EpochSampler | None,
                             step: int, keep_last: int, extra: dict | None = None, final: bool = True) -> Path:
    """Write <stage>/checkpoints/step_N atomically, record it in the manifest, prune old ones.

    With LoRA adapters the checkpoint holds the adapter; the stage's `final` one also the merged model."""
    rel = checkpoint_rel(st, step)
    # under torchrun every rank calls this (FSDP2 gathers weights and optimizer state); rank 0 writes
    state = {"optimizer": dist.optimizer_state(model, optimizer), "scheduler": scheduler.state_dict(),
             "rng": rng_state(), "sampler": sampler.state_dict() if sampler else None, "step": step, **(extra or {})}
    weights = dist.full_state_dict(model, rank0_cpu=True) if dist.strategy_of(model) == "fsdp" else None
    if dist.is_main():
        save_checkpoint(unwrap(model), tokenizer, st.run.path / rel,
                        meta={"stage": st.name, "step": step, **st.checkpoint_meta},
                        extra_files={"trainer_state.pt": state}, state_dict=weights, merged=final)
    record_checkpoint(st, rel, keep_last)
    if dist.strategy_of(model) != "none":  # all ranks are here: they may read the checkpoint next
        dist.barrier()
    log.info("saved %s", rel)
    return st.run.path / rel


def record_checkpoint(st: Stage, rel: str, keep_last: int) -> None:
    """Add a written checkpoint to the stage's manifest list (by step) and delete all but the newest
    keep_last, whichever attempt saved them."""
    ckpts = sorted({*st.extra.get("checkpoints", []), rel}, key=step_of)
    if dist.is_main():
        for old in ckpts[:-keep_last]:
            shutil.rmtree(st.run.path / old, ignore_errors=True)
    st.record(checkpoints=ckpts[-keep_last:])


def complete(st: Stage, rel: str) -> bool:
    return (st.run.path / rel / "trainer_state.pt").exists()


def start_checkpoints(st: Stage, *, resume: bool, keep_last: int, meta: dict | None = None) -> Path | None:
    """Set up a stage's checkpoints as it starts; with resume, the checkpoint to continue from.

    The manifest lists the checkpoints earlier attempts saved (RunDir.stage carries the list over).
    resume: continue from the newest complete one; keep the newest keep_last complete ones.
    Otherwise the stage starts over, and the earlier attempts' checkpoints are deleted (a different
    trajectory, which keep_last would never prune). Either way, step folders the manifest does not
    list (an attempt killed between writing a checkpoint and recording it) are deleted: their step
    is redone. Every deletion is logged. `meta` goes into each checkpoint's meta.json from now on.
    """
    st.checkpoint_meta = dict(meta or {})
    listed = st.extra.get("checkpoints", [])
    keep = sorted((c for c in listed if complete(st, c)), key=step_of)[-keep_last:] if resume else []
    folder = st.run.paths.checkpoints(st.name)
    on_disk = sorted(p.name for p in folder.glob("step_*") if p.is_dir()) if folder.is_dir() else []
    gone = {c: ("a checkpoint of an earlier attempt (starting over)" if not resume else
                f"beyond keep_last={keep_last}" if complete(st, c) else "incomplete")
            for c in listed if c not in keep}
    gone.update({rel: "not in the manifest (its step is redone)" for rel in
                 (f"{st.name}/checkpoints/{name}" for name in on_disk) if rel not in listed})
    if dist.is_main():
        for rel, reason in sorted(gone.items()):
            path = st.run.path / rel
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)
                log.info("stage %s: removed %s: %s", st.name, rel, reason)
    st.record(checkpoints=keep)
    return st.run.path / keep[-1] if keep else None


def load_trainer_state(path: Path) -> dict:
    return torch.load(path / "trainer_state.pt", weights_only=False)


def resume_training(ckpt: Path, model, optimizer, scheduler, sampler: EpochSampler) -> dict:
    """Put a checkpoint's trainer state back: optimizer (re-sharded under FSDP2), schedule, sampler
    position and RNGs; return the state (its "step" is the last step done). SFT and RL share this."""
    state = load_trainer_state(ckpt)
    dist.load_optimizer_state(model, optimizer, state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    sampler.load_state_dict(state["sampler"])
    set_rng_state(state["rng"])
    log.info("resuming %s from %s (step %d)", ckpt.parent.parent.name.upper(), ckpt, state["step"])
    return state
