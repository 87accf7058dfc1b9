"""This process's place under torchrun, from its environment (RANK, WORLD_SIZE); imports nothing.

One definition for the run directory (only rank 0 writes) and the distributed helpers (r1repro.dist),
which also need it before any process group exists.
"""

from __future__ import annotations

import os


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0
