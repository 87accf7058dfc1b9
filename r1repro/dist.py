"""torch.distributed glue: one process per rank under torchrun; a no-op when WORLD_SIZE is 1.

What: process-group set-up (gloo on CPU, NCCL on GPU), prompt sharding, the DDP / FSDP2 wrapper
(`dist.strategy` in the recipe), collectives for metrics and for rank-0-only work, and the
gathers that checkpoints and rollout engines need (full state dicts, full optimizer state).

Why this shape (docs/scaling.md has the launch commands):
- Prompts are sharded across ranks and each prompt's k samples stay on one rank, so group
  advantages are exact without communication.
- Every rank computes its loss with the *global* sequence and token counts and multiplies it by
  the world size (`loss_scale()`): DDP and FSDP2 average gradients over ranks, so the synced
  gradient equals the single-process gradient of the same global batch.
- The policy is wrapped as `PolicyLogProbs(hf)` (r1repro.models), so every training forward goes
  through DDP.forward / the FSDP2 root's hooks.
- Checkpoints hold the full HF weights (rank 0 writes them) and a full, index-keyed optimizer
  state (gathered under FSDP2), the same format as a single-process checkpoint: a run can be
  resumed with another world size or strategy.

How: `torchrun --nproc_per_node=2 -m r1repro.cli run recipe.yaml`. The process-group timeout is
R1REPRO_DIST_TIMEOUT seconds (default 7200): ranks wait at a barrier while rank 0 runs the
single-process stages (prepare, sft, eval, report).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import os
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
import torch.distributed as tdist

from r1repro.ranks import is_main, rank, world_size  # noqa: F401 (re-exported: dist.rank() etc.)

T = TypeVar("T")


def active() -> bool:
    """True when running as one of several processes with an initialised process group."""
    return world_size() > 1 and tdist.is_initialized()


def device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def init() -> None:
    """Initialise the process group once (gloo on CPU, NCCL on GPU) when running under torchrun."""
    if world_size() > 1 and not tdist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if torch.cuda.is_available():
            torch.cuda.set_device(device())
        timeout = datetime.timedelta(seconds=int(os.environ.get("R1REPRO_DIST_TIMEOUT", "7200")))
        tdist.init_process_group(backend, timeout=timeout)


def barrier() -> None:
    if active():
        tdist.barrier()


def shard(items: Sequence[T]) -> list[T]:
    """This rank's contiguous share of a global batch (whole prompts, hence whole groups)."""
    n, r = world_size(), rank()
    if len(items) % n:
        raise ValueError(f"{len(items)} prompts per step cannot be split evenly over {n} ranks")
    per = len(items) // n
    return list(items[r * per : (r + 1) * per])


def shard_offset(n_global: int) -> int:
    """Index of this rank's first item in a global batch of n_global (see shard)."""
    return rank() * (n_global // world_size())


def main_first(fn: Callable[[], T]) -> T | None:
    """Run fn on rank 0 only; the other ranks wait, and raise if it failed on rank 0.

    Returns fn's result on rank 0 and None elsewhere. One process: just fn().
    """
    if not active():
        return fn()
    result, error = None, None
    if is_main():
        try:
            result = fn()
        except BaseException as e:  # tell the others before raising, or they wait until the timeout
            error = f"{type(e).__name__}: {e}"
            box = [error]
            tdist.broadcast_object_list(box, src=0)
            raise
    box = [error]
    tdist.broadcast_object_list(box, src=0)
    if box[0] is not None:
        raise RuntimeError(f"rank 0 failed: {box[0]}")
    return result


# ----------------------------------------------------------------------------- wrapping
def strategy_of(model) -> str:
    """'fsdp', 'ddp' or 'none' for a model returned by wrap()."""
    from torch.distributed.fsdp import FSDPModule
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, FSDPModule):
        return "fsdp"
    return "ddp" if isinstance(model, DistributedDataParallel) else "none"


