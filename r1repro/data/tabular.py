"""Generic loader for your own JSONL / CSV / Parquet files (or a Hub dataset) with a field mapping.

Why: a new benchmark should be a recipe entry, not code:

    data:
      train:
        - loader: jsonl
          split: train
          options:
            path: mysets/algebra.parquet        # absolute, or relative to the data directory
            fields: {question: problem, gold: answer, solution: solution, id: uid}
            gold_from: field                    # field | boxed | gsm8k
            meta: [level]                       # columns copied into Problem.meta

`gold_from: boxed` takes the last `\\boxed{}` of the mapped gold column (MATH style); `gsm8k` takes
the `#### x` line and strips `<<..>>` from the solution. Ids are `<source>/<split>/<id column or
line number>`; `source` defaults to the file stem. `hub: owner/name` (+ `hub_config`) reads
`datasets.load_dataset(owner/name, hub_config, split=split)` instead of a file (needs network).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from r1repro.data import answers
from r1repro.data.base import (
    LOADERS,
    LoadResult,
    RowError,
    file_inputs,
    hub_rows,
    jsonl_rows,
    need,
    parse_rows,
    readme_license,
    require_file,
)
from r1repro.data.schema import Problem

FIELD_KEYS = ("question", "gold", "solution", "id")
DEFAULT_FIELDS = {"question": "question", "gold": "answer"}
GOLD_FROM = ("field", "boxed", "gsm8k")
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def table_rows(path: Path, fmt: str, label: str):
    """(label, line, row dict): JSONL/CSV line numbers as in the file, Parquet 1-based row numbers."""
    if fmt == "jsonl":
        yield from jsonl_rows(path, label)
    elif fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            for row in reader:
                yield label, reader.line_num, row
    else:
        import pandas as pd

        for i, row in enumerate(pd.read_parquet(path).to_dict(orient="records")):
            yield label, i + 1, row


def extract_gold(value: Any, how: str) -> tuple[str, str | None]:
    """(gold, solution override or None) from the mapped gold column."""
    if how == "boxed":
        gold = answers.last_boxed(str(value))
        if not gold:
            raise ValueError("no \\boxed{...} answer")
        return gold, None
    if how == "gsm8k":
        solution, gold = answers.gsm8k_split(str(value))
        return gold, solution
    return answers.canonical_answer(value), None


def check_options(fields: dict, gold_from: str, fmt: str | None, meta: list) -> dict[str, str]:
    if not isinstance(fields, dict) or set(fields) - set(FIELD_KEYS):
        raise ValueError(f"jsonl: option fields must map some of {', '.join(FIELD_KEYS)} to column names, "
                         f"got {fields!r}")
    if gold_from not in GOLD_FROM:
        raise ValueError(f"jsonl: option gold_from must be one of {', '.join(GOLD_FROM)}, got {gold_from!r}")
    if fmt is not None and fmt not in set(FORMATS.values()):
        raise ValueError(f"jsonl: option format must be jsonl, csv or parquet, got {fmt!r}")
    if not isinstance(meta, (list, tuple)):
        raise TypeError(f"jsonl: option meta must be a list of column names, got {meta!r}")
    return {**DEFAULT_FIELDS, **fields}


@LOADERS.register("jsonl")
def load_table(split: str, data_dir: Path | None, *, skip_bad: bool = False, path: str | None = None,
               fields: dict | None = None, gold_from: str = "field", meta: list | None = None,
               source: str | None = None, format: str | None = None, hub: str | None = None,
               hub_config: str | None = None) -> LoadResult:
    """Any JSONL/CSV/Parquet file (or Hub dataset) mapped onto Problem via `fields`."""
    meta = meta or []
    cols = check_options(fields or {}, gold_from, format, meta)
    if (path is None) == (hub is None):
        raise ValueError("jsonl: give exactly one of the options path (a file) or hub (a dataset name)")
    if hub:
        rows, inputs = hub_rows(hub, hub_config, split)
        source, license = source or hub.split("/")[-1], f"see the Hub card of {hub}"
    else:
        file = Path(path).expanduser()
        file = require_file(file if file.is_absolute() or data_dir is None else data_dir / file, "jsonl")
        fmt = format or FORMATS.get(file.suffix.lower())
        if fmt is None:
            raise ValueError(f"jsonl: cannot tell the format of {file}; set option format: jsonl|csv|parquet")
        rows, inputs = table_rows(file, fmt, str(path)), file_inputs([file], data_dir)
        source, license = source or file.stem, readme_license(file.parent)

    def parse(row: dict, line: int | None) -> Problem:
        try:
            gold, solution = extract_gold(need(row, cols["gold"], (str, int, float)), gold_from)
        except ValueError as e:
            raise RowError(cols["gold"], f"no usable gold answer ({e})") from None
        if solution is None and cols.get("solution") and row.get(cols["solution"]) is not None:
            solution = str(row[cols["solution"]])
        rid = need(row, cols["id"], (str, int)) if "id" in cols else line
        extra = {k: row.get(k) for k in meta}
        return Problem(f"{source}/{split}/{rid}", source, split, str(need(row, cols["question"])).strip(),
                       gold, solution, json.loads(json.dumps(extra, default=str)))

    bad: list[dict] = []
    problems, n = parse_rows(rows, parse, skip_bad, bad)
    return LoadResult(problems, bad, inputs, license, rows=n)
