"""Evaluation metrics: pass@k, maj@k, uncertainty, lengths, language mixing, reflection, diversity.

What: pure functions over Python lists (numpy inside, no torch), and summarize_eval(samples, k), which
builds the `metrics` and `reasons` blocks of eval/<checkpoint>/<task>/summary.json
(docs/run-directory.md) from the records of samples.jsonl.

Why: one definition of every number the report shows, with the conventions named:
- pass@k is the unbiased estimator of Chen et al. 2021 from n >= k samples, 1 - C(n-c,k)/C(n,k),
  computed as a product to stay exact for large n; the per-problem values are averaged.
- maj@k votes over the first k extracted answers; "no answer" never wins; ties go to the answer
  whose first occurrence comes earliest.
- uncertainty: the standard error uses the sample std (n-1); the CI is a seeded percentile bootstrap
  over problems; a change between two checkpoints (paired_change) resamples the problems both
  answered together (a paired bootstrap of the per-problem differences).

How: `summarize_eval(records, k=4)`; run the tests with `pytest tests/unit/test_metrics.py`.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from r1repro.text import DEFAULT_REFLECTION_PHRASES, count_reflections, count_worked_steps, language_stats


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: 1 - C(n-c, k) / C(n, k) (Chen et al. 2021).

    Product form 1 - prod_{i=n-c+1}^{n} (1 - k/i), exact when n - c < k (then 1.0).
    """
    if not (0 <= c <= n) or not (1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_mean(correct: Sequence[Sequence[bool]], k: int) -> float:
    """Mean over problems of pass_at_k(len(row), sum(row), k); every problem needs >= k samples."""
    if not correct:
        raise ValueError("no problems")
    return float(np.mean([pass_at_k(len(row), sum(map(bool, row)), k) for row in correct]))


def maj_at_k(answers: Sequence[str | None], correct: Sequence[bool], k: int) -> bool:
    """Majority vote over the first k answers of one problem; True when the winner is correct.

    `answers` should already be normalised (the grader's normal form); None or "" (after strip) is
    "no answer" and never wins; all no-answer -> False. A tie goes to the answer that occurs first.
    The winner's verdict is `correct` of its first occurrence.
    """
    if len(answers) < k or len(correct) < k:
        raise ValueError(f"maj@{k} needs {k} samples, got {len(answers)}")
    first: dict[str, int] = {}
    votes: Counter[str] = Counter()
    for i, a in enumerate(answers[:k]):
        if a is None or not a.strip():
            continue
        key = a.strip()
        first.setdefault(key, i)
        votes[key] += 1
    if not votes:
        return False
    winner = min(votes, key=lambda a: (-votes[a], first[a]))
    return bool(correct[first[winner]])


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """(mean, standard error = sample std (ddof=1) / sqrt(n)); the SE is NaN for a single value."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values")
    if x.size == 1:
        return float(x[0]), math.nan
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def bootstrap_ci(
    values: Sequence[float], *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean: resample the values (problems) with replacement n_boot
    times with numpy's default_rng(seed), take the alpha/2 and 1-alpha/2 quantiles of the means."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)  # (n_boot,)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def per_problem(samples: Sequence[dict]) -> dict[str, dict[str, float]]:
    """problem_id -> {"accuracy": greedy correct (0/1), "pass@1": share of its sampled completions
    correct}, each key present only when the problem has such records."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for g in _group_by_problem([s for s in samples if not s.get("greedy")]):
        out[g[0]["problem_id"]]["pass@1"] = float(np.mean([bool(s["correct"]) for s in g]))
    for s in samples:
        if s.get("greedy"):
            out[s["problem_id"]]["accuracy"] = float(bool(s["correct"]))
    return dict(out)


def paired_change(before: Sequence[dict], after: Sequence[dict], *, n_boot: int = 1000, alpha: float = 0.05,
                  seed: int = 0) -> dict[str, dict[str, object]]:
    """The change of accuracy and pass@1 from `before` to `after` (samples.jsonl records of two
    checkpoints on the same problems), with a paired percentile bootstrap CI: the problems both
    evaluated are resampled together, so a problem's own difficulty cancels out of the difference.

    Returns {"accuracy": {"delta", "ci95", "n"}, "pass@1": {...}} for the metrics both sides have."""
    b, a = per_problem(before), per_problem(after)
    out: dict[str, dict[str, object]] = {}
    for key in ("accuracy", "pass@1"):
        ids = [pid for pid in b if key in b[pid] and key in a.get(pid, {})]
        if not ids:
            continue
        diffs = [a[pid][key] - b[pid][key] for pid in ids]
        lo, hi = bootstrap_ci(diffs, n_boot=n_boot, alpha=alpha, seed=seed)
        out[key] = {"delta": float(np.mean(diffs)), "ci95": [lo, hi], "n": len(ids)}
    return out


def length_stats(lengths: Sequence[int], truncated: Sequence[bool]) -> dict[str, float]:
    """Completion lengths (tokens): length/{mean,median,p90,max} and length/truncated (rate).

    p90 is numpy's linear-interpolation percentile.
    """
    x = np.asarray(lengths, dtype=float)
    if x.size == 0:
        raise ValueError("no lengths")
    return {
        "length/mean": float(x.mean()),
        "length/median": float(np.median(x)),
        "length/p90": float(np.percentile(x, 90)),
        "length/max": float(x.max()),
        "length/truncated": float(np.mean(np.asarray(truncated, dtype=bool))) if len(truncated) else 0.0,
    }


def language_metrics(texts: Sequence[str], target: str = "latin") -> dict[str, float]:
    """Means over traces of text.language_stats: lang/mixed_share (share of traces with more than
    one script), lang/target_share (mean per-trace share of target-script words), lang/switches.
    Pass the reasoning part (e.g. the <think> block) if that is what you want measured."""
    if not texts:
        raise ValueError("no texts")
    stats = [language_stats(t, target) for t in texts]
    return {
        "lang/mixed_share": float(np.mean([s.mixed for s in stats])),
        "lang/target_share": float(np.mean([s.target_share for s in stats])),
        "lang/switches": float(np.mean([s.switches for s in stats])),
    }


def _reflection_counts(texts: Sequence[str], phrases: tuple[str, ...]) -> np.ndarray:
    if not texts:
        raise ValueError("no texts")
    return np.array([count_reflections(t, phrases) for t in texts], dtype=float)


def reflection_rate(texts: Sequence[str], phrases: tuple[str, ...] = DEFAULT_REFLECTION_PHRASES) -> float:
    """Share of traces with at least one reflection phrase (text.count_reflections): reflection/rate."""
    return float((_reflection_counts(texts, phrases) > 0).mean())


def reflections_per_trace(
    texts: Sequence[str], phrases: tuple[str, ...] = DEFAULT_REFLECTION_PHRASES
) -> float:
    """Mean number of reflection phrases per trace: reflection/per_trace."""
    return float(_reflection_counts(texts, phrases).mean())


def work_rate(texts: Sequence[str]) -> float:
    """Share of traces that show their work, i.e. write out at least one arithmetic step
    (text.count_worked_steps): work/rate. The behaviour RL selects in the quickstart task."""
    if not texts:
        raise ValueError("no texts")
    return float(np.mean([count_worked_steps(t) > 0 for t in texts]))


_WS = re.compile(r"\s+")


def _shingles(text: str) -> frozenset[tuple[str, ...]]:
    """Word 3-grams of the lowercased, whitespace-collapsed text (digits kept); shorter texts: one gram."""
    w = _WS.sub(" ", text.lower()).strip().split(" ") if text.strip() else []
    return frozenset(tuple(w[i : i + 3]) for i in range(max(1, len(w) - 2))) if w else frozenset()


def distinct_solutions(completions: Sequence[str], threshold: float = 0.8) -> int:
    """Number of clusters after greedy near-duplicate merging: in order, a completion joins the first
    cluster whose representative (first member) has word-3-gram Jaccard >= threshold with it, else
    starts a new one. Identical normalised texts (including two empty ones) have Jaccard 1."""
    reps: list[frozenset[tuple[str, ...]]] = []
    for text in completions:
        s = _shingles(text)
        if not any((len(s & r) / len(s | r) if s | r else 1.0) >= threshold for r in reps):
            reps.append(s)
    return len(reps)


def diversity(
    answers_per_problem: Sequence[Sequence[str | None]],
    completions_per_problem: Sequence[Sequence[str]],
    correct_per_problem: Sequence[Sequence[bool]],
) -> dict[str, float]:
    """Means over problems: diversity/distinct_answers (distinct non-empty extracted answers),
    diversity/distinct_solutions (distinct_solutions of the completions), diversity/any_correct
    (share of problems with at least one correct sample)."""
    if not answers_per_problem:
        raise ValueError("no problems")
    answers = [len({a.strip() for a in row if a is not None and a.strip()}) for row in answers_per_problem]
    return {
        "diversity/distinct_answers": float(np.mean(answers)),
        "diversity/distinct_solutions": float(
            np.mean([distinct_solutions(c) for c in completions_per_problem])
        ),
        "diversity/any_correct": float(np.mean([any(row) for row in correct_per_problem])),
    }


def _powers_of_two_up_to(k: int) -> list[int]:
    ks = [1 << i for i in range(k.bit_length()) if (1 << i) <= k]
    return ks if ks[-1] == k else [*ks, k]


def _basic_normalize(answer: str | None) -> str | None:
    """Default vote key: whitespace collapsed and stripped; pass the grader's normaliser for more."""
    return None if answer is None else _WS.sub(" ", answer).strip()


def _group_by_problem(samples: Sequence[dict]) -> list[list[dict]]:
    groups: dict[object, list[dict]] = defaultdict(list)  # insertion order = first appearance
    for s in samples:
        groups[s["problem_id"]].append(s)
    return [sorted(g, key=lambda s: s["sample_idx"]) for g in groups.values()]


def _sampled_metrics(groups: list[list[dict]], k: int, normalize: Callable) -> dict[str, object]:
    """pass@1 (+ se, ci95), pass@2,4,..,k, maj@k and diversity from k+ samples per problem."""
    short = sorted({len(g) for g in groups if len(g) < k})
    if short:
        raise ValueError(f"every problem needs >= k={k} sampled completions; some have {short}")
    correct = [[bool(s["correct"]) for s in g] for g in groups]
    p1 = [pass_at_k(len(r), sum(r), 1) for r in correct]
    mean, se = mean_se(p1)
    out: dict[str, object] = {"pass@1": mean, "pass@1/se": None if math.isnan(se) else se}
    out["pass@1/ci95"] = list(bootstrap_ci(p1))
    for j in _powers_of_two_up_to(k)[1:]:
        out[f"pass@{j}"] = pass_at_k_mean(correct, j)
    answers = [[normalize(s.get("extracted")) for s in g] for g in groups]
    out[f"maj@{k}"] = float(np.mean([maj_at_k(a, c, k) for a, c in zip(answers, correct)]))
    out.update(diversity(answers, [[s.get("completion", "") for s in g] for g in groups], correct))
    return out


def summarize_eval(
    samples: Sequence[dict],
    k: int,
    *,
    target: str = "latin",
    reasoning: Callable[[str], str] | None = None,
    normalize: Callable[[str | None], str | None] = _basic_normalize,
) -> dict[str, object]:
    """{"n", "k", "metrics", "reasons"} for summary.json from samples.jsonl records.

    Records with `greedy: True` give "accuracy" (their mean `correct`); the others, grouped by
    problem_id and ordered by sample_idx, give pass@1 (+ "/se", "/ci95" over problems), pass@2,
    pass@4, ... pass@k, maj@k and diversity/*. The per-sample rates (format/rate when any record has
    format_ok, length/*, lang/*, reflection/*, and the `reasons` histogram) use the sampled records,
    or the greedy ones when there are none. `reasoning(completion)` picks the text measured for
    language and reflection (default: the whole completion); `normalize` makes maj@k vote keys.
    A key is absent when it does not apply (no greedy -> no "accuracy").
    """
    if not samples:
        raise ValueError("no samples")
    greedy = [s for s in samples if s.get("greedy")]
    sampled = [s for s in samples if not s.get("greedy")]
    metrics: dict[str, object] = {}
    if greedy:
        metrics["accuracy"] = float(np.mean([bool(s["correct"]) for s in greedy]))
    if sampled:
        metrics.update(_sampled_metrics(_group_by_problem(sampled), k, normalize))
    pool = sampled or greedy
    if any("format_ok" in s for s in pool):
        metrics["format/rate"] = float(np.mean([bool(s.get("format_ok", False)) for s in pool]))
    metrics.update(length_stats([s["length"] for s in pool], [bool(s.get("truncated")) for s in pool]))
    pick = reasoning or (lambda text: text)
    texts = [pick(s.get("completion", "")) for s in pool]
    metrics.update(language_metrics(texts, target))
    metrics["reflection/rate"] = reflection_rate(texts)
    metrics["reflection/per_trace"] = reflections_per_trace(texts)
    metrics["work/rate"] = work_rate(texts)
    reasons = Counter(str(s.get("reason")) for s in pool)
    return {
        "n": len({s["problem_id"] for s in samples}),
        "k": k,
        "metrics": metrics,
        "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
