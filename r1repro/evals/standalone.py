"""`r1repro eval --model PATH --task NAME`: evaluate any checkpoint on a task, no recipe or run needed."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from r1repro.checks import check_task
from r1repro.config import TaskConfig, load_task
from r1repro.data.loaders import load_source
from r1repro.evals.harness import evaluate
from r1repro.models import load_model, read_meta

log = logging.getLogger("r1repro.eval")


def pick_template(requested: str | None, task: TaskConfig, model_path: str, tokenizer) -> tuple[str, str]:
    """(template, why): --template, else the task's, else the one the checkpoint was trained with
    (its meta.json, which every checkpoint of a run records), else chat when the tokenizer has a
    chat template, else boxed."""
    if requested:
        return requested, "--template"
    if task.template:
        return task.template, "the task's template"
    trained = read_meta(model_path).get("template") if Path(model_path).is_dir() else None
    if trained:
        return trained, f"the template {Path(model_path).name} was trained with (meta.json)"
    if getattr(tokenizer, "chat_template", None):
        return "chat", "the tokenizer has a chat template"
    return "boxed", "no chat template"


def eval_checkpoint(model_path: str, task_name: str, *, limit: int | None = None, k: int | None = None,
                    max_new_tokens: int | None = None, batch_size: int | None = None,
                    template: str | None = None, data_dir: str | None = None,
                    out: str | None = None, seed: int = 0, resume: bool = True) -> dict:
    origins: dict[str, str] = {}
    task = load_task(task_name, origins=origins)
    check_task(task_name, task, origins, template)  # names, before any data or model is loaded
    if k is not None:
        task = dataclasses.replace(task, k=k)
    if max_new_tokens is not None:
        task = dataclasses.replace(task, sampling=dataclasses.replace(task.sampling, max_new_tokens=max_new_tokens))
    if batch_size is not None:
        task = dataclasses.replace(task, sampling=dataclasses.replace(task.sampling, batch_size=batch_size))
    problems = load_source(task.dataset, data_dir, seed=seed).problems
    problems = problems[:limit] if limit else problems
    model, tokenizer = load_model(model_path)
    template, why = pick_template(template, task, model_path, tokenizer)
    log.info("prompt template: %s (%s)", template, why)
    name = Path(task_name).stem
    out_dir = Path(out) / name if out else Path("runs") / "eval" / Path(model_path.rstrip("/")).name / name
    meta = {"task": name, "checkpoint": Path(model_path).name, "model": model_path}
    return evaluate(model, tokenizer, task, problems, out_dir, template_name=template, meta=meta, seed=seed,
                    resume=resume)