def wrap(policy: torch.nn.Module, strategy: str):
    """DDP or FSDP2 around `policy` (a PolicyLogProbs) when WORLD_SIZE > 1; `policy` itself otherwise.

    FSDP2: each decoder layer is its own unit, the root (embeddings, final norm, LM head, tied or
    not) is the PolicyLogProbs. Build the optimizer after this call: fully_shard replaces the
    parameters with sharded DTensors.
    """
    if world_size() == 1:
        return policy
    init()
    if strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for layer in policy.model.get_decoder().layers:
            fully_shard(layer)
        fully_shard(policy)
        return policy
    if strategy != "ddp":
        raise ValueError(f"unknown dist.strategy {strategy!r}; known: ddp, fsdp")
    from torch.nn.parallel import DistributedDataParallel

    # buffers are the rotary tables (constants): broadcasting them every forward is wasted traffic
    return DistributedDataParallel(policy, device_ids=[device().index] if device().type == "cuda" else None,
                                   broadcast_buffers=False)


def hf_module(model):
    """The HF model inside DDP and PolicyLogProbs (its parameters are DTensors under FSDP2)."""
    model = getattr(model, "module", model)
    return getattr(model, "model", model) if type(model).__name__.endswith("PolicyLogProbs") else model


def loss_scale() -> float:
    """Multiply a loss normalised by global counts by this: DDP and FSDP2 average gradients over ranks."""
    return float(world_size()) if active() else 1.0


@contextlib.contextmanager
def grad_sync(model, sync: bool):
    """Around one micro-batch's forward + backward: sync gradients only when `sync` (the last one)."""
    kind = strategy_of(model)
    if kind == "ddp" and not sync:
        with model.no_sync():
            yield
        return
    if kind == "fsdp":
        model.set_requires_gradient_sync(sync)
    yield


def clip_grad_norm(model, max_norm: float) -> float:
    """Clip the (synced) gradients to max_norm; returns the global norm before clipping."""
    norm = torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None], max_norm)
    if hasattr(norm, "full_tensor"):  # FSDP2: a DTensor
        norm = norm.full_tensor()
    return float(norm)


def _all_reduce(values: Sequence[float], op=None) -> list[float]:
    # on the process group's device: NCCL reduces CUDA tensors only
    t = torch.tensor(list(values), dtype=torch.float64, device=device())
    tdist.all_reduce(t, op=op or tdist.ReduceOp.SUM)
    return t.cpu().tolist()


def all_true(flag: bool) -> bool:
    """True when flag is true on every rank (e.g. 'this step's loss is finite')."""
    if not active():
        return bool(flag)
    return _all_reduce([0.0 if flag else 1.0])[0] == 0.0


def all_sum(values: Sequence[float]) -> list[float]:
    """Element-wise sum over ranks (e.g. global sequence and token counts)."""
    if not active():
        return list(values)
    return _all_reduce(values)


def all_max(value: int) -> int:
    """The largest value over ranks (e.g. the micro-batches every rank must run: FSDP gathers the
    weights in each forward, so ranks running different numbers of forwards would hang)."""
    if not active():
        return int(value)
    return int(_all_reduce([value], tdist.ReduceOp.MAX)[0])


def gather_lists(items: list[T]) -> list[T]:
    """Concatenation of every rank's list, in rank order, on rank 0 (an empty list elsewhere)."""
    if not active():
        return list(items)
    out: list[list[T]] | None = [[] for _ in range(world_size())] if is_main() else None
    tdist.gather_object(items, out, dst=0)
    return [x for part in out for x in part] if out is not None else []


def mean_metrics(record: dict[str, float]) -> dict[str, float]:
    """Combine a metrics record over ranks: the maximum for keys ending in '/max', else the mean.

    A mean of per-rank values equals the global value for means over equal-sized shards (rewards,
    accuracy, lengths, losses normalised by global counts); for 'reward/std' it is the mean of
    the per-rank standard deviations, not the global one. Identity on one process.
    """
    if not active():
        return record
    keys = sorted(k for k, v in record.items() if isinstance(v, (int, float)) and k != "step")
    peaks = [k for k in keys if k.endswith("/max")]
    means = [k for k in keys if k not in peaks]
    t = torch.tensor([float(record[k]) for k in means], dtype=torch.float64)
    tdist.all_reduce(t)
    out = {**record, **{k: v / world_size() for k, v in zip(means, t.tolist())}}
    if peaks:
        m = torch.tensor([float(record[k]) for k in peaks], dtype=torch.float64)
        tdist.all_reduce(m, op=tdist.ReduceOp.MAX)
        out.update(zip(peaks, m.tolist()))
    return out


