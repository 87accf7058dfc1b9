"""The loader registry and `load_source`: a recipe's data source spec -> `LoadResult`.

Why: the recipe names a loader and its options; this module checks the options against the
loader's signature (an unknown option names the loader and lists the valid ones), finds the data
directory only when the loader needs one, and applies `limit`.

    from r1repro.data.loaders import LOADERS, load_source
    res = load_source({"loader": "gsm8k", "split": "test", "limit": 200}, None, seed=0)
    res.problems, res.bad_rows, res.inputs, res.license, res.info

`limit` on a file-backed source is a seeded random subset (`random.Random(f"limit/{loader}/{split}/
{seed}")`), kept in source order, not the first N rows. On a synthetic source (arithmetic,
countdown) `limit` is how many problems to generate (same as option `n`), and the run seed plus
option `seed` (an offset, default 0) picks the stream.

Registered loaders: gsm8k, math, math12k, math500, aime24, aime25, amc23, minerva, svamp, asdiv,
mawps, jsonl (JSONL/CSV/Parquet/Hub via options), arithmetic, countdown.
"""

from __future__ import annotations

import difflib
import inspect
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from r1repro.data import benchmarks, mathsets, synthetic, tabular  # noqa: F401  (register loaders)
from r1repro.data.base import LOADERS, LoadResult
from r1repro.data.paths import resolve_data_dir

__all__ = ["LOADERS", "LoadResult", "load_source", "loader_options", "resolve_data_dir", "spec_fields"]


def spec_fields(spec: Any) -> tuple[str, str, int | None, dict]:
    """(loader, split, limit, options) from a SourceSpec-like object or a plain dict."""
    get = spec.get if isinstance(spec, Mapping) else lambda k, d=None: getattr(spec, k, d)
    loader, split, limit, options = get("loader"), get("split", "train"), get("limit"), get("options") or {}
    if not isinstance(loader, str):
        raise TypeError(f"data source needs a loader name, got {spec!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"loader {loader!r}: limit must be a non-negative int or null, got {limit!r}")
    if not isinstance(options, Mapping):
        raise TypeError(f"loader {loader!r}: options must be a mapping, got {options!r}")
    return loader, split, limit, dict(options)


def loader_options(name: str) -> list[str]:
    """The option names a loader accepts (its keyword-only parameters, minus skip_bad)."""
    params = inspect.signature(LOADERS[name]).parameters.values()
    return [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name != "skip_bad"]


def check_options(name: str, options: dict) -> None:
    """Every option is one the loader takes; else a ValueError with the valid ones and the closest."""
    valid = loader_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        close = [c for u in unknown for c in difflib.get_close_matches(str(u), valid, n=1)]
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"loader {name!r}: unknown option(s) {', '.join(map(repr, unknown))}; "
                         f"valid options: {', '.join(valid) or '(none)'}{hint}")


def needs_data_dir(name: str, options: dict) -> bool:
    if getattr(LOADERS[name], "synthetic", False) or options.get("hub"):
        return False
    return not (name == "jsonl" and options.get("path") and Path(options["path"]).expanduser().is_absolute())


def subset(problems: list, limit: int | None, key: str) -> list:
    """A seeded random subset of size `limit`, in source order; all of them when limit is None/large."""
    if limit is None or limit >= len(problems):
        return problems
    keep = sorted(random.Random(key).sample(range(len(problems)), limit))
    return [problems[i] for i in keep]


def load_source(spec: Any, data_dir: str | Path | None, *, skip_bad: bool = False, seed: int = 0) -> LoadResult:
    """Run the named loader with validated options, then apply `limit`; fills `LoadResult.info`."""
    name, split, limit, options = spec_fields(spec)
    fn = LOADERS[name]
    check_options(name, options)
    call = dict(options)
    if getattr(fn, "synthetic", False):
        if limit is not None and "n" in options and options["n"] != limit:
            raise ValueError(f"loader {name!r}: give limit or option n, not both ({limit} vs {options['n']})")
        if limit is not None:
            call["n"] = limit
        call["seed"] = seed + int(options.get("seed", 0))
    folder = resolve_data_dir(data_dir) if needs_data_dir(name, options) else (Path(data_dir) if data_dir else None)
    result = fn(split, folder, skip_bad=skip_bad, **call)
    loaded = len(result.problems)
    if not getattr(fn, "synthetic", False):
        result.problems = subset(result.problems, limit, f"limit/{name}/{split}/{seed}")
    result.info = {"loader": name, "split": split, "limit": limit, "options": options, "seed": call.get("seed", seed),
                   "rows": result.rows, "loaded": loaded, "kept": len(result.problems), "bad": len(result.bad_rows)}
    return result
