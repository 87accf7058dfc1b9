"""File helpers for the data package: atomic writes and sha256, from `r1repro.rundir` when present.

Why: every file a stage writes goes through write-to-temp-then-rename, and every input is recorded
by sha256. `r1repro.rundir` owns those helpers; this module re-exports them and falls back to small
private copies with the same behaviour if that module is not importable (it is written in parallel).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_write_json(path: str | Path, obj: Any) -> None:
    _atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


try:  # the project's helpers, once r1repro/rundir.py exists
    from r1repro.rundir import atomic_write_json, atomic_write_text, sha256_file
except ImportError:  # pragma: no cover - depends on what the tree has today
    atomic_write_text, atomic_write_json, sha256_file = _atomic_write_text, _atomic_write_json, _sha256_file


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

