"""Data hygiene: normalised-question dedupe and train/eval contamination (exact match + word n-grams).

Why: a model evaluated on problems it trained on measures memory, not reasoning. Before training,
every training question is compared with every evaluation question, two ways:
  exact  - the normalised questions are equal (lowercase, punctuation removed, whitespace collapsed);
  ngram  - they share a word n-gram (n=13, as in GPT-3's decontamination) of the normalised text.
N-grams that occur in more than `max_df` eval questions (or `max_df` training questions) are
ignored as boilerplate, and synthetic eval sets (templated text, meta["generator"]) are checked by
exact match only. Overlapping training
problems are dropped (never eval problems); the counts and up to 5 examples go to the data card.

    train, report = decontaminate(train, {"gsm8k": gsm8k_test}, n=13, drop=True)
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from r1repro.data.schema import Problem

MAX_EXAMPLES = 5


@functools.lru_cache(maxsize=1)
def _punctuation_table() -> dict[int, None]:
    """str.translate table deleting every Unicode punctuation character (category P*)."""
    return {i: None for i in range(sys.maxunicode + 1) if unicodedata.category(chr(i)).startswith("P")}


@functools.lru_cache(maxsize=200_000)
def normalise(text: str) -> str:
    """Lowercase, drop punctuation (Unicode category P*), collapse whitespace. Cached: the same
    training questions are compared with every eval set."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_punctuation_table())
    return " ".join(text.split())


def ngrams(text: str, n: int) -> set[str]:
    """Word n-grams of the normalised text; empty when it has fewer than n words."""
    words = normalise(text).split()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def dedupe(problems: Sequence[Problem]) -> tuple[list[Problem], list[dict]]:
    """Keep the first problem of each normalised question; return (kept, [{id, duplicate_of}, ...])."""
    seen: dict[str, str] = {}
    kept, removed = [], []
    for p in problems:
        key = normalise(p.question)
        if key in seen:
            removed.append({"id": p.id, "duplicate_of": seen[key]})
        else:
            seen[key] = p.id
            kept.append(p)
    return kept, removed


def ngram_index(evals: Sequence[Problem], n: int, max_df: int) -> dict[str, str]:
    """n-gram -> id of the first eval problem containing it; n-grams in > max_df problems left out."""
    owners: dict[str, list[str]] = defaultdict(list)
    for p in evals:
        for g in ngrams(p.question, n):
            owners[g].append(p.id)
    return {g: ids[0] for g, ids in owners.items() if len(ids) <= max_df}


def is_templated(evals: Sequence[Problem]) -> bool:
    """A synthetic eval set (every problem has meta["generator"]) is filled-in templates: any two
    questions share template n-grams, so only exact matches are evidence of leakage there."""
    return bool(evals) and all(p.meta.get("generator") for p in evals)


def overlaps(train: Sequence[Problem], evals: Sequence[Problem], n: int, max_df: int) -> list[tuple[str, str, str, str | None]]:
    """(kind, eval id, train id, n-gram or None) for every overlapping training problem.

    An n-gram shared by more than max_df eval questions, or by more than max_df training questions,
    is boilerplate ("where $m$ and $n$ are relatively prime positive integers. Find $m+n$") and
    does not count; an exact match always counts.
    """
    exact_keys = {normalise(p.question): p.id for p in evals}
    index = {} if is_templated(evals) else ngram_index(evals, n, max_df)
    found, candidates, train_df = [], [], Counter()
    for t in train:
        eval_id = exact_keys.get(normalise(t.question))
        if eval_id is not None:
            found.append(("exact", eval_id, t.id, None))
            continue
        shared = sorted(g for g in ngrams(t.question, n) if g in index)
        if shared:
            candidates.append((t.id, shared))
            train_df.update(shared)
    for train_id, shared in candidates:
        gram = next((g for g in shared if train_df[g] <= max_df), None)
        if gram is not None:
            found.append(("ngram", index[gram], train_id, gram))
    return found


def contamination(train: Sequence[Problem], evals: Sequence[Problem], *, n: int = 13,
                  max_df: int = 10) -> dict:
    """Counts and examples of train/eval overlap, plus the ids of the training problems involved.

    `exact` / `ngram` count eval problems hit (one with an exact match is not counted again as
    n-gram); `train_overlapping` counts training problems, which is what `drop` removes.
    """
    found = overlaps(train, evals, n, max_df)
    exact_ids = {e for kind, e, _, _ in found if kind == "exact"}
    ngram_ids = {e for kind, e, _, _ in found if kind == "ngram"} - exact_ids
    examples: dict[str, list[dict]] = {"exact": [], "ngram": []}
    seen: set[str] = set()
    for kind, eval_id, train_id, gram in found:
        if eval_id in seen or (kind == "ngram" and eval_id in exact_ids) or len(examples[kind]) >= MAX_EXAMPLES:
            continue
        seen.add(eval_id)
        examples[kind].append({"eval_id": eval_id, "train_id": train_id, **({"ngram": gram} if gram else {})})
    return {"n": n, "max_df": max_df, "eval_size": len(evals), "exact": len(exact_ids), "ngram": len(ngram_ids),
            "ngram_checked": not is_templated(evals),
            "train_overlapping": len({t for _, _, t, _ in found}), "examples": examples,
            "train_ids": [t for _, _, t, _ in found]}


def decontaminate(train: Sequence[Problem], evals: Mapping[str, Sequence[Problem]], *, n: int = 13,
                  max_df: int = 10, drop: bool = True) -> tuple[list[Problem], dict[str, dict]]:
    """Check train against every eval set; with drop, remove the overlapping training problems."""
    report, bad = {}, set()
    for task, problems in evals.items():
        r = contamination(train, problems, n=n, max_df=max_df)
        bad.update(r.pop("train_ids"))
        report[task] = r
    kept = [p for p in train if p.id not in bad] if drop else list(train)
    for r in report.values():
        r["dropped"] = drop
    return kept, report
