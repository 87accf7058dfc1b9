"""Choose the problems the trace browser shows and gather their samples.

What: `select_traces(run, n) -> list[TraceProblem]`, each with the same problem's samples across
RL steps (rl/rollouts/step_*.jsonl) and across checkpoints (eval/<ckpt>/<task>/samples.jsonl).
Why: reading how one problem's answers change over training is the point of the browser; the
choice must be deterministic so two reports of the same run show the same problems.
How: candidates are the problem ids of the final RL rollout file (file order) and of each eval
task's samples (file order, from the latest checkpoint evaluated). Held-out problems graded during
RL (rl/evals/) whose greedy verdict changed between the first and the last evaluation come first
(up to half of n; their two answers are shown side by side), then ids present in both rollouts and
evals, then training and eval problems alternate (eval tasks round-robin) until n are chosen. Per
problem: up to STEPS_SHOWN steps spread evenly over the steps where it was sampled, the
SAMPLES_PER_STEP lowest sample_idx per step, and SAMPLES_PER_CHECKPOINT per checkpoint. Passing explicit `ids` pins the problems instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

from r1repro.report.load import CHECKPOINTS, RunData, read_jsonl

STEPS_SHOWN = 6
SAMPLES_PER_STEP = 2
SAMPLES_PER_CHECKPOINT = 2


@dataclass
class TraceProblem:
    problem_id: str
    task: str  # the eval task, or "train" for a problem seen only in RL rollouts
    prompt: str = ""
    gold: str = ""
    rl: list[dict] = field(default_factory=list)
    """Rollout records, by step then sample_idx."""
    evals: list[dict] = field(default_factory=list)
    """Eval sample records with an added "checkpoint" key, in base, sft, rl order."""
    heldout: list[dict] = field(default_factory=list)
    """Greedy held-out records at the first and the last evaluation during RL (rl/evals/)."""

    @property
    def samples(self) -> list[dict]:
        return self.heldout + self.rl + self.evals


def _unique_ids(records: list[dict]) -> list[str]:
    return list(dict.fromkeys(str(r.get("problem_id")) for r in records if r.get("problem_id") is not None))


def _eval_records(run: RunData) -> dict[str, dict[str, list[dict]]]:
    """task -> checkpoint -> samples, for every samples.jsonl present."""
    out: dict[str, dict[str, list[dict]]] = {}
    for task in run.tasks:
        for ckpt in CHECKPOINTS:
            path = run.samples_path(ckpt, task)
            if path.exists():
                out.setdefault(task, {})[ckpt] = read_jsonl(path, run.missing)
    return out


def _task_of(eval_ids: dict[str, list[str]]) -> dict[str, str]:
    """problem_id -> its task; a problem several tasks share (the same problems with a forced
    prefix, say) belongs to the first task in name order."""
    out: dict[str, str] = {}
    for task, ids in sorted(eval_ids.items()):
        for pid in ids:
            out.setdefault(pid, task)
    return out


def _choose(rl_ids: list[str], eval_ids: dict[str, list[str]], n: int) -> list[tuple[str, str]]:
    """(problem_id, task) pairs: ids in both first, then alternate train / eval tasks round-robin;
    each problem once."""
    task_of = _task_of(eval_ids)
    both = [(pid, task_of[pid]) for pid in rl_ids if pid in task_of]
    rl_only = [(pid, "train") for pid in rl_ids if pid not in task_of]
    seen = {pid for pid, _ in both}
    per_task = [[(pid, t) for pid in ids if pid not in seen and task_of[pid] == t]
                for t, ids in sorted(eval_ids.items())]
    eval_only = [x for group in zip_longest(*per_task) for x in group if x is not None]
    mixed = [x for pair in zip_longest(rl_only, eval_only) for x in pair if x is not None]
    return (both + mixed)[:n]


def _spread(values: list[int], k: int) -> list[int]:
    """At most k of the sorted values, evenly spaced, always keeping the first and the last."""
    if len(values) <= k:
        return values
    return sorted({values[round(i * (len(values) - 1) / (k - 1))] for i in range(k)})


def _rollouts_for(run: RunData, ids: set[str]) -> dict[str, dict[int, list[dict]]]:
    """problem_id -> step -> rollout records, for the chosen ids only."""
    out: dict[str, dict[int, list[dict]]] = {}
    for step, path in sorted(run.rollout_files.items()):
        for rec in read_jsonl(path, run.missing):
            pid = str(rec.get("problem_id"))
            if pid in ids:
                out.setdefault(pid, {}).setdefault(step, []).append({**rec, "step": rec.get("step", step)})
    return out


def _lowest(records: list[dict], k: int) -> list[dict]:
    return sorted(records, key=lambda r: r.get("sample_idx") or 0)[:k]


def _heldout_ends(run: RunData) -> tuple[dict[str, dict], dict[str, dict]]:
    """problem_id -> record at the first and at the last held-out evaluation during RL."""
    if len(run.heldout_files) < 2:
        return {}, {}
    steps = sorted(run.heldout_files)
    first, last = (read_jsonl(run.heldout_files[s], run.missing) for s in (steps[0], steps[-1]))
    by_id = lambda recs: {str(r.get("problem_id")): r for r in recs}  # noqa: E731
    return by_id(first), by_id(last)


def _changed(first: dict[str, dict], last: dict[str, dict], n: int) -> list[str]:
    """Held-out ids whose greedy verdict changed during RL, wrong -> right first, in file order."""
    both = [pid for pid in first if pid in last and first[pid].get("correct") != last[pid].get("correct")]
    return sorted(both, key=lambda pid: not last[pid].get("correct"))[:n]


def select_traces(run: RunData, n: int = 12, ids: Sequence[str] | None = None) -> list[TraceProblem]:
    """The n problems of the trace browser with their samples (see the module docstring).

    ids: show exactly these problem ids instead (in this order; n is ignored).
    """
    final = read_jsonl(run.rollout_files[max(run.rollout_files)], run.missing) if run.rollout_files else []
    evals = _eval_records(run)
    latest = {t: next(by[c] for c in reversed(CHECKPOINTS) if c in by) for t, by in evals.items()}
    eval_ids = {t: _unique_ids(r) for t, r in latest.items()}
    task_of = _task_of(eval_ids)
    before, after = _heldout_ends(run)
    if ids is not None:
        chosen = [(str(pid), task_of.get(str(pid), "train")) for pid in ids]
    else:
        lead = [(pid, task_of.get(pid, "eval")) for pid in _changed(before, after, n // 2)]
        rest = [c for c in _choose(_unique_ids(final), eval_ids, n) if c[0] not in {pid for pid, _ in lead}]
        chosen = (lead + rest)[:n]
    rollouts = _rollouts_for(run, {pid for pid, _ in chosen})
    problems = []
    for pid, task in chosen:
        tp = TraceProblem(problem_id=pid, task=task)
        if pid in before and pid in after:
            tp.heldout = [before[pid], after[pid]]
        by_step = rollouts.get(pid, {})
        for step in _spread(sorted(by_step), STEPS_SHOWN):
            tp.rl += _lowest(by_step[step], SAMPLES_PER_STEP)
        for t in sorted(evals):  # every task that holds this problem, its own task first
            for ckpt, recs in evals[t].items() if t == task or pid in eval_ids.get(t, []) else ():
                mine = [{**r, "checkpoint": ckpt, "eval_task": t} for r in recs if str(r.get("problem_id")) == pid]
                tp.evals += _lowest(mine, SAMPLES_PER_CHECKPOINT)
        tp.evals.sort(key=lambda r: r["eval_task"] != task)  # stable: the problem's own task first
        lead_rec = tp.samples[0] if tp.samples else {}
        tp.prompt, tp.gold = str(lead_rec.get("prompt", "")), str(lead_rec.get("gold", ""))
        problems.append(tp)
    return problems
