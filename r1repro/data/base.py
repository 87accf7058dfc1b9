"""What every loader shares: the `LOADERS` registry, `LoadResult`, row reading and bad-row policy.

Why: a loader is a small function `fn(split, data_dir, *, skip_bad=False, **options) -> LoadResult`
registered by name; everything else (reading JSONL with line numbers, turning a missing field into
an error that names file/line/field, `--skip-bad` counting, README license lines, the Hub) lives
here once so loaders stay a screen long.

    @LOADERS.register("gsm8k")
    def load_gsm8k(split, data_dir, *, skip_bad=False): ...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1repro.data.schema import DataError, Problem
from r1repro.files import JSONLineError, scan_jsonl, sha256_file
from r1repro.registry import Registry

Row = tuple[str, int | None, Any]
"""(file label, line number or None, parsed row) as produced by `jsonl_rows` / `hub_rows`."""


@dataclass
class LoadResult:
    problems: list[Problem]
    """Loaded problems, in source order (load_source may subset them)."""
    bad_rows: list[dict] = field(default_factory=list)
    """Skipped rows under skip_bad: {file, line, field, error} each."""
    inputs: dict[str, str] = field(default_factory=dict)
    """Files read: path -> sha256 (a folder of many files -> sha256 of its sorted listing)."""
    license: str | None = None
    """License line(s) from the source folder's README.md, when there is one."""
    info: dict[str, Any] = field(default_factory=dict)
    """Filled by load_source for the data card: loader, split, options, counts before/after limit."""
    rows: int | None = None
    """Rows the source held, before parsing and filters (None: a generator, which reads none)."""


LOADERS: Registry[Callable[..., LoadResult]] = Registry("data loader")


class RowError(ValueError):
    """Raised inside a row parser: names the field; the caller adds file and line."""

    def __init__(self, field: str | None, error: str):
        self.field, self.error = field, error
        super().__init__(f"{field}: {error}")


def need(row: Any, name: str, types: type | tuple[type, ...] = str) -> Any:
    """row[name] when present, non-empty and of `types`; else RowError naming the field."""
    if not isinstance(row, dict):
        raise RowError(None, f"expected a JSON object, got {type(row).__name__}")
    if name not in row or row[name] is None:
        raise RowError(name, "missing")
    value = row[name]
    if not isinstance(value, types) or isinstance(value, bool):
        raise RowError(name, f"expected {getattr(types, '__name__', types)}, got {type(value).__name__}")
    if isinstance(value, str) and not value.strip():
        raise RowError(name, "empty")
    return value


def jsonl_rows(path: Path, label: str | None = None) -> Iterator[Row]:
    """Rows of a JSONL file with 1-based line numbers (files.scan_jsonl); bad JSON is yielded as a
    DataError value."""
    label = label or str(path)
    for lineno, value in scan_jsonl(path):
        if isinstance(value, JSONLineError):
            at = f" at column {value.column}" if value.column is not None else ""
            value = DataError(label, lineno, None, f"bad JSON: {value.msg}{at}")
        yield label, lineno, value


def hub_rows(name: str, config: str | None, split: str) -> tuple[Iterator[Row], dict[str, str]]:
    """Rows of a Hugging Face Hub dataset (needs network); same shape as jsonl_rows, line = row + 1."""
    import datasets  # heavy; only when asked for

    ds = datasets.load_dataset(name, config, split=split)
    label = f"hf://{name}{':' + config if config else ''}/{split}"
    rows = ((label, i + 1, dict(r)) for i, r in enumerate(ds))
    return rows, {label: getattr(ds, "_fingerprint", "unknown")}


def parse_rows(rows: Iterable[Row], parse: Callable[[Any, int | None], Problem | None],
               skip_bad: bool, bad: list[dict]) -> tuple[list[Problem], int]:
    """(problems, rows read): apply `parse(row, line)` to each row; a RowError becomes a DataError
    (raised, or recorded in `bad` when skip_bad). `parse` may return None to drop a row on purpose
    (e.g. a filter)."""
    out, n = [], 0
    for label, line, row in rows:
        n += 1
        try:
            if isinstance(row, DataError):
                raise row
            try:
                p = parse(row, line)
            except RowError as e:
                raise DataError(label, line, e.field, e.error) from None
        except DataError as e:
            if not skip_bad:
                raise
            bad.append(e.to_dict())
            continue
        if p is not None:
            out.append(p)
    return out, n


def require_file(path: Path, loader: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"{loader}: expected file {path} is missing; check the data directory (recipe `data.dir` "
            f"or env R1REPRO_DATA) or the loader's options"
        )
    return path


def file_inputs(paths: Iterable[Path], data_dir: Path | None) -> dict[str, str]:
    return {display_path(p, data_dir): sha256_file(p) for p in paths}


def display_path(path: Path, data_dir: Path | None) -> str:
    """Path relative to the data directory when inside it (stable across machines), else absolute."""
    try:
        return path.resolve().relative_to(data_dir.resolve()).as_posix() if data_dir else str(path)
    except ValueError:
        return str(path)


def readme_license(folder: Path) -> str | None:
    """The README.md bullets that mention a licence (with their sub-bullets), joined by ' | '."""
    readme = folder / "README.md"
    if not readme.is_file():
        return None
    lines, keep, indent = readme.read_text(encoding="utf-8").splitlines(), [], None
    for line in lines:
        depth = len(line) - len(line.lstrip())
        bullet = re.match(r"\s*[-*]\s+(.*)", line)
        if indent is not None and bullet and depth > indent:
            keep.append(bullet.group(1).strip())
            continue
        indent = None
        if bullet and re.search(r"licen[cs]e", line, re.IGNORECASE):
            keep.append(bullet.group(1).strip())
            indent = depth
    keep = [k for k in keep if not k.endswith(":")]  # a bare "Licenses:" heading adds nothing
    return " | ".join(keep) or None
