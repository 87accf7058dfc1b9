"""Evaluation harness: generate, grade, write every sample, summarise.

A task is data (evals/<name>.yaml -> config.TaskConfig): dataset, template, sampling, k, grader
policy. For each problem the harness decodes greedily (the `accuracy` metric) and/or draws k
samples (pass@1 averaged over k with a standard error and bootstrap CI, unbiased pass@k, maj@k),
grades each with the project's checker, and appends the samples to samples.jsonl one chunk of
problems at a time, so an interrupted evaluation resumes without regenerating any graded sample.

    r1repro eval --model runs/quickstart/rl/checkpoints/step_000050 --task gsm8k --limit 200 --k 4
    r1repro eval recipes/quickstart.yaml       # the `eval` stage: base/SFT/RL models of a run
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from r1repro.config import CHECKPOINTS, Recipe, TaskConfig, to_dict
from r1repro.data.schema import Problem
from r1repro.data.templates import TEMPLATES
from r1repro.files import atomic_write_json, read_jsonl
from r1repro.grading import GraderPolicy, Verdict, grade_batch
from r1repro.metrics import paired_change, summarize_eval
from r1repro.models import load_model
from r1repro.rewards import in_answer_format
from r1repro.rollout import backend_from_config
from r1repro.rundir import RunDir
from r1repro.text import count_reflections, language_stats, think_part
from r1repro.trackers import open_metrics

log = logging.getLogger("r1repro.eval")
CHUNK = 32  # problems generated and graded between two appends to samples.jsonl


def format_ok(template, responses: Sequence[str]) -> list[bool]:
    """Did each response answer in the template's own format: R1 tags, a \\boxed{}, `#### x` or "The
    answer is x."? The same check as the RL format reward (r1repro.rewards.in_answer_format)."""
    return [in_answer_format(r, template.answer_format) for r in responses]


def grading_policy(task: TaskConfig) -> GraderPolicy:
    """The task's grader, with the last-number fallback on when the task also reports flexible metrics
    (one grading pass gives both views: see strict_correct)."""
    return dataclasses.replace(task.grader, last_number_fallback=True) if task.flexible else task.grader


def strict_correct(v: Verdict, task: TaskConfig) -> tuple[bool, str]:
    """(correct, reason) under the task's own grader: an answer found only by the flexible last-number
    fallback is `no_answer` unless the task's grader itself turns that fallback on."""
    if v.source == "last_number" and not task.grader.last_number_fallback:
        return False, "no_answer"
    return v.correct, v.reason


def flexible_metrics(samples: Sequence[dict], k: int) -> dict[str, object]:
    """accuracy and pass@j of the flexible view (`correct_flexible`), keys suffixed "/flexible"."""
    view = [{**s, "correct": s.get("correct_flexible", s["correct"])} for s in samples]
    m = summarize_eval(view, k)["metrics"]
    return {f"{key}/flexible": v for key, v in m.items() if key == "accuracy" or re.fullmatch(r"pass@\d+", key)}



def _records(problems, prompts, groups, responses, verdicts, fmt, task, *, greedy: bool) -> list[dict]:
    out, i = [], 0
    for p, prompt, group in zip(problems, prompts, groups):
        for j, c in enumerate(group):
            think = think_part(responses[i])
            stats = language_stats(think, task.language)
            v = verdicts[i]
            correct, reason = strict_correct(v, task)
            out.append({"problem_id": p.id, "sample_idx": j, "greedy": greedy, "prompt": prompt,
                        "completion": responses[i], "gold": p.gold, "extracted": v.extracted, "correct": correct,
                        "reason": reason, "length": len(c.ids), "truncated": c.truncated,
                        "format_ok": bool(fmt[i]), "scripts": stats.counts, "mixed": stats.mixed,
                        "reflections": count_reflections(think),
                        **({"correct_flexible": v.correct} if task.flexible else {})})
            i += 1
    return out


def generate_and_grade(backend, template, tokenizer, problems: Sequence[Problem], task: TaskConfig, *, n: int,
                       greedy: bool, seed: int) -> list[dict]:
    """Generate n completions per problem (greedy or sampled, after task.forced_prefix), grade them, and
    return one samples.jsonl record each; the eval harness and RL's held-out evaluation share it."""
    prompts = [template.prompt(p.question, tokenizer) + task.forced_prefix for p in problems]
    s = task.sampling
    groups = backend.generate(prompts, n=n, max_new_tokens=s.max_new_tokens, temperature=0.0 if greedy else s.temperature,
                              top_p=1.0 if greedy else s.top_p, seed=seed)
    responses = [template.response_prefix + task.forced_prefix + c.text for g in groups for c in g]
    golds = [p.gold for p in problems for _ in range(n)]
    verdicts = grade_batch(responses, golds, [p.meta for p in problems for _ in range(n)], policy=grading_policy(task))
    fmt = format_ok(template, responses)
    return _records(problems, prompts, groups, responses, verdicts, fmt, task, greedy=greedy)


