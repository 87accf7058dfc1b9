"""File helpers for the data package: sha256 of texts and file sets; atomic writes re-exported.

Every file a stage writes goes through write-to-temp-then-rename and every input is recorded by
sha256; `r1repro.rundir` owns those helpers and this module re-exports them for the data code.
"""

from __future__ import annotations

import hashlib

from r1repro.rundir import atomic_write_json, atomic_write_text, sha256_file  # noqa: F401  (re-exported)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

