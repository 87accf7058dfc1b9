"""torch.distributed glue: one process per rank under torchrun; a no-op when WORLD_SIZE is 1.

Prompts are sharded across ranks and each prompt's k samples stay on one rank, so group
advantages are exact without communication. Metrics are averaged across ranks before rank 0
logs them. DDP or FSDP2 (`fully_shard`) is chosen by `dist.strategy` in the recipe.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

import torch
import torch.distributed as tdist

T = TypeVar("T")


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


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
        tdist.init_process_group(backend)


def shard(items: Sequence[T]) -> list[T]:
    """This rank's contiguous share of a global batch (whole prompts, hence whole groups)."""
    n, r = world_size(), rank()
    if len(items) % n:
        raise ValueError(f"{len(items)} prompts per step cannot be split evenly over {n} ranks")
    per = len(items) // n
    return list(items[r * per : (r + 1) * per])


def wrap(model, strategy: str):
    """DDP or FSDP2 around the model when WORLD_SIZE > 1; the model itself otherwise."""
    if world_size() == 1:
        return model
    init()
    if strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for layer in model.get_decoder().layers:
            fully_shard(layer)
        fully_shard(model)
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device().index] if device().type == "cuda" else None)


def mean_metrics(record: dict[str, float]) -> dict[str, float]:
    """Average every numeric metric over ranks (identity on one process)."""
    if world_size() == 1 or not tdist.is_initialized():
        return record
    keys = sorted(k for k, v in record.items() if isinstance(v, (int, float)) and k != "step")
    t = torch.tensor([float(record[k]) for k in keys], dtype=torch.float64)
    tdist.all_reduce(t)
    return {**record, **{k: v / world_size() for k, v in zip(keys, t.tolist())}}