def evaluate(model, tokenizer, task: TaskConfig, problems: Sequence[Problem], out_dir: Path, *, template_name: str,
             meta: dict, seed: int = 0, resume: bool = True) -> dict:
    """Evaluate one model on one task; writes out_dir/samples.jsonl and out_dir/summary.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    samples_path = out_dir / "samples.jsonl"
    done: list[dict] = read_jsonl(samples_path) if resume and samples_path.exists() else []
    per_problem = int(task.greedy) + task.k
    counts: dict[str, int] = {}
    for r in done:
        counts[r["problem_id"]] = counts.get(r["problem_id"], 0) + 1
    complete = {pid for pid, c in counts.items() if c >= per_problem}
    done = [r for r in done if r["problem_id"] in complete]  # drop a half-graded problem; it is redone
    with open(samples_path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in done)
    todo = [p for p in problems if p.id not in complete]
    if complete:
        log.info("%s: %d problems already graded, %d to go", out_dir, len(complete), len(todo))
    template = TEMPLATES[template_name]
    backend = backend_from_config(task.sampling, model, tokenizer, stop=template.stop, model_path=meta.get("model"),
                                  seed=seed)
    for start in tqdm(range(0, len(todo), CHUNK), desc=f"eval {out_dir.name}", leave=False):
        chunk = todo[start : start + CHUNK]
        new = []
        if task.greedy:
            new += generate_and_grade(backend, template, tokenizer, chunk, task, n=1, greedy=True, seed=seed)
        if task.k:
            new += generate_and_grade(backend, template, tokenizer, chunk, task, n=task.k, greedy=False,
                                       seed=seed + 1 + start)
        with open(samples_path, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in new)
            f.flush()
            os.fsync(f.fileno())
    samples = read_jsonl(samples_path)
    summary = {**meta, "n": len({r["problem_id"] for r in samples}), "k": task.k, "template": template_name,
               "sampling": to_dict(task.sampling), "grader": to_dict(task.grader),
               **summarize_eval(samples, task.k, target=task.language, reasoning=think_part)}
    if task.flexible:
        summary["metrics"].update(flexible_metrics(samples, task.k))
    atomic_write_json(out_dir / "summary.json", summary)
    return summary


# ----------------------------------------------------------------------------- the stage
def checkpoint_path(cfg: Recipe, run: RunDir, name: str) -> str | None:
    """The model a run calls base / sft / rl, from the manifest (None if that stage has not finished)."""
    if name == "base":
        p = run.output_path("prepare", "base_model")
        return str(p) if p else cfg.model.path
    p = run.output_path(name, "checkpoint")
    return str(p) if p else None


def run_eval(cfg: Recipe, run: RunDir, *, resume: bool = False) -> dict:
    """The `eval` stage: every task the recipe names, for every checkpoint it names."""
    results, firsts = {}, {}  # firsts: task -> the first checkpoint evaluated on it
    with run.stage("eval") as st:
        # one record per checkpoint, at step 0 / 1 / 2 for base / sft / rl: {"<task>/<metric>": ...};
        # on resume every record is written again (the summaries are rebuilt from the graded samples)
        metrics = open_metrics(cfg, st, run.paths.metrics("eval"), resume_after_step=-1 if resume else None)
        for ckpt in cfg.eval.checkpoints:
            path = checkpoint_path(cfg, run, ckpt)
            if path is None:
                log.warning("eval: skipping %s: stage %r has not finished in this run", ckpt, ckpt)
                continue
            if ckpt != "base" or run.output_path("prepare", "base_model"):
                st.input("prepare" if ckpt == "base" else ckpt, "base_model" if ckpt == "base" else "checkpoint")
            model, tokenizer = load_model(path, dtype=cfg.model.dtype)
            for name, task in cfg.eval.tasks.items():
                problems = [Problem.from_dict(r) for r in read_jsonl(st.input("prepare", f"eval-{name}"))]
                problems = problems[: cfg.eval.limit] if cfg.eval.limit else problems
                out = run.paths.eval_dir(ckpt, name)
                meta = {"task": name, "checkpoint": ckpt, "model": path}
                summary = evaluate(model, tokenizer, task, problems, out, meta=meta, seed=cfg.seed,
                                   template_name=task.template or cfg.data.template, resume=resume)
                first = firsts.setdefault(name, ckpt)
                if first != ckpt:  # the change from the first checkpoint, with a paired CI over problems
                    summary["change"] = {"from": first, **paired_change(read_jsonl(run.paths.samples(first, name)),
                                                                        read_jsonl(out / "samples.jsonl"), seed=cfg.seed)}
                    atomic_write_json(out / "summary.json", summary)
                results[f"{ckpt}/{name}"] = summary
                st.output(f"{ckpt}/{name}", out)
                m = results[f"{ckpt}/{name}"]["metrics"]
                log.info("eval %s/%s: accuracy %s pass@1 %s (n=%d)", ckpt, name, m.get("accuracy"), m.get("pass@1"),
                         results[f"{ckpt}/{name}"]["n"])
            metrics.log({"step": CHECKPOINTS.index(ckpt), "checkpoint": ckpt,
                         **{f"{name}/{k}": v for name in cfg.eval.tasks for k, v in results[f"{ckpt}/{name}"]["metrics"].items()}})
        metrics.close()
        st.output("metrics", run.paths.metrics("eval"))
    return results
