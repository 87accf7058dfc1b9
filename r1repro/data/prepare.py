"""The prepare stage: recipe data sources -> data/train.jsonl, data/eval-<task>.jsonl, data/card.json.

Why: every later stage reads these files, so this is where the data is made reproducible and
clean: each source is loaded (seeded limit), training questions are deduplicated by normalised
text, every eval set is checked against the training set (exact + 13-gram) and overlapping
*training* problems are dropped, the training set is shuffled by seed, and a data card records
sources, counts, bad rows, sha256 of inputs and outputs, licenses and contamination results.

    card = prepare([{"loader": "gsm8k", "split": "train"}], {"gsm8k": {"loader": "gsm8k", "split": "test"}},
                   Path("runs/x/data"), data_dir=None, seed=0)

Eval sets are never altered: duplicates inside an eval set are counted in the card, not removed.
A source that gives no problems (an empty file, options that keep no row, every row malformed), or
a training set that decontamination empties, is a DataError naming the recipe key and why.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from r1repro.data import hygiene
from r1repro.data.loaders import LoadResult, load_source
from r1repro.data.paths import DataDirNotFound, resolve_data_dir
from r1repro.data.schema import DataError, Problem, write_jsonl
from r1repro.files import atomic_write_json, sha256_file

CARD_SCHEMA = 1
TASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def source_card(res: LoadResult) -> dict[str, Any]:
    return {**res.info, "inputs": res.inputs, "license": res.license, "bad_rows": res.bad_rows}


def why_empty(res: LoadResult) -> str:
    """Why a source gave no problems: no rows, every row malformed, or options that keep none."""
    rows, bad = res.rows, res.bad_rows
    if rows is None:
        return "the loader produced none"
    if rows == 0:
        return f"{', '.join(res.inputs) or 'the source'} holds no rows"
    if len(bad) == rows:
        return (f"all {rows} rows are malformed and were skipped (data.skip_bad), e.g. "
                f"{DataError(bad[0]['file'], bad[0]['line'], bad[0]['field'], bad[0]['error'])}")
    skipped = f" ({len(bad)} of them malformed and skipped)" if bad else ""
    return f"the options keep none of its {rows} rows{skipped}"


def load_all(specs: Sequence[Any], data_dir: str | None, seed: int, skip_bad: bool,
             names: Sequence[str]) -> tuple[list[Problem], list[dict]]:
    """Load each source; one that gives no problems is an error naming it (`names`: recipe keys) and why."""
    problems, cards = [], []
    for spec, name in zip(specs, names):
        res = load_source(spec, data_dir, skip_bad=skip_bad, seed=seed)
        if not res.problems:
            info = res.info
            opts = f", options {info['options']!r}" if info["options"] else ""
            raise DataError(f"{name} (loader {info['loader']!r}, split {info['split']!r}{opts})", None, None,
                            f"no problems: {why_empty(res)}")
        problems += res.problems
        cards.append(source_card(res))
    return problems, cards


def dedupe_card(removed: list[dict], dropped: bool) -> dict[str, Any]:
    return {"duplicates": len(removed), "dropped": dropped, "examples": removed[:hygiene.MAX_EXAMPLES]}


def write_split(out_dir: Path, name: str, problems: Sequence[Problem]) -> dict[str, Any]:
    path = out_dir / f"{name}.jsonl"
    write_jsonl(path, problems)
    return {"path": path.name, "count": len(problems), "sha256": sha256_file(path)}


def found_data_dir(data_dir: str | None) -> str | None:
    try:
        return str(resolve_data_dir(data_dir))
    except DataDirNotFound:
        return None


def prepare(train: Sequence[Any], evals: Mapping[str, Any], out_dir: Path, *, data_dir: str | None, seed: int,
            dedupe: bool = True, decontaminate: bool = True, ngram: int = 13, skip_bad: bool = False,
            shuffle: bool = True, max_df: int = 10) -> dict[str, Any]:
    """Load, clean and write the run's data; returns the card (also written to out_dir/card.json)."""
    bad_names = [t for t in evals if not TASK_NAME.match(t)]
    if bad_names:
        raise ValueError(f"eval task names must be file-name safe ([A-Za-z0-9_.-]), got {bad_names}")
    out_dir = Path(out_dir)
    train_problems, train_sources = load_all(train, data_dir, seed, skip_bad,
                                             [f"data.train[{i}]" for i in range(len(train))])
    loaded = len(train_problems)
    kept, removed = hygiene.dedupe(train_problems) if dedupe else (train_problems, [])
    eval_sets, eval_cards = {}, {}
    for task, spec in evals.items():
        problems, (src,) = load_all([spec], data_dir, seed, skip_bad, [f"eval.tasks.{task}"])
        eval_sets[task] = problems
        eval_cards[task] = {"source": src, "count": len(problems), "dedupe": dedupe_card(hygiene.dedupe(problems)[1], False)}
    kept, contamination = hygiene.decontaminate(kept, eval_sets, n=ngram, max_df=max_df, drop=decontaminate)
    if not kept:  # every source gave problems (checked above), so decontamination dropped them all
        overlapping = [t for t, r in contamination.items() if r.get("train_overlapping")]
        raise DataError("data.train", None, None,
                        f"no problems left: all {len(train_problems) - len(removed)} overlap the eval set(s) "
                        f"{', '.join(overlapping)} (data.decontaminate drops them); train on other data, or set "
                        f"data.decontaminate: false to keep them")
    if shuffle:
        random.Random(f"shuffle/{seed}").shuffle(kept)
    outputs = {"train": write_split(out_dir, "train", kept)}
    outputs.update({f"eval-{t}": write_split(out_dir, f"eval-{t}", ps) for t, ps in eval_sets.items()})
    sources = train_sources + [c["source"] for c in eval_cards.values()]
    card = {
        "schema": CARD_SCHEMA, "seed": seed, "data_dir": found_data_dir(data_dir),
        "settings": {"dedupe": dedupe, "decontaminate": decontaminate, "ngram": ngram, "max_df": max_df,
                     "skip_bad": skip_bad, "shuffle": shuffle},
        "train": {"sources": train_sources, "loaded": loaded, "dedupe": dedupe_card(removed, dedupe),
                  "decontaminated": len(train_problems) - len(removed) - len(kept) if decontaminate else 0,
                  "count": len(kept)},
        "evals": eval_cards,
        "contamination": contamination,
        "bad_rows": sum(len(s["bad_rows"]) for s in sources),
        "inputs": {k: v for s in sources for k, v in s["inputs"].items()},
        "licenses": {s["loader"]: s["license"] for s in sources if s["license"]},
        "outputs": outputs,
    }
    atomic_write_json(out_dir / "card.json", card)
    return card