# ----------------------------------------------------------------------------- full states
def full_state_dict(model, *, rank0_cpu: bool = False) -> dict[str, torch.Tensor]:
    """The HF model's full weights (HF key names); a collective under FSDP2.

    `model` is what wrap() returned, a PolicyLogProbs, or an HF model. rank0_cpu: under FSDP2, only
    rank 0 gets the tensors, on the CPU (for saving); the other ranks get {}.
    """
    hf = hf_module(model)
    if strategy_of(model) != "fsdp":
        return hf.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    state = get_model_state_dict(hf, options=StateDictOptions(full_state_dict=True, cpu_offload=rank0_cpu))
    seen: set[int] = set()
    for name, p in hf.named_parameters(remove_duplicate=False):  # tied weights (lm_head = embeddings): once,
        if id(p) in seen:  # as hf.state_dict() / save_pretrained would write them
            state.pop(name, None)
        seen.add(id(p))
    return state


def rollout_model(model, previous=None):
    """An unsharded HF model with `model`'s current weights, for the HF generation backend.

    One process and DDP: the training model itself (no copy). FSDP2: a full copy per rank, made on
    the first call and refreshed from the shards on later ones (pass the previous copy); generating
    with it needs no collectives, so ranks may stop generating at different times.
    """
    if strategy_of(model) != "fsdp":
        return hf_module(model)
    state = full_state_dict(model)
    if previous is None:
        hf = hf_module(model)
        with torch.device("meta"):  # the structure only; the gathered tensors are assigned below
            previous = type(hf)(hf.config)
        previous.load_state_dict(state, strict=False, assign=True)
        for name, buf in hf.named_buffers():  # buffers (rotary tables) are not sharded by FSDP2
            owner, _, leaf = name.rpartition(".")
            (previous.get_submodule(owner) if owner else previous).register_buffer(leaf, buf.clone(), persistent=False)
        previous.tie_weights()
        previous.generation_config = copy.deepcopy(hf.generation_config)
        previous.requires_grad_(False)
    else:
        previous.load_state_dict(state, strict=False)
    return previous.eval()


def optimizer_state(model, optimizer) -> dict:
    """The optimizer's state in torch's index-keyed format, full (not sharded), on rank 0.

    One process / DDP: optimizer.state_dict() (replicated). FSDP2: gathered from every rank's
    shards with torch.distributed.checkpoint and re-keyed by parameter index, so the file is the
    same as a single-process one. Every rank must call this (collective); ranks > 0 get {}.
    """
    if strategy_of(model) != "fsdp":
        return optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    full = get_optimizer_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True,
                                                                                cpu_offload=True))
    if not is_main():
        return {}
    names = [n for n, _ in model.named_parameters()]
    index = {_clean(n): i for i, n in enumerate(names)}
    groups = [{**g, "params": [index[_clean(n)] for n in g["params"]]} for g in full["param_groups"]]
    return {"state": {index[_clean(n)]: s for n, s in full["state"].items()}, "param_groups": groups}


def load_optimizer_state(model, optimizer, state: dict) -> None:
    """Inverse of optimizer_state: every rank passes the same full index-keyed state."""
    if strategy_of(model) != "fsdp":
        optimizer.load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    names = [_clean(n) for n, _ in model.named_parameters()]
    groups = [{**g, "params": [names[i] for i in g["params"]]} for g in state["param_groups"]]
    keyed = {"state": {names[i]: s for i, s in state["state"].items()}, "param_groups": groups}
    set_optimizer_state_dict(model, optimizer, keyed, options=StateDictOptions(full_state_dict=True))


def _clean(name: str) -> str:
    """A parameter name without wrapper prefixes (DDP's module., torch.compile's _orig_mod.)."""
    return name.replace("module.", "").replace("_orig_mod.", "")
