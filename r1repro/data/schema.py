"""The one record every data source loads into: `Problem`, and its JSONL reader/writer.

Why: loaders, templates, rewards, evals and the report all speak one schema, so a benchmark is
added by writing a loader, not by touching the trainer. `gold` is always the canonical final
answer as a string (e.g. "72", "\\frac{1}{2}"), whatever type the source stored.

    write_jsonl(run / "data/train.jsonl", problems)   # atomic: temp file + rename
    problems = read_jsonl(run / "data/train.jsonl")   # errors name file, line and field
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1repro.files import JSONLineError, atomic_write_text, scan_jsonl

REQUIRED = ("id", "source", "split", "question", "gold")


class DataError(ValueError):
    """A bad input row or file; the message names the file, the line (when known) and the field."""

    def __init__(self, file: str | Path, line: int | None, field: str | None, error: str):
        self.file, self.line, self.field, self.error = str(file), line, field, error
        where = f"{self.file}:{line}" if line is not None else self.file
        what = f" field {field!r}:" if field else ""
        super().__init__(f"{where}:{what} {error}")

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "error": self.error}


@dataclass(frozen=True)
class Problem:
    id: str
    """Stable, content-derived id, e.g. `gsm8k/test/00001` or `math/test/algebra/1234`."""
    source: str
    """Loader that produced it, e.g. `gsm8k`, `math`, `countdown`."""
    split: str
    """Split of the source: `train` or `test` (or a file stem for generic files)."""
    question: str
    """The problem text exactly as the model should see it (before the prompt template)."""
    gold: str
    """Canonical final answer as a string; numbers without padding, separators or trailing `.0`."""
    solution: str | None = None
    """Reference worked solution when the source has one (GSM8K without `<<..>>` annotations)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Source-specific extras: level, subject, type, verifier ("countdown"), numbers, ..."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "source": self.source, "split": self.split, "question": self.question,
            "gold": self.gold, "solution": self.solution, "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, file: str | Path = "<dict>", line: int | None = None) -> Problem:
        if not isinstance(d, dict):
            raise DataError(file, line, None, f"expected a JSON object, got {type(d).__name__}")
        for name in REQUIRED:
            if not isinstance(d.get(name), str):
                got = "missing" if name not in d else f"{type(d[name]).__name__}, not str"
                raise DataError(file, line, name, f"required string field is {got}")
        if d.get("solution") is not None and not isinstance(d["solution"], str):
            raise DataError(file, line, "solution", "must be a string or null")
        if not isinstance(d.get("meta", {}), dict):
            raise DataError(file, line, "meta", "must be an object")
        return cls(d["id"], d["source"], d["split"], d["question"], d["gold"],
                   d.get("solution"), dict(d.get("meta", {})))


def dumps_jsonl(problems: Iterable[Problem]) -> str:
    return "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in problems)


def write_jsonl(path: str | Path, problems: Iterable[Problem]) -> None:
    """Write one JSON object per line, atomically (a reader never sees half a file)."""
    atomic_write_text(path, dumps_jsonl(problems))


def read_jsonl(path: str | Path) -> list[Problem]:
    """Read Problems; a bad line raises DataError naming the file, line number and field."""
    out = []
    for lineno, d in scan_jsonl(path):
        if isinstance(d, JSONLineError):
            at = f" at column {d.column}" if d.column is not None else ""
            raise DataError(path, lineno, None, f"bad JSON: {d.msg}{at}")
        out.append(Problem.from_dict(d, file=path, line=lineno))
    return out
